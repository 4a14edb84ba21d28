"""The flow handoffs in force on this node: loaded into nftables, ended on time (`handoff`).

A worker begins a handoff before a planned take (`handoff.plan` says whether there is one):
its rules load while the take's probe listens, so they are in force when the address is
added. It arms the handoff once the address is added, and the handoff ends by itself
``--flow-handoff-seconds`` later: the window covers the time after the MAC flip, however long
the probe took. A take called off, or a release, ends it at once. The kernel's floatip
tables always hold exactly the handoffs in force: every change loads the whole ruleset in one
``nft`` transaction (`handoff.ruleset`), one change at a time. A failed load is logged and
counted, and the take goes on without it (it only costs the connection in flight at the MAC
flip).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from floatip_agent import handoff, metrics, nftables

log = structlog.get_logger(__name__)

Loader = Callable[[str], Awaitable[None]]


class Handoffs:
    """Handoffs by VirtualIP name; ``load`` applies an nft script (`nftables.load`)."""

    def __init__(
        self, *, seconds: float, counters: metrics.Metrics, load: Loader = nftables.load
    ) -> None:
        self.seconds = seconds
        self.counters = counters
        self._load = load
        self.active: dict[str, handoff.Handoff] = {}
        self._ends: dict[str, asyncio.TimerHandle] = {}
        self._lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()

    @property
    def enabled(self) -> bool:
        return self.seconds > 0

    async def begin(self, name: str, planned: handoff.Handoff) -> bool:
        """Send stray segments of the previous holder's flows there until `end`, or until
        `seconds` after `arm`. True once the rules are in force."""
        self._disarm(name)
        self.active[name] = planned
        if not await self._apply():
            self.active.pop(name, None)
            self.counters.handoffs.labels(result=metrics.HandoffResult.FAILED.value).inc()
            return False
        self.counters.handoffs.labels(result=metrics.HandoffResult.STARTED.value).inc()
        return True

    def arm(self, name: str) -> None:
        """The address is added: ``name``'s handoff ends by itself `seconds` from now."""
        if name not in self.active:
            return
        self._disarm(name)
        self._ends[name] = asyncio.get_running_loop().call_later(
            self.seconds, self._end_later, name
        )

    def _disarm(self, name: str) -> None:
        """No timer ends ``name``'s handoff any more."""
        timer = self._ends.pop(name, None)
        if timer is not None:
            timer.cancel()

    def _end_later(self, name: str) -> None:
        task = asyncio.create_task(self.end(name), name=f"handoff-end-{name}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def end(self, name: str) -> None:
        """End ``name``'s handoff now, if it has one."""
        self._disarm(name)
        if self.active.pop(name, None) is not None:
            await self._apply()
            log.info("flow-handoff-ended", vip=name)

    async def clear(self) -> None:
        """No handoff at all: at start (a killed predecessor's would outlive its window) and
        at shutdown."""
        for timer in self._ends.values():
            timer.cancel()
        self._ends.clear()
        self.active.clear()
        await self._apply()

    async def _apply(self) -> bool:
        async with self._lock:
            try:
                await self._load(handoff.ruleset(self.active.values()))
            except (nftables.NftablesError, OSError) as exc:
                log.warning("flow-handoff-failed", error=str(exc), handoffs=len(self.active))
                return False
            return True
