"""This machine's window onto the lab's API server: a TCP relay from 127.0.0.1 into a namespace.

The API server listens on the management network inside the lab, which this machine's own
namespace is not part of (the lab sends no traffic outside its namespaces and 127.0.0.1).
kubectl, tests and people on this machine use the ``kubeconfig`` in the state directory,
which points at 127.0.0.1:PORT; this relay accepts there and connects to the API server
from inside the lab.

How: it binds its listening socket first, in this machine's namespace, then moves itself
into the lab namespace with setns(2). Sockets keep the namespace they were made in, so it
accepts on 127.0.0.1 here and connects from there. Being in that namespace also means
removing the lab's namespaces (which kills their processes) ends the relay too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import os
import pathlib
import socket
import sys
from collections.abc import Sequence

CLONE_NEWNET = 0x40000000


def enter_netns(name: str) -> None:
    """Move this (single-threaded) process into network namespace `name`."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns into {name}: {os.strerror(errno)}")
    finally:
        os.close(fd)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            writer.close()


async def forward(
    client_r: asyncio.StreamReader,
    client_w: asyncio.StreamWriter,
    target: tuple[str, int],
) -> None:
    """Relay one accepted connection to `target` (closed at once if it cannot connect)."""
    loop = asyncio.get_running_loop()
    upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # made in the lab namespace
    upstream.setblocking(False)
    try:
        await asyncio.wait_for(loop.sock_connect(upstream, target), timeout=10)
    except (OSError, TimeoutError):
        upstream.close()
        client_w.close()  # the client sees the connection closed: the API is unreachable
        return
    up_r, up_w = await asyncio.open_connection(sock=upstream)
    await asyncio.gather(_pipe(client_r, up_w), _pipe(up_r, client_w))


async def relay(listener: socket.socket, target: tuple[str, int]) -> None:
    """Relay every connection accepted on `listener` to `target`, forever."""
    server = await asyncio.start_server(
        lambda r, w: forward(r, w, target), sock=listener, reuse_address=None
    )
    async with server:
        await server.serve_forever()


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``--netns NAME --target IP:PORT --port-file PATH [--port N]``."""
    parser = argparse.ArgumentParser(prog="python -m floatip_lab.relay")
    parser.add_argument("--netns", required=True)
    parser.add_argument("--target", required=True, help="IP:PORT inside the namespace")
    parser.add_argument("--port", type=int, default=0, help="127.0.0.1 port; 0 picks one")
    parser.add_argument("--port-file", type=pathlib.Path, required=True)
    args = parser.parse_args(argv)
    host, _, port = args.target.rpartition(":")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(128)
    enter_netns(args.netns)
    tmp = args.port_file.with_suffix(".tmp")
    tmp.write_text(f"{listener.getsockname()[1]}\n")
    tmp.replace(args.port_file)
    print(f"lab relay: 127.0.0.1:{listener.getsockname()[1]} -> {args.target}", flush=True)
    asyncio.run(relay(listener, (host, int(port))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
