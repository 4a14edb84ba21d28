"""Address pools as arithmetic: the entries of a VirtualIPPool's ``spec.addresses``, no I/O.

An entry is a CIDR (``192.0.2.0/28``, ``2001:db8::/120``) or a range of two addresses of one
family (``192.0.2.10-192.0.2.20``, both ends included). Each becomes a `Block`: the whole span
it names and the part of it that floatip hands out. A range hands out every address it names.
A CIDR names a subnet, so its network address is never handed out when the prefix is shorter
than /31 (IPv4) or /127 (IPv6) (for IPv6 that is the Subnet-Router anycast address, RFC 4291),
nor its broadcast address (IPv4 only): the same addresses a VirtualIP's own prefix rules out
(`floatip.api.addresses`). MetalLB hands both out unless ``avoidBuggyIPs`` is set, and then
skips every address ending in .0 or .255, even inside a range; floatip's rule keeps a range
exact, so a pool that wants a subnet's first or last address names it with a range.

Sizes are exact Python integers (an IPv6 /64 holds 2^64 - 1 usable addresses); `capped`
bounds them for ``status`` (int64 on the wire). The operator's allocation asks this module
for the next free address (`Pool.next_free`: the lowest usable address not taken, so the
choice depends on nothing but the pool and the taken set), whether an address is in a pool
(`Pool.includes`), and which entries of two pools share addresses (`overlaps`). The rules
an entry must meet are those of a VirtualIP's address (unicast, no zone, not IPv4-mapped),
checked over every address the entry names.
"""

from __future__ import annotations

import bisect
import dataclasses
import ipaddress
import re
from collections.abc import Collection, Iterable, Sequence
from typing import Final, NamedTuple

from floatip.api import addresses

IPAddress = addresses.IPAddress
#: The largest count ``status`` carries (int64); larger pools report this many.
INT64_MAX: Final = 2**63 - 1
#: The longest entry: two IPv6 addresses in their longest text form (45 characters) and '-'.
ENTRY_MAX_LENGTH: Final = 91
#: How long a pool remembers an address a foreign host answered for when a node probed it
#: (``status.inUseOnWire``; docs/services.md "An address in use on the wire"), counted from
#: when the pool first listed it, once no VirtualIP reports it any more: long enough that a
#: squatted address is not offered again and again, short enough that an address whose host
#: let go becomes usable again (it is probed once more before it is handed out anyway).
IN_USE_ON_WIRE_FORGOTTEN_S: Final = 3600
EXAMPLE: Final = "192.0.2.0/28, 2001:db8::/120 or 192.0.2.10-192.0.2.20"

_PREFIX_RE = re.compile(r"^(0|[1-9][0-9]{0,2})$")

#: Blocks no entry may touch, named as `floatip.api.addresses` names a single address
#: (Go's ``netip.Addr.IsGlobalUnicast``, which the CRD's CEL rules use, plus IPv4-mapped IPv6).
SPECIAL_NETWORKS: Final[tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...]] = (
    (ipaddress.ip_network("0.0.0.0/32"), "the unspecified address"),
    (ipaddress.ip_network("127.0.0.0/8"), "loopback addresses"),
    (ipaddress.ip_network("169.254.0.0/16"), "link-local addresses"),
    (ipaddress.ip_network("224.0.0.0/4"), "multicast addresses"),
    (ipaddress.ip_network("255.255.255.255/32"), "the limited broadcast address"),
    (ipaddress.ip_network("::/128"), "the unspecified address"),
    (ipaddress.ip_network("::1/128"), "the loopback address"),
    (ipaddress.ip_network("::ffff:0:0/96"), "IPv4-mapped addresses"),
    (ipaddress.ip_network("fe80::/10"), "link-local addresses"),
    (ipaddress.ip_network("ff00::/8"), "multicast addresses"),
)


class PoolAddressError(ValueError):
    """An entry of ``spec.addresses`` is not usable; the message says why and what to write."""


class Block(NamedTuple):
    """One parsed entry: the span it names and the span floatip hands out (both inclusive)."""

    text: str
    version: int
    first: int
    last: int
    usable_first: int
    usable_last: int

    @property
    def size(self) -> int:
        """How many addresses of the entry can be handed out."""
        return self.usable_last - self.usable_first + 1

    def includes(self, address: IPAddress) -> bool:
        """Whether ``address`` is one this entry hands out."""
        return address.version == self.version and (
            self.usable_first <= int(address) <= self.usable_last
        )


class Overlap(NamedTuple):
    """Addresses two entries both hand out: ``first`` to ``last`` (inclusive)."""

    mine: str
    theirs: str
    first: IPAddress
    last: IPAddress

    def __str__(self) -> str:
        span = str(self.first) if self.first == self.last else f"{self.first}-{self.last}"
        return f"{span} (in {self.mine} and in {self.theirs})"


def to_address(version: int, value: int) -> IPAddress:
    """The address of integer ``value`` in family ``version``."""
    return ipaddress.IPv4Address(value) if version == 4 else ipaddress.IPv6Address(value)


# -- one entry -----------------------------------------------------------------------------------


def parse_entry(text: str) -> Block:
    """Parse one entry of ``spec.addresses``, or raise :class:`PoolAddressError`."""
    if "-" in text:
        first_text, _, last_text = text.partition("-")
        first, last = _host(first_text, text), _host(last_text, text)
        if first.version != last.version:
            raise PoolAddressError(
                f"{text!r} mixes IPv{first.version} and IPv{last.version}: both ends of a "
                "range must be of one family"
            )
        if int(first) > int(last):
            raise PoolAddressError(
                f"{text!r} starts above its end: write the lower address first ({last}-{first})"
            )
        block = Block(text, first.version, int(first), int(last), int(first), int(last))
    elif "/" in text:
        block = _cidr_block(text)
    else:
        host = _host(text, text)
        raise PoolAddressError(
            f"{text!r} is one address, not a CIDR or a range: write {host}/{host.max_prefixlen} "
            f"for it alone, or a CIDR or range like {EXAMPLE}"
        )
    _refuse_special(block)
    return block


def entry_problems(text: str) -> list[str]:
    """Why ``text`` is not a usable entry (an empty list when it is)."""
    try:
        parse_entry(text)
    except PoolAddressError as exc:
        return [str(exc)]
    return []


def _host(part: str, entry: str) -> IPAddress:
    if part != part.strip():
        raise PoolAddressError(f"{entry!r} has spaces: write it without them")
    if "%" in part:
        raise PoolAddressError(
            f"{entry!r} has an IPv6 zone; write the address without '%ZONE' and name the "
            "interface in spec.template.interface instead"
        )
    try:
        return addresses.parse_host(part)
    except addresses.AddressError as exc:
        if "IPv4-mapped" in str(exc):
            raise PoolAddressError(f"in {entry!r}: {exc}") from None
    if part == entry:
        raise PoolAddressError(f"{entry!r} is not a CIDR or a range: write one like {EXAMPLE}")
    raise PoolAddressError(
        f"{part!r} in {entry!r} is not an IPv4 or IPv6 address: write a CIDR or FIRST-LAST, "
        f"like {EXAMPLE}"
    )


def _cidr_block(text: str) -> Block:
    host_text, _, prefix_text = text.partition("/")
    host = _host(host_text, text)
    max_prefix = host.max_prefixlen
    if not _PREFIX_RE.match(prefix_text) or int(prefix_text) > max_prefix:
        raise PoolAddressError(
            f"prefix length {prefix_text!r} of {text!r} is out of range: IPv{host.version} "
            f"takes 0 to {max_prefix}"
        )
    network = ipaddress.ip_network((host, int(prefix_text)), strict=False)
    if network.network_address != host:
        raise PoolAddressError(
            f"{text!r} has host bits set: write its network, {network}, or a range of the "
            "addresses meant"
        )
    first, last = int(network.network_address), int(network.broadcast_address)
    usable_first, usable_last = first, last
    if network.prefixlen < max_prefix - 1:
        usable_first += 1  # the network address (IPv6: the Subnet-Router anycast address)
        if host.version == 4:
            usable_last -= 1  # the broadcast address
    return Block(text, host.version, first, last, usable_first, usable_last)


def _refuse_special(block: Block) -> None:
    for network, kind in SPECIAL_NETWORKS:
        if network.version != block.version:
            continue
        low, high = int(network.network_address), int(network.broadcast_address)
        if block.first <= high and low <= block.last:
            where = "lies within" if low <= block.first and block.last <= high else "includes"
            raise PoolAddressError(
                f"{block.text!r} {where} {kind} ({network}); a pool holds only unicast "
                f"addresses other hosts can reach, like {EXAMPLE}"
            )


# -- a whole pool --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Pool:
    """The parsed entries of one pool, in the order of their addresses (IPv4 first)."""

    blocks: tuple[Block, ...]

    def total(self, version: int) -> int:
        """How many addresses of family ``version`` the pool hands out."""
        return sum(block.size for block in self.blocks if block.version == version)

    def includes(self, address: IPAddress) -> bool:
        """Whether the pool hands out ``address``."""
        return any(block.includes(address) for block in self.blocks)

    def allocated(self, version: int, taken: Iterable[IPAddress]) -> int:
        """How many distinct addresses of ``taken`` (family ``version``) this pool hands out."""
        return len({a for a in taken if a.version == version and self.includes(a)})

    def available(self, version: int, taken: Iterable[IPAddress]) -> int:
        return self.total(version) - self.allocated(version, taken)

    def next_free(self, version: int, taken: Collection[IPAddress]) -> IPAddress | None:
        """The lowest address of family ``version`` the pool hands out that is not taken.

        Deterministic: the same pool and taken set give the same answer whatever their order,
        so two deciders (or one before and after a restart) agree. None when it is full.
        """
        return self.lowest_free(version, sorted({int(a) for a in taken if a.version == version}))

    def lowest_free(self, version: int, used: Sequence[int]) -> IPAddress | None:
        """`next_free` from the taken addresses of family ``version`` as sorted, distinct
        integers: a caller handing out many addresses keeps them sorted once (`bisect`)
        instead of sorting every taken address for each one."""
        for block in self.blocks:
            if block.version != version:
                continue
            candidate = _first_gap(used, block.usable_first)
            if candidate <= block.usable_last:
                return to_address(version, candidate)
        return None


def _first_gap(used: Sequence[int], start: int) -> int:
    """The lowest integer from ``start`` on that is not in ``used`` (sorted, distinct), by
    bisection, not by walking a run of taken addresses: ``used[i] - i`` never decreases, and
    stays the same exactly along a run of consecutive values."""
    low = bisect.bisect_left(used, start)
    if low == len(used) or used[low] != start:
        return start
    offset, high = start - low, len(used)
    end = low + 1  # the first index past the run start, start + 1, ...
    while end < high:
        middle = (end + high) // 2
        if used[middle] - middle > offset:
            high = middle
        else:
            end = middle + 1
    return used[end - 1] + 1


def parse_pool(entries: Iterable[str]) -> Pool:
    """Parse every entry (raising :class:`PoolAddressError` on the first bad one)."""
    blocks = [parse_entry(text) for text in entries]
    return Pool(tuple(sorted(blocks, key=lambda b: (b.version, b.usable_first, b.usable_last))))


def overlaps(mine: Pool, theirs: Pool) -> list[Overlap]:
    """Every pair of entries, one of each pool, that hand out a common address."""
    found: list[Overlap] = []
    for a in mine.blocks:
        for b in theirs.blocks:
            if a.version != b.version:
                continue
            low, high = max(a.usable_first, b.usable_first), min(a.usable_last, b.usable_last)
            if low <= high:
                found.append(
                    Overlap(a.text, b.text, to_address(a.version, low), to_address(a.version, high))
                )
    return found


def internal_overlaps(entries: Sequence[str]) -> list[tuple[int, int, Overlap]]:
    """Pairs of entries of one list (by index) that hand out a common address.

    Entries that do not parse are left out (they have problems of their own).
    """
    parsed: list[tuple[int, Block]] = []
    for index, text in enumerate(entries):
        try:
            parsed.append((index, parse_entry(text)))
        except PoolAddressError:
            continue
    found: list[tuple[int, int, Overlap]] = []
    for position, (i, a) in enumerate(parsed):
        for j, b in parsed[position + 1 :]:
            found.extend((i, j, overlap) for overlap in overlaps(Pool((a,)), Pool((b,))))
    return found


def capped(count: int) -> int:
    """``count`` as ``status`` carries it: at most `INT64_MAX`."""
    return min(count, INT64_MAX)


def priority_order(priority: int | None, name: str) -> tuple[int, int, str]:
    """Sort key of the pools a Service may draw from: the first is tried first.

    MetalLB's ``serviceAllocation.priority``: a lower number is a higher priority, and a pool
    with no priority comes after every pool that has one; ties go by name, so the order never
    depends on the order the API lists pools in.
    """
    return (0, priority, name) if priority is not None else (1, 0, name)
