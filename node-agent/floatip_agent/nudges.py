"""What the agent's components tell one VirtualIP's worker: immutable values on its queue.

Only the worker of a VirtualIP changes what the node does about it (`floatip_agent.worker`).
The other components never act on a VirtualIP themselves; they put one of these on its queue
and the worker decides, in order, one at a time (kopf's per-object worker; MetalLB's
responder, which only answers a question).
"""

from __future__ import annotations

from typing import NamedTuple

from floatip_agent import assignments, claims


class Reassigned(NamedTuple):
    """The API said something new of this VirtualIP (None: it was deleted).

    From `floatip_agent.intake`, only for an assignment at least as new as any seen before.
    Being fresh word from the API, it also lifts a fence (`Fenced`).
    """

    assignment: assignments.Assignment | None


class Fenced(NamedTuple):
    """Another MAC claimed the held address while the agent was unsure of the API.

    From `floatip_agent.guard` (DESIGN.md safety 3): the operator may have moved the address
    while this node could not hear it, so the worker releases at once and takes nothing until
    the API speaks again.
    """

    claim: claims.Claim


class Foreign(NamedTuple):
    """A host that is no cluster peer claims the held address (DESIGN.md safety 5).

    From `floatip_agent.guard`: the worker records the conflict, reports it and re-asserts at
    a bounded rate; it never moves the address because of it.
    """

    claim: claims.Claim
    ifname: str


class Asked(NamedTuple):
    """A host that is no cluster peer resolves the held address (an ARP request or an NS).

    From `floatip_agent.guard`: while a conflict is known the worker answers right after it
    (a gratuitous ARP overrides the answer the asker may have taken from the intruder), at a
    bounded rate; with no conflict it does nothing (the kernel answers).
    """

    question: claims.Question
    ifname: str


class GroupMoved(NamedTuple):
    """Another member of this VirtualIP's group (``spec.group``) has new word from the API.

    From `floatip_agent.intake`, to the workers of the group's other members that this node
    holds: one waiting to hand its address over looks again, since a group is handed over
    whole (`floatip_agent.decisions.group_pending`).
    """

    member: str


Nudge = Reassigned | Fenced | Foreign | Asked | GroupMoved
