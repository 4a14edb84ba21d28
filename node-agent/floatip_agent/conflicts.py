"""Keeping count of a foreign host's claims on a held address (pure, clock injected).

DESIGN.md safety 5: the holder detects an intruder from ARP/NDP traffic, reports it
(`status.conflict`, an Event, a metric) and re-asserts at a bounded rate without moving the
address. A `Conflict` is the running record behind `status.conflict`; its token bucket
(protocol.md: burst 3, then one announcement every 2 s) bounds the re-assertions, so two
hosts fighting over an address, or a flood of forged claims, never turns into an ARP storm.
The conflict is over after `QUIET` seconds without a foreign claim (`status.conflict: null`).
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from floatip.api import model, times
from floatip_agent import ratelimit

REASSERT_BURST = 3
REASSERT_RATE = 0.5  # announcements per second after the burst
QUIET = 30.0


@dataclass
class Conflict:
    """Claims by foreign MACs on one held address since the conflict began."""

    mac: str
    since: datetime.datetime
    last_seen: datetime.datetime
    last_seen_at: float  # monotonic
    count: int = 0
    reasserted: int = 0
    bucket: ratelimit.TokenBucket = field(
        default_factory=lambda: ratelimit.TokenBucket(capacity=REASSERT_BURST, rate=REASSERT_RATE),
        repr=False,
    )

    def to_report(self, *, node: str) -> model.ConflictReport:
        """The `status.conflict` value (protocol.md)."""
        return model.ConflictReport(
            node=node,
            mac=self.mac,
            since=times.timestamp(self.since),
            last_seen=times.timestamp(self.last_seen),
            count=self.count,
            reasserted=self.reasserted,
        )


def record(
    current: Conflict | None,
    *,
    mac: str,
    now: float,
    wall: datetime.datetime,
    clock: Callable[[], float] = time.monotonic,
) -> Conflict:
    """`current` updated with one more foreign claim by `mac` (a new record if none)."""
    if current is None:
        current = Conflict(
            mac=mac,
            since=wall,
            last_seen=wall,
            last_seen_at=now,
            bucket=ratelimit.TokenBucket(capacity=REASSERT_BURST, rate=REASSERT_RATE, clock=clock),
        )
    current.mac = mac
    current.last_seen = wall
    current.last_seen_at = now
    current.count += 1
    return current


def over(conflict: Conflict, *, now: float, quiet: float = QUIET) -> bool:
    """Whether no foreign claim was seen for `quiet` seconds."""
    return now - conflict.last_seen_at >= quiet
