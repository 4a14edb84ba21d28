"""Raw ``AF_PACKET`` sockets on one interface: one to send whole frames, one to capture.

The announcer and the probe write frames built by `floatip_agent.packets`; the wire watcher
reads frames through the kernel filter of `floatip_agent.bpf`. Both sockets are
non-blocking for asyncio and may be opened in a named namespace (see
`floatip_agent.namespaces`; the agent in a cluster passes none).

A capture socket is created listening to no protocol, gets its filter, and only then is
bound to ``ETH_P_ALL``: no unfiltered frame can slip in between.
"""

from __future__ import annotations

import errno
import socket
from types import TracebackType
from typing import Self

from floatip_agent import bpf, namespaces

ETH_P_ALL = 0x0003
#: Receive buffer of a capture socket: a node taking 1,000 VIPs, or a LAN-wide ARP storm,
#: must not overflow the kernel's default (~200 KiB, a few hundred frames) before we read.
CAPTURE_BUFFER = 4 << 20
SO_RCVBUFFORCE = 33  # asm-generic/socket.h; Python's socket module lacks it


class InterfaceError(OSError):
    """A packet socket could not be bound to the interface."""


def _bind(sock: socket.socket, ifname: str, protocol: int, netns: str | None) -> None:
    try:
        sock.bind((ifname, protocol))
    except OSError as exc:
        sock.close()
        where = f" in namespace {netns!r}" if netns else ""
        hint = (
            "no such interface: check spec.interface and `ip link`"
            if exc.errno == errno.ENODEV
            else "the agent needs CAP_NET_RAW"
        )
        raise InterfaceError(
            exc.errno, f"cannot bind a packet socket to {ifname!r}{where}: {exc}; {hint}"
        ) from exc


def open_sender(*, ifname: str, netns: str | None = None) -> socket.socket:
    """A socket that sends whole Ethernet frames out of `ifname` and receives nothing."""
    with namespaces.entered(netns):
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        _bind(sock, ifname, 0, netns)
    sock.setblocking(False)
    return sock


def open_capture(*, ifname: str, netns: str | None = None) -> socket.socket:
    """A socket that receives the ARP and NDP NS/NA frames arriving on `ifname`, only those."""
    with namespaces.entered(netns):
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        try:
            bpf.attach(sock)
            _grow_buffer(sock)
        except OSError:
            sock.close()
            raise
        _bind(sock, ifname, ETH_P_ALL, netns)  # Python applies htons itself
    sock.setblocking(False)
    return sock


def _grow_buffer(sock: socket.socket) -> None:
    """Ask for `CAPTURE_BUFFER`; past ``net.core.rmem_max`` only with CAP_NET_ADMIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, CAPTURE_BUFFER)
    except PermissionError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, CAPTURE_BUFFER)


def interface_mac(sock: socket.socket) -> str:
    """The MAC of the interface a packet socket is bound to, lower case with colons."""
    hwaddr: bytes = sock.getsockname()[4]
    return ":".join(f"{byte:02x}" for byte in hwaddr)


class SocketOwner:
    """Owns one packet socket: closes it on ``close()`` or at the end of a ``with`` block."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._sock.close()
