"""Taking an address assigned to this node, up to the moment it is on the interface.

The worker's longest step (`worker.VipWorker` acts on what this returns):

1. Plan where it goes from a kernel snapshot (`addressing.plan`): the node's own address is
   refused, a missing interface reported.
2. Probe (RFC 5227; DESIGN.md safety 5): answers from cluster peers do not count, and before
   a MAC is called foreign the peers are read again (a peer may have started since). A
   foreign answer: not taken, reported, probed again later. A failover's take does not probe
   (`decisions.probe_first`).
3. If news of the VirtualIP that may change the take arrived meanwhile, decide again instead
   (the worker's ``news``: `decisions.same_take`).
4. A planned move: begin the flow handoff (`handoff.plan`) before the address is added.
5. Add it (netlink). The first announcement and the schedule are the worker's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

import structlog

from floatip_agent import (
    addressing,
    assignments,
    decisions,
    handoff,
    ports,
    probing,
    problems,
    settings,
)

log = structlog.get_logger(__name__)
#: Takes within this many seconds share one kernel snapshot (`kernel_addresses.Kernel`).
SNAPSHOT_AGE = 0.5


class Taken(NamedTuple):
    """The address is on the interface; ``started`` is when the take began (monotonic)."""

    held: decisions.Held
    peers: frozenset[str]  # peers that answered the probe (a planned move's old holder)
    started: float


class Refused(NamedTuple):
    """Not taken now: the problem to report, and when to try again."""

    reason: problems.Reason
    action: problems.Action
    note: str
    retry_after: float
    foreign: str | None = None  # the MAC of a host that answered the probe


async def take(
    assignment: assignments.Assignment,
    *,
    io: ports.Ports,
    config: settings.Settings,
    news: Callable[[], bool],
    clock: Callable[[], float] = time.monotonic,
) -> Taken | Refused | None:
    """Take ``assignment``'s address; None when news arrived and the worker must decide again."""
    name, address = assignment.name, assignment.address
    started = clock()
    snapshot = await io.kernel.snapshot(max_age=SNAPSHOT_AGE)
    try:
        placement = addressing.plan(snapshot, address, ifname=assignment.interface)
    except addressing.NodeAddressError as exc:
        return Refused(
            problems.Reason.NODE_ADDRESS, problems.Action.REFUSE, str(exc),
            config.probe_retry_seconds,
        )  # fmt: skip
    except addressing.AddressingError as exc:
        return Refused(
            problems.Reason.NO_INTERFACE, problems.Action.APPLY, str(exc), config.retry_seconds
        )
    ifname = placement.link.name
    result = probing.ProbeResult(frozenset(), frozenset())
    if decisions.probe_first(assignment):
        result = await io.wire.probe(
            ifname, address, peer_macs=io.peers.peers.macs,
            count=config.probe_count, window=config.probe_window_seconds,
        )  # fmt: skip
    if not result.free and await io.peers.refresh_peers():
        # An unknown MAC may be a peer that started after our last look at the Leases:
        # never refuse an address because our list of peers was stale.
        late = result.foreign & io.peers.peers.macs
        result = probing.ProbeResult(result.foreign - late, result.peers | late)
    if not result.free:
        note = (
            f"{address} is already answered for by {', '.join(sorted(result.foreign))} on "
            f"{ifname}: not taking it. Find the host with that MAC and remove the address "
            "there; floatip probes again and takes it once it is free"
        )
        return Refused(
            problems.Reason.PROBE_CONFLICT, problems.Action.PROBE, note,
            config.probe_retry_seconds, foreign=sorted(result.foreign)[0],
        )  # fmt: skip
    if news():
        return None
    if io.handoffs.enabled:
        planned = handoff.plan(
            assignment, node=config.node, ifname=ifname, peer_interfaces=io.peers.peers.interfaces
        )
        if planned is not None and await io.handoffs.begin(name, planned):
            log.info("flow-handoff-started", vip=name, previous=assignment.announced_node,
                     to=str(planned.previous), seconds=config.flow_handoff_seconds)  # fmt: skip
    await io.kernel.add(address, ifname=ifname, snapshot=snapshot)
    return Taken(decisions.Held(address, ifname, assignment.epoch), result.peers, started)
