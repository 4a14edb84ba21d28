"""Gratuitous ARP from inside a lab host: what a new VIP holder, or an intruder, puts on the wire.

Tests run it as a process inside a host's namespace, so the frame leaves by that host's eth0::

    host.run([sys.executable, "-m", "floatip_lab.garp", "eth0", "192.0.2.100"])

Building a frame is apart from sending it, so the exact bytes are unit tested. The frame is
an ARP *request* with sender IP = target IP, broadcast: Linux treats it as gratuitous
(`arp_is_garp`) and, with the default ``arp_accept=0``, updates an existing neighbour entry
from it but never creates one. This is a lab tool; the agent has its own announcer.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from collections.abc import Sequence

BROADCAST = "ff:ff:ff:ff:ff:ff"
ZERO_MAC = "00:00:00:00:00:00"


def build_gratuitous_arp(address: ipaddress.IPv4Address, mac: str) -> bytes:
    """The Ethernet frame announcing that `address` is at `mac` (ARP request, tip == sip)."""
    from scapy.layers.l2 import ARP, Ether

    frame = Ether(src=mac, dst=BROADCAST) / ARP(
        op=1, hwsrc=mac, psrc=str(address), hwdst=ZERO_MAC, pdst=str(address)
    )
    return bytes(frame)


def send_frames(ifname: str, frames: Sequence[bytes]) -> None:
    """Send raw Ethernet frames out of `ifname` (needs CAP_NET_RAW in the current namespace)."""
    from scapy.packet import Raw
    from scapy.sendrecv import sendp

    sendp([Raw(frame) for frame in frames], iface=ifname, verbose=False)


def interface_mac(ifname: str) -> str:
    """The MAC of `ifname` in the current namespace, read from sysfs."""
    path = f"/sys/class/net/{ifname}/address"
    try:
        with open(path, encoding="ascii") as handle:
            return handle.read().strip()
    except FileNotFoundError:
        raise SystemExit(
            f"garp: no interface {ifname!r} in this network namespace ({path} is missing); "
            "run it inside the lab host: `ip netns exec NETNS python -m floatip_lab.garp ...`"
        ) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m floatip_lab.garp IFNAME ADDRESS... [--mac MAC] [--count N]``."""
    parser = argparse.ArgumentParser(
        prog="python -m floatip_lab.garp",
        description="Send gratuitous ARPs for ADDRESSes out of IFNAME, in this order.",
    )
    parser.add_argument("ifname")
    parser.add_argument("addresses", nargs="+", type=ipaddress.IPv4Address)
    parser.add_argument("--mac", help="sender MAC (default: the interface's own)")
    parser.add_argument("--count", type=int, default=1, help="rounds over all addresses")
    args = parser.parse_args(argv)
    mac: str = args.mac or interface_mac(args.ifname)
    frames = [build_gratuitous_arp(a, mac) for _ in range(args.count) for a in args.addresses]
    send_frames(args.ifname, frames)
    return 0


if __name__ == "__main__":
    sys.exit(main())
