"""What makes a string a usable virtual IP address.

A VirtualIP's ``spec.address`` is one IPv4 or IPv6 address, optionally with a prefix length
(``192.0.2.10`` or ``192.0.2.10/24``). The prefix says which subnet the address lives in (it
picks the interface and rules out the subnet's network and broadcast addresses); the agent
itself adds the address without a prefix route, so the prefix never changes a node's routing.

The rules follow the Kubernetes CEL IP library (``isIP``/``isCIDR`` and Go's
``netip.Addr.IsGlobalUnicast``) so that the CRD's schema and this module agree, plus the
subnet-broadcast rule that CEL cannot express.
"""

from __future__ import annotations

import functools
import ipaddress
import re

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface

_PREFIX_RE = re.compile(r"^(0|[1-9][0-9]{0,2})$")
_LIMITED_BROADCAST = ipaddress.IPv4Address("255.255.255.255")

EXAMPLE = "192.0.2.10 or 192.0.2.10/24 or 2001:db8::10/64"


class AddressError(ValueError):
    """``spec.address`` cannot serve as a virtual IP; the message says why and what to write."""


@functools.lru_cache(maxsize=16384)
def parse_address(text: str) -> IPInterface:
    """Parse ``ADDRESS[/PREFIX]`` into an interface, or raise :class:`AddressError`.

    A bare address gets the full-length prefix (/32 or /128). Every problem is reported at
    once, in the order a person would fix them. Cached: the operator's every pass parses every
    VirtualIP's address (placement, duplicates), 10% of a pass over 1,000 VIPs uncached; the
    result is immutable.
    """
    interface, problems = _analyse(text)
    if interface is None:
        raise AddressError("; ".join(problems))
    return interface


def address_problems(text: str) -> list[str]:
    """Every reason why ``text`` is not a usable virtual IP (an empty list when it is)."""
    return _analyse(text)[1]


def _analyse(text: str) -> tuple[IPInterface | None, list[str]]:
    host_text, slash, prefix_text = text.partition("/")
    try:
        host = parse_host(host_text)
    except AddressError as exc:
        return None, [str(exc)]

    problems: list[str] = []
    max_prefix: int = host.max_prefixlen
    prefix = max_prefix
    if slash:
        if not _PREFIX_RE.match(prefix_text) or not 1 <= int(prefix_text) <= max_prefix:
            return None, [
                f"prefix length {prefix_text!r} is out of range: IPv{host.version} "
                f"takes 1 to {max_prefix} (or no prefix at all)"
            ]
        prefix = int(prefix_text)

    kind = _special_kind(host)
    if kind:
        problems.append(
            f"{host} is {kind}; a virtual IP must be a unicast address that other hosts "
            f"can reach, such as {EXAMPLE}"
        )

    interface = ipaddress.ip_interface((host, prefix))
    network = interface.network
    if prefix < max_prefix - 1:
        if host == network.network_address:
            problems.append(
                f"{host} is the network address of {network}; pick a host address inside it"
            )
        elif host.version == 4 and host == network.broadcast_address:
            problems.append(
                f"{host} is the broadcast address of {network}; pick a host address inside it"
            )
    return (None if problems else interface), problems


def parse_host(text: str) -> IPAddress:
    """One address without a prefix, or :class:`AddressError` saying why it is not one."""
    if "%" in text:
        raise AddressError(
            f"{text!r} has an IPv6 zone; write the address without '%ZONE' and name the "
            "interface in spec.interface instead"
        )
    try:
        host = ipaddress.ip_address(text)
    except ValueError:
        raise AddressError(
            f"{text!r} is not an IPv4 or IPv6 address; write it like {EXAMPLE}"
        ) from None
    if isinstance(host, ipaddress.IPv6Address) and host.ipv4_mapped is not None:
        raise AddressError(
            f"{text!r} is an IPv4-mapped IPv6 address; write the IPv4 address "
            f"{host.ipv4_mapped} itself"
        )
    return host


def _special_kind(host: IPAddress) -> str | None:
    """Name the reason ``host`` is not global unicast, as Go's ``IsGlobalUnicast`` decides."""
    if host.is_unspecified:
        return "the unspecified address"
    if host.is_loopback:
        return "a loopback address"
    if host.is_multicast:
        return "a multicast address"
    if host.is_link_local:
        return "a link-local address"
    if host == _LIMITED_BROADCAST:
        return "the limited broadcast address"
    return None
