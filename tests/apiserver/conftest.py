"""Fixtures for the API server tests (shared with other test dirs via floatip_apiserver.testing)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import aiohttp
import pytest_asyncio

from floatip_apiserver.runtime import RunningServer
from floatip_apiserver.testing import apiserver

__all__ = ["apiserver", "http"]


class Client:
    """A tiny REST client: admin token unless told otherwise; returns (status, body)."""

    def __init__(self, server: RunningServer, session: aiohttp.ClientSession) -> None:
        self.server = server
        self.session = session
        self.token = server.admin_token

    async def call(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        token: str | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, object]]:
        import json

        all_headers = {
            "Authorization": f"Bearer {token or self.token}",
            "Content-Type": content_type,
            **(headers or {}),
        }
        data = None if body is None else (body if isinstance(body, str) else json.dumps(body))
        async with self.session.request(
            method, self.server.url + path, data=data, headers=all_headers
        ) as response:
            payload = await response.json(content_type=None)
            return response.status, payload


@pytest_asyncio.fixture
async def http(apiserver: RunningServer) -> AsyncIterator[Client]:
    context = ssl.create_default_context(cadata=(apiserver.ca_pem or b"").decode())
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as session:
        yield Client(apiserver, session)
