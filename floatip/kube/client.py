"""`Api`: the few REST verbs floatip needs, over aiohttp, with one error type.

The operator's leader needs precise preconditions (a JSON patch whose first op is ``test``, a
PUT carrying resourceVersion) and the agent needs bounded timeouts (a hung API server must
stall one call, never the event loop) and to know that the API answers at all: every answer
from the server (a success, or 404 for an object that does not exist) is reported to
``on_contact``, which the agent's fence (`floatip_agent.fencing`) and the operator's outage
tracking count as proof the API server is there.

Every failure is an `ApiError`: an error status (its ``code``), or no answer at all (code 0:
refused, reset, timed out, unreadable), so callers catch one thing.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp

from floatip.kube import config

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
        self.timeout = aiohttp.ClientTimeout(
            total=request_timeout_s, sock_connect=connect_timeout_s
        )
        self.connect_timeout_s = connect_timeout_s
        self.on_contact = on_contact
        self.pool_size = pool_size
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    ssl=self.endpoint.ssl_context(), limit=self.pool_size
                ),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

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
        data = None if body is None else json.dumps(body)
        headers = self.endpoint.headers
        if data is not None:
            headers["Content-Type"] = content_type
        try:
            async with self.session.request(
                method,
                self.endpoint.server + path,
                data=data,
                headers=headers,
                params=params,
                timeout=self.timeout,
            ) as response:
                text = await response.text()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ApiError(NO_ANSWER, _describe(exc), method=method, path=path) from exc
        if status < 300 or status == 404:
            self.on_contact()
        if status >= 300:
            raise ApiError(status, _message(text), method=method, path=path)
        try:
            answer = json.loads(text) if text else {}
        except ValueError:
            return {}
        return answer if isinstance(answer, dict) else {}

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
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self.connect_timeout_s, sock_read=timeout_s + 10
        )
        try:
            async with self.session.get(
                self.endpoint.server + path,
                params=params,
                timeout=timeout,
                headers=self.endpoint.headers,
            ) as response:
                if response.status >= 300:
                    text = await response.text()
                    raise ApiError(response.status, _message(text), method="WATCH", path=path)
                self.on_contact()
                async for line in response.content:
                    if line.strip():
                        event: dict[str, Any] = json.loads(line)
                        self.on_contact()
                        yield event
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ApiError(NO_ANSWER, _describe(exc), method="WATCH", path=path) from exc


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _message(text: str) -> str:
    try:
        decoded = json.loads(text)
    except ValueError:
        return text[:300]
    if isinstance(decoded, dict):
        return str(decoded.get("message", text[:300]))
    return text[:300]
