"""The holder's side of the wire: announcing the VIP, and defending it against non-peers.

Announcements follow the node agent's schedule with the VirtualIP defaults (`SCHEDULE`: a
burst of 3, 100 ms apart, the same again 5 s later, then a refresh every 60 s; a unit test
holds it equal to `floatip_agent.announcements.schedule` of ``model.Announce()``, which this
module does not import: the API model would add a second to every start). The wire is watched
through the node agent's `floatip_agent.links.Link`:

- a claim on the VIP by a MAC that is no peer's, while holding, is a conflict: one log line
  per new MAC, a metric, and a re-announcement at a bounded rate (`ratelimit.TokenBucket`, as
  the node agent's guard does); this node never yields to a non-peer;
- a claim by a live peer (a make-before-break overlap) is left to the election, which the
  heartbeats drive; a claim by a *silent* peer (a frozen holder whose kernel still answers
  ARP for the address) is answered like a foreign one, without counting as a conflict;
- while a foreign host or a silent peer claimed the VIP in the last few seconds, a question
  about it (an ARP request or NS) is answered with an announcement, a moment after the other
  host's answer would have arrived, so the asker ends up with this holder's MAC.

A holder that was itself frozen (SIGSTOP, a VM paused) wakes with its announcements overdue
and its peers' news still unread; an announcement more than ``stall_seconds`` late therefore
waits ``stall_seconds`` more, long enough to hear that a peer took over meanwhile and to be
cancelled by the release, instead of pulling the LAN back to a stale holder.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import Callable

import structlog

from floatip_agent import addressing, claims, links, ratelimit
from floatip_agent.controlplane import metrics

log = structlog.get_logger(__name__)

#: After another MAC claimed the VIP, answer questions about it for this long.
CONTESTED_SECONDS = 5.0
#: Wait this long before answering such a question, so our announcement comes last.
ANSWER_DELAY_SECONDS = 0.01
#: Seconds after a claim at which the bursts' announcements go out; then every REFRESH s.
SCHEDULE = (0.0, 0.1, 0.2, 5.0, 5.1, 5.2)
REFRESH_SECONDS = 60.0


class Guard:
    """Announces the VIP while held and watches the wire for claims on it."""

    def __init__(
        self,
        *,
        address: addressing.IPAddress,
        link: links.Link,
        seen: asyncio.Queue[links.Seen],
        counters: metrics.Metrics,
        live_peer_macs: Callable[[], set[str]],
        known_peer_macs: Callable[[], set[str]],
        holding: Callable[[], bool],
        stall_seconds: float,
    ) -> None:
        self.address = address
        self.link = link
        self.seen = seen
        self.counters = counters
        self.live_peer_macs = live_peer_macs
        self.known_peer_macs = known_peer_macs
        self.holding = holding
        self.stall_seconds = stall_seconds
        self.foreign_macs: set[str] = set()
        self.silent_peer_macs: set[str] = set()
        self.sent: collections.Counter[str] = collections.Counter()  # announcements, by kind
        self.conflicts = 0
        self._contested_until = 0.0
        self._bucket = ratelimit.TokenBucket(capacity=5, rate=2.0)
        self._announcing: asyncio.Task[None] | None = None

    def start_announcing(self) -> None:
        """(Re)start the schedule: the first announcement goes out now."""
        self.stop_announcing()
        self._announcing = asyncio.create_task(self._announce(), name="cp-announce")

    def stop_announcing(self) -> None:
        if self._announcing is not None:
            self._announcing.cancel()
            self._announcing = None

    async def _send(self, kind: str) -> None:
        try:
            await self.link.announcer.send_once([self.address])
            self.counters.announcements.labels(kind=kind).inc()
            self.sent[kind] += 1
        except OSError as exc:
            log.warning("announce-failed", interface=self.link.ifname, error=str(exc))

    async def _announce(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        for offset in SCHEDULE:
            await self._at(start + offset)
            await self._send("burst")
        due = loop.time()
        while True:
            due += REFRESH_SECONDS
            await self._at(due)
            await self._send("refresh")

    async def _at(self, due: float) -> None:
        """Sleep until `due`; if that was long missed (a stall), wait to hear the peers first."""
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(0.0, due - loop.time()))
        if loop.time() - due > self.stall_seconds:
            log.warning("stalled", late=round(loop.time() - due, 3), action="announce after news")
            await asyncio.sleep(self.stall_seconds)

    async def run(self) -> None:
        """Read what the wire shows, forever."""
        try:
            while True:
                seen = await self.seen.get()
                if seen.claim.address != self.address or seen.claim.mac == self.link.mac:
                    continue
                if isinstance(seen.claim, claims.Claim):
                    await self._claimed(seen.claim)
                elif self.holding() and time.monotonic() < self._contested_until:
                    await self._answer()
        finally:
            self.stop_announcing()

    async def _claimed(self, claim: claims.Claim) -> None:
        if claim.mac in self.live_peer_macs():
            return  # a live peer's: the election decides, from the heartbeats
        self._contested_until = time.monotonic() + CONTESTED_SECONDS
        if claim.mac in self.known_peer_macs():
            if claim.mac not in self.silent_peer_macs:
                self.silent_peer_macs.add(claim.mac)
                log.info(
                    "vip-claimed-by-silent-peer", mac=claim.mac, holding=self.holding(),
                    detail="a frozen or cut-off peer's kernel still answers for the VIP",
                )  # fmt: skip
        else:
            self.counters.conflicts.inc()
            self.conflicts += 1
            if claim.mac not in self.foreign_macs:
                self.foreign_macs.add(claim.mac)
                log.warning("vip-conflict", address=str(self.address), mac=claim.mac,
                            kind=claim.kind.value, holding=self.holding(),
                            action="defending" if self.holding() else "none")  # fmt: skip
        if self.holding() and self._bucket.try_take():
            await self._send("reassert")

    async def _answer(self) -> None:
        if not self._bucket.try_take():
            return
        await asyncio.sleep(ANSWER_DELAY_SECONDS)
        with contextlib.suppress(OSError):
            await self._send("answer")
