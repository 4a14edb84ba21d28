"""The lab's gratuitous ARP frame (floatip_lab.garp), byte for byte. Proves it is a broadcast
ARP request with sender IP == target IP and sender MAC == Ethernet source, which is what
Linux's `arp_is_garp` accepts as gratuitous.
"""

from __future__ import annotations

import ipaddress

from floatip_lab import garp


def test_gratuitous_arp_bytes() -> None:
    frame = garp.build_gratuitous_arp(ipaddress.IPv4Address("192.0.2.100"), "02:f1:00:00:00:02")

    assert frame.hex() == (
        "ffffffffffff" "02f100000002" "0806"  # Ethernet: broadcast, from the MAC, ARP
        "0001" "0800" "06" "04" "0001"  # Ethernet/IPv4, request
        "02f100000002" "c0000264"  # sender: MAC, 192.0.2.100
        "000000000000" "c0000264"  # target: unknown MAC, 192.0.2.100
    )  # fmt: skip
