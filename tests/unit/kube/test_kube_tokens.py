"""floatip's client follows a rotated ServiceAccount token (floatip.kube.config).

Proves: a token with no file never changes; a token file is re-read once it is a minute old
(client-go's period), not before; an unreadable or empty file keeps the last token; and every
request (plain and watch) carries the token current at that moment, so a kubelet rotation
never leaves the operator or the agent with an expired one.
"""

from __future__ import annotations

import pathlib

from aiohttp import web
from aiohttp.test_utils import TestServer

from floatip.kube import client, config


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_without_file_is_fixed() -> None:
    clock = Clock()
    tokens = config.TokenSource("abc", clock=clock)
    clock.now += 3600
    assert tokens.token() == "abc"


def test_token_file_is_reread_after_a_minute(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "token"
    path.write_text("first\n")
    clock = Clock()
    tokens = config.TokenSource("first", str(path), clock=clock)
    path.write_text("second\n")
    clock.now += config.TOKEN_REREAD_SECONDS - 1
    assert tokens.token() == "first"
    clock.now += 1
    assert tokens.token() == "second"
    path.write_text("")
    clock.now += config.TOKEN_REREAD_SECONDS
    assert tokens.token() == "second", "an empty file keeps the last token"
    path.unlink()
    clock.now += config.TOKEN_REREAD_SECONDS
    assert tokens.token() == "second", "a missing file keeps the last token"


async def test_every_request_carries_the_current_token(tmp_path: pathlib.Path) -> None:
    seen: list[str] = []

    async def answer(request: web.Request) -> web.StreamResponse:
        seen.append(request.headers.get("Authorization", ""))
        if request.query.get("watch") == "true":
            response = web.StreamResponse()
            await response.prepare(request)
            await response.write(b'{"type": "BOOKMARK", "object": {}}\n')
            return response
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    path = tmp_path / "token"
    path.write_text("first")
    clock = Clock()
    async with TestServer(app) as server:
        endpoint = config.Endpoint(
            server=str(server.make_url("")).rstrip("/"),
            tokens=config.TokenSource("first", str(path), clock=clock),
        )
        api = client.Api(endpoint)
        try:
            await api.request("GET", "/api")
            path.write_text("rotated")
            clock.now += config.TOKEN_REREAD_SECONDS
            await api.request("GET", "/api")
            events = [
                e async for e in api.watch("/api/v1/nodes", resource_version="1", timeout_s=1)
            ]
        finally:
            await api.close()
    assert events == [{"type": "BOOKMARK", "object": {}}]
    assert seen == ["Bearer first", "Bearer rotated", "Bearer rotated"]
