"""A pool's addresses as arithmetic (floatip.api.pools): parsing, sizes, membership, overlaps, choice.

Proves: CIDRs and ranges of both families parse, and every malformed or unusable entry (no
prefix and no range, mixed families, reversed ends, host bits, zones, IPv4-mapped, prefix out
of range, spaces, any special address inside) is refused with a message naming it; a CIDR hands
out all but its network address (and IPv4 broadcast) when shorter than /31 or /127, a range
every address it names; and, against brute-force enumeration of small random pools, sizes,
membership, overlaps between pools and within one, and the next free address (the lowest not
taken, whatever the order of the taken set) are exact. Sizes beyond int64 are capped; the
priority order puts lower numbers first and pools without one last.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from floatip.api import pools

V4 = ipaddress.IPv4Address
V6 = ipaddress.IPv6Address


@pytest.mark.parametrize(
    ("text", "version", "first", "last", "size"),
    [
        ("192.0.2.0/28", 4, "192.0.2.1", "192.0.2.14", 14),
        ("192.0.2.0/30", 4, "192.0.2.1", "192.0.2.2", 2),
        ("192.0.2.0/31", 4, "192.0.2.0", "192.0.2.1", 2),  # RFC 3021: both are hosts
        ("192.0.2.7/32", 4, "192.0.2.7", "192.0.2.7", 1),
        ("192.0.2.10-192.0.2.20", 4, "192.0.2.10", "192.0.2.20", 11),
        ("192.0.2.0-192.0.2.255", 4, "192.0.2.0", "192.0.2.255", 256),  # a range is exact
        ("192.0.2.9-192.0.2.9", 4, "192.0.2.9", "192.0.2.9", 1),
        ("2001:db8::/120", 6, "2001:db8::1", "2001:db8::ff", 255),  # no broadcast in IPv6
        ("2001:db8::/127", 6, "2001:db8::", "2001:db8::1", 2),
        ("2001:db8::5/128", 6, "2001:db8::5", "2001:db8::5", 1),
        ("2001:db8::a-2001:db8::f", 6, "2001:db8::a", "2001:db8::f", 6),
        ("2001:db8::/64", 6, "2001:db8::1", "2001:db8::ffff:ffff:ffff:ffff", 2**64 - 1),
        ("240.0.0.0/24", 4, "240.0.0.1", "240.0.0.254", 254),  # Go: class E is unicast
    ],
)
def test_entries_parse_into_the_addresses_they_hand_out(
    text: str, version: int, first: str, last: str, size: int
) -> None:
    block = pools.parse_entry(text)
    assert block.version == version
    assert pools.to_address(version, block.usable_first) == ipaddress.ip_address(first)
    assert pools.to_address(version, block.usable_last) == ipaddress.ip_address(last)
    assert block.size == size
    assert pools.entry_problems(text) == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("192.0.2.10", "one address, not a CIDR or a range: write 192.0.2.10/32"),
        ("2001:db8::1", "write 2001:db8::1/128"),
        ("", "is not a CIDR or a range"),
        ("pool", "is not a CIDR or a range"),
        ("pool-a", "not an IPv4 or IPv6 address"),
        ("192.0.2.1-2001:db8::1", "mixes IPv4 and IPv6"),
        ("192.0.2.20-192.0.2.10", "write the lower address first (192.0.2.10-192.0.2.20)"),
        ("192.0.2.1-192.0.2.2-192.0.2.3", "not an IPv4 or IPv6 address"),
        ("192.0.2.1 - 192.0.2.5", "has spaces"),
        ("192.0.2.5/24", "host bits set: write its network, 192.0.2.0/24"),
        ("2001:db8::1/64", "host bits set: write its network, 2001:db8::/64"),
        ("192.0.2.0/33", "out of range"),
        ("192.0.2.0/024", "out of range"),
        ("192.0.2.0/", "out of range"),
        ("2001:db8::/129", "out of range"),
        ("fe80::1%eth0-fe80::5%eth0", "IPv6 zone"),
        ("::ffff:192.0.2.0/120", "IPv4-mapped"),
        ("::fffe:0:0/95", "includes IPv4-mapped addresses"),
        ("10.0.0.01/32", "not an IPv4 or IPv6 address"),
        ("0.0.0.0/0", "includes the unspecified address"),
        ("0.0.0.0/32", "lies within the unspecified address"),
        ("127.0.0.0/8", "lies within loopback addresses"),
        ("126.255.255.250-127.0.0.3", "includes loopback addresses"),
        ("169.254.1.0/24", "link-local"),
        ("224.0.0.0/24", "multicast"),
        ("223.255.255.0-240.0.0.1", "includes multicast addresses (224.0.0.0/4)"),
        ("255.255.255.0/24", "includes the limited broadcast address"),
        ("::/0", "includes the unspecified address"),
        ("::1/128", "loopback"),
        ("fe80::/64", "link-local"),
        ("ff02::1-ff02::5", "multicast"),
    ],
)
def test_unusable_entries_are_refused_saying_why(text: str, reason: str) -> None:
    with pytest.raises(pools.PoolAddressError, match=None) as caught:
        pools.parse_entry(text)
    assert reason in str(caught.value)
    assert pools.entry_problems(text) == [str(caught.value)]


def test_pool_sizes_and_membership_per_family() -> None:
    pool = pools.parse_pool(["2001:db8::/126", "192.0.2.10-192.0.2.12", "192.0.2.0/30"])
    assert [b.text for b in pool.blocks] == [
        "192.0.2.0/30",
        "192.0.2.10-192.0.2.12",
        "2001:db8::/126",
    ]
    assert (pool.total(4), pool.total(6)) == (5, 3)
    assert pool.includes(V4("192.0.2.1")) and pool.includes(V4("192.0.2.12"))
    assert not pool.includes(V4("192.0.2.0"))  # the /30's network address
    assert not pool.includes(V4("192.0.2.3"))  # and its broadcast address
    assert not pool.includes(V6("2001:db8::"))  # the Subnet-Router anycast address
    assert pool.includes(V6("2001:db8::3"))
    taken = [V4("192.0.2.1"), V4("192.0.2.1"), V4("198.51.100.1"), V6("2001:db8::1")]
    assert pool.allocated(4, taken) == 1  # duplicates and outsiders do not count
    assert pool.available(4, taken) == 4
    assert pool.available(6, taken) == 2


def test_next_free_is_the_lowest_usable_address_not_taken() -> None:
    pool = pools.parse_pool(["192.0.2.10-192.0.2.11", "192.0.2.0/30", "2001:db8::/127"])
    assert pool.next_free(4, []) == V4("192.0.2.1")
    assert pool.next_free(4, {V4("192.0.2.1")}) == V4("192.0.2.2")
    assert pool.next_free(4, {V4("192.0.2.1"), V4("192.0.2.2")}) == V4("192.0.2.10")
    every = {V4("192.0.2.1"), V4("192.0.2.2"), V4("192.0.2.10"), V4("192.0.2.11")}
    assert pool.next_free(4, every) is None
    assert pool.next_free(6, every) == V6("2001:db8::")
    assert pools.parse_pool(["192.0.2.0/30"]).next_free(6, []) is None


def test_huge_pools_are_counted_exactly_and_capped_for_status() -> None:
    pool = pools.parse_pool(["2001:db8::/32"])
    assert pool.total(6) == 2**96 - 1
    assert pools.capped(pool.total(6)) == pools.INT64_MAX == 2**63 - 1
    assert pools.capped(14) == 14
    taken = {V6("2001:db8::1"), V6("2001:db8::2")}
    assert pool.next_free(6, taken) == V6("2001:db8::3")


def test_overlaps_name_both_entries_and_the_shared_span() -> None:
    a = pools.parse_pool(["192.0.2.0/24", "2001:db8::/120"])
    b = pools.parse_pool(["192.0.2.250-192.0.3.5", "2001:db8:1::/120"])
    [overlap] = pools.overlaps(a, b)
    assert overlap == pools.Overlap(
        "192.0.2.0/24", "192.0.2.250-192.0.3.5", V4("192.0.2.250"), V4("192.0.2.254")
    )
    assert str(overlap) == "192.0.2.250-192.0.2.254 (in 192.0.2.0/24 and in 192.0.2.250-192.0.3.5)"
    # The /24's broadcast address is not handed out, so a range holding only it does not overlap.
    assert pools.overlaps(a, pools.parse_pool(["192.0.2.255-192.0.2.255"])) == []


def test_internal_overlaps_give_indexes_and_skip_bad_entries() -> None:
    entries = ["192.0.2.0/28", "bogus", "192.0.2.5-192.0.2.6", "192.0.2.0/28"]
    found = pools.internal_overlaps(entries)
    assert [(i, j) for i, j, _ in found] == [(0, 2), (0, 3), (2, 3)]


def test_priority_order_lower_first_then_none_then_name() -> None:
    pools_by_name = {"z": 0, "a": 10, "b": None, "c": 10, "d": None, "e": 5}
    ordered = sorted(pools_by_name, key=lambda n: pools.priority_order(pools_by_name[n], n))
    assert ordered == ["z", "e", "a", "c", "b", "d"]


# -- properties against brute force, on small pools ------------------------------------------

BASES = {4: int(V4("10.0.0.0")), 6: int(V6("2001:db8::"))}
SPACE = 256  # the entries stay within the first 256 addresses of BASES


@st.composite
def entries(draw: st.DrawFn, version: int) -> str:
    base, max_prefix = BASES[version], (32 if version == 4 else 128)
    if draw(st.booleans()):
        host_bits = draw(st.integers(0, 8))
        start = draw(st.integers(0, SPACE // 2**host_bits - 1)) * 2**host_bits
        return f"{pools.to_address(version, base + start)}/{max_prefix - host_bits}"
    first = draw(st.integers(0, SPACE - 1))
    last = draw(st.integers(first, SPACE - 1))
    return f"{pools.to_address(version, base + first)}-{pools.to_address(version, base + last)}"


def pool_entries() -> Any:
    return st.lists(entries(4) | entries(6), min_size=1, max_size=5)


def brute_force(entry_list: list[str]) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Every address the entries hand out, enumerated one by one."""
    out: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
    for text in entry_list:
        if "-" in text:
            first, last = (ipaddress.ip_address(part) for part in text.split("-"))
            out.update(pools.to_address(first.version, v) for v in range(int(first), int(last) + 1))
            continue
        network = ipaddress.ip_network(text)
        hosts = list(network)
        if network.prefixlen < network.max_prefixlen - 1:
            hosts = hosts[1:-1] if network.version == 4 else hosts[1:]
        out.update(hosts)
    return out


def all_candidates(version: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    return [pools.to_address(version, BASES[version] + i) for i in range(-2, SPACE + 2)]


@settings(max_examples=200, deadline=None)
@given(pool_entries(), st.data())
def test_sizes_membership_and_next_free_agree_with_brute_force(
    entry_list: list[str], data: st.DataObject
) -> None:
    pool = pools.parse_pool(entry_list)
    expected = brute_force(entry_list)
    internal = pools.internal_overlaps(entry_list)
    for version in (4, 6):
        family = {a for a in expected if a.version == version}
        if not internal:  # without overlaps, the size is the sum of the entries
            assert pool.total(version) == len(family)
        assert {a for a in all_candidates(version) if pool.includes(a)} == family
        taken = data.draw(st.sets(st.sampled_from(all_candidates(version)), max_size=40))
        free = sorted(family - taken)
        assert pool.next_free(version, taken) == (free[0] if free else None)
        assert pool.next_free(version, list(reversed(sorted(taken)))) == pool.next_free(
            version, taken
        )
        assert pool.allocated(version, taken) == len(family & taken)


@settings(max_examples=100, deadline=None)
@given(st.lists(entries(4), min_size=1, max_size=3))
def test_taking_next_free_until_full_hands_out_each_address_once_in_order(
    entry_list: list[str],
) -> None:
    pool = pools.parse_pool(entry_list)
    taken: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    while (address := pool.next_free(4, taken)) is not None:
        assert pool.includes(address) and address not in taken
        taken.append(address)
    assert taken == sorted(brute_force(entry_list))


@settings(max_examples=200, deadline=None)
@given(pool_entries(), pool_entries())
def test_overlaps_are_symmetric_and_exact(mine: list[str], theirs: list[str]) -> None:
    a, b = pools.parse_pool(mine), pools.parse_pool(theirs)
    found = pools.overlaps(a, b)
    assert bool(found) == bool(brute_force(mine) & brute_force(theirs))
    spans = sorted((o.first.version, int(o.first), int(o.last)) for o in found)
    assert spans == sorted(
        (o.first.version, int(o.first), int(o.last)) for o in pools.overlaps(b, a)
    )
    shared = set()
    for overlap in found:
        v = overlap.first.version
        shared.update(
            pools.to_address(v, i) for i in range(int(overlap.first), int(overlap.last) + 1)
        )
    assert shared == brute_force(mine) & brute_force(theirs)
    assert bool(pools.internal_overlaps(mine + theirs)) >= bool(found)
