"""Reading ARP and NDP frames as claims ("this MAC holds this address") and questions ("this
MAC asks who holds that address").

The conflict detector (DESIGN.md safety 3 and 5) and the probe only need to know who claims
which address, so a frame is reduced to a `Claim` or to None (`parse_claim`); the defence of
an address in conflict needs to know who is resolving it afresh, a `Question`
(`parse_question`). The parsers work on raw bytes from a packet socket and never raise: a
truncated, garbled or irrelevant frame is None, because anyone on the LAN can send anything.

What counts as a claim:
- an ARP request or reply (Ethernet/IPv4) with a sender IP other than 0.0.0.0: the sender
  says the sender IP is at the sender MAC (an ARP probe, sender 0.0.0.0, claims nothing);
- an ICMPv6 neighbour advertisement that passes RFC 4861 7.1.2 validation (hop limit 255,
  code 0, correct checksum, unicast target, no zero-length option): the target is at the
  target link-layer address option's MAC, or at the Ethernet source when it has none.

What counts as a question: an ARP request whose target IP is not its sender IP (a gratuitous
ARP asks nothing; an RFC 5227 probe, sender 0.0.0.0, does ask), or a valid neighbour
solicitation (RFC 4861 7.1.1) for a unicast target; the asker is the sender's MAC (the source
link-layer option of an NS, else the Ethernet source).
"""

from __future__ import annotations

import enum
import ipaddress
import struct
from typing import NamedTuple

ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
ETH_HEADER = 14
IPV6_HEADER = 40
ICMPV6 = 58
NEIGHBOR_SOLICITATION = 135
NEIGHBOR_ADVERTISEMENT = 136
OPTION_SOURCE_LLADDR = 1
OPTION_TARGET_LLADDR = 2


class ClaimKind(enum.StrEnum):
    """Which frame made the claim."""

    ARP_REQUEST = "arp-request"  # a request whose sender uses the address
    ARP_ANNOUNCEMENT = "arp-announcement"  # a gratuitous ARP request (sender IP == target IP)
    ARP_REPLY = "arp-reply"
    NEIGHBOR_ADVERTISEMENT = "neighbor-advertisement"


class Claim(NamedTuple):
    """`mac` claims to hold `address`."""

    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    mac: str
    kind: ClaimKind


class Question(NamedTuple):
    """`mac` asks who holds `address` (an ARP request or a neighbour solicitation)."""

    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    mac: str


def format_mac(raw: bytes) -> str:
    """Six bytes as a lower-case, colon-separated MAC."""
    return ":".join(f"{byte:02x}" for byte in raw)


def parse_claim(frame: bytes) -> Claim | None:
    """The claim `frame` (a whole Ethernet frame) makes, or None if it makes none."""
    if len(frame) < ETH_HEADER:
        return None
    (ethertype,) = struct.unpack_from("!H", frame, 12)
    if ethertype == ETH_P_ARP:
        return _arp_claim(frame[ETH_HEADER:])
    if ethertype == ETH_P_IPV6:
        return _na_claim(frame[ETH_HEADER:], ethernet_source=frame[6:12])
    return None


def parse_question(frame: bytes) -> Question | None:
    """The question `frame` (a whole Ethernet frame) asks, or None if it asks none."""
    if len(frame) < ETH_HEADER:
        return None
    (ethertype,) = struct.unpack_from("!H", frame, 12)
    if ethertype == ETH_P_ARP:
        arp = frame[ETH_HEADER:]
        if len(arp) < 28:
            return None
        htype, ptype, hlen, plen, op = struct.unpack_from("!HHBBH", arp)
        if (htype, ptype, hlen, plen, op) != (1, 0x0800, 6, 4, 1) or arp[14:18] == arp[24:28]:
            return None
        return Question(ipaddress.IPv4Address(arp[24:28]), format_mac(arp[8:14]))
    if ethertype == ETH_P_IPV6:
        subject = _ndp_subject(
            frame[ETH_HEADER:], NEIGHBOR_SOLICITATION, OPTION_SOURCE_LLADDR, frame[6:12]
        )
        return None if subject is None else Question(*subject)
    return None


def _arp_claim(arp: bytes) -> Claim | None:
    if len(arp) < 28:
        return None
    htype, ptype, hlen, plen, op = struct.unpack_from("!HHBBH", arp)
    if (htype, ptype, hlen, plen) != (1, 0x0800, 6, 4) or op not in (1, 2):
        return None
    sender_mac, sender_ip, target_ip = arp[8:14], arp[14:18], arp[24:28]
    if sender_ip == bytes(4):
        return None
    if op == 2:
        kind = ClaimKind.ARP_REPLY
    elif sender_ip == target_ip:
        kind = ClaimKind.ARP_ANNOUNCEMENT
    else:
        kind = ClaimKind.ARP_REQUEST
    return Claim(ipaddress.IPv4Address(sender_ip), format_mac(sender_mac), kind)


def _na_claim(packet: bytes, *, ethernet_source: bytes) -> Claim | None:
    subject = _ndp_subject(packet, NEIGHBOR_ADVERTISEMENT, OPTION_TARGET_LLADDR, ethernet_source)
    return None if subject is None else Claim(*subject, ClaimKind.NEIGHBOR_ADVERTISEMENT)


def _ndp_subject(
    packet: bytes, kind: int, option: int, ethernet_source: bytes
) -> tuple[ipaddress.IPv6Address, str] | None:
    """The target of a valid NS or NA, and the MAC its link-layer option names (else the
    Ethernet source): who claims, or who asks about, which address."""
    icmp = _ndp(packet, kind)
    if icmp is None:
        return None
    target = ipaddress.IPv6Address(icmp[8:24])
    options = _options(icmp[24:])
    if target.is_multicast or options is None:
        return None
    return target, format_mac(options.get(option, ethernet_source))


def _ndp(packet: bytes, kind: int) -> bytes | None:
    """The ICMPv6 message of an IPv6 packet if it is a valid NDP message of ``kind``."""
    if len(packet) < IPV6_HEADER + 24 or packet[0] >> 4 != 6:
        return None
    (payload_length,) = struct.unpack_from("!H", packet, 4)
    next_header, hop_limit = packet[6], packet[7]
    icmp = packet[IPV6_HEADER : IPV6_HEADER + payload_length]
    if next_header != ICMPV6 or hop_limit != 255 or len(icmp) != payload_length:
        return None
    if len(icmp) < 24 or icmp[0] != kind or icmp[1] != 0:
        return None
    if _checksum(packet[8:40] + struct.pack("!I3xB", len(icmp), ICMPV6) + icmp) != 0:
        return None
    return icmp


def _options(options: bytes) -> dict[int, bytes] | None:
    """The link-layer address options by type; None when one is malformed (RFC 4861 7.1)."""
    found: dict[int, bytes] = {}
    while options:
        if len(options) < 2 or options[1] == 0 or len(options) < options[1] * 8:
            return None  # a zero-length or overrunning option voids the message
        if options[0] in (OPTION_SOURCE_LLADDR, OPTION_TARGET_LLADDR) and options[1] == 1:
            found[options[0]] = options[2:8]
        options = options[options[1] * 8 :]
    return found


def _checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of `data`; 0 when `data` includes a correct one."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF
