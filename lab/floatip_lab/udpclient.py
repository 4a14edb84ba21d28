"""The lab client for many VIPs: ask each one over UDP until the node it waits for answers.

Run inside the client namespace (``python -m floatip_lab.udpclient --out FILE [--until
server2,server3] --interval 0.05 --duration 120``) with the VIPs on standard input, one
address a line. More may come later (the benchmark adds each VIP once it is assigned); the end
of input says no more will. Each question is one datagram to the node's `floatip_lab.whoami`
responder at the VIP, sent through the client's own neighbour entry for the VIP like any packet,
so a failover is seen exactly when a real client's traffic would reach the new holder.

Every VIP not yet done is asked once per ``--interval`` s, the questions spread evenly over it
(no burst of a thousand frames at once). A VIP is done when a node named in ``--until`` answers
it (any node, without ``--until``) and is no longer asked, so the load falls as VIPs move. So
the resolution is the interval: a node's first answer comes at most one interval, plus a round
trip, after it could answer. It records one `timeline.Answer` JSON line each time a VIP's
answering node changes (its first answer included), stops once input ended and every VIP is
done, after ``--duration`` s, or on SIGTERM, and prints its counts (questions, answers, send
errors, its own CPU time in ms) as one JSON line on stderr.
"""

from __future__ import annotations

import argparse
import collections
import errno
import json
import math
import os
import resource
import select
import signal
import socket
import sys
import time
from types import FrameType
from typing import TextIO

from floatip_lab import timeline, whoami

TICK = 0.005  # seconds between sending slices (and the longest wait for an answer)

_stop = False


def _on_term(signum: int, frame: FrameType | None) -> None:
    global _stop  # noqa: PLW0603 -- a signal handler can only reach module state
    _stop = True


class Asker:
    """The VIPs, which node answered each last, and which are done."""

    def __init__(self, until: set[str], sink: TextIO) -> None:
        self.until = until
        self.sink = sink
        self.vips: list[str] = []
        self.index: dict[str, int] = {}
        self.last: dict[int, str] = {}
        self.done: set[int] = set()
        self.counts: collections.Counter[str] = collections.Counter()
        self._partial = ""

    def add(self, text: str, *, ended: bool = False) -> None:
        """Take the VIPs of ``text`` (one a line; a line cut short waits for the rest)."""
        lines = (self._partial + text).split("\n")
        self._partial = "" if ended else lines.pop()
        for line in lines:
            vip = line.strip()
            if vip and vip not in self.index:
                self.index[vip] = len(self.vips)
                self.vips.append(vip)

    def pending(self) -> list[int]:
        return [i for i in range(len(self.vips)) if i not in self.done]

    def heard(self, reply: bytes, source: str, at: float) -> None:
        read = whoami.read_answer(reply)
        if read is None or read[1] >= len(self.vips) or self.vips[read[1]] != source:
            self.counts["foreign"] += 1
            return
        sent, index, node = read
        self.counts["answers"] += 1
        if not self.until or node in self.until:
            self.done.add(index)
        if self.last.get(index) != node:
            self.last[index] = node
            self.sink.write(timeline.Answer(source, node, sent, at).to_json() + "\n")


def run(
    *, port: int, interval: float, duration: float, until: set[str], out: str
) -> dict[str, int]:
    """Ask until done (see the module's docstring); return the counts."""
    signal.signal(signal.SIGTERM, _on_term)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
    sock.setblocking(False)
    stdin = sys.stdin.fileno()
    os.set_blocking(stdin, False)
    input_open = True
    deadline = time.monotonic() + duration
    order: list[int] = []
    cursor = 0
    round_start = time.monotonic() - interval
    with open(out, "a", buffering=1) as sink:
        asker = Asker(until, sink)
        while not _stop and time.monotonic() < deadline:
            if not input_open and len(asker.done) == len(asker.vips):
                break
            watched = [sock, stdin] if input_open else [sock]
            readable, _, _ = select.select(watched, [], [], TICK)
            if stdin in readable:
                chunk = os.read(stdin, 1 << 16)
                input_open = bool(chunk)
                asker.add(chunk.decode(), ended=not input_open)
            while True:
                try:
                    reply, (source, _port) = sock.recvfrom(whoami.MAX_DATAGRAM)
                except BlockingIOError:
                    break
                asker.heard(reply, source, time.time())
            now = time.monotonic()
            if cursor >= len(order) and now >= round_start + interval:
                order, cursor = asker.pending(), 0
                round_start = max(round_start + interval, now - TICK)
            share = (now - round_start) / interval if interval > 0 else 1.0
            due = min(len(order), math.ceil(share * len(order)))
            while cursor < due:
                index = order[cursor]
                cursor += 1
                if index in asker.done:
                    continue
                try:
                    sock.sendto(whoami.question(time.time(), index), (asker.vips[index], port))
                    asker.counts["questions"] += 1
                except OSError as exc:
                    asker.counts[f"send_error_{errno.errorcode.get(exc.errno or 0, 'other')}"] += 1
    used = resource.getrusage(resource.RUSAGE_SELF)
    asker.counts["cpu_ms"] = round(1000 * (used.ru_utime + used.ru_stime))
    return dict(asker.counts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="JSON lines file to append answers to")
    parser.add_argument("--until", default="", help="comma-separated nodes that end a VIP's asking")
    parser.add_argument(
        "--interval", type=float, default=0.05, help="seconds between asks of a VIP"
    )
    parser.add_argument("--duration", type=float, default=120.0, help="stop after these seconds")
    parser.add_argument("--port", type=int, default=whoami.PORT)
    args = parser.parse_args(argv)
    counts = run(
        port=args.port,
        interval=args.interval,
        duration=args.duration,
        until={n for n in args.until.split(",") if n},
        out=args.out,
    )
    print(json.dumps(counts, sort_keys=True), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
