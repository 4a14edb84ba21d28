"""The heartbeat socket: one UDP socket that sends this node's beat and receives the others'.

Without ``--peer`` the beat goes to the interface's broadcast (IPv4, 255.255.255.255 bound to
the interface) or to all nodes (IPv6, ff02::1 on the interface); with ``--peer`` to each peer
by unicast, for networks that drop broadcast (keepalived's ``unicast_peer``). Broadcasting,
the socket is bound to the VIP's interface, so beats from another network never count; with
peers it is not, so the peers may be on another network (a management LAN) that routing
reaches. Either way a beat counts only with this cluster's id (and HMAC, if keyed).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence

SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)
MAX_DATAGRAM = 2048


class Beacon:
    """Sends datagrams to the peers (or broadcast) and receives theirs. Close when done."""

    def __init__(self, *, ifname: str, port: int, family: int, peers: Sequence[str]) -> None:
        self.ifname = ifname
        self.port = port
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if not peers:  # broadcast: this interface only; unicast peers: wherever routed
                sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, ifname.encode())
            if family == socket.AF_INET:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
                sock.bind(("0.0.0.0", port))
            else:
                index = socket.if_nametoindex(ifname)
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
                sock.bind(("::", port))
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            raise OSError(
                exc.errno, f"cannot open the heartbeat socket on {ifname} UDP port {port}: "
                f"{exc.strerror}; is another control-plane agent running here, or the port "
                "taken (--heartbeat-port)?",
            ) from exc  # fmt: skip
        self._sock = sock
        if peers:
            self.targets: list[tuple[str, int] | tuple[str, int, int, int]] = [
                (peer, port) for peer in peers
            ]
        elif family == socket.AF_INET:
            self.targets = [("255.255.255.255", port)]
        else:
            self.targets = [("ff02::1", port, 0, socket.if_nametoindex(ifname))]

    def send(self, datagram: bytes) -> int:
        """Send to every target now; return how many sends failed (full buffer, no route)."""
        failed = 0
        for target in self.targets:
            try:
                self._sock.sendto(datagram, target)
            except OSError:
                failed += 1
        return failed

    async def receive(self) -> tuple[bytes, str]:
        """The next datagram and its sender's address."""
        data, sender = await asyncio.get_running_loop().sock_recvfrom(self._sock, MAX_DATAGRAM)
        return data, str(sender[0])

    def close(self) -> None:
        self._sock.close()
