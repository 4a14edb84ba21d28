"""One interface's wire: its announcer, its claim watcher, and probes that share that watcher.

The agent opens a `LinkIO` on an interface the first time a VIP goes there and keeps it
while the interface exists. One capture socket per interface feeds both the conflict watch
(every claim goes to `on_claim`) and any probes in flight (each probe subscribes to the
claims for its window), so probing 1,000 addresses at once costs no extra sockets. A read
error (the interface vanished) ends the reader and calls `on_lost`, so the agent reopens it
when the interface comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Collection

import structlog

from floatip_agent import addressing, announcing, claims, packets, probing, wire

log = structlog.get_logger(__name__)

ClaimHandler = Callable[[str, claims.Claim], None]


class LinkIO:
    """Announcer and watcher of interface `ifname`. Close it when done."""

    def __init__(
        self,
        *,
        ifname: str,
        on_claim: ClaimHandler,
        on_lost: Callable[[str], None],
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
        self._on_claim = on_claim
        self._on_lost = on_lost
        self._probes: set[asyncio.Queue[claims.Claim]] = set()
        self._reader = asyncio.create_task(self._read(), name=f"wire-{ifname}")

    async def _read(self) -> None:
        try:
            async for claim in self.watcher.claims():
                for queue in self._probes:
                    queue.put_nowait(claim)
                try:
                    self._on_claim(self.ifname, claim)
                except Exception:  # one bad claim handler must not stop the watch
                    log.exception("claim-handler-failed", interface=self.ifname)
        except OSError as exc:
            log.warning("wire-lost", interface=self.ifname, error=str(exc))
            self._on_lost(self.ifname)

    async def probe(
        self,
        address: addressing.IPAddress,
        *,
        peer_macs: Collection[str],
        count: int = 2,
        interval: float = 0.02,
        window: float = 0.1,
    ) -> probing.ProbeResult:
        """RFC 5227-style probe for `address` on this interface (see `floatip_agent.probing`)."""
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

    async def announce_once(self, addresses: list[addressing.IPAddress]) -> None:
        await self.announcer.send_once(addresses)

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        self.watcher.close()
        self.announcer.close()
