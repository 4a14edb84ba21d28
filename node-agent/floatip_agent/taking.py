"""Taking an address assigned to this node, up to the moment it is on the interface.

The worker's longest step (`worker.VipWorker` acts on what this returns):

1. Plan where it goes from a kernel snapshot (`addressing.plan`): the node's own address is
   refused, a missing interface reported.
2. Probe (RFC 5227; DESIGN.md safety 5): answers from cluster peers do not count, and before
   a MAC is called foreign the peers are read again (a peer may have started since). A
   foreign answer: not taken, reported, probed again later. A failover's take does not probe
   (`decisions.probe_first`).
3. A planned move: begin the flow handoff (`handoff.plan`) before the address is added,
   first reading the Leases again if the previous holder's is not known yet. Its
   ruleset is loaded (an ``nft`` run, 60-100 ms on a busy 2-core machine) while the probe
   listens, not after it: the probe's window and the load overlap. Until the address is
   added no segment for it comes here, so the rules change nothing meanwhile; a take that
   does not happen after all (a foreign answer, news, a failed add) ends the handoff again.
4. If news of the VirtualIP that may change the take arrived meanwhile, decide again instead
   (the worker's ``news``: `decisions.same_take`).
5. Add it (netlink), then arm the handoff: its window (``--flow-handoff-seconds``) starts at
   the MAC flip, not at the load. The first announcement and the schedule are the worker's.
"""

from __future__ import annotations

import asyncio
import contextlib
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
#: How long a planned take waits for the Leases when it does not know the previous holder.
PEER_LOOKUP_S = 1.0


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
    handing = _begin_handoff(assignment, ifname, io=io, config=config)
    added = False
    try:
        result = await _probe(assignment, ifname, io=io, config=config)
        if not result.free:
            note = (
                f"{address} is already answered for by {', '.join(sorted(result.foreign))} "
                f"on {ifname}: not taking it. Find the host with that MAC and remove the "
                "address there; floatip probes again and takes it once it is free"
            )
            return Refused(
                problems.Reason.PROBE_CONFLICT, problems.Action.PROBE, note,
                config.probe_retry_seconds, foreign=sorted(result.foreign)[0],
            )  # fmt: skip
        if handing is not None and await handing:
            log.info("flow-handoff-started", vip=name, previous=assignment.announced_node,
                     seconds=config.flow_handoff_seconds)  # fmt: skip
        if news():  # it may have come while the handoff's rules were loading
            return None
        await io.kernel.add(address, ifname=ifname, snapshot=snapshot)
        added = True
    finally:
        if not added:  # refused, news, a failed add, cancelled: no take, no handoff
            await _call_off(handing, name, io=io)
    if handing is not None and handing.result():
        io.handoffs.arm(name)  # its window covers the time after the MAC flip
    return Taken(decisions.Held(address, ifname, assignment.epoch), result.peers, started)


async def _probe(
    assignment: assignments.Assignment, ifname: str, *, io: ports.Ports, config: settings.Settings
) -> probing.ProbeResult:
    """Who answers for the address: nobody asked for a failover's take (see the docstring)."""
    result = probing.ProbeResult(frozenset(), frozenset())
    if decisions.probe_first(assignment):
        result = await io.wire.probe(
            ifname, assignment.address, peer_macs=io.peers.peers.macs,
            count=config.probe_count, window=config.probe_window_seconds,
        )  # fmt: skip
    if not result.free and await io.peers.refresh_peers():
        # An unknown MAC may be a peer that started after our last look at the Leases:
        # never refuse an address because our list of peers was stale.
        late = result.foreign & io.peers.peers.macs
        result = probing.ProbeResult(result.foreign - late, result.peers | late)
    return result


def _begin_handoff(
    assignment: assignments.Assignment, ifname: str, *, io: ports.Ports, config: settings.Settings
) -> asyncio.Task[bool] | None:
    """Start loading a planned move's flow handoff; None when the move has no previous holder
    to hand to (`handoff.previous_holder`). The task ends True once the rules are in force."""
    if not io.handoffs.enabled:
        return None
    previous = handoff.previous_holder(assignment, node=config.node)
    if previous is None:
        return None
    return asyncio.create_task(_hand_off(assignment, ifname, previous, io=io, config=config))


async def _hand_off(
    assignment: assignments.Assignment,
    ifname: str,
    previous: str,
    *,
    io: ports.Ports,
    config: settings.Settings,
) -> bool:
    """Plan the handoff to ``previous`` and load it; False when there is none in force.

    The previous holder's address comes from its Lease. An agent that started before that
    peer's Lease existed has not read it until its own next renewal (15 s at the defaults),
    so a peer it does not know yet is looked up now (`refresh_peers`, as the probe does for a
    MAC it does not know), within `PEER_LOOKUP_S`: without its address the flows in flight at
    the MAC flip would be reset, which is what the handoff is for.
    """
    if previous not in io.peers.peers.interfaces:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(PEER_LOOKUP_S):
                await io.peers.refresh_peers()
    planned = handoff.plan(
        assignment, node=config.node, ifname=ifname, peer_interfaces=io.peers.peers.interfaces
    )
    if planned is None:
        log.warning(
            "flow-handoff-skipped", vip=assignment.name, previous=previous,
            why=f"no address of {previous} on {assignment.address}'s subnet in its Lease "
            "(floatip.io/interfaces): connections in flight at the MAC flip may be reset",
        )  # fmt: skip
        return False
    return await io.handoffs.begin(assignment.name, planned)


async def _call_off(handing: asyncio.Task[bool] | None, name: str, *, io: ports.Ports) -> None:
    """The take does not happen now: end the flow handoff begun for it, once it is loaded."""
    if handing is not None and await handing:
        await io.handoffs.end(name)
