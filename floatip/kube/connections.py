"""Keep-alive HTTP/1.1 connections to one server: asyncio's streams, spoken with h11.

`floatip.kube.client` needs a handful of requests and one streamed response (a watch), not a
web framework: aiohttp cost every node's agent ~10 MiB of resident memory. h11 (a small,
well-kept, pure-Python HTTP/1.1 state machine; httpx's and Uvicorn's) parses and writes the
protocol, asyncio's streams carry it, and this module keeps a bounded pool of idle connections
as aiohttp's connector did: at most ``size`` open at once (watches included), an idle one
reused for up to ``KEEPALIVE_SECONDS`` unless the server has closed it.

Errors are the transport's own (`OSError`, `TimeoutError`, `h11.ProtocolError`, `ValueError`
for an unusable server URL); the client turns each into its one `ApiError`.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
import time
import urllib.parse
import zlib
from collections.abc import AsyncIterator, Sequence

import h11

#: aiohttp's connector keeps an idle connection this long; so do we.
KEEPALIVE_SECONDS = 15.0
READ_SIZE = 256 * 1024
#: The server derives a write's field manager from the first word of the User-Agent (as
#: kube-apiserver does); aiohttp sent ``Python/3.x aiohttp/...``, so managedFields keep "Python".
USER_AGENT = "Python/{}.{} h11/{}".format(*sys.version_info[:2], getattr(h11, "__version__", ""))


class Connection:
    """One HTTP/1.1 connection; `exchange` one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.http = h11.Connection(our_role=h11.CLIENT)
        self.idle_since = time.monotonic()

    async def send(self, request: h11.Request, body: bytes | None) -> None:
        self.writer.write(self.http.send(request) or b"")
        if body:
            self.writer.write(self.http.send(h11.Data(data=body)) or b"")
        self.writer.write(self.http.send(h11.EndOfMessage()) or b"")
        await self.writer.drain()

    async def response(self, read_timeout: float | None = None) -> h11.Response:
        """The response's status line and headers (1xx answers skipped)."""
        while True:
            event = await self._next(read_timeout)
            if isinstance(event, h11.Response):
                return event
            if not isinstance(event, h11.InformationalResponse):
                raise h11.RemoteProtocolError(f"unexpected {type(event).__name__}")

    async def body(
        self, head: h11.Response, read_timeout: float | None = None
    ) -> AsyncIterator[bytes]:
        """The body's bytes as they come, decompressed if the server compressed them."""
        decoder = _decoder(head.headers)
        while True:
            event = await self._next(read_timeout)
            if isinstance(event, h11.EndOfMessage):
                if decoder is not None and (tail := decoder.flush()):
                    yield tail
                return
            if isinstance(event, h11.Data):
                yield decoder.decompress(event.data) if decoder is not None else bytes(event.data)
            else:
                raise h11.RemoteProtocolError(f"unexpected {type(event).__name__}")

    async def _next(self, read_timeout: float | None) -> object:
        while True:
            event = self.http.next_event()
            if event is h11.NEED_DATA:
                async with asyncio.timeout(read_timeout):
                    data = await self.reader.read(READ_SIZE)
                self.http.receive_data(data)  # b"": the server closed the connection
                continue
            if isinstance(event, h11.ConnectionClosed):
                raise ConnectionResetError("the server closed the connection")
            return event

    @property
    def reusable(self) -> bool:
        """The exchange ended cleanly and the server did not ask to close, nor closed."""
        return self.http.our_state is h11.DONE and self.http.their_state is h11.DONE and self.open

    @property
    def open(self) -> bool:
        """Neither side has closed the connection (as far as this process has seen)."""
        return not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()


class Pool:
    """Connections to the server of ``url`` (http or https), at most ``size`` at once."""

    def __init__(
        self,
        url: str,
        *,
        ssl_context: ssl.SSLContext | None,
        connect_timeout: float,
        size: int,
    ) -> None:
        self.url = url
        self.ssl_context = ssl_context
        self.connect_timeout = connect_timeout
        self.size = size
        self._idle: list[Connection] = []
        self._open: set[Connection] = set()
        self._slots: asyncio.Semaphore | None = None

    def target(self, path: str, params: dict[str, str] | None = None) -> str:
        """The request target for `path` on this server (its URL's path prefix kept)."""
        prefix = urllib.parse.urlsplit(self.url).path.rstrip("/")
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        return f"{prefix}{path}{query}"

    def headers(self, extra: dict[str, str]) -> list[tuple[str, str]]:
        authority = urllib.parse.urlsplit(self.url).netloc.rpartition("@")[2]
        base = {"Host": authority, "User-Agent": USER_AGENT, "Accept": "*/*",
                "Accept-Encoding": "gzip, deflate"}  # fmt: skip
        return list({**base, **extra}.items())

    async def checkout(self) -> tuple[Connection, bool]:
        """A connection for one exchange, and whether it was used before; `checkin` it."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.size)
        await self._slots.acquire()
        try:
            while self._idle:
                connection = self._idle.pop()
                if connection.open and time.monotonic() - connection.idle_since < KEEPALIVE_SECONDS:
                    return connection, True
                self._discard(connection)
            return await self._connect(), False
        except BaseException:
            self._slots.release()
            raise

    def checkin(self, connection: Connection, *, reuse: bool) -> None:
        if reuse and connection.reusable:
            connection.http.start_next_cycle()
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        else:
            self._discard(connection)
        if self._slots is not None:
            self._slots.release()

    def close(self) -> None:
        """Close every connection, idle or in use; the pool stays usable."""
        for connection in list(self._open):
            self._discard(connection)
        self._idle.clear()

    async def _connect(self) -> Connection:
        parts = urllib.parse.urlsplit(self.url)
        tls = parts.scheme == "https"
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {self.url!r}")
        async with asyncio.timeout(self.connect_timeout):
            reader, writer = await asyncio.open_connection(
                parts.hostname,
                parts.port or (443 if tls else 80),
                ssl=self.ssl_context if tls else None,
            )
        connection = Connection(reader, writer)
        self._open.add(connection)
        return connection

    def _discard(self, connection: Connection) -> None:
        self._open.discard(connection)
        connection.close()


def _decoder(headers: Sequence[tuple[bytes, bytes]]) -> zlib._Decompress | None:
    for name, value in headers:
        if name == b"content-encoding":
            if value == b"gzip":
                return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            if value == b"deflate":
                return zlib.decompressobj()
    return None
