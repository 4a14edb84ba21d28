"""The lab's stand-in kube-apiserver on a control-plane host: a TCP relay on :6443.

No kube-apiserver can run here, so each lab control-plane host (``cp1`` ...) runs this
instead, inside its namespace (``python -m floatip_lab.apistandin --name cp1 ...``): it
listens on ``0.0.0.0:6443`` and relays every connection, bytes unchanged, to the lab's one
API server (`floatip_lab.apiserving`) over the management network. TLS passes through, so a
client's ``GET https://VIP:6443/readyz`` is answered by the real lab server's ``/readyz``,
and the control-plane agent's health check of ``https://127.0.0.1:6443/readyz`` is too.
So:

- stopping one stand-in is that host's apiserver down (connections refused);
- the lab API server down (``floatip lab fault api-down``) is the store down: every stand-in
  still accepts, but closes each connection at once (it cannot connect on), so every host's
  ``/readyz`` fails together.

Who answered: the bytes are the API server's whichever host relayed them, so the stand-in
says it itself. For every connection from outside the host it appends one JSON line
``{"time", "host", "peer", "port"}`` to ``--accepts`` when it accepts it; the client's prober
(`floatip_lab.readyzprobe`) records the local port of each request, and
`floatip_lab.readyzjudge` joins the two: an answer came from the host whose stand-in
accepted that connection. Connections from 127.0.0.1 (the agent's own health checks) are
not written down.

Once it listens it writes ``{"time": T}`` to ``--ready`` (T: wall-clock seconds), the moment
"this host's apiserver listens" that the bootstrap figure is measured from.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pathlib
import socket
import sys
import time
from collections.abc import Sequence
from typing import IO

from floatip_lab import relay

PORT = 6443


async def serve(
    listener: socket.socket, target: tuple[str, int], host: str, accepts: IO[str]
) -> None:
    """Relay every connection accepted on `listener` to `target`, writing each one down."""

    async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if peer and peer[0] != "127.0.0.1":
            record = {"time": time.time(), "host": host, "peer": peer[0], "port": peer[1]}
            accepts.write(json.dumps(record) + "\n")
            accepts.flush()
        await relay.forward(reader, writer, target)

    server = await asyncio.start_server(accepted, sock=listener)
    async with server:
        await server.serve_forever()


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``--name HOST --target IP:PORT --accepts PATH --ready PATH [--port N]``."""
    parser = argparse.ArgumentParser(prog="python -m floatip_lab.apistandin")
    parser.add_argument("--name", required=True, help="this lab host's name, for the records")
    parser.add_argument("--target", required=True, help="the lab API server's IP:PORT")
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--accepts", type=pathlib.Path, required=True)
    parser.add_argument("--ready", type=pathlib.Path, required=True)
    args = parser.parse_args(argv)
    ip, _, port = args.target.rpartition(":")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", args.port))
    listener.listen(512)
    listening = time.time()
    tmp = args.ready.with_suffix(".tmp")
    tmp.write_text(json.dumps({"time": listening}) + "\n")
    tmp.replace(args.ready)
    print(f"lab stand-in kube-apiserver {args.name}: :{args.port} -> {args.target}", flush=True)
    args.accepts.parent.mkdir(parents=True, exist_ok=True)
    with args.accepts.open("a") as accepts:
        asyncio.run(serve(listener, (ip, int(port)), args.name, accepts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
