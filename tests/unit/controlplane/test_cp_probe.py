"""One check of the local apiserver (floatip_agent.controlplane.probe), against an in-process
HTTPS server on 127.0.0.1. Proves: 200 is ready; 500, a refused connection and garbage are
not; a server that accepts and never answers fails within the timeout (the connection is
dropped, not closed politely, so the check never waits on it); ``--ca-file`` verifies the
certificate against the CA (a wrong CA fails).
"""

from __future__ import annotations

import asyncio
import pathlib
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest_asyncio

from floatip_agent.controlplane import probe
from floatip_apiserver import certs

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def _answer(status_line: bytes) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(status_line + b"\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    return handle


async def _hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(3600)


@pytest_asyncio.fixture
async def serve(tmp_path: pathlib.Path) -> AsyncIterator[Callable[[Handler], Awaitable[int]]]:
    credentials = certs.generate()
    (tmp_path / "ca.crt").write_bytes(credentials.ca_pem)
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> int:
        server = await asyncio.start_server(
            handler, "127.0.0.1", 0, ssl=credentials.server_context(tmp_path)
        )
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    yield start
    for server in servers:
        server.close()


async def _ready(port: int, *, tls: ssl.SSLContext | None = None, within: float = 1.0) -> bool:
    context = tls or probe.context(None)
    return await probe.ready(port=port, path="/readyz", tls=context, within=within)


async def test_200_is_ready_500_is_not(serve: Callable[[Handler], Awaitable[int]]) -> None:
    assert await _ready(await serve(_answer(b"HTTP/1.1 200 OK")))
    assert not await _ready(await serve(_answer(b"HTTP/1.1 500 Internal Server Error")))
    assert not await _ready(await serve(_answer(b"garbage")))


async def test_refused_is_not_ready() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: refused
        assert not await _ready(port)


async def test_a_hanging_server_fails_within_the_timeout(
    serve: Callable[[Handler], Awaitable[int]],
) -> None:
    port = await serve(_hang)
    started = time.monotonic()
    assert not await _ready(port, within=0.3)
    assert time.monotonic() - started < 0.6


async def test_ca_file_verifies_the_certificate(
    serve: Callable[[Handler], Awaitable[int]], tmp_path: pathlib.Path
) -> None:
    port = await serve(_answer(b"HTTP/1.1 200 OK"))
    assert await _ready(port, tls=probe.context(str(tmp_path / "ca.crt")))
    other = tmp_path / "other-ca.crt"
    other.write_bytes(certs.generate().ca_pem)
    assert not await _ready(port, tls=probe.context(str(other)))
