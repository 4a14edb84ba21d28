"""The lab client: ask the VIP over HTTP every few milliseconds and record every answer.

Run inside the client namespace (``python -m floatip_lab.httpclient URL --out FILE``). Each
request opens a new TCP connection, so every request goes through the client's neighbour
entry for the VIP exactly as a real client's first packet would. Bounded in count and time:
it stops by itself after ``--duration`` seconds or ``--count`` requests, whichever is first,
and on SIGTERM. One JSON line per request (`floatip_lab.timeline.Request`).

``--flush-every S`` makes it a client that resolves the VIP afresh: every S seconds it drops
its neighbour entry for the VIP (``ip neigh flush``), so the next request asks the LAN again
with a broadcast ARP request / neighbour solicitation, which every host holding the address
answers. That is how a fresh client meets an intruder (DESIGN.md "Defending the address").
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from types import FrameType

from floatip_lab import timeline

_stop = False


def _on_term(signum: int, frame: FrameType | None) -> None:
    global _stop  # noqa: PLW0603 -- a signal handler can only reach module state
    _stop = True


def ask(host: str, port: int, path: str, timeout: float) -> tuple[bool, str]:
    """One GET; (True, body) on a 200, else (False, what went wrong)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
            data = b""
            while chunk := conn.recv(4096):
                data += chunk
    except OSError as exc:
        return False, type(exc).__name__
    return answer(data)


def answer(data: bytes) -> tuple[bool, str]:
    """A whole HTTP/1.0 reply as (True, body) on a 200, else (False, its status line)."""
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200")):
        return False, head.split(b"\r\n", 1)[0].decode(errors="replace") or "empty reply"
    return True, body.decode(errors="replace").strip()


def forget(address: str) -> None:
    """Drop this host's neighbour entry for ``address`` (the next packet resolves it anew)."""
    subprocess.run(["ip", "neigh", "flush", "to", address], check=False, capture_output=True)


def run(
    url: str,
    *,
    interval: float,
    timeout: float,
    duration: float,
    count: int,
    out: str,
    flush_every: float = 0.0,
) -> int:
    """Probe until the duration or count runs out; return the number of requests made."""
    parsed = urllib.parse.urlsplit(url)
    host = parsed.hostname or ""
    port = parsed.port or 80
    path = parsed.path or "/"
    signal.signal(signal.SIGTERM, _on_term)
    made = 0
    deadline = time.time() + duration
    flushed = 0.0
    with open(out, "a", buffering=1) as sink:
        next_start = time.time()
        while not _stop and made < count and time.time() < deadline:
            if flush_every and time.time() - flushed >= flush_every:
                forget(host)
                flushed = time.time()
            start = time.time()
            ok, answer = ask(host, port, path, timeout)
            sink.write(timeline.Request(start, time.time(), ok, answer).to_json() + "\n")
            made += 1
            next_start = max(next_start + interval, time.time())
            time.sleep(max(0.0, next_start - time.time()))
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--out", required=True, help="JSON lines file to append to")
    parser.add_argument("--interval", type=float, default=0.01, help="seconds between requests")
    parser.add_argument("--timeout", type=float, default=0.1, help="seconds one request may take")
    parser.add_argument("--duration", type=float, default=60.0, help="stop after these seconds")
    parser.add_argument("--count", type=int, default=20_000, help="stop after these requests")
    parser.add_argument(
        "--flush-every", type=float, default=0.0, help="forget the VIP's MAC every S seconds"
    )
    args = parser.parse_args(argv)
    run(
        args.url,
        interval=args.interval,
        timeout=args.timeout,
        duration=args.duration,
        count=args.count,
        out=args.out,
        flush_every=args.flush_every,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
