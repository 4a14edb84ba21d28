"""Telling the LAN where a VIP lives: bursts of gratuitous ARPs / unsolicited NAs.

DESIGN.md "Announcing": on taking an address, a burst of `burst_count` announcements
`burst_interval_milliseconds` apart, then the same burst again `second_burst_delay_seconds`
later for switches and hosts that missed the first (MetalLB #584, keepalived #166); the
periodic refresh (`refresh_interval_seconds`) is the agent loop's job, with `send_once`.

`schedule` is the pure timing (unit tested); `Announcer` only writes the frames of
`floatip_agent.packets` to a packet socket at those times. Linux clients with the default
``arp_accept=0`` update an existing entry from a gratuitous ARP at once (a GARP overrides
the entry's 1 s ``locktime``) but never create one; hosts that ignore GARPs meanwhile and
switches that learn late are what the second burst and the refresh are for.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence

from floatip.api import model
from floatip_agent import addressing, packet_sockets, packets


def schedule(tuning: model.Announce) -> list[float]:
    """Seconds after taking the address at which each announcement goes out."""
    interval = tuning.burst_interval_milliseconds / 1000
    burst = [index * interval for index in range(tuning.burst_count)]
    if tuning.second_burst_delay_seconds == 0:
        return burst
    return burst + [tuning.second_burst_delay_seconds + offset for offset in burst]


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

    async def announce(
        self, addresses: Sequence[addressing.IPAddress], *, tuning: model.Announce
    ) -> None:
        """Announce freshly taken `addresses` on `tuning`'s schedule; returns after the last.

        Cancel the task to stop early (the address was released meanwhile).
        """
        frames = [packets.announcement(a, mac=self.mac) for a in addresses]
        loop = asyncio.get_running_loop()
        start = loop.time()
        for offset in schedule(tuning):
            delay = start + offset - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await self.send(frames)
