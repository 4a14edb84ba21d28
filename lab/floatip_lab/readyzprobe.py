"""The lab's API client for the control-plane VIP: ``GET https://VIP:6443/readyz`` every 10 ms.

Run inside the client namespace (``python -m floatip_lab.readyzprobe --target VIP --out F``).
Each request is a new TCP connection and a full TLS handshake, started on its own schedule
whether or not the earlier ones finished (a request to a dead holder hangs until its
timeout; the next one still leaves 10 ms later), as a kubelet or kubectl reconnecting
would. The server certificate is checked against the lab's CA (``--ca``) but not against
the name: the lab API server's certificate names its own address, not the VIP.

One JSON line per request: ``{"start", "end", "ok", "status", "port", "answer"}``, where
``port`` is the request's local TCP port (0 if it never got one), which
`floatip_lab.readyzjudge` matches with the stand-ins' accept records to name the host that
answered, and ``answer`` the body of a 200 or what went wrong. Bounded by ``--duration`` and
ended by SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import pathlib
import signal
import ssl
import sys
import time
from collections.abc import Sequence
from typing import IO, Any

from floatip_lab import httpclient


def context(ca: pathlib.Path | None) -> ssl.SSLContext:
    """TLS as a client of the lab API server: its CA trusted, the name not checked."""
    ctx = ssl.create_default_context(cafile=str(ca)) if ca else ssl.create_default_context()
    ctx.check_hostname = False
    if ca is None:
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def ask(target: str, port: int, ctx: ssl.SSLContext, limit: float) -> dict[str, Any]:
    """One ``GET /readyz`` over a new connection: the record `main` writes."""
    start = time.time()
    local = 0
    try:
        async with asyncio.timeout(limit):
            reader, writer = await asyncio.open_connection(
                target, port, ssl=ctx, server_hostname=""
            )
            local = int(writer.get_extra_info("sockname")[1])
            try:
                request = f"GET /readyz HTTP/1.0\r\nHost: {target}:{port}\r\n\r\n"
                writer.write(request.encode())
                data = await reader.read()
            finally:
                writer.close()
        ok, answer = httpclient.answer(data)
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    except (OSError, TimeoutError, ssl.SSLError, ValueError, IndexError) as exc:
        ok, answer, status = False, type(exc).__name__, 0
    return {
        "start": start,
        "end": time.time(),
        "ok": ok,
        "status": status,
        "port": local,
        "answer": answer,
    }


async def probe(  # noqa: PLR0917 -- one per command-line option
    target: str, port: int, ctx: ssl.SSLContext, interval: float, limit: float,
    duration: float, out: IO[str],
) -> None:  # fmt: skip
    """Start a request every `interval` s for `duration` s; write each record as it ends."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    pending: set[asyncio.Task[None]] = set()

    async def one() -> None:
        record = await ask(target, port, ctx, limit)
        out.write(json.dumps(record) + "\n")
        out.flush()

    end = loop.time() + duration
    next_at = loop.time()
    while not stop.is_set() and loop.time() < end:
        task = asyncio.create_task(one())
        pending.add(task)
        task.add_done_callback(pending.discard)
        next_at += interval
        delay = max(0.0, next_at - loop.time())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
    if pending:
        await asyncio.wait(pending, timeout=limit + 1)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``--target VIP [--port 6443] [--ca PEM] --out PATH`` and the pacing."""
    parser = argparse.ArgumentParser(prog="python -m floatip_lab.readyzprobe")
    parser.add_argument("--target", required=True)
    parser.add_argument("--port", type=int, default=6443)
    parser.add_argument("--ca", type=pathlib.Path, default=None, help="the lab API server's CA")
    parser.add_argument("--interval", type=float, default=0.01)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=120.0)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    args = parser.parse_args(argv)
    with args.out.open("a") as out:
        asyncio.run(
            probe(args.target, args.port, context(args.ca), args.interval, args.timeout,
                  args.duration, out)
        )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
