"""Reading every address of the node in one netlink dump, parsed with `struct`.

A take checks the node's addresses first (`addressing.plan`: never the node's own address,
on the interface whose subnet holds it), and a release reads them before it removes. pyroute2
decodes an ``RTM_NEWADDR`` in about 0.3 ms of Python, so a node holding 1,000 VIPs spent 0.3 s
on every dump, in one stretch of the event loop: 41% of the agent's time while 1,000 VIPs were
created, long enough for its ``/healthz`` to miss the operator's polls (a false failover).
An address message is a fixed layout, so this module decodes the three fields the agent reads
(``IFA_ADDRESS`` with the prefix length, the interface index, ``IFA_PROTO``) with `struct`, in
a few microseconds each. The kernel tests compare its result with pyroute2's, field by field.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import socket
from typing import Final

from floatip_agent import address_batch, addressing

RTM_NEWADDR: Final = 20
RTM_GETADDR: Final = 22
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
IFA_ADDRESS, IFA_PROTO = 1, 11
#: A dump arrives in datagrams of up to 32 KiB (the kernel's netlink dump size, 16-32 KiB).
RECEIVE: Final = 64 * 1024

_HEADER = address_batch.HEADER
_IFADDRMSG = address_batch.IFADDRMSG
_ATTR = address_batch.ATTR
_ERROR = address_batch.ERROR


class AddressDump:
    """A netlink socket of its own for address dumps (one at a time: the kernel refuses a
    second dump on a socket while one runs)."""

    def __init__(self, *, netns: str | None = None) -> None:
        self._netns = netns
        self._sequence = itertools.count(1)
        self._lock = asyncio.Lock()
        self.sock = address_batch.open_socket(netns=netns)

    async def read(self) -> tuple[addressing.KernelAddress, ...]:
        """Every IPv4 and IPv6 address of the namespace, as the kernel lists them now."""
        async with self._lock:
            try:
                return await self._dump()
            except BaseException:
                # A dump cut short (cancelled, or failed) leaves the rest of it queued on the
                # socket, and the kernel would refuse the next dump (EBUSY): start anew.
                self.sock.close()
                self.sock = address_batch.open_socket(netns=self._netns)
                raise

    async def _dump(self) -> tuple[addressing.KernelAddress, ...]:
        loop = asyncio.get_running_loop()
        sequence = next(self._sequence)
        body = _IFADDRMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
        request = _HEADER.pack(
            _HEADER.size + len(body), RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, sequence, 0
        )
        await loop.sock_sendall(self.sock, request + body)
        found: list[addressing.KernelAddress] = []
        while not parse(await loop.sock_recv(self.sock, RECEIVE), sequence, found):
            pass
        return tuple(found)

    def close(self) -> None:
        self.sock.close()


def parse(data: bytes, sequence: int, found: list[addressing.KernelAddress]) -> bool:
    """Append the addresses in one datagram of dump ``sequence`` to ``found``; True at its end.

    Raises OSError if the kernel answered the dump with an error.
    """
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, kind, _, seq, _ = _HEADER.unpack_from(data, offset)
        if length < _HEADER.size:
            break
        start, offset = offset, offset + ((length + 3) & ~3)
        if seq != sequence:
            continue
        if kind == NLMSG_DONE:
            return True
        if kind == NLMSG_ERROR:
            (error,) = _ERROR.unpack_from(data, start + _HEADER.size)
            if error:
                raise OSError(-error, f"address dump refused: {-error}")
            return True
        if kind == RTM_NEWADDR:
            entry = _address(data, start + _HEADER.size, start + length)
            if entry is not None:
                found.append(entry)
    return False


def _address(data: bytes, start: int, end: int) -> addressing.KernelAddress | None:
    family, prefixlen, _, _, index = _IFADDRMSG.unpack_from(data, start)
    if family not in (socket.AF_INET, socket.AF_INET6):
        return None
    packed: bytes | None = None
    proto = 0
    offset = start + _IFADDRMSG.size
    while offset + _ATTR.size <= end:
        length, kind = _ATTR.unpack_from(data, offset)
        if length < _ATTR.size:
            break
        value = data[offset + _ATTR.size : offset + length]
        if kind == IFA_ADDRESS:
            packed = value
        elif kind == IFA_PROTO and value:
            proto = value[0]
        offset += (length + 3) & ~3
    if packed is None:
        return None
    number = int.from_bytes(packed, "big")
    interface: addressing.IPInterface = (
        ipaddress.IPv4Interface((number, prefixlen))
        if family == socket.AF_INET
        else ipaddress.IPv6Interface((number, prefixlen))
    )
    return addressing.KernelAddress(link_index=index, interface=interface, proto=proto)
