"""The agent's health server (floatip_agent.healthserver) as the operator and Prometheus use it.

Proves: ``GET /healthz`` answers 200 with the agent's JSON document, current at each request,
many times over one kept-alive connection (the operator's poller, an aiohttp client); ``GET
/metrics`` is Prometheus text with its content type; HEAD has the headers and no body; an
unknown path is 404 and another verb 405; an HTTP/1.0 request is answered and the connection
closed (how `floatip bench agent` asks); `cleanup` closes the connections it holds.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import prometheus_client
from prometheus_client import CollectorRegistry, Counter

from floatip_agent import healthserver


async def test_healthz_metrics_and_errors() -> None:
    registry = CollectorRegistry()
    counter = Counter("floatip_test_things", "Things.", registry=registry)
    state: dict[str, Any] = {"node": "server1", "held": {}}
    server = await healthserver.start(
        host="127.0.0.1", port=0, healthz=lambda: dict(state), registry=registry
    )
    assert server.server is not None
    port = server.server.sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    try:
        connector = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(connector=connector) as session:
            for epoch in range(1, 4):
                state["held"] = {"web": epoch}
                async with session.get(f"{url}/healthz") as response:
                    assert response.status == 200
                    assert response.headers["Content-Type"] == healthserver.JSON
                    assert json.loads(await response.read()) == {
                        "node": "server1", "held": {"web": epoch}
                    }  # fmt: skip
            assert len(server.connections) == 1, "the polls shared one kept-alive connection"
            counter.inc(2)
            async with session.get(f"{url}/metrics") as response:
                assert response.status == 200
                assert response.headers["Content-Type"] == prometheus_client.CONTENT_TYPE_LATEST
                assert "floatip_test_things_total 2.0" in await response.text()
            async with session.head(f"{url}/healthz") as response:
                assert response.status == 200
                assert await response.read() == b""
            async with session.get(f"{url}/nothing") as response:
                assert response.status == 404
            async with session.post(f"{url}/healthz") as response:
                assert response.status == 405
                assert response.headers["Allow"] == "GET,HEAD"
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.0\r\n\r\n")
        raw = await asyncio.wait_for(reader.read(), 5)  # to the end: the server closes
        writer.close()
        assert raw.startswith(b"HTTP/1.1 200 ")
        assert json.loads(raw.split(b"\r\n\r\n", 1)[1])["node"] == "server1"
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        await asyncio.wait_for(reader.readuntil(b"}}"), 5)  # the whole answer
    finally:
        await server.cleanup()
    assert await asyncio.wait_for(reader.read(), 5) == b"", "cleanup closed the idle connection"
    writer.close()
