"""Reading frames as claims (floatip_agent.claims). Proves:

- gratuitous ARPs (request and reply form), ARP replies and ARP requests with a sender IP
  are claims of the sender IP by the sender MAC, each of its kind;
- an ARP probe (sender 0.0.0.0) claims nothing; nor do our own DAD solicitations;
- an unsolicited NA claims its target for the target link-layer option's MAC (or the
  Ethernet source without the option), also when padded to Ethernet's 60-byte minimum;
- an NA that fails RFC 4861 validation (hop limit, checksum, multicast target, zero-length
  option) claims nothing;
- truncated frames, garbage and unrelated traffic give None, never an exception.
"""

from __future__ import annotations

import ipaddress
import random

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import ICMPv6EchoRequest, ICMPv6ND_NA, ICMPv6NDOptDstLLAddr, IPv6
from scapy.layers.l2 import ARP, Ether

from floatip_agent import claims, packets

MAC = "02:f1:00:00:00:03"
VIP4 = ipaddress.IPv4Address("192.0.2.100")
VIP6 = ipaddress.IPv6Address("2001:db8:f1::100")
Kind = claims.ClaimKind


def na(*, hlim: int = 255, tgt: str = str(VIP6)) -> bytes:
    """An unsolicited NA from MAC, with the given hop limit and target."""
    frame = (
        Ether(src=MAC, dst="33:33:00:00:00:01")
        / IPv6(src=str(VIP6), dst="ff02::1", hlim=hlim)
        / ICMPv6ND_NA(tgt=tgt, O=1)
        / ICMPv6NDOptDstLLAddr(lladdr=MAC)
    )
    return bytes(frame)


@pytest.mark.parametrize(
    ("frame", "kind"),
    [
        (packets.gratuitous_arp(VIP4, mac=MAC), Kind.ARP_ANNOUNCEMENT),
        (packets.gratuitous_arp(VIP4, mac=MAC, reply=True), Kind.ARP_REPLY),
        (
            bytes(Ether(src=MAC) / ARP(op=2, hwsrc=MAC, psrc=str(VIP4), pdst="192.0.2.11")),
            Kind.ARP_REPLY,
        ),
        (
            bytes(Ether(src=MAC) / ARP(op=1, hwsrc=MAC, psrc=str(VIP4), pdst="192.0.2.11")),
            Kind.ARP_REQUEST,
        ),
    ],
)
def test_arp_claims(frame: bytes, kind: claims.ClaimKind) -> None:
    assert claims.parse_claim(frame) == claims.Claim(VIP4, MAC, kind)


def test_arp_sender_mac_is_the_claimant_not_the_ethernet_source() -> None:
    frame = Ether(src="02:00:00:00:00:99") / ARP(op=2, hwsrc=MAC, psrc=str(VIP4))
    assert claims.parse_claim(bytes(frame)) == claims.Claim(VIP4, MAC, Kind.ARP_REPLY)


def test_unsolicited_advertisement_claims_its_target() -> None:
    frame = packets.unsolicited_advertisement(VIP6, mac=MAC)
    expected = claims.Claim(VIP6, MAC, Kind.NEIGHBOR_ADVERTISEMENT)
    assert claims.parse_claim(frame) == expected
    assert claims.parse_claim(frame + bytes(60)) == expected  # Ethernet padding


def test_solicited_advertisement_without_option_uses_ethernet_source() -> None:
    frame = Ether(src=MAC, dst="02:f1:00:00:00:01") / IPv6(
        src=str(VIP6), dst="2001:db8:f1::11", hlim=255
    ) / ICMPv6ND_NA(tgt=str(VIP6), S=1, O=1)  # fmt: skip
    assert claims.parse_claim(bytes(frame)) == claims.Claim(VIP6, MAC, Kind.NEIGHBOR_ADVERTISEMENT)


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(packets.arp_probe(VIP4, mac=MAC), id="arp-probe"),
        pytest.param(packets.dad_solicitation(VIP6, mac=MAC), id="dad-ns"),
        pytest.param(na(hlim=64), id="na-hop-limit-64"),
        pytest.param(na(tgt="ff02::1"), id="na-multicast-target"),
        pytest.param(
            packets.unsolicited_advertisement(VIP6, mac=MAC)[:-10]
            + b"\xff"
            + packets.unsolicited_advertisement(VIP6, mac=MAC)[-9:],
            id="na-bad-checksum",
        ),
        pytest.param(
            bytes(
                Ether(src=MAC)
                / IPv6(src=str(VIP6), dst="ff02::1", hlim=255)
                / ICMPv6ND_NA(tgt=str(VIP6), O=1)
                / bytes([2, 0, 0, 0, 0, 0, 0, 0])
            ),
            id="na-zero-length-option",
        ),
        pytest.param(
            bytes(Ether() / IPv6(src=str(VIP6), dst="ff02::1", hlim=255) / ICMPv6EchoRequest()),
            id="icmpv6-echo",
        ),
        pytest.param(bytes(Ether() / IP(src=str(VIP4)) / UDP()), id="udp"),
        pytest.param(
            bytes(Ether(type=0x0806) / ARP(ptype=0x86DD, plen=16)), id="arp-wrong-protocol"
        ),
        pytest.param(b"", id="empty"),
    ],
)
def test_no_claim(frame: bytes) -> None:
    assert claims.parse_claim(frame) is None


@pytest.mark.parametrize(
    "frame",
    [
        packets.gratuitous_arp(VIP4, mac=MAC),
        packets.unsolicited_advertisement(VIP6, mac=MAC),
    ],
    ids=["garp", "na"],
)
def test_truncated_frames_never_raise(frame: bytes) -> None:
    """Every proper prefix of a claiming frame is no claim (the NA's checksum covers it all)."""
    results = [claims.parse_claim(frame[:length]) for length in range(len(frame))]
    assert results == [None] * len(frame)


def test_garbage_never_raises() -> None:
    rng = random.Random(5227)
    starts = [b"", bytes(12) + b"\x08\x06", bytes(12) + b"\x86\xdd", bytes(12) + b"\x86\xdd\x60"]
    for _ in range(3000):
        frame = rng.choice(starts) + rng.randbytes(rng.randrange(0, 120))
        claims.parse_claim(frame)  # must not raise; any result is allowed for random bytes
