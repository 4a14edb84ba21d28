"""The Kubernetes CEL IP and CIDR libraries, for cel-python.

kube-apiserver offers ``isIP``, ``ip``, ``isCIDR``, ``cidr`` and their methods to
``x-kubernetes-validations`` rules (https://kubernetes.io/docs/reference/using-api/cel/).
The VirtualIP CRD's rules use them, so the test server must answer exactly like Go's
``net/netip`` does underneath: no leading zeros, no zones, no IPv4-mapped IPv6 addresses,
private ranges count as global unicast, a CIDR may keep host bits.

celpy calls a function both as ``f(x)`` and as ``x.f()``, so each name here dispatches on its
first argument (``ip("1.2.3.4")`` parses; ``cidr.ip()`` returns the prefix's address).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from celpy import celtypes

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class IP:
    """A CEL ``net.IP`` value."""

    __slots__ = ("addr",)

    def __init__(self, addr: Address) -> None:
        self.addr = addr

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IP) and self.addr == other.addr

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self.addr)

    def __str__(self) -> str:
        return str(self.addr)

    def __repr__(self) -> str:
        return f"ip({str(self.addr)!r})"


class CIDR:
    """A CEL ``net.CIDR`` value: an address (host bits kept) and a prefix length."""

    __slots__ = ("addr", "bits")

    def __init__(self, addr: Address, bits: int) -> None:
        self.addr = addr
        self.bits = bits

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network((self.addr, self.bits), strict=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CIDR) and (self.addr, self.bits) == (other.addr, other.bits)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash((self.addr, self.bits))

    def __str__(self) -> str:
        return f"{self.addr}/{self.bits}"

    def __repr__(self) -> str:
        return f"cidr({str(self)!r})"


def parse_addr(text: str) -> Address:
    """Parse like ``netip.ParseAddr`` plus Kubernetes' extra refusals; ValueError says why."""
    if "%" in text:
        raise ValueError(f"IP address {text!r} with zone value is not allowed")
    try:
        addr: Address = ipaddress.IPv6Address(text) if ":" in text else ipaddress.IPv4Address(text)
    except ValueError as exc:
        raise ValueError(
            f"IP Address {text!r} parse error during conversion from string: {exc}"
        ) from None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        raise ValueError(f"IPv4-mapped IPv6 address {text!r} is not allowed")
    return addr


def parse_prefix(text: str) -> CIDR:
    """Parse like ``netip.ParsePrefix``: ``addr/bits``, bits in decimal without leading zeros."""
    addr_text, slash, bits_text = text.partition("/")
    if not slash:
        raise ValueError(
            f"network address parse error during conversion from string: no '/' in {text!r}"
        )
    if "%" in addr_text:
        raise ValueError(f"CIDR {text!r} with zone value is not allowed")
    addr = parse_addr(addr_text)
    if (
        not bits_text.isascii()
        or not bits_text.isdigit()
        or (len(bits_text) > 1 and bits_text[0] == "0")
    ):
        raise ValueError(f"network address parse error: bad bits after slash in {text!r}")
    bits = int(bits_text)
    if bits > addr.max_prefixlen:
        raise ValueError(f"network address parse error: prefix length out of range in {text!r}")
    return CIDR(addr, bits)


def _text(value: Any, what: str) -> str:
    if isinstance(value, str):
        return str(value)
    raise TypeError(f"no such overload: {what}({type(value).__name__})")


def _as_ip(value: Any, what: str) -> IP:
    if isinstance(value, IP):
        return value
    raise TypeError(f"no such overload: {what} on {type(value).__name__}")


def is_ip(value: Any) -> celtypes.BoolType:
    try:
        parse_addr(_text(value, "isIP"))
    except ValueError:
        return celtypes.BoolType(False)
    return celtypes.BoolType(True)


def ip(value: Any) -> IP:
    """``ip(string)`` parses; ``cidr.ip()`` gives the prefix's address (host bits kept)."""
    if isinstance(value, CIDR):
        return IP(value.addr)
    return IP(parse_addr(_text(value, "ip")))


def is_cidr(value: Any) -> celtypes.BoolType:
    try:
        parse_prefix(_text(value, "isCIDR"))
    except ValueError:
        return celtypes.BoolType(False)
    return celtypes.BoolType(True)


def cidr(value: Any) -> CIDR:
    return parse_prefix(_text(value, "cidr"))


def family(value: Any) -> celtypes.IntType:
    return celtypes.IntType(_as_ip(value, "family").addr.version)


def is_unspecified(value: Any) -> celtypes.BoolType:
    return celtypes.BoolType(_as_ip(value, "isUnspecified").addr.is_unspecified)


def is_loopback(value: Any) -> celtypes.BoolType:
    return celtypes.BoolType(_as_ip(value, "isLoopback").addr.is_loopback)


def _is_multicast(addr: Address) -> bool:
    return addr.is_multicast


def is_link_local_multicast(value: Any) -> celtypes.BoolType:
    addr = _as_ip(value, "isLinkLocalMulticast").addr
    if addr.version == 4:
        return celtypes.BoolType(int(addr) >> 8 == 0xE00000)  # 224.0.0.0/24
    return celtypes.BoolType((int(addr) >> 112) & 0xFF0F == 0xFF02)  # ff02::/16, any flags


def _link_local_unicast(addr: Address) -> bool:
    if addr.version == 4:
        return int(addr) >> 16 == 0xA9FE  # 169.254.0.0/16
    return (int(addr) >> 112) & 0xFFC0 == 0xFE80  # fe80::/10


def is_link_local_unicast(value: Any) -> celtypes.BoolType:
    return celtypes.BoolType(_link_local_unicast(_as_ip(value, "isLinkLocalUnicast").addr))


def is_global_unicast(value: Any) -> celtypes.BoolType:
    """Go's ``netip.Addr.IsGlobalUnicast``: private ranges and ULAs count as global."""
    addr = _as_ip(value, "isGlobalUnicast").addr
    if addr.version == 4 and int(addr) in (0, 0xFFFFFFFF):
        return celtypes.BoolType(False)
    return celtypes.BoolType(
        not addr.is_unspecified
        and not addr.is_loopback
        and not _is_multicast(addr)
        and not _link_local_unicast(addr)
    )


def _as_cidr(value: Any, what: str) -> CIDR:
    if isinstance(value, CIDR):
        return value
    raise TypeError(f"no such overload: {what} on {type(value).__name__}")


def masked(value: Any) -> CIDR:
    net = _as_cidr(value, "masked").network
    return CIDR(net.network_address, net.prefixlen)


def prefix_length(value: Any) -> celtypes.IntType:
    return celtypes.IntType(_as_cidr(value, "prefixLength").bits)


def contains_ip(value: Any, other: Any) -> celtypes.BoolType:
    prefix = _as_cidr(value, "containsIP")
    target = other if isinstance(other, IP) else IP(parse_addr(_text(other, "containsIP")))
    if target.addr.version != prefix.addr.version:
        return celtypes.BoolType(False)
    return celtypes.BoolType(target.addr in prefix.network)


def contains_cidr(value: Any, other: Any) -> celtypes.BoolType:
    prefix = _as_cidr(value, "containsCIDR")
    target = other if isinstance(other, CIDR) else parse_prefix(_text(other, "containsCIDR"))
    if target.addr.version != prefix.addr.version or target.bits < prefix.bits:
        return celtypes.BoolType(False)
    return celtypes.BoolType(target.addr in prefix.network)


def string(value: Any) -> celtypes.StringType:
    """``string(x)``, extended to render IP and CIDR values canonically."""
    if isinstance(value, IP | CIDR):
        return celtypes.StringType(str(value))
    return celtypes.StringType(value)


FUNCTIONS: dict[str, Any] = {
    "isIP": is_ip,
    "ip": ip,
    "isCIDR": is_cidr,
    "cidr": cidr,
    "family": family,
    "isUnspecified": is_unspecified,
    "isLoopback": is_loopback,
    "isLinkLocalMulticast": is_link_local_multicast,
    "isLinkLocalUnicast": is_link_local_unicast,
    "isGlobalUnicast": is_global_unicast,
    "masked": masked,
    "prefixLength": prefix_length,
    "containsIP": contains_ip,
    "containsCIDR": contains_cidr,
    "string": string,
}
