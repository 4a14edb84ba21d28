"""Local health checks (floatip_agent.healthchecks.check_once) against real sockets on
127.0.0.1. Proves: TCP connect succeeds on a listening port and fails on a closed one; HTTP
needs a 2xx/3xx answer on the configured path; a server that never answers fails within the
timeout instead of hanging.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest_asyncio
from aiohttp import web

from floatip.api import model
from floatip_agent import healthchecks


@pytest_asyncio.fixture
async def http_port() -> AsyncIterator[int]:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=503)

    app = web.Application()
    app.router.add_get("/ok", ok)
    app.router.add_get("/broken", broken)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield int(port)
    await runner.cleanup()


def check(kind: str, port: int, path: str | None = None) -> model.HealthCheck:
    return model.HealthCheck.model_validate(
        {"type": kind, "port": port, "timeoutSeconds": 1, **({"path": path} if path else {})}
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_tcp_and_http(http_port: int) -> None:
    assert await healthchecks.check_once(check("tcp", http_port))
    assert not await healthchecks.check_once(check("tcp", closed_port()))
    assert await healthchecks.check_once(check("http", http_port, "/ok"))
    assert not await healthchecks.check_once(check("http", http_port, "/broken"))
    assert not await healthchecks.check_once(check("http", http_port, "/missing"))


async def test_silent_server_times_out() -> None:
    server = await asyncio.start_server(lambda r, w: asyncio.sleep(10), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        assert not await healthchecks.check_once(check("http", port, "/"))
    finally:
        server.close()
