"""When the LAN hears about each held address: the bursts, the second burst and the refresh.

DESIGN.md "Announcing": on taking an address, a burst of ``burstCount`` announcements
``burstIntervalMilliseconds`` apart, then the same burst again ``secondBurstDelaySeconds``
later for switches and hosts that missed the first (MetalLB #584, keepalived #166), then a
refresh every ``refreshIntervalSeconds`` while the address is held (`schedule`, pure).

`Announcements` runs one timer for every held address (not a task per VIP): the frames due at
the same moment go out together, one write per interface, so a node taking 1,000 addresses
sends their second bursts in one go. Right after an address's first frame it hands the
worker's announcement to the reporter (``status.announcement``): the old holder of a planned
switchover waits for exactly that, so reporting early keeps the make-before-break overlap,
when both hosts answer ARP, to tens of milliseconds. Workers start and stop the schedules;
this component only sends and tells.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import Callable
from typing import NamedTuple

import structlog

from floatip.api import model, times
from floatip_agent import decisions, metrics, ports

log = structlog.get_logger(__name__)


def schedule(tuning: model.Announce) -> list[float]:
    """Seconds after taking the address at which each burst announcement goes out."""
    interval = tuning.burst_interval_milliseconds / 1000
    burst = [index * interval for index in range(tuning.burst_count)]
    if tuning.second_burst_delay_seconds == 0:
        return burst
    return burst + [tuning.second_burst_delay_seconds + offset for offset in burst]


class _Plan(NamedTuple):
    held: decisions.Held
    offsets: tuple[float, ...]  # burst offsets after ``start``
    start: float
    refresh: float  # seconds; 0: none
    report: bool  # hand the announcement to the reporter after the first frame


class Announcements:
    """The announcement schedules of every held address; `run` sends them."""

    def __init__(
        self,
        *,
        node: str,
        wire: ports.Wire,
        reports: ports.Reports,
        counters: metrics.Metrics,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.node = node
        self.wire = wire
        self.reports = reports
        self.counters = counters
        self._clock = clock
        self._plans: dict[str, _Plan] = {}
        self._generation: dict[str, int] = {}
        self._first_out: dict[str, int] = {}  # the generation whose first frame went out
        self._heap: list[tuple[float, int, str, int, int]] = []  # due, seq, name, gen, index
        self._seq = itertools.count()
        self._wake = asyncio.Event()

    def now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    def start(
        self, name: str, held: decisions.Held, tuning: model.Announce, *, first_sent: bool,
        report: bool,
    ) -> None:  # fmt: skip
        """Announce ``held`` on ``tuning``'s schedule from now (its first frame already out
        if ``first_sent``), replacing any schedule ``name`` had."""
        generation = self._generation.get(name, 0) + 1
        self._generation[name] = generation
        plan = _Plan(
            held, tuple(schedule(tuning)), self.now(), tuning.refresh_interval_seconds, report
        )
        self._plans[name] = plan
        first = 1 if first_sent else 0
        if first_sent:
            self._first_out[name] = generation
            self._reported(name, plan)
        self._push(name, generation, first)

    def stop(self, name: str) -> None:
        """No more announcements for ``name`` (it is released, or handed over)."""
        self._plans.pop(name, None)
        self._first_out.pop(name, None)
        self._generation[name] = self._generation.get(name, 0) + 1

    def active(self, name: str) -> bool:
        return name in self._plans

    def report(self, name: str) -> None:
        """Report ``name``'s announcement after all: now if its first frame is out, else then.

        For a schedule started with ``report=False`` because the assignment was not in the
        status yet (only in the move record): the status now names this node.
        """
        plan = self._plans.get(name)
        if plan is None or plan.report:
            return
        plan = self._plans[name] = plan._replace(report=True)
        if self._first_out.get(name) == self._generation.get(name):
            self._reported(name, plan)

    def _push(self, name: str, generation: int, index: int) -> None:
        plan = self._plans[name]
        if index < len(plan.offsets):
            due = plan.start + plan.offsets[index]
        elif plan.refresh:
            last = plan.offsets[-1] if plan.offsets else 0.0
            due = plan.start + last + plan.refresh * (index - len(plan.offsets) + 1)
        else:
            return
        heapq.heappush(self._heap, (due, next(self._seq), name, generation, index))
        self._wake.set()

    def _reported(self, name: str, plan: _Plan) -> None:
        mac = self.wire.mac(plan.held.ifname)
        if plan.report and mac is not None:
            announced = model.Announcement(
                node=self.node, epoch=plan.held.epoch, mac=mac, time=times.timestamp(times.now())
            )
            self.reports.announcement(name, announced)

    async def run(self) -> None:
        """Send what is due, forever."""
        while True:
            self._wake.clear()
            due = self._heap[0][0] if self._heap else None
            if due is None or due > self.now():
                timeout = None if due is None else due - self.now()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
                continue
            await self._send_due()

    async def _send_due(self) -> None:
        now = self.now()
        batch: dict[str, list[tuple[str, int, int]]] = {}  # ifname -> (name, generation, index)
        while self._heap and self._heap[0][0] <= now:
            _, _, name, generation, index = heapq.heappop(self._heap)
            plan = self._plans.get(name)
            if plan is None or self._generation.get(name) != generation:
                continue  # stopped or restarted since
            batch.setdefault(plan.held.ifname, []).append((name, generation, index))
        for ifname, entries in batch.items():
            addresses = [self._plans[name].held.address for name, _, _ in entries]
            try:
                await self.wire.announce(ifname, addresses)
            except OSError as exc:
                log.warning("announce-failed", interface=ifname, error=str(exc))
            for name, generation, index in entries:
                plan = self._plans.get(name)
                if plan is None or self._generation.get(name) != generation:
                    continue
                burst = index < len(plan.offsets)
                kind = metrics.AnnounceKind.BURST if burst else metrics.AnnounceKind.REFRESH
                self.counters.announcements.labels(kind=kind.value).inc()
                if index == 0:
                    self._first_out[name] = generation
                    self._reported(name, plan)
                self._push(name, generation, index + 1)
