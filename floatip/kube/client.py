"""`Api`: the few REST verbs floatip needs, over HTTP/1.1 with h11, with one error type.

The operator's leader needs precise preconditions (a JSON patch whose first op is ``test``, a
PUT carrying resourceVersion) and the agent needs bounded timeouts (a hung API server must
stall one call, never the event loop) and to know that the API answers at all: every answer
from the server (a success, or 404 for an object that does not exist) is reported to
``on_contact``, which the agent's fence (`floatip_agent.fencing`) and the operator's outage
tracking count as proof the API server is there.

Every failure is an `ApiError`: an error status (its ``code``), or no answer at all (code 0:
refused, reset, timed out, unreadable), so callers catch one thing. The connections are
`floatip.kube.connections` (asyncio streams and h11; aiohttp cost every node's agent ~10 MiB).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from typing import Any

import h11
import orjson

from floatip.kube import config, connections

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
NO_ANSWER = 0


class ApiError(Exception):
    """An API call failed: an error status (``code``) with the server's message, or no answer."""

    def __init__(self, code: int, message: str, *, method: str, path: str) -> None:
        self.code = code
        self.method = method
        self.path = path
        answer = f"HTTP {code}" if code else "no answer"
        super().__init__(f"{method} {path}: {answer}: {message}")

    @property
    def conflict(self) -> bool:
        """A failed precondition: a resourceVersion conflict (409) or a failed ``test`` (422)."""
        return self.code in (409, 422)

    @property
    def refused(self) -> bool:
        """403: RBAC or an admission policy forbids this write; sending it again cannot help."""
        return self.code == 403

    @property
    def not_found(self) -> bool:
        return self.code == 404

    @property
    def gone(self) -> bool:
        """410: the watch's resourceVersion is older than the server's history."""
        return self.code == 410


class Api:
    """REST calls with JSON bodies against one API server; errors raise `ApiError`."""

    def __init__(
        self,
        endpoint: config.Endpoint,
        *,
        request_timeout_s: float = 5.0,
        connect_timeout_s: float = 2.0,
        on_contact: Callable[[], None] = lambda: None,
        pool_size: int = 32,
    ) -> None:
        self.endpoint = endpoint
        self.request_timeout_s = request_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.on_contact = on_contact
        self.pool_size = pool_size
        self._pool: connections.Pool | None = None

    @property
    def pool(self) -> connections.Pool:
        if self._pool is None:
            self._pool = connections.Pool(
                self.endpoint.server, ssl_context=_ssl_context(self.endpoint),
                connect_timeout=self.connect_timeout_s, size=self.pool_size,
            )  # fmt: skip
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: object = None,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """One call; the decoded JSON answer ({} for an empty or non-JSON body)."""
        data = None if body is None else orjson.dumps(body)
        headers = self.endpoint.headers
        if data is not None:
            headers["Content-Type"] = content_type
            headers["Content-Length"] = str(len(data))
        pool = self.pool
        request = h11.Request(
            method=method, target=pool.target(path, params), headers=pool.headers(headers)
        )
        try:
            async with asyncio.timeout(self.request_timeout_s):
                status, text = await self._exchange(pool, request, data)
        except (OSError, TimeoutError, h11.ProtocolError, ValueError) as exc:
            raise ApiError(NO_ANSWER, _describe(exc), method=method, path=path) from exc
        if status < 300 or status == 404:
            self.on_contact()
        if status >= 300:
            raise ApiError(status, _message(text), method=method, path=path)
        try:
            answer = orjson.loads(text) if text else {}
        except ValueError:
            return {}
        return answer if isinstance(answer, dict) else {}

    async def _exchange(
        self, pool: connections.Pool, request: h11.Request, data: bytes | None
    ) -> tuple[int, str]:
        """Send `request` and read the whole answer. A GET that finds its kept-alive
        connection closed by the server before any answer is sent again on a new one (as
        Go's net/http retries idempotent requests); other verbs are never sent twice."""
        while True:
            connection, reused = await pool.checkout()
            done = answered = False
            try:
                await connection.send(request, data)
                head = await connection.response()
                answered = True
                chunks = [chunk async for chunk in connection.body(head)]
                done = True
                return head.status_code, b"".join(chunks).decode()
            except (ConnectionError, h11.RemoteProtocolError):
                if reused and not answered and request.method == b"GET":
                    continue
                raise
            finally:
                pool.checkin(connection, reuse=done)

    async def watch(
        self, path: str, *, resource_version: str, timeout_s: int
    ) -> AsyncIterator[dict[str, Any]]:
        """Watch events (``{"type", "object"}``) from ``resource_version`` until the server ends.

        Every event, bookmarks included, counts as contact. Ends normally when the server
        closes the stream after ``timeout_s``; a failure raises `ApiError`.
        """
        params = {
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout_s),
        }
        pool = self.pool
        request = h11.Request(
            method="GET", target=pool.target(path, params),
            headers=pool.headers(self.endpoint.headers),
        )  # fmt: skip
        read_timeout = timeout_s + 10
        done = False
        connection: connections.Connection | None = None
        try:
            connection, _ = await pool.checkout()
            async with asyncio.timeout(read_timeout):
                await connection.send(request, None)
            head = await connection.response(read_timeout)
            if head.status_code >= 300:
                chunks = [chunk async for chunk in connection.body(head, read_timeout)]
                done = True
                text = b"".join(chunks).decode()
                raise ApiError(head.status_code, _message(text), method="WATCH", path=path)
            self.on_contact()
            pending = b""
            async for chunk in connection.body(head, read_timeout):
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()
                for line in lines:
                    if line.strip():
                        event: dict[str, Any] = orjson.loads(line)
                        self.on_contact()
                        yield event
            done = True
        except (OSError, TimeoutError, h11.ProtocolError, ValueError) as exc:
            raise ApiError(NO_ANSWER, _describe(exc), method="WATCH", path=path) from exc
        finally:
            if connection is not None:
                pool.checkin(connection, reuse=done)


def _ssl_context(endpoint: config.Endpoint) -> ssl.SSLContext:
    context = endpoint.ssl_context()
    if context is False:  # insecure-skip-tls-verify: encrypted, nothing verified
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    assert isinstance(context, ssl.SSLContext)
    return context


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _message(text: str) -> str:
    try:
        decoded = orjson.loads(text)
    except ValueError:
        return text[:300]
    if isinstance(decoded, dict):
        return str(decoded.get("message", text[:300]))
    return text[:300]
