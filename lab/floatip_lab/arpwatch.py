"""The lab client's ARP log: every ARP frame about one address, as the client sees it.

Run inside the client namespace (``python -m floatip_lab.arpwatch --address VIP --out FILE``).
A packet socket bound to ETH_P_ARP receives only ARP, so nothing else costs anything. Bounded
by ``--duration`` and SIGTERM. One JSON line per frame (`floatip_lab.timeline.ArpFrame`);
`timeline.double_answers` then tells whether two MACs ever answered for the VIP at once.
"""

from __future__ import annotations

import argparse
import ipaddress
import select
import signal
import socket
import sys
import time
from types import FrameType

from floatip_lab import timeline

ETH_P_ARP = 0x0806
_stop = False


def _on_term(signum: int, frame: FrameType | None) -> None:
    global _stop  # noqa: PLW0603 -- a signal handler can only reach module state
    _stop = True


def parse(frame: bytes, at: float) -> timeline.ArpFrame | None:
    """An Ethernet+ARP (IPv4 over Ethernet) frame as a record, or None if it is not one."""
    if (
        len(frame) < 42
        or frame[12:14] != b"\x08\x06"
        or frame[14:20] != b"\x00\x01\x08\x00\x06\x04"
    ):
        return None
    op = int.from_bytes(frame[20:22], "big")
    sender_mac = ":".join(f"{b:02x}" for b in frame[22:28])
    sender_ip = str(ipaddress.IPv4Address(frame[28:32]))
    target_ip = str(ipaddress.IPv4Address(frame[38:42]))
    return timeline.ArpFrame(at, op, sender_mac, sender_ip, target_ip)


def run(*, interface: str, address: str, duration: float, out: str) -> int:
    signal.signal(signal.SIGTERM, _on_term)
    seen = 0
    with (
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP)) as sock,
        open(out, "a", buffering=1) as sink,
    ):
        sock.bind((interface, ETH_P_ARP))
        deadline = time.time() + duration
        while not _stop and time.time() < deadline:
            ready, _, _ = select.select([sock], [], [], 0.1)
            if not ready:
                continue
            record = parse(sock.recv(2048), time.time())
            if record and address in (record.sender_ip, record.target_ip):
                sink.write(record.to_json() + "\n")
                seen += 1
    return seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True, help="the VIP whose ARP frames to log")
    parser.add_argument("--interface", default="eth0")
    parser.add_argument("--out", required=True)
    parser.add_argument("--duration", type=float, default=120.0)
    args = parser.parse_args(argv)
    run(interface=args.interface, address=args.address, duration=args.duration, out=args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
