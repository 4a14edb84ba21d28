"""Service IP and node port allocation: no value handed out twice, freed when no longer held.

kube-apiserver allocates a Service's clusterIPs from the service CIDRs and its nodePorts from
the node port range, refuses a requested value that is taken or out of range, and frees the
values when the Service goes or stops using them. Dynamic allocation prefers the upper part of
a range, leaving the lower "static band" to users who ask for a value (KEP-3070/3668).

Here a range remembers who it handed each value to, and a value counts as taken only while
that owner's stored Service still uses it (``holds``). So deleting a Service, changing its type
or a dry run frees its values without any release bookkeeping, whichever code path removed the
object (a namespace deletion, garbage collection), much as the real server's repair loop
reclaims leaked values.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable, Iterable

Owner = tuple[str, str]  # (namespace, name)
#: does the stored Service ``owner`` still use ``value``?
Holds = Callable[[Owner, int], bool]


class FullError(Exception):
    """No free value is left in the range."""


class Range:
    """Integers ``first``..``last`` handed out to owners."""

    def __init__(self, first: int, last: int, static_band: int, holds: Holds) -> None:
        self.first, self.last = first, last
        self.static_band = static_band
        self.holds = holds
        self._owners: dict[int, Owner] = {}

    def __contains__(self, value: int) -> bool:
        return self.first <= value <= self.last

    def free_for(self, value: int, owner: Owner) -> bool:
        """True when ``owner`` may have ``value``: nobody else's stored Service uses it."""
        current = self._owners.get(value)
        return current is None or current == owner or not self.holds(current, value)

    def _free(self, value: int) -> bool:
        current = self._owners.get(value)
        return current is None or not self.holds(current, value)

    def reserve(self, value: int, owner: Owner) -> None:
        self._owners[value] = owner

    def allocate(self, owner: Owner, exclude: Iterable[int] = ()) -> int:
        """A free value, from the dynamic (upper) band first; FullError when none is left."""
        skip = set(exclude)
        split = min(self.first + self.static_band, self.last + 1)
        for low, high in ((split, self.last + 1), (self.first, split)):
            if high <= low:
                continue
            size = high - low
            start = random.randrange(size)
            for step in range(size):
                value = low + (start + step) % size
                if value not in skip and self._free(value):
                    self.reserve(value, owner)
                    return value
        raise FullError("range is full")


def _band(size: int, divisor: int, low: int, high: int) -> int:
    """``calculateRangeOffset``: min(max(low, size/divisor), high)."""
    return min(max(low, size // divisor), high)


class ServiceCIDR:
    """The addresses of one service CIDR (network and broadcast addresses excluded)."""

    def __init__(self, cidr: str, holds: Holds) -> None:
        self.network = ipaddress.ip_network(cidr)
        size = self.network.num_addresses - 2
        base = int(self.network.network_address)
        self.family = "IPv6" if self.network.version == 6 else "IPv4"
        self.range = Range(base + 1, base + size, _band(size, 16, 16, 256), holds)

    def __str__(self) -> str:
        return str(self.network)

    def contains(self, address: str) -> bool:
        return (
            ipaddress.ip_address(address) in self.network
            and int(ipaddress.ip_address(address)) in self.range
        )

    def allocate(self, owner: Owner, exclude: Iterable[int] = ()) -> str:
        return str(ipaddress.ip_address(self.range.allocate(owner, exclude)))


class NodePorts:
    """The node port range (30000-32767 by default)."""

    def __init__(self, first: int, last: int, holds: Holds) -> None:
        size = last - first + 1
        self.range = Range(first, last, _band(size, 32, 16, 128), holds)

    def __str__(self) -> str:
        return f"{self.range.first}-{self.range.last}"
