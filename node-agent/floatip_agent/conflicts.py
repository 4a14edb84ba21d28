"""Keeping count of a foreign host's claims on a held address (pure, clock injected).

DESIGN.md safety 5: the holder detects an intruder from ARP/NDP traffic (its own
verification probes draw a silent one's answers: `floatip_agent.verifying`), reports it
(`status.conflict`, an Event, a metric) and defends the address at a bounded rate without
moving it. A `Conflict` is the running record behind `status.conflict`; its token bucket
(burst `REASSERT_BURST`, then `REASSERT_RATE` frames a second for this VIP, and the node's
own budget: protocol.md "Defending the address") bounds the defence, so two hosts fighting
over an address, or a flood of forged claims, never turns into an ARP storm. The conflict is
over once `QUIET_ROUNDS` rounds of verification (`quiet`) drew no foreign answer
(`status.conflict: null`): it lasts exactly as long as a foreign host still answers.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from floatip.api import model, times
from floatip_agent import ratelimit

REASSERT_BURST = 5
REASSERT_RATE = 5.0  # frames per second for one VIP after the burst
#: The node's defence budget, shared by all its VIPs (`ports.Ports.budget`).
NODE_BURST = 100
NODE_RATE = 100.0  # frames per second
QUIET_ROUNDS = 3
MIN_QUIET = 3.0  # seconds


def quiet(period: float) -> float:
    """Seconds without a foreign claim that end a conflict, for a verification ``period``."""
    return max(MIN_QUIET, QUIET_ROUNDS * period)


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


def over(conflict: Conflict, *, now: float, quiet_for: float) -> bool:
    """Whether no foreign claim was seen for `quiet_for` seconds."""
    return now - conflict.last_seen_at >= quiet_for
