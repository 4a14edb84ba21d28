"""Parsers for iproute2's JSON output (`ip -j addr`, `ip -j neigh`, `ip -j netns list`).

Pure functions over the decoded JSON so they can be unit tested without root; `hosts` feeds
them the output of the real commands. The field names are iproute2 6.1's.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any, NamedTuple

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Keys of an `addr_info` entry that hold values, not boolean flags.
_ADDR_VALUE_KEYS = frozenset(
    {
        "family",
        "local",
        "address",
        "prefixlen",
        "scope",
        "label",
        "broadcast",
        "valid_life_time",
        "preferred_life_time",
        "protocol",
        "metric",
    }
)


class Address(NamedTuple):
    """One address on one interface, as `ip -j addr` reports it."""

    ifname: str
    interface: ipaddress.IPv4Interface | ipaddress.IPv6Interface
    scope: str
    label: str | None
    flags: frozenset[str]  # boolean flags present, e.g. {"nodad"}, {"tentative"}

    @property
    def ip(self) -> IPAddress:
        """The address without its prefix."""
        return self.interface.ip


class Neighbour(NamedTuple):
    """One neighbour entry: the link-layer address (None while unresolved) and NUD states."""

    mac: str | None
    state: frozenset[str]  # e.g. {"REACHABLE"}, {"STALE"}, {"FAILED"}
    ifname: str


class IpJsonError(ValueError):
    """iproute2 printed JSON of a shape this module does not understand."""


def _decode(text: str, what: str) -> list[dict[str, Any]]:
    if not text.strip():
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IpJsonError(f"`{what}` printed invalid JSON ({exc}): {text[:200]!r}") from exc
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise IpJsonError(f"`{what}` printed JSON that is not a list of objects: {text[:200]!r}")
    return data


def parse_addresses(text: str) -> list[Address]:
    """Parse `ip -j addr show` output into one `Address` per configured address."""
    result: list[Address] = []
    for link in _decode(text, "ip -j addr"):
        ifname = str(link.get("ifname", ""))
        for info in link.get("addr_info", []):
            if "local" not in info or "prefixlen" not in info:
                continue  # iproute2 prints stray lifetime-only entries for some links
            interface = ipaddress.ip_interface(f"{info['local']}/{info['prefixlen']}")
            flags = frozenset(
                key for key, value in info.items() if key not in _ADDR_VALUE_KEYS and value is True
            )
            label = info.get("label")
            result.append(
                Address(
                    ifname=ifname,
                    interface=interface,
                    scope=str(info.get("scope", "")),
                    label=str(label) if label is not None else None,
                    flags=flags,
                )
            )
    return result


def parse_neighbours(text: str) -> dict[IPAddress, Neighbour]:
    """Parse `ip -j neigh show` output into a map from neighbour address to its entry.

    If the same address appears on two interfaces the later entry wins; ask for one
    interface (`ip -j neigh show dev eth0`) when that matters.
    """
    result: dict[IPAddress, Neighbour] = {}
    for entry in _decode(text, "ip -j neigh"):
        if "dst" not in entry:
            raise IpJsonError(f"`ip -j neigh` entry without 'dst': {entry!r}")
        lladdr = entry.get("lladdr")
        result[ipaddress.ip_address(entry["dst"])] = Neighbour(
            mac=str(lladdr).lower() if lladdr is not None else None,
            state=frozenset(str(s) for s in entry.get("state", [])),
            ifname=str(entry.get("dev", "")),
        )
    return result


def parse_netns_names(text: str) -> list[str]:
    """Parse `ip -j netns list` output into namespace names."""
    return [str(entry["name"]) for entry in _decode(text, "ip -j netns list") if "name" in entry]
