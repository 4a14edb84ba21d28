"""One HTTP GET from inside a test's network namespace, for the agents' JSON endpoints."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

from floatip_agent import namespaces


async def get_json(netns: str, ip: str, port: int, path: str) -> dict[str, Any]:
    """GET ``path`` from ``ip:port`` as seen inside ``netns``: the socket is made there (a
    socket keeps the namespace it was made in), then used from this one. 2 s to connect and
    2 s to read."""
    with namespaces.entered(netns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        loop = asyncio.get_running_loop()
        await asyncio.wait_for(loop.sock_connect(sock, (ip, port)), 2)
        reader, writer = await asyncio.open_connection(sock=sock)
        writer.write(f"GET {path} HTTP/1.0\r\n\r\n".encode())
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), 2)
        writer.close()
    except BaseException:
        sock.close()
        raise
    return dict(json.loads(raw.split(b"\r\n\r\n", 1)[1]))
