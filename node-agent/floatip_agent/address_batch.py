"""Adding many addresses in one netlink write: the failover of a node holding 1,000 VIPs.

`kernel_addresses` adds each VIP with pyroute2, which encodes a message in about 0.4 ms of
Python; a successor taking 1,000 addresses at once would spend 0.4 s on encoding alone, on the
critical path of the failover (issue 15: the last of 1,000 answered within 1.5 s of the
fault). An ``RTM_NEWADDR`` is a fixed layout, so this module packs it with `struct` (about
5 µs), queues the adds made in one turn of the event loop, sends them to the kernel in one
``send`` (rtnetlink takes several messages per write, one after the other) and matches each
acknowledgement to its add by sequence number. pyroute2 still does everything else (dumps,
removes, links).

What is sent is what pyroute2 sends for ``addr("add", index, address, prefixlen, proto,
flags, label)``: ``ifaddrmsg`` with the low flag bits, ``IFA_LOCAL`` and ``IFA_ADDRESS`` (the
address), ``IFA_LABEL`` (IPv4), ``IFA_FLAGS`` (all flags, ``IFA_F_NOPREFIXROUTE`` needs 32
bits) and ``IFA_PROTO``; the kernel tests read the result back with ``ip -d addr``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import socket
import struct
from typing import Final

from pyroute2.netns import popns, pushns

from floatip_agent import addressing

RTM_NEWADDR: Final = 20
NLMSG_ERROR: Final = 2
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x200, 0x400
IFA_ADDRESS, IFA_LOCAL, IFA_LABEL, IFA_FLAGS, IFA_PROTO = 1, 2, 3, 8, 11
#: Bytes per write: well under the socket's send buffer (each add is 56-72 bytes).
CHUNK: Final = 32 * 1024
#: Acknowledgements of 1,000 adds take some 36 KB; a large buffer never drops one.
RECEIVE_BUFFER: Final = 4 * 1024 * 1024
#: An add the kernel has not acknowledged by then is reported as failed (ETIMEDOUT).
ACK_TIMEOUT_S: Final = 5.0

HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port id
IFADDRMSG = struct.Struct("=BBBBI")  # family, prefix length, flags, scope, interface index
ATTR = struct.Struct("=HH")
ERROR = struct.Struct("=i")


def newaddr(
    sequence: int,
    *,
    ifindex: int,
    address: addressing.IPAddress,
    prefixlen: int,
    flags: int,
    proto: int,
    label: str | None = None,
) -> bytes:
    """One ``RTM_NEWADDR`` request (create, exclusive, acknowledged) as the kernel reads it."""
    family = socket.AF_INET if address.version == 4 else socket.AF_INET6
    attrs = _attr(IFA_LOCAL, address.packed) + _attr(IFA_ADDRESS, address.packed)
    if label:
        attrs += _attr(IFA_LABEL, label.encode() + b"\0")
    attrs += _attr(IFA_FLAGS, struct.pack("=I", flags)) + _attr(IFA_PROTO, bytes([proto]))
    body = IFADDRMSG.pack(family, prefixlen, flags & 0xFF, 0, ifindex) + attrs
    kind = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
    return HEADER.pack(HEADER.size + len(body), RTM_NEWADDR, kind, sequence, 0) + body


def _attr(kind: int, data: bytes) -> bytes:
    length = ATTR.size + len(data)
    return ATTR.pack(length, kind) + data + b"\0" * (-length % 4)


def acknowledgements(data: bytes) -> list[tuple[int, int]]:
    """(sequence, errno) of each ``NLMSG_ERROR`` in ``data`` (errno 0: done)."""
    found: list[tuple[int, int]] = []
    offset = 0
    while offset + HEADER.size <= len(data):
        length, kind, _, sequence, _ = HEADER.unpack_from(data, offset)
        if length < HEADER.size:
            break
        if kind == NLMSG_ERROR and length >= HEADER.size + ERROR.size:
            (error,) = ERROR.unpack_from(data, offset + HEADER.size)
            found.append((sequence, -error))
        offset += (length + 3) & ~3
    return found


class AddressBatch:
    """A netlink socket of its own for adds; `add` returns the kernel's errno (0: added)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._sequence = itertools.count(1)
        self._queued: list[bytes] = []
        self._waiting: dict[int, asyncio.Future[int]] = {}
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), self._read)

    @classmethod
    def open(cls, *, netns: str | None = None) -> AddressBatch:
        """A batch on a new socket (`open_socket`)."""
        return cls(open_socket(netns=netns))

    async def add(
        self,
        *,
        ifindex: int,
        address: addressing.IPAddress,
        prefixlen: int,
        flags: int,
        proto: int,
        label: str | None = None,
    ) -> int:
        """Queue one add for this turn's write and wait for its acknowledgement."""
        sequence = next(self._sequence)
        future: asyncio.Future[int] = self._loop.create_future()
        self._waiting[sequence] = future
        if not self._queued:
            self._loop.call_soon(self._flush)
        self._queued.append(newaddr(
            sequence, ifindex=ifindex, address=address, prefixlen=prefixlen, flags=flags,
            proto=proto, label=label,
        ))  # fmt: skip
        try:
            return await asyncio.wait_for(future, ACK_TIMEOUT_S)
        except TimeoutError:
            return errno.ETIMEDOUT
        finally:
            self._waiting.pop(sequence, None)

    def _flush(self) -> None:
        queued, self._queued = self._queued, []
        chunk: list[bytes] = []
        size = 0
        for message in [*queued, b""]:
            if chunk and (not message or size + len(message) > CHUNK):
                self._send(b"".join(chunk), count=len(chunk))
                chunk, size = [], 0
            if message:
                chunk.append(message)
                size += len(message)

    def _send(self, data: bytes, *, count: int) -> None:
        try:
            self.sock.send(data)
        except OSError as exc:  # nothing of this write reached the kernel: fail its adds
            code = exc.errno or errno.EIO
            for offset, _ in _messages(data, count):
                sequence = HEADER.unpack_from(data, offset)[3]
                future = self._waiting.get(sequence)
                if future is not None and not future.done():
                    future.set_result(code)

    def _read(self) -> None:
        while True:
            try:
                data = self.sock.recv(256 * 1024)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # ENOBUFS: acknowledgements lost; their adds time out
                return
            for sequence, code in acknowledgements(data):
                future = self._waiting.get(sequence)
                if future is not None and not future.done():
                    future.set_result(code)

    def close(self) -> None:
        self._loop.remove_reader(self.sock.fileno())
        self.sock.close()


def open_socket(*, netns: str | None = None) -> socket.socket:
    """A new non-blocking ``NETLINK_ROUTE`` socket in this process's network namespace, or in
    namespace ``netns`` (a socket stays in the namespace it was made in)."""
    if netns is not None:
        pushns(netns)
    try:
        sock = socket.socket(
            socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC,
            socket.NETLINK_ROUTE,
        )  # fmt: skip
    finally:
        if netns is not None:
            popns()
    try:
        with contextlib.suppress(OSError):  # FORCE needs CAP_NET_ADMIN, which the agent has
            sock.setsockopt(socket.SOL_SOCKET, 33, RECEIVE_BUFFER)  # SO_RCVBUFFORCE
        sock.bind((0, 0))
    except BaseException:
        sock.close()
        raise
    return sock


def _messages(data: bytes, count: int) -> list[tuple[int, int]]:
    """(offset, length) of the first ``count`` messages packed in ``data``."""
    found: list[tuple[int, int]] = []
    offset = 0
    while len(found) < count and offset + HEADER.size <= len(data):
        length = HEADER.unpack_from(data, offset)[0]
        found.append((offset, length))
        offset += (length + 3) & ~3
    return found
