"""The wire of each interface: the sockets that announce, probe and watch, owned in one pool.

`LinkPool` opens a `Link` on an interface the first time a VIP goes there and keeps it while
the interface exists. One capture socket per interface feeds both the conflict watch (every
claim and every question about an address is put on the pool's `claims` queue, which
`floatip_agent.guard` reads) and any probes in flight (each probe subscribes to the claims
for its window), so probing 1,000 addresses at once costs no extra sockets. A read error
(the interface vanished) closes that link; the next use opens it again. This layer knows
nothing of VIPs, peers or decisions: it sends what it is asked to send and reports what it
sees.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Collection, Sequence
from typing import NamedTuple

import structlog

from floatip_agent import addressing, announcing, claims, packets, probing, wire

log = structlog.get_logger(__name__)


class Seen(NamedTuple):
    """A claim or a question seen on interface ``ifname``."""

    ifname: str
    claim: claims.Claim | claims.Question


class Link:
    """Announcer and watcher of interface `ifname`. Close it when done."""

    def __init__(
        self,
        *,
        ifname: str,
        seen: asyncio.Queue[Seen],
        on_lost: asyncio.Queue[str],
        netns: str | None = None,
    ) -> None:
        self.ifname = ifname
        self.watcher = wire.Watcher.open(ifname=ifname, netns=netns)
        try:
            self.announcer = announcing.Announcer.open(ifname=ifname, netns=netns)
        except BaseException:
            self.watcher.close()
            raise
        self.mac = self.announcer.mac
        self._seen = seen
        self._lost = on_lost
        self._probes: set[asyncio.Queue[claims.Claim]] = set()
        self._reader = asyncio.create_task(self._read(), name=f"wire-{ifname}")

    async def _read(self) -> None:
        try:
            async for sighting in self.watcher.sightings():
                if isinstance(sighting, claims.Claim):
                    for queue in self._probes:
                        queue.put_nowait(sighting)
                self._seen.put_nowait(Seen(self.ifname, sighting))
        except OSError as exc:
            log.warning("wire-lost", interface=self.ifname, error=str(exc))
            self._lost.put_nowait(self.ifname)

    async def probe(
        self,
        address: addressing.IPAddress,
        *,
        peer_macs: Collection[str],
        count: int,
        window: float,
        interval: float = 0.02,
    ) -> probing.ProbeResult:
        """RFC 5227-style probe: ``count`` probes ``interval`` apart, then listen ``window``."""
        queue: asyncio.Queue[claims.Claim] = asyncio.Queue()
        self._probes.add(queue)
        try:
            frame = packets.probe(address, mac=self.mac)
            for index in range(count):
                if index:
                    await asyncio.sleep(interval)
                await self.announcer.send([frame])
            await asyncio.sleep(window)
        finally:
            self._probes.discard(queue)
        seen = [queue.get_nowait() for _ in range(queue.qsize())]
        return probing.classify(seen, address=address, own_mac=self.mac, peer_macs=peer_macs)

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        self.watcher.close()
        self.announcer.close()


class LinkPool:
    """Every `Link` the agent uses, by interface name; `claims` is what they all see."""

    def __init__(self, *, netns: str | None = None) -> None:
        self.netns = netns
        self.links: dict[str, Link] = {}
        self.claims: asyncio.Queue[Seen] = asyncio.Queue()
        self._lost: asyncio.Queue[str] = asyncio.Queue()

    def link(self, ifname: str) -> Link:
        """The link on ``ifname``, opened on first use (raises OSError if it cannot be)."""
        self._drop_lost()
        link = self.links.get(ifname)
        if link is None:
            link = Link(ifname=ifname, seen=self.claims, on_lost=self._lost, netns=self.netns)
            self.links[ifname] = link
        return link

    def mac(self, ifname: str) -> str | None:
        link = self.links.get(ifname)
        return link.mac if link is not None else None

    async def probe(
        self,
        ifname: str,
        address: addressing.IPAddress,
        *,
        peer_macs: Collection[str],
        count: int,
        window: float,
    ) -> probing.ProbeResult:
        return await self.link(ifname).probe(
            address, peer_macs=peer_macs, count=count, window=window
        )

    async def announce(self, ifname: str, addresses: Sequence[addressing.IPAddress]) -> None:
        """One gratuitous ARP / unsolicited NA for each of ``addresses``, now."""
        await self.link(ifname).announcer.send_once(addresses)

    async def verify(self, ifname: str, addresses: Sequence[addressing.IPAddress]) -> None:
        """One probe for each of ``addresses``, now: whoever else holds one answers it, and
        the answer reaches the guard as a claim (`floatip_agent.verifying`)."""
        link = self.link(ifname)
        await link.announcer.send([packets.probe(a, mac=link.mac) for a in addresses])

    async def redirect(self, ifname: str, address: addressing.IPAddress, *, to_mac: str) -> None:
        """Tell the LAN that ``address`` now lives at ``to_mac`` (another node's)."""
        await self.link(ifname).announcer.redirect(address, to_mac=to_mac)

    def _drop_lost(self) -> None:
        while not self._lost.empty():
            link = self.links.pop(self._lost.get_nowait(), None)
            if link is not None:
                link.watcher.close()
                link.announcer.close()

    async def close(self) -> None:
        for link in list(self.links.values()):
            await link.close()
        self.links.clear()
