"""Pool addresses in use on the wire: what a take's probe found, and what a pool remembers (pure).

docs/services.md "An address in use on the wire". Before a node takes a new address it probes
it; when a foreign host answers, its agent takes nothing and reports ``status.conflict`` on the
VirtualIP, which then has no ``status.announcement`` yet (a conflict on an announced address
is the holder's defence, not this). `of_vip` reads that `Sighting`.

The pool loop (`poolstatuses`) keeps each pool's sightings in ``status.inUseOnWire``
(`remembered`): those its VirtualIPs report now, and those it listed before until
`pools.IN_USE_ON_WIRE_FORGOTTEN_S` after it first listed them, or until a node took the address
(then whoever answered let go). Allocation reads the lists back (`listed`) and hands none of
those addresses out by itself; a Service that asks for one by name still gets it, probed again.

No window between a release and its record: an auto-assigned Service leaves an address in
use on the wire only once its pool's status lists the address (`allocation`), so the old
VirtualIP, which keeps the address taken while it exists, is deleted after the record landed,
never before. The record is the API server's, so a new leader reads it too; an in-memory list
of the conflicts just acted on would die with the leader. It costs one pool status write (the
pool loop's debounce, a quarter of a second) before the move.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, NamedTuple

from floatip.api import addresses, model, pools, status, times

IPAddress = addresses.IPAddress
FORGOTTEN_AFTER = datetime.timedelta(seconds=pools.IN_USE_ON_WIRE_FORGOTTEN_S)


class Sighting(NamedTuple):
    """A foreign host (``mac``) answered ``node``'s probe of ``address``: first at ``since`` in
    the agent's report, and in a pool's list since the pool first listed it (`remembered`)."""

    address: IPAddress
    mac: str
    node: str
    since: str

    def to_json(self) -> dict[str, str]:
        """The ``status.inUseOnWire`` entry."""
        return {"address": str(self.address), "mac": self.mac, "node": self.node,
                "since": self.since}  # fmt: skip

    def __str__(self) -> str:
        return f"{self.address} (answered for by {self.mac}, node {self.node}'s probe)"


def of_vip(address: IPAddress, current: Mapping[str, Any]) -> Sighting | None:
    """The take's probe of a VirtualIP's ``address`` drew a foreign answer (``current``: its
    status): a conflict reported before any node announced the address."""
    report = status.conflict(current)
    if report is None or status.announcement(current) is not None:
        return None
    return Sighting(address, report.mac, report.node, report.since)


def listed(current: Mapping[str, Any]) -> tuple[Sighting, ...]:
    """A pool status's ``inUseOnWire``, leniently: an entry that does not read is left out."""
    entries = current.get("inUseOnWire")
    found = []
    for entry in entries if isinstance(entries, list) else ():
        try:
            item = model.AddressInUseOnWire.model_validate(entry)
            address = addresses.parse_host(item.address)
        except (ValueError, addresses.AddressError):
            continue
        found.append(Sighting(address, item.mac, item.node, item.since))
    return tuple(found)


def _order(sighting: Sighting) -> tuple[int, int, str, str, str]:
    """By address, then the rest: which of two sightings of one address wins never depends
    on the order they came in."""
    return (sighting.address.version, int(sighting.address), sighting.since, sighting.mac,
            sighting.node)  # fmt: skip


def remembered(
    previous: Iterable[Sighting],
    live: Iterable[Sighting],
    *,
    includes: Callable[[IPAddress], bool],
    taken_over: Collection[IPAddress],
    now: datetime.datetime,
) -> list[Sighting]:
    """A pool's new ``inUseOnWire``: every ``live`` sighting (its VirtualIPs report them now),
    and each ``previous`` one still in the pool (``includes``), not taken by a node since
    (``taken_over``: addresses an announced VirtualIP holds) and younger than
    `FORGOTTEN_AFTER`. Live ones first when there are more than the status holds, each part
    by address; one entry per address.

    An entry's ``since`` is when the pool first listed the address (``now`` for a new one),
    not when the agent first saw the answer: an address reserved for hours before it was
    listed (an operator without this list, a requested address) is then still remembered an
    hour after its Service left it, instead of being forgotten at once.
    """
    listed_before: dict[IPAddress, Sighting] = {}
    for sighting in sorted(previous, key=_order):
        listed_before.setdefault(sighting.address, sighting)
    fresh: dict[IPAddress, Sighting] = {}
    for sighting in sorted(live, key=_order):
        if sighting.address not in fresh:
            prior = listed_before.get(sighting.address)
            since = prior.since if prior is not None else times.timestamp(now)
            fresh[sighting.address] = sighting._replace(since=since)
    kept: dict[IPAddress, Sighting] = {}
    for sighting in listed_before.values():
        if sighting.address in fresh:
            continue
        listed_at = times.parse(sighting.since)
        if listed_at is None or now - listed_at >= FORGOTTEN_AFTER:
            continue
        if includes(sighting.address) and sighting.address not in taken_over:
            kept[sighting.address] = sighting
    chosen = [*fresh.values(), *kept.values()][: model.MAX_IN_USE_ON_WIRE]
    return sorted(chosen, key=_order)


def addresses_of(pool_views: Iterable[Iterable[Sighting]]) -> frozenset[IPAddress]:
    """Every address the pools list as in use on the wire."""
    return frozenset(s.address for sightings in pool_views for s in sightings)
