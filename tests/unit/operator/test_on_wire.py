"""Pool addresses in use on the wire (floatip_operator.onwire) and the pool status that lists
them (poolstatuses: ``status.inUseOnWire``).

Proves: a VirtualIP's conflict counts as the take probe's finding only while no node announced
the address (a conflict on an announced address is the holder's defence); a pool lists every
such VirtualIP inside it with the foreign MAC and the probing node, since when the pool first
listed it (an address reserved for hours before is remembered from its listing on), and keeps
listing the address while it is reported, then after the VirtualIP is gone until
`pools.IN_USE_ON_WIRE_FORGOTTEN_S` after since, until a node announced it, or until the pool
no longer holds it; ``available`` leaves those addresses out (counted once when a VirtualIP
holds one too) and a pool whose last free addresses are in use on the wire is Exhausted saying
so; an emptied list is nulled by the patch; entries that do not read are ignored. Properties
(hypothesis): the list is sorted, one entry per address, at most `model.MAX_IN_USE_ON_WIRE`,
holds every live sighting (when they fit) and no forgotten one, rebuilding from its own output
changes nothing, and the input order does not matter.
"""

from __future__ import annotations

import datetime
import ipaddress
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from floatip.api import model, names, pools, times
from floatip_operator import onwire, poolstatuses

T0 = "2026-01-01T00:00:00Z"
HOUR = datetime.timedelta(seconds=pools.IN_USE_ON_WIRE_FORGOTTEN_S)
MAC = "02:00:00:00:00:99"
ip = ipaddress.ip_address


def at(offset: datetime.timedelta) -> str:
    moment = times.parse(T0)
    assert moment is not None
    return times.timestamp(moment + offset)


def conflict(since: str = T0, mac: str = MAC, node: str = "server1") -> dict[str, Any]:
    return {"node": node, "mac": mac, "since": since, "lastSeen": since, "count": 1,
            "reasserted": 0}  # fmt: skip


def announcement() -> dict[str, Any]:
    return {"node": "server2", "epoch": 1, "mac": "02:00:00:00:00:02", "time": T0}


def vip(name: str, address: str, pool: str | None = "a", **current: Any) -> dict[str, Any]:
    labels = {names.POOL_LABEL: pool} if pool else {}
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {"address": address},
        "status": current,
    }


def pool(*addresses: str) -> dict[str, Any]:
    return {"metadata": {"name": "a", "generation": 1}, "spec": {"addresses": list(addresses)}}


def build(
    vips: list[dict[str, Any]],
    previous: dict[str, Any] | None = None,
    now: str = T0,
    addresses: tuple[str, ...] = ("192.0.2.1-192.0.2.4",),
) -> dict[str, Any]:
    parsed = [poolstatuses.parse_pool(pool(*addresses))]
    views = [v for body in vips if (v := poolstatuses.vip_of(body))]
    return poolstatuses.build_all({"a": previous}, parsed, views, now=now)["a"]


def entry(address: str, since: str = T0, node: str = "server1") -> dict[str, str]:
    return {"address": address, "mac": MAC, "node": node, "since": since}


# -- what a VirtualIP says -------------------------------------------------------------------------


def test_a_conflict_before_any_announcement_is_the_take_probe_finding() -> None:
    found = onwire.of_vip(ip("192.0.2.1"), {"conflict": conflict()})
    assert found == onwire.Sighting(ip("192.0.2.1"), MAC, "server1", T0)
    assert str(found) == f"192.0.2.1 (answered for by {MAC}, node server1's probe)"
    defended = {"conflict": conflict(), "announcement": announcement()}
    assert onwire.of_vip(ip("192.0.2.1"), defended) is None
    assert onwire.of_vip(ip("192.0.2.1"), {"conflict": {"mac": MAC}}) is None  # malformed


def test_entries_that_do_not_read_are_ignored() -> None:
    current = {
        "inUseOnWire": [entry("192.0.2.1"), {"address": "nonsense", "mac": MAC}, "x",
                        {**entry("192.0.2.2"), "address": "not-an-ip"}]
    }  # fmt: skip
    assert onwire.listed(current) == (onwire.Sighting(ip("192.0.2.1"), MAC, "server1", T0),)
    assert onwire.listed({"inUseOnWire": "no list"}) == ()


# -- the pool's list ---------------------------------------------------------------------------


def test_a_pool_lists_a_virtualip_whose_take_probe_was_answered() -> None:
    built = build([vip("x", "192.0.2.2", conflict=conflict()), vip("y", "192.0.2.1")])
    assert built["inUseOnWire"] == [entry("192.0.2.2")]
    assert built["ipv4"] == {"total": 4, "allocated": 2, "available": 2}  # 192.0.2.2 once
    model.VirtualIPPoolStatus.model_validate(built)


def test_a_defended_address_is_not_listed() -> None:
    held = vip("x", "192.0.2.2", conflict=conflict(), announcement=announcement())
    assert "inUseOnWire" not in build([held])


def test_the_address_stays_listed_after_its_virtualip_is_gone_until_forgotten() -> None:
    first = build([vip("x", "192.0.2.2", conflict=conflict())])
    later = build([], previous=first, now=at(HOUR - datetime.timedelta(seconds=1)))
    assert later["inUseOnWire"] == [entry("192.0.2.2")]
    assert later["ipv4"] == {"total": 4, "allocated": 0, "available": 3}
    forgotten = build([], previous=later, now=at(HOUR))
    assert "inUseOnWire" not in forgotten and forgotten["ipv4"]["available"] == 4
    patch = poolstatuses.patch(later, forgotten, "7")
    assert patch["status"]["inUseOnWire"] is None  # the merge patch removes it


def test_since_is_when_the_pool_first_listed_the_address() -> None:
    # reserved for three hours before any pool listed it: remembered from the listing on
    reported = [vip("x", "192.0.2.2", conflict=conflict())]
    first = build(reported, now=at(3 * HOUR))
    assert first["inUseOnWire"] == [entry("192.0.2.2", since=at(3 * HOUR))]
    still = build(reported, previous=first, now=at(5 * HOUR))  # reported: listed past the hour
    assert still["inUseOnWire"] == first["inUseOnWire"]
    left = build([], previous=still, now=at(3 * HOUR + HOUR / 2))
    assert left["inUseOnWire"] == first["inUseOnWire"]


def test_an_address_a_node_took_is_forgotten_at_once() -> None:
    first = build([vip("x", "192.0.2.2", conflict=conflict())])
    taken = build([vip("x", "192.0.2.2", announcement=announcement())], previous=first)
    assert "inUseOnWire" not in taken
    waiting = build([vip("x", "192.0.2.2")], previous=first)  # created again, not taken yet
    assert waiting["inUseOnWire"] == [entry("192.0.2.2")]


def test_an_address_the_pool_no_longer_holds_is_forgotten() -> None:
    first = build([vip("x", "192.0.2.2", conflict=conflict())])
    edited = build([], previous=first, addresses=("192.0.2.3-192.0.2.4",))
    assert "inUseOnWire" not in edited


def test_a_pool_whose_free_addresses_are_in_use_on_the_wire_is_exhausted_saying_so() -> None:
    bodies = [vip("x", "192.0.2.1"), vip("y", "192.0.2.2", conflict=conflict())]
    built = build(bodies, addresses=("192.0.2.1-192.0.2.2",))
    ready = next(c for c in built["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("True", "Exhausted")
    assert "in use on the wire" in ready["message"]


# -- properties --------------------------------------------------------------------------------

ADDRESSES = [ip(f"192.0.2.{i}") for i in range(1, 80)] + [ip("2001:db8::1"), ip("2001:db8::2")]
sightings = st.builds(
    onwire.Sighting,
    st.sampled_from(ADDRESSES),
    st.sampled_from([MAC, "02:00:00:00:00:98"]),
    st.sampled_from(["server1", "server2"]),
    st.integers(0, 3 * 3600).map(lambda s: at(datetime.timedelta(seconds=s))),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(sightings, max_size=90),
    st.lists(sightings, max_size=90),
    st.frozensets(st.sampled_from(ADDRESSES), max_size=5),
    st.integers(0, 4 * 3600),
    st.randoms(use_true_random=False),
)
def test_remembered_properties(
    previous: list[onwire.Sighting],
    live: list[onwire.Sighting],
    taken_over: frozenset[ipaddress.IPv4Address | ipaddress.IPv6Address],
    seconds: int,
    rnd: Any,
) -> None:
    now = times.parse(at(datetime.timedelta(seconds=seconds)))
    assert now is not None
    inside = {a for a in ADDRESSES if a.version == 4 and int(a) % 7}

    def remember(before: list[onwire.Sighting], now_live: list[onwire.Sighting]) -> list[Any]:
        return onwire.remembered(
            before, now_live, includes=inside.__contains__, taken_over=taken_over, now=now
        )

    found = remember(previous, live)
    order = [(s.address.version, int(s.address)) for s in found]
    assert order == sorted(set(order)) and len(found) <= model.MAX_IN_USE_ON_WIRE
    live_addresses = {s.address for s in live}
    if len(live_addresses) <= model.MAX_IN_USE_ON_WIRE:
        assert live_addresses <= {s.address for s in found}
    for sighting in found:
        if sighting.address not in live_addresses:
            since = times.parse(sighting.since)
            assert since is not None and now - since < HOUR
            assert sighting.address in inside and sighting.address not in taken_over
    assert remember(found, live) == found  # stable: rebuilding from its own output
    shuffled_previous, shuffled_live = list(previous), list(live)
    rnd.shuffle(shuffled_previous)
    rnd.shuffle(shuffled_live)
    assert remember(shuffled_previous, shuffled_live) == found
