"""The agent's HTTP endpoint: ``/healthz`` (the operator's fast liveness path) and ``/metrics``.

protocol.md "The agent's health endpoint": ``GET /healthz`` answers 200 with JSON (node,
unsure, lastApiContact, held, health) while the agent's loop runs; ``GET /metrics`` is
Prometheus text. An answer costs no API request, so the operator can probe every 0.2 s. This
module is the HTTP side; `healththread` runs it on a thread of its own and says what it
answers.

Two fixed routes need no web framework: asyncio's server and h11 (the HTTP/1.1 state machine
`floatip.kube.connections` also speaks) answer them, with keep-alive for the operator's polls,
HEAD, 404 and 405 as aiohttp answered them, at no aiohttp import (~10 MiB on every node).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import NamedTuple

import h11

JSON = "application/json; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
#: An idle kept-alive connection is closed after this long (aiohttp's keepalive_timeout).
KEEPALIVE_SECONDS = 75.0


class Answer(NamedTuple):
    status: int
    content_type: str
    body: bytes


Route = Callable[[], Answer]


class Server:
    """The listening health server; `cleanup` stops it and closes every connection."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.server: asyncio.Server | None = None
        self.connections: set[asyncio.StreamWriter] = set()

    async def cleanup(self) -> None:
        if self.server is not None:
            self.server.close()
        for writer in list(self.connections):
            writer.close()
        if self.server is not None:
            await self.server.wait_closed()

    def answer(self, request: h11.Request) -> tuple[int, str, bytes, list[tuple[str, str]]]:
        """(status, content type, body, extra headers) for `request`."""
        route = self.routes.get(request.target.decode("ascii", "replace").partition("?")[0])
        if route is None:
            return 404, TEXT, b"404: Not Found", []
        if request.method not in (b"GET", b"HEAD"):
            return 405, TEXT, b"405: Method Not Allowed", [("Allow", "GET,HEAD")]
        status, content_type, body = route()
        return status, content_type, body, []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One client connection: request after request until either side closes."""
        self.connections.add(writer)
        http = h11.Connection(our_role=h11.SERVER)
        try:
            while True:
                request = await _next(http, reader)
                if not isinstance(request, h11.Request):
                    return
                while not isinstance(await _next(http, reader), h11.EndOfMessage | None):
                    pass  # a body is not expected; read it to its end
                status, content_type, body, extra = self.answer(request)
                headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
                writer.write(
                    http.send(h11.Response(status_code=status, headers=headers + extra)) or b""
                )
                if request.method != b"HEAD":
                    writer.write(http.send(h11.Data(data=body)) or b"")
                writer.write(http.send(h11.EndOfMessage()) or b"")
                await writer.drain()
                if http.our_state is not h11.DONE or http.their_state is not h11.DONE:
                    return  # HTTP/1.0 or "Connection: close"
                http.start_next_cycle()
        except (OSError, TimeoutError, h11.ProtocolError):
            pass  # a client that went away or spoke garbage: drop the connection
        finally:
            self.connections.discard(writer)
            writer.close()


async def _next(http: h11.Connection, reader: asyncio.StreamReader) -> object:
    """The next event; None once the client has closed the connection."""
    while True:
        event = http.next_event()
        if event is h11.NEED_DATA:
            async with asyncio.timeout(KEEPALIVE_SECONDS):
                http.receive_data(await reader.read(64 * 1024))
            continue
        return None if isinstance(event, h11.ConnectionClosed) else event
