"""Verifying ownership while holding: every held address probed again and again, on a budget.

Why (DESIGN.md "Defending the address"): a host that only runs ``ip addr add VIP dev eth0``
answers ARP like any host, and nothing it sends reaches the holder. A client whose neighbour
entry points at it keeps confirming that entry with *unicast* probes to its MAC, so the
holder never sees the traffic it lost. Only a question the holder asks itself draws such a
host's answer: the RFC 5227 probe a take begins with (an ARP request from 0.0.0.0; for IPv6 a
DAD neighbour solicitation from ``::``), which every host that holds the address answers. The
answer reaches the claim guard like any claim, and a foreign MAC makes it a conflict.

`Verifier` sends one probe per held address every `period`: ``interval`` seconds (the
profile's), or less often when the node holds more addresses than the per-node frame budget
allows, so a node with 1,000 VIPs never sends more than ``budget`` probes a second.
"""

from __future__ import annotations

import asyncio
import math

import structlog

from floatip_agent import addressing, metrics, ports, table

log = structlog.get_logger(__name__)
TICK = 0.05  # seconds between batches: probes of one round are spread, not sent in a burst


def period(held: int, *, interval: float, budget: float) -> float:
    """Seconds between two probes of one held address (pure)."""
    return max(interval, held / budget)


class Verifier:
    """Probes every held address once per `period`, forever."""

    def __init__(
        self,
        *,
        held: table.Table,
        wire: ports.Wire,
        interval: float,
        budget: float,
        counters: metrics.Metrics,
    ) -> None:
        self.table = held
        self.wire = wire
        self.interval = interval
        self.budget = budget
        self.counters = counters

    def period(self) -> float:
        return period(len(self.table.held), interval=self.interval, budget=self.budget)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            round_started = loop.time()
            names = sorted(self.table.held)
            every = self.period()
            if not names:
                await asyncio.sleep(self.interval)
                continue
            per_tick = max(1, math.ceil(len(names) * TICK / every))
            for start in range(0, len(names), per_tick):
                await self._probe(names[start : start + per_tick])
                await asyncio.sleep(TICK if len(names) > per_tick else 0)
            await asyncio.sleep(max(0.0, round_started + every - loop.time()))

    async def _probe(self, names: list[str]) -> None:
        by_link: dict[str, list[addressing.IPAddress]] = {}
        for name in names:
            held = self.table.held.get(name)
            if held is not None:
                by_link.setdefault(held.ifname, []).append(held.address)
        for ifname, addresses in by_link.items():
            try:
                await self.wire.verify(ifname, addresses)
                self.counters.verifications.inc(len(addresses))
            except OSError as exc:
                log.warning("verify-failed", interface=ifname, error=str(exc))
