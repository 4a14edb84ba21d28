"""The lab client for many Services: ask each address over HTTP until it answers.

`floatip bench services` must know when each of a thousand Services answers the client
through the lab's kube-proxy (its DNAT to a web Pod's nginx), the honest check a user makes
with curl. `floatip_lab.httpclient` asks one address in a loop; this asks many at once with a
few connections in flight. Run inside the client namespace (``python -m floatip_lab.httpsweep
--out FILE --interval 0.2 --concurrency 32 --duration 120``) with the addresses on standard
input, one a line; more may come later (the benchmark adds each once its Service has an
address and its VirtualIP a holder), the end of input says no more will.

Each address is asked (a new TCP connection, ``GET /``, ``--timeout`` s for the whole
exchange) until one answer is a 200, and again at most every ``--interval`` s after a failure;
then it is done and never asked again. Its first 200 is recorded as one `timeline.Answer`
JSON line (the node is the body: the name of the server whose nginx answered). It stops once
input ended and every address is done, after ``--duration`` s, or on SIGTERM, and prints its
counts (questions, answers, failures by kind, its own CPU time in ms) as one JSON line on
stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import resource
import signal
import sys
import time
from typing import TextIO

from floatip_lab import httpclient, timeline

Due = tuple[float, str]  # (monotonic time it may be asked, address)


async def ask(address: str, port: int, seconds: float) -> tuple[bool, str]:
    """One GET within ``seconds``; (True, body) on a 200, else (False, what went wrong)."""
    host = f"[{address}]" if ":" in address else address

    async def exchange() -> bytes:
        reader, writer = await asyncio.open_connection(address, port)
        try:
            writer.write(f"GET / HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
            await writer.drain()
            return await reader.read()
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    try:
        data = await asyncio.wait_for(exchange(), seconds)
    except TimeoutError:
        return False, "timeout"
    except OSError as exc:
        return False, type(exc).__name__
    return httpclient.answer(data)


class Sweep:
    """The addresses, which are done, and the counts."""

    def __init__(self, sink: TextIO, *, port: int, interval: float, timeout: float) -> None:
        self.sink = sink
        self.port = port
        self.interval = interval
        self.timeout = timeout
        self.queue: asyncio.Queue[Due] = asyncio.Queue()
        self.known: set[str] = set()
        self.done: set[str] = set()
        self.input_open = True
        self.counts: collections.Counter[str] = collections.Counter()
        self.finished = asyncio.Event()
        self._partial = ""

    def add(self, text: str, *, ended: bool = False) -> None:
        """Take the addresses of ``text`` (one a line; a line cut short waits for the rest)."""
        lines = (self._partial + text).split("\n")
        self._partial = "" if ended else lines.pop()
        for line in lines:
            address = line.strip()
            if address and address not in self.known:
                self.known.add(address)
                self.queue.put_nowait((time.monotonic(), address))
        if ended:
            self.input_open = False
        self._check_finished()

    def _check_finished(self) -> None:
        if not self.input_open and self.done >= self.known:
            self.finished.set()

    async def worker(self) -> None:
        while True:
            due, address = await self.queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            sent = time.time()
            ok, answer = await ask(address, self.port, self.timeout)
            self.counts["questions"] += 1
            if ok:
                self.counts["answers"] += 1
                self.done.add(address)
                self.sink.write(
                    timeline.Answer(address, answer, sent, time.time()).to_json() + "\n"
                )
                self._check_finished()
            else:
                self.counts[f"failed_{answer.split()[0].lower()}"] += 1
                self.queue.put_nowait((time.monotonic() + self.interval, address))


async def sweep(
    sink: TextIO,
    *,
    port: int,
    interval: float,
    request_seconds: float,
    concurrency: int,
    duration: float,
) -> dict[str, int]:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    state = Sweep(sink, port=port, interval=interval, timeout=request_seconds)
    stdin = sys.stdin.fileno()
    os.set_blocking(stdin, False)

    def readable() -> None:
        try:
            chunk = os.read(stdin, 1 << 16)
        except BlockingIOError:
            return
        if not chunk:
            loop.remove_reader(stdin)
        state.add(chunk.decode(), ended=not chunk)

    loop.add_reader(stdin, readable)
    workers = [asyncio.create_task(state.worker()) for _ in range(concurrency)]
    ends = [asyncio.create_task(e.wait()) for e in (stop, state.finished)]
    await asyncio.wait(ends, timeout=duration, return_when=asyncio.FIRST_COMPLETED)
    for task in [*workers, *ends]:
        task.cancel()
    await asyncio.gather(*workers, *ends, return_exceptions=True)
    loop.remove_reader(stdin)
    counts = dict(state.counts)
    counts["addresses"], counts["done"] = len(state.known), len(state.done)
    used = resource.getrusage(resource.RUSAGE_SELF)
    counts["cpu_ms"] = round(1000 * (used.ru_utime + used.ru_stime))
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="JSON lines file to append answers to")
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--interval", type=float, default=0.2, help="seconds before a retry")
    parser.add_argument("--timeout", type=float, default=1.0, help="seconds one request may take")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument("--duration", type=float, default=120.0, help="stop after these seconds")
    args = parser.parse_args(argv)
    with open(args.out, "a", buffering=1) as sink:
        counts = asyncio.run(
            sweep(
                sink,
                port=args.port,
                interval=args.interval,
                request_seconds=args.timeout,
                concurrency=args.concurrency,
                duration=args.duration,
            )
        )
    print(json.dumps(counts, sort_keys=True), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
