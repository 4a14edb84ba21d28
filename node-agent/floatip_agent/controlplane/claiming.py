"""The address I/O of the election's word: a claim's probe and add, a release's remove and
redirect, and the re-add of a held VIP that something removed.

The node (`node.ControlPlaneNode`) runs the election and owns what follows from it: holding,
the term, the heartbeat, the announcements, the counters and the log line of each change.
These steps talk to the kernel and the wire and answer in plain values (`Claimed`,
`Refused`, `Abandoned`; whether a remove or a re-add happened), so the node's loop reads as
the election's rules, and a step's failure is a value to act on, not an exception to catch:

- `claim`: an unmarked copy of the VIP on this node refuses it (never shared or removed:
  `vipaddress`); the probe (RFC 5227) refuses it if a non-peer answers; the election is asked
  again after the probe (the world changed while it listened); then the add.
- `remove` and `redirect`: a release takes the VIP off and names the new holder's MAC.
- `put_back`: while holding, the VIP is re-added if an admin or a script removed it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Iterable
from typing import NamedTuple

import structlog

from floatip_agent import links
from floatip_agent.controlplane import election, heartbeat, settings, vipaddress

log = structlog.get_logger(__name__)


class Claimed(NamedTuple):
    """The VIP is on this node's interface."""

    peers: frozenset[str]  # peers' MACs that answered the probe (the old holder of a handover)


class Refused(NamedTuple):
    """Not claimed: why (for the node's back-off), and the non-peer MACs that answered the
    probe, if that was why (a conflict)."""

    reason: str
    foreign: frozenset[str] = frozenset()


class Abandoned(NamedTuple):
    """Not claimed: the election, asked again after the probe, no longer says claim."""

    reason: str


async def claim(
    vip: vipaddress.VipAddress,
    link: links.Link,
    *,
    profile: settings.Profile,
    peer_macs: Collection[str],
    decide_again: Callable[[], election.Decision],
) -> Claimed | Refused | Abandoned:
    """Probe for the VIP and add it, unless a foreign copy, an answer or the election says no."""
    if await vip.find() is vipaddress.Found.FOREIGN:
        return Refused("the VIP is on this node, not added by floatip")
    result = await link.probe(
        vip.address, peer_macs=peer_macs, count=profile.probe_count,
        window=profile.probe_window_seconds,
    )  # fmt: skip
    if not result.free:
        return Refused(
            f"a foreign host answered the probe: {sorted(result.foreign)}", result.foreign
        )
    again = decide_again()
    if again.action is not election.Action.CLAIM:
        return Abandoned(again.reason)
    try:
        await vip.add()
    except OSError as exc:
        return Refused(f"the kernel refused the address: {exc}")
    return Claimed(result.peers)


async def remove(vip: vipaddress.VipAddress) -> bool:
    """Remove the VIP; whether it was there to remove.

    A kernel that refuses is logged, not raised: the release goes on (the peers are told at
    once, and already hold the VIP), and ours stays until someone removes it.
    """
    try:
        return await vip.remove()
    except OSError as exc:
        log.error("vip-remove-failed", address=str(vip.address), error=str(exc))
        return False


async def redirect(
    link: links.Link, vip: vipaddress.VipAddress, live: Iterable[heartbeat.Beat]
) -> None:
    """Tell the LAN the VIP is at the MAC of the best holder among ``live`` (by
    `election.rank`), if one holds it: two frames from this link, as the node agent's planned
    handover sends, for neighbours that resolved ours during the overlap. Best effort: a
    neighbour missed only waits for the new holder's own announcements."""
    holders = [beat for beat in live if beat.holding]
    if not holders:
        return
    best = max(holders, key=lambda b: election.rank(
        b.node, healthy=b.healthy, term=b.term, leaving=b.leaving))  # fmt: skip
    with contextlib.suppress(OSError):
        await link.announcer.redirect(vip.address, to_mac=best.mac)


async def put_back(vip: vipaddress.VipAddress, *, retry_in: float) -> bool:
    """Re-add the VIP if it is gone from this node that holds it; whether it was re-added.

    A refused add is logged and left for the next look, ``retry_in`` seconds later.
    """
    if await vip.find() is not vipaddress.Found.ABSENT:
        return False
    log.warning("vip-missing", address=str(vip.address), action="re-add")
    try:
        await vip.add()
    except OSError as exc:
        log.error("vip-re-add-failed", error=str(exc), retry_in=retry_in)
        return False
    return True
