"""Writing announcements to the LAN: gratuitous ARPs / unsolicited NAs out of one interface.

`Announcer` writes the frames of `floatip_agent.packets` to a packet socket, now; when they
go out (the bursts, the second burst, the refresh) is `floatip_agent.announcements`' job.
Linux clients with the default ``arp_accept=0`` update an existing entry from a gratuitous
ARP at once (a GARP overrides the entry's 1 s ``locktime``) but never create one; hosts that
ignore GARPs meanwhile and switches that learn late are what the second burst and the
refresh are for.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence

from floatip_agent import addressing, packet_sockets, packets


class Announcer(packet_sockets.SocketOwner):
    """Sends announcements out of one interface, from that interface's MAC."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock)
        self.mac = packet_sockets.interface_mac(sock)

    @classmethod
    def open(cls, *, ifname: str, netns: str | None = None) -> Announcer:
        """An announcer on `ifname` (in namespace `netns`, if named)."""
        return cls(packet_sockets.open_sender(ifname=ifname, netns=netns))

    async def send(self, frames: Sequence[bytes]) -> None:
        """Write `frames` out now, in order."""
        loop = asyncio.get_running_loop()
        for frame in frames:
            await loop.sock_sendall(self._sock, frame)

    async def redirect(self, address: addressing.IPAddress, *, to_mac: str, count: int = 2) -> None:
        """Tell the LAN that `address` now lives at `to_mac` (another host's), from this link.

        The old holder of a planned handover sends this as it lets the address go, so a
        neighbour that learnt its MAC during the overlap moves on at once instead of waiting
        for the new holder's next burst (frames: `packets.announcement` with ``link_mac``).
        """
        frame = packets.announcement(address, mac=to_mac, link_mac=self.mac)
        await self.send([frame] * count)

    async def send_once(self, addresses: Sequence[addressing.IPAddress]) -> None:
        """One announcement for each of `addresses` (a refresh round)."""
        await self.send([packets.announcement(a, mac=self.mac) for a in addresses])
