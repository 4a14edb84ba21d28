"""The lab's cheap question "who holds this address?": a UDP responder naming its node.

`floatip bench scale` asks a thousand VIPs every few tens of milliseconds. nginx and a TCP
connection per question (`floatip_lab.httpclient`) cannot do that beside the system under
test on two cores; one datagram per question can. Each node runs ``python -m
floatip_lab.whoami --name serverN`` (started by `start`, only for the benchmarks that ask for
it; the default lab has no such process): it answers every datagram to any of its addresses
on `PORT` with the question's bytes followed by its node name, *from the address the question
was sent to* (``IP_PKTINFO``), as a service bound to the VIP would. The question is the
client's send time and the VIP's index (`QUESTION`), so the client needs no state to match
an answer. The client side is `floatip_lab.udpclient`.
"""

from __future__ import annotations

import argparse
import socket
import struct
import sys

from floatip_lab import processes, state

PORT = 9731
QUESTION = struct.Struct("!dI")  # the client's send time (time.time()), the VIP's index
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # <linux/in.h>; Python 3.11 lacks the name
PKTINFO = struct.Struct("I4s4s")  # struct in_pktinfo: ifindex, spec_dst, addr
MAX_DATAGRAM = 512


def question(sent: float, index: int) -> bytes:
    return QUESTION.pack(sent, index)


def answer(asked: bytes, name: str) -> bytes:
    """The reply to a question: its bytes, then the node's name."""
    return asked + name.encode()


def read_answer(reply: bytes) -> tuple[float, int, str] | None:
    """(send time, VIP index, node name) of a reply; None if it is not one."""
    if len(reply) <= QUESTION.size:
        return None
    sent, index = QUESTION.unpack_from(reply)
    return sent, index, reply[QUESTION.size :].decode(errors="replace")


def destination(ancillary: list[tuple[int, int, bytes]]) -> bytes | None:
    """The address a datagram was sent to, from its ``IP_PKTINFO`` control message."""
    for level, kind, data in ancillary:
        if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(data) >= PKTINFO.size:
            address: bytes = PKTINFO.unpack_from(data)[2]
            return address
    return None


def serve(name: str, port: int) -> None:
    """Answer every question until killed (a lab process: SIGTERM or SIGKILL ends it)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
    sock.bind(("0.0.0.0", port))
    control_size = socket.CMSG_SPACE(PKTINFO.size)
    while True:
        data, ancillary, _flags, peer = sock.recvmsg(MAX_DATAGRAM, control_size)
        source = destination(ancillary)
        control = (
            []
            if source is None
            else [(socket.IPPROTO_IP, IP_PKTINFO, PKTINFO.pack(0, source, bytes(4)))]
        )
        try:
            sock.sendmsg([answer(data, name)], control, 0, peer)
        except OSError:
            continue  # the client's side is gone or the address just left: it asks again


def start(place: state.Place, host: state.HostRecord) -> state.ProcessRecord:
    """Start node `host`'s responder in its namespace (recorded like nginx: a power loss
    kills it, ``heal`` starts it again)."""
    return processes.spawn(
        name=f"whoami-{host.name}",
        host=host.name,
        netns=host.netns,
        argv=[sys.executable, "-m", "floatip_lab.whoami", "--name", host.name],
        log=place.path("logs", f"whoami-{host.name}.log"),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="the node name to answer with")
    parser.add_argument("--port", type=int, default=PORT)
    args = parser.parse_args(argv)
    serve(args.name, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
