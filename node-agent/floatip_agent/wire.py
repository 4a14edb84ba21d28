"""Watching an interface for claims on addresses (who says which address is theirs) and for
questions about them (who resolves which address).

A `Watcher` reads the ARP and NDP frames that the kernel filter (`floatip_agent.bpf`) lets
through and yields them as `floatip_agent.claims.Claim`s. The conflict detector (DESIGN.md
safety 3 and 5) and the probe are its consumers; it knows nothing of VIPs or peers.

The socket buffers frames from the moment it is opened, so open the watcher *before*
sending anything whose answers matter (a probe).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from floatip_agent import claims, packet_sockets

PACKET_OUTGOING = 4
Sighting = claims.Claim | claims.Question
MAX_FRAME = 65535


class Watcher(packet_sockets.SocketOwner):
    """Frames and claims arriving on one interface. Close it (or use `with`) when done."""

    @classmethod
    def open(cls, *, ifname: str, netns: str | None = None) -> Watcher:
        """Start capturing on `ifname` (in namespace `netns`, if named)."""
        return cls(packet_sockets.open_capture(ifname=ifname, netns=netns))

    async def frames(self) -> AsyncIterator[bytes]:
        """Every frame that passes the filter, as raw bytes, forever."""
        loop = asyncio.get_running_loop()
        while True:
            frame, address = await loop.sock_recvfrom(self._sock, MAX_FRAME)
            if address[2] != PACKET_OUTGOING:  # the filter drops these too
                yield frame

    async def claims(self) -> AsyncIterator[claims.Claim]:
        """Every claim on the wire, forever; frames that claim nothing are skipped."""
        async for frame in self.frames():
            claim = claims.parse_claim(frame)
            if claim is not None:
                yield claim

    async def sightings(self) -> AsyncIterator[Sighting]:
        """Every claim and every question on the wire, forever (a frame may carry both)."""
        async for frame in self.frames():
            claim = claims.parse_claim(frame)
            if claim is not None:
                yield claim
            question = claims.parse_question(frame)
            if question is not None:
                yield question
