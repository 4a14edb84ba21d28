"""The frames a VIP holder puts on the wire, built apart from sending them (kube-vip's habit).

Every builder is pure and returns the whole Ethernet frame as bytes, so a unit test can pin
it byte for byte and `floatip_agent.announcing` / `floatip_agent.probing` only write bytes to
a socket. What each frame is for:

- `arp_probe`: RFC 5227 probe before claiming an IPv4 address. Sender IP 0.0.0.0 so that no
  host learns anything from it; a host that holds the address answers it.
- `gratuitous_arp`: RFC 5227 announcement (ARP request, sender IP == target IP, broadcast).
  Linux with the default ``arp_accept=0`` updates an existing neighbour entry from it (after
  the entry's ``locktime``) and never creates one. ``reply=True`` builds the reply form some
  old switches want.
- `dad_solicitation`: RFC 4862 duplicate address detection NS: source ``::``, destination the
  target's solicited-node multicast group, no source link-layer option (RFC 4861 7.1.1
  forbids it with an unspecified source).
- `unsolicited_advertisement`: RFC 4861 7.2.6 unsolicited NA: to ff02::1, hop limit 255,
  Override set, Solicited and Router clear, with the target link-layer address option. Its
  source is the target itself, which the holder has just assigned (as Linux's own
  ``ndisc_send_unsol_na`` does).

The frames are packed with `struct`, not built with scapy: they are four fixed layouts, and a
node taking 1,000 addresses at a failover builds some 3,000 of them on the critical path,
where scapy's ``bytes(Ether() / ARP())`` costs about 0.4 ms each (1.2 s) and a pack about
3 µs; scapy also costs the agent some 40 MiB of imports. The unit tests pin every frame byte
for byte, and check each against scapy's build of the same packet.
"""

from __future__ import annotations

import ipaddress
import struct

BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
ZERO_MAC = "00:00:00:00:00:00"
ALL_NODES = ipaddress.IPv6Address("ff02::1")
UNSPECIFIED_V4 = ipaddress.IPv4Address("0.0.0.0")
UNSPECIFIED_V6 = ipaddress.IPv6Address("::")
#: RFC 4861: every NDP message is sent, and must be received, with hop limit 255.
NDP_HOP_LIMIT = 255

ARP_REQUEST = 1
ARP_REPLY = 2
ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_ARP = 0x0806
ETHERTYPE_IPV6 = 0x86DD
ICMPV6 = 58
ND_NEIGHBOR_SOLICIT = 135
ND_NEIGHBOR_ADVERT = 136
ND_OVERRIDE = 0x20  # the O flag, in the first byte after the checksum (R 0x80, S 0x40)
ND_OPT_TARGET_LLADDR = 2

_ETHER = struct.Struct("!6s6sH")
_ARP = struct.Struct("!HHBBH6s4s6s4s")  # htype, ptype, hlen, plen, op, sha, spa, tha, tpa
_IPV6 = struct.Struct("!IHBB16s16s")  # version/class/flow, payload length, next header, hops


def solicited_node_group(address: ipaddress.IPv6Address) -> ipaddress.IPv6Address:
    """The solicited-node multicast group of `address` (ff02::1:ffXX:XXXX, RFC 4291 2.7.1)."""
    low24 = int(address) & 0xFFFFFF
    return ipaddress.IPv6Address(int(ipaddress.IPv6Address("ff02::1:ff00:0")) | low24)


def multicast_mac(group: ipaddress.IPv6Address) -> str:
    """The Ethernet address of an IPv6 multicast group (33:33 + the low 32 bits, RFC 2464 7)."""
    low32 = group.packed[-4:]
    return "33:33:" + ":".join(f"{byte:02x}" for byte in low32)


def arp_probe(address: ipaddress.IPv4Address, *, mac: str) -> bytes:
    """An RFC 5227 ARP probe for `address` from `mac`: sender IP 0.0.0.0, broadcast."""
    return _arp(ARP_REQUEST, mac=mac, sender=UNSPECIFIED_V4, target=address)


def gratuitous_arp(
    address: ipaddress.IPv4Address, *, mac: str, reply: bool = False, link_mac: str | None = None
) -> bytes:
    """An announcement that `address` is at `mac`: sender IP == target IP, broadcast.

    `link_mac` is the Ethernet source when it differs from `mac`: the old holder of a planned
    handover tells the LAN where the address went (the new holder's MAC in the ARP payload,
    which neighbours take) while its own MAC stays the frame's source (which switches learn).
    """
    return _arp(
        ARP_REPLY if reply else ARP_REQUEST,
        mac=mac,
        sender=address,
        target=address,
        link_mac=link_mac,
    )


def _arp(
    op: int,
    *,
    mac: str,
    sender: ipaddress.IPv4Address,
    target: ipaddress.IPv4Address,
    link_mac: str | None = None,
) -> bytes:
    ether = _ETHER.pack(_mac(BROADCAST_MAC), _mac(link_mac or mac), ETHERTYPE_ARP)
    arp = _ARP.pack(
        1, ETHERTYPE_IPV4, 6, 4, op, _mac(mac), sender.packed, _mac(ZERO_MAC), target.packed
    )
    return ether + arp


def dad_solicitation(address: ipaddress.IPv6Address, *, mac: str) -> bytes:
    """A DAD neighbour solicitation for `address`: from ::, to its solicited-node group."""
    group = solicited_node_group(address)
    body = struct.pack("!BBHI16s", ND_NEIGHBOR_SOLICIT, 0, 0, 0, address.packed)
    return _icmpv6(eth_dst=multicast_mac(group), eth_src=mac, src=UNSPECIFIED_V6, dst=group,
                   body=body)  # fmt: skip


def unsolicited_advertisement(
    address: ipaddress.IPv6Address, *, mac: str, link_mac: str | None = None
) -> bytes:
    """An unsolicited NA that `address` is at `mac`: to ff02::1, Override set, S and R clear.

    `link_mac` as in `gratuitous_arp`: the frame's source when the target MAC is another host's.
    """
    body = struct.pack(
        "!BBHB3x16sBB6s", ND_NEIGHBOR_ADVERT, 0, 0, ND_OVERRIDE, address.packed,
        ND_OPT_TARGET_LLADDR, 1, _mac(mac),
    )  # fmt: skip
    return _icmpv6(eth_dst=multicast_mac(ALL_NODES), eth_src=link_mac or mac, src=address,
                   dst=ALL_NODES, body=body)  # fmt: skip


def _icmpv6(
    *, eth_dst: str, eth_src: str, src: ipaddress.IPv6Address, dst: ipaddress.IPv6Address,
    body: bytes,
) -> bytes:  # fmt: skip
    """Ethernet + IPv6 (hop limit 255) + the ICMPv6 ``body`` with its checksum filled in."""
    pseudo = src.packed + dst.packed + struct.pack("!I3xB", len(body), ICMPV6)
    checksum = _internet_checksum(pseudo + body)
    body = body[:2] + struct.pack("!H", checksum) + body[4:]
    ipv6 = _IPV6.pack(6 << 28, len(body), ICMPV6, NDP_HOP_LIMIT, src.packed, dst.packed)
    return _ETHER.pack(_mac(eth_dst), _mac(eth_src), ETHERTYPE_IPV6) + ipv6 + body


def _internet_checksum(data: bytes) -> int:
    """RFC 1071: the ones' complement of the ones' complement sum of 16-bit words."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def probe(address: ipaddress.IPv4Address | ipaddress.IPv6Address, *, mac: str) -> bytes:
    """The probe for `address` in its family: an ARP probe or a DAD solicitation."""
    if isinstance(address, ipaddress.IPv4Address):
        return arp_probe(address, mac=mac)
    return dad_solicitation(address, mac=mac)


def announcement(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
    *,
    mac: str,
    link_mac: str | None = None,
) -> bytes:
    """The announcement for `address` in its family: a gratuitous ARP or an unsolicited NA."""
    if isinstance(address, ipaddress.IPv4Address):
        return gratuitous_arp(address, mac=mac, link_mac=link_mac)
    return unsolicited_advertisement(address, mac=mac, link_mac=link_mac)
