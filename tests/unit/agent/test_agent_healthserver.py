"""The agent's health endpoint (floatip_agent.healththread, healthserver) as the operator and
Prometheus use it.

Proves: ``GET /healthz`` answers 200 with the agent's JSON document, current at each request,
many times over one kept-alive connection (the operator's poller, an aiohttp client); ``GET
/metrics`` is Prometheus text with its content type; HEAD has the headers and no body; an
unknown path is 404 and another verb 405; an HTTP/1.0 request is answered and the connection
closed (how `floatip bench agent` asks); `stop` closes the connections it holds and ends the
thread. While the agent's loop is busy (one callback holding it for 0.6 s, longer than the
operator's 0.15 s poll timeout) the endpoint still answers at once, with the last document;
a loop that has not turned for the stall limit is answered 503, naming how long; a port in
use fails the start.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import aiohttp
import prometheus_client
import pytest
from prometheus_client import CollectorRegistry, Counter

from floatip_agent import healthserver, healththread


async def test_healthz_metrics_and_errors() -> None:
    registry = CollectorRegistry()
    counter = Counter("floatip_test_things", "Things.", registry=registry)
    state: dict[str, Any] = {"node": "server1", "held": {}}
    health = healththread.Health(healthz=lambda: dict(state), registry=registry)
    await health.start(host="127.0.0.1", port=0)
    server, port = health.server, health.port
    assert server is not None
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
        await health.stop()
    assert await asyncio.wait_for(reader.read(), 5) == b"", "stop closed the idle connection"
    writer.close()


def ask(url: str, answers: list[tuple[int, bytes, float]]) -> None:
    """GET `url` from another thread (the operator's side), noting status, body and seconds."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            answers.append((response.status, response.read(), time.monotonic() - started))
    except urllib.error.HTTPError as exc:
        answers.append((exc.code, exc.read(), time.monotonic() - started))


async def test_a_busy_loop_is_answered_at_once_and_a_stalled_one_is_reported() -> None:
    state: dict[str, Any] = {"node": "server1", "held": {"web": 1}}
    health = healththread.Health(
        healthz=lambda: dict(state), registry=CollectorRegistry(), stall_s=1.0
    )
    await health.start(host="127.0.0.1", port=0)
    beat = asyncio.create_task(health.beat())
    url = f"http://127.0.0.1:{health.port}/healthz"
    try:
        answers: list[tuple[int, bytes, float]] = []
        await asyncio.to_thread(ask, url, answers)
        assert answers[-1][:2] == (200, json.dumps(state).encode())  # fresh when idle

        state["held"] = {"web": 2}  # the loop would say so, if it could turn
        asker = threading.Thread(target=ask, args=(url, answers))
        asker.start()
        time.sleep(0.6)  # noqa: ASYNC251 - the agent's loop is busy (a long turn), not dead
        asker.join(5)
        status, body, seconds = answers[-1]
        assert status == 200 and json.loads(body)["held"] == {"web": 1}  # the last document
        assert seconds < 0.3, f"answered after {seconds:.2f} s: the busy loop held it up"
        await asyncio.to_thread(ask, url, answers)
        assert json.loads(answers[-1][1])["held"] == {"web": 2}  # fresh again once it turns

        asker = threading.Thread(target=ask, args=(url, answers))
        time.sleep(1.2)  # noqa: ASYNC251 - the loop has not turned for longer than the stall limit
        asker.start()
        asker.join(5)
        status, body, _ = answers[-1]
        assert status == 503 and b"has not run for 1." in body
        await asyncio.to_thread(ask, url, answers)
        assert answers[-1][0] == 200  # alive again once it turns
    finally:
        beat.cancel()
        await health.stop()


async def test_a_port_in_use_fails_the_start() -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        health = healththread.Health(healthz=dict, registry=CollectorRegistry())
        with pytest.raises(OSError):
            await health.start(host="127.0.0.1", port=taken.getsockname()[1])
    finally:
        taken.close()
