"""Who holds the control-plane VIP: claim, keep or release, from heartbeats alone (pure).

Every node applies the same rules to what it heard, so they agree without a leader election
round or the Kubernetes API (docs/control-plane.md "Election"):

- **Order.** Nodes are ordered by name; among the nodes that may claim, the first claims.
- **No preemption.** A holder that is healthy (or not yet checked, right after its restart)
  keeps the VIP whoever appears; nobody claims while such a holder is alive.
- **Claim.** A node claims when it is ready (its start-up window passed), healthy, eligible
  (carrier, no foreign answer to its last probe), no live holder is good (healthy or unknown,
  and not leaving), and it is the first in order among itself and the live peers that are
  healthy, eligible and not holding. The new term is one more than any term it has seen.
  The caller probes (RFC 5227) before it adds the address.
- **Handover is make-before-break.** An unhealthy or leaving holder does not drop the VIP on
  its own: the first healthy peer claims (both hold for a moment), and the old holder,
  seeing a holder that outranks it, releases.
- **Confirm.** Taking over from a *live* holder whose apiserver failed needs ``confirmed``:
  this node's newest check passed and started after the holder reported its failure, and
  it has been healthy a while. When the store fails, every apiserver fails within a check or
  two; without this, a backup whose checks had not failed yet would take the VIP from the
  holder a few milliseconds before failing too (a move for nothing), and when the store came
  back, the first node to recover would take it from a holder a moment slower.
- **Store down.** Nobody is healthy, so nobody claims and the holder keeps the VIP.
- **Two holders** (a partition healed, a frozen holder thawed): the better one wins by
  `rank`: healthy (and not leaving) first, then the higher term, then the earlier name. The
  loser releases at once. A node never yields to a non-peer (that is the conflict guard's).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from floatip_agent.controlplane import heartbeat


class Action(enum.StrEnum):
    CLAIM = "claim"
    RELEASE = "release"
    KEEP = "keep"  # holding, and stays so
    WAIT = "wait"  # not holding, and stays so


class Me(NamedTuple):
    """This node as the election sees it."""

    node: str
    healthy: bool | None
    holding: bool
    term: int
    eligible: bool
    ready: bool  # the start-up window (one dead_after) has passed
    leaving: bool = False
    #: Healthy since before the failing holder said so, and for a while (see "Confirm").
    confirmed: bool = True


class Decision(NamedTuple):
    action: Action
    term: int  # for CLAIM, the new term; else this node's
    reason: str


class Rank(NamedTuple):
    good: bool  # healthy and not leaving
    term: int
    name_key: tuple[int, ...]  # the node name, inverted: an earlier name ranks higher


def rank(node: str, *, healthy: bool | None, term: int, leaving: bool) -> Rank:
    """How a holder compares with another holder: the greater `Rank` keeps the VIP."""
    good = healthy is not False and not leaving
    return Rank(good, term, (*(-byte for byte in node.encode()), 0))


def _good_holder(beat: heartbeat.Beat) -> bool:
    return beat.holding and beat.healthy is not False and not beat.leaving


def live(
    peers: Mapping[str, tuple[heartbeat.Beat, float]], *, now: float, dead_after: float
) -> list[heartbeat.Beat]:
    """The peers whose latest beat (received at the paired time) is younger than dead_after."""
    return [beat for beat, seen in peers.values() if now - seen < dead_after]


def decide(me: Me, peers: Iterable[heartbeat.Beat], *, known_term: int) -> Decision:
    """What `me` does, given the live `peers` and the highest term it has ever seen."""
    alive = [beat for beat in peers if beat.node != me.node]
    if me.holding:
        mine = rank(me.node, healthy=me.healthy, term=me.term, leaving=me.leaving)
        for beat in sorted(alive, key=lambda b: b.node):
            if (
                beat.holding
                and rank(beat.node, healthy=beat.healthy, term=beat.term, leaving=beat.leaving)
                > mine
            ):
                return Decision(Action.RELEASE, me.term, f"{beat.node} holds it and outranks us")
        return Decision(Action.KEEP, me.term, "holding")
    if me.leaving:
        return Decision(Action.WAIT, me.term, "leaving")
    if not me.ready:
        return Decision(Action.WAIT, me.term, "starting: listening for a holder first")
    if me.healthy is not True:
        return Decision(Action.WAIT, me.term, "local apiserver not ready")
    if not me.eligible:
        return Decision(Action.WAIT, me.term, "not eligible (no carrier, or a foreign answer)")
    holders = [beat.node for beat in alive if _good_holder(beat)]
    if holders:
        return Decision(Action.WAIT, me.term, f"{min(holders)} holds it")
    failed = [beat.node for beat in alive if beat.holding and beat.healthy is False]
    if failed and not me.confirmed:
        return Decision(Action.WAIT, me.term, f"confirming that {min(failed)}'s failure is its own")
    rivals = [
        beat.node for beat in alive
        if beat.healthy is True and beat.eligible and not beat.holding and not beat.leaving
    ]  # fmt: skip
    first = min([me.node, *rivals])
    if first != me.node:
        return Decision(Action.WAIT, me.term, f"{first} is first in order")
    return Decision(Action.CLAIM, max(known_term, me.term) + 1, "no good holder; first in order")
