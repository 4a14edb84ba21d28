"""The lab's API client keeps its connections alive, as real clients do.

Proves: a thread's requests (JSON and text, answers and HTTP errors) share one TLS connection
instead of a handshake each; threads each get their own; a kept connection that the server
side closed meanwhile is replaced and the request still answers; an API server that is gone is
an ApiError saying so.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import pathlib
from collections.abc import AsyncIterator

import pytest

from floatip_apiserver import kubeconfig, runtime
from floatip_apiserver.testing import apiserver
from floatip_lab import kubeapi

__all__ = ["apiserver"]

NODES = "/api/v1/nodes"


class CountingRelay:
    """A TCP relay in front of the server that counts the connections it accepts."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.accepted = 0
        self._writers: list[asyncio.StreamWriter] = []

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers += [writer, up_writer]
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    def drop_all(self) -> None:
        """Close every relayed connection, as a server does with idle ones."""
        for writer in self._writers:
            writer.close()
        self._writers.clear()


@contextlib.asynccontextmanager
async def relayed(server: runtime.RunningServer) -> AsyncIterator[tuple[CountingRelay, str]]:
    relay = CountingRelay((server.host, server.port))
    listener = await asyncio.start_server(relay._accept, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        yield relay, f"https://localhost:{port}"
    finally:
        relay.drop_all()
        listener.close()


def client_via(server: runtime.RunningServer, url: str, path: pathlib.Path) -> kubeapi.Client:
    config = kubeconfig.build(url, server.admin_token, "admin", server.ca_pem)
    return kubeapi.Client(kubeconfig.write(path, config))


async def test_one_thread_reuses_one_connection(
    apiserver: runtime.RunningServer, tmp_path: pathlib.Path
) -> None:
    async with relayed(apiserver) as (relay, url):
        client = client_via(apiserver, url, tmp_path / "kubeconfig")

        def ask() -> None:
            for _ in range(10):
                client.request("GET", NODES)
            with pytest.raises(kubeapi.ApiError) as missing:
                client.request("GET", f"{NODES}/absent")
            assert missing.value.status == 404
            assert "apiserver_request_total" in client.text("/metrics")
            client.request("GET", NODES)

        await asyncio.to_thread(ask)
        assert relay.accepted == 1, f"13 requests took {relay.accepted} connections"


async def test_each_thread_has_its_own_connection(
    apiserver: runtime.RunningServer, tmp_path: pathlib.Path
) -> None:
    async with relayed(apiserver) as (relay, url):
        client = client_via(apiserver, url, tmp_path / "kubeconfig")

        def ask_many() -> None:
            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                for future in [pool.submit(client.request, "GET", NODES) for _ in range(40)]:
                    future.result()

        await asyncio.to_thread(ask_many)
        assert 1 <= relay.accepted <= 4, f"40 requests on 4 threads: {relay.accepted} connections"


async def test_a_connection_closed_by_the_server_is_replaced(
    apiserver: runtime.RunningServer, tmp_path: pathlib.Path
) -> None:
    async with relayed(apiserver) as (relay, url):
        client = client_via(apiserver, url, tmp_path / "kubeconfig")
        await asyncio.to_thread(client.request, "GET", NODES)
        relay.drop_all()
        await asyncio.sleep(0.05)  # let the close reach the client's socket
        answer = await asyncio.to_thread(client.request, "GET", NODES)
        assert answer["kind"] == "NodeList"
        assert relay.accepted == 2


async def test_a_server_that_is_gone_is_an_api_error(
    apiserver: runtime.RunningServer, tmp_path: pathlib.Path
) -> None:
    async with relayed(apiserver) as (_, url):
        client = client_via(apiserver, url, tmp_path / "kubeconfig")
        await asyncio.to_thread(client.request, "GET", NODES)
    with pytest.raises(kubeapi.ApiError, match="unreachable"):
        await asyncio.to_thread(client.request, "GET", NODES)
