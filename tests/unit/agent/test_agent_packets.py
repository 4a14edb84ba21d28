"""The agent's frames (floatip_agent.packets), byte for byte. Proves:

- the ARP probe is a broadcast request with sender IP 0.0.0.0 and the VIP as target (RFC 5227);
- the gratuitous ARP is a broadcast request (or reply) with sender IP == target IP == VIP;
- the DAD solicitation comes from ::, goes to the VIP's solicited-node group (IPv6 and
  Ethernet), has hop limit 255 and no source link-layer option (RFC 4861/4862);
- the unsolicited NA goes to ff02::1 with hop limit 255, flags Override only, the target
  link-layer option, and a checksum that this test computes on its own (RFC 1071);
- every frame equals scapy's build of the same packet (the agent packs them with struct).
"""

from __future__ import annotations

import ipaddress
import struct

import pytest

from floatip_agent import packets

MAC = "02:f1:00:00:00:02"
MAC_BYTES = bytes.fromhex("02f100000002")
VIP4 = ipaddress.IPv4Address("192.0.2.100")
VIP6 = ipaddress.IPv6Address("2001:db8:f1::1:2345")


def internet_checksum(data: bytes) -> int:
    """RFC 1071, written out here so the test does not trust scapy's."""
    if len(data) % 2:
        data += b"\0"
    total = 0
    for index in range(0, len(data), 2):
        total += (data[index] << 8) | data[index + 1]
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def icmpv6_frame(
    *, eth_dst: str, src: ipaddress.IPv6Address, dst: ipaddress.IPv6Address, body: bytes
) -> bytes:
    """Ethernet + IPv6 (hop limit 255) + ICMPv6 `body` (checksum field zero) with the checksum."""
    pseudo = src.packed + dst.packed + struct.pack("!I3xB", len(body), 58)
    checksum = internet_checksum(pseudo + body)
    body = body[:2] + struct.pack("!H", checksum) + body[4:]
    ipv6 = struct.pack("!IHBB", 6 << 28, len(body), 58, 255) + src.packed + dst.packed
    return bytes.fromhex(eth_dst) + MAC_BYTES + b"\x86\xdd" + ipv6 + body


def test_arp_probe_bytes() -> None:
    assert packets.arp_probe(VIP4, mac=MAC).hex() == (
        "ffffffffffff" "02f100000002" "0806"
        "0001" "0800" "06" "04" "0001"  # Ethernet/IPv4, request
        "02f100000002" "00000000"  # sender: our MAC, 0.0.0.0
        "000000000000" "c0000264"  # target: unknown MAC, the VIP
    )  # fmt: skip


@pytest.mark.parametrize(("reply", "op"), [(False, "0001"), (True, "0002")])
def test_gratuitous_arp_bytes(reply: bool, op: str) -> None:
    assert packets.gratuitous_arp(VIP4, mac=MAC, reply=reply).hex() == (
        "ffffffffffff" "02f100000002" "0806"
        "0001" "0800" "06" "04" + op +
        "02f100000002" "c0000264"  # sender: our MAC, the VIP
        "000000000000" "c0000264"  # target: the VIP
    )  # fmt: skip


def test_dad_solicitation_bytes() -> None:
    group = ipaddress.IPv6Address("ff02::1:ff01:2345")
    body = struct.pack("!BBHI", 135, 0, 0, 0) + VIP6.packed  # no options at all
    expected = icmpv6_frame(
        eth_dst="3333ff012345", src=ipaddress.IPv6Address("::"), dst=group, body=body
    )
    assert packets.dad_solicitation(VIP6, mac=MAC).hex() == expected.hex()


def test_unsolicited_advertisement_bytes() -> None:
    flags = 0x20000000  # Override only: Router (0x80..) and Solicited (0x40..) clear
    option = bytes([2, 1]) + MAC_BYTES  # target link-layer address, 8 bytes
    body = struct.pack("!BBHI", 136, 0, 0, flags) + VIP6.packed + option
    expected = icmpv6_frame(
        eth_dst="333300000001", src=VIP6, dst=ipaddress.IPv6Address("ff02::1"), body=body
    )
    assert packets.unsolicited_advertisement(VIP6, mac=MAC).hex() == expected.hex()


@pytest.mark.parametrize(
    ("address", "group"),
    [
        ("2001:db8::1", "ff02::1:ff00:1"),
        ("fe80::1:2:3:4ab:cdef", "ff02::1:ffab:cdef"),
        ("2001:db8::abcd:ef12:3456", "ff02::1:ff12:3456"),
    ],
)
def test_solicited_node_group(address: str, group: str) -> None:
    assert packets.solicited_node_group(ipaddress.IPv6Address(address)) == (
        ipaddress.IPv6Address(group)
    )


def test_family_dispatch() -> None:
    assert packets.probe(VIP4, mac=MAC) == packets.arp_probe(VIP4, mac=MAC)
    assert packets.probe(VIP6, mac=MAC) == packets.dad_solicitation(VIP6, mac=MAC)
    assert packets.announcement(VIP4, mac=MAC) == packets.gratuitous_arp(VIP4, mac=MAC)
    assert packets.announcement(VIP6, mac=MAC) == packets.unsolicited_advertisement(VIP6, mac=MAC)


NEW = "02:f1:00:00:00:03"


def test_handover_redirect_names_the_new_mac_from_our_own_source() -> None:
    """The old holder's parting announcement: ARP payload = new holder, Ethernet source = us."""
    assert packets.announcement(VIP4, mac=NEW, link_mac=MAC).hex() == (
        "ffffffffffff" "02f100000002" "0806"  # from our own MAC: switches learn nothing wrong
        "0001" "0800" "06" "04" "0001"
        "02f100000003" "c0000264"  # sender: the NEW holder's MAC, the VIP
        "000000000000" "c0000264"
    )  # fmt: skip
    frame = packets.announcement(VIP6, mac=NEW, link_mac=MAC)
    assert frame[6:12] == MAC_BYTES
    assert frame.endswith(bytes([2, 1]) + bytes.fromhex("02f100000003"))


@pytest.mark.parametrize(
    "address", ["192.0.2.100", "10.64.15.254", "0.0.0.1", "2001:db8:f1::1:2345", "fe80::1", "::2"]
)
def test_every_frame_is_the_one_scapy_builds(address: str) -> None:
    """The packed frames against scapy's builds of the same packets (the reference)."""
    from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr, IPv6
    from scapy.layers.l2 import ARP, Ether

    ip = ipaddress.ip_address(address)
    other = "02:f1:00:00:00:09"
    if isinstance(ip, ipaddress.IPv4Address):
        arp = Ether(src=MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(
            op=1, hwsrc=MAC, psrc="0.0.0.0", hwdst="00:00:00:00:00:00", pdst=address
        )
        assert packets.arp_probe(ip, mac=MAC) == bytes(arp)
        for reply, op in ((False, 1), (True, 2)):
            garp = Ether(src=other, dst="ff:ff:ff:ff:ff:ff") / ARP(
                op=op, hwsrc=MAC, psrc=address, hwdst="00:00:00:00:00:00", pdst=address
            )
            built = packets.gratuitous_arp(ip, mac=MAC, reply=reply, link_mac=other)
            assert built == bytes(garp)
        return
    group = packets.solicited_node_group(ip)
    ns = (
        Ether(src=MAC, dst=packets.multicast_mac(group))
        / IPv6(src="::", dst=str(group), hlim=255)
        / ICMPv6ND_NS(tgt=address)
    )
    assert packets.dad_solicitation(ip, mac=MAC) == bytes(ns)
    na = (
        Ether(src=other, dst="33:33:00:00:00:01")
        / IPv6(src=address, dst="ff02::1", hlim=255)
        / ICMPv6ND_NA(tgt=address, R=0, S=0, O=1)
        / ICMPv6NDOptDstLLAddr(lladdr=MAC)
    )
    assert packets.unsolicited_advertisement(ip, mac=MAC, link_mac=other) == bytes(na)
