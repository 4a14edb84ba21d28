"""Is a node's agent alive? Fast polls with hysteresis, and the Lease as the slower fence.

DESIGN.md asks for sub-second failover at no more than 0.2 API writes per second per node, so
detection cannot come from Lease renewals alone: the operator polls each agent's ``/healthz``
directly (no API write at all) and judges the agent dead after ``fall`` failed polls in a row,
alive again after ``rise`` successes in a row. One lost poll, or one slow answer, moves
nothing. The agent's Lease stays the authoritative fence: an agent whose Lease has expired is
not eligible whatever its poll says, and an agent that cannot renew it knows it is unsure.

Pure: the caller feeds poll results and timestamps; nothing here sleeps or does I/O.
"""

from __future__ import annotations

import dataclasses
import datetime


@dataclasses.dataclass(frozen=True)
class PollPolicy:
    """How the operator polls agents; ``fall * interval_s + timeout_s`` is the worst case to
    judge one dead (docs/tuning.md)."""

    interval_s: float = 0.2
    timeout_s: float = 0.15
    fall: int = 3
    rise: int = 2


#: The default: a dead agent is noticed within about 0.75 s, one lost poll is tolerated twice.
DEFAULT = PollPolicy()
#: The documented fast profile: about 0.25 s to notice, at the cost of more poll traffic.
FAST = PollPolicy(interval_s=0.1, timeout_s=0.08, fall=2, rise=2)

PROFILES = {"default": DEFAULT, "fast": FAST}


@dataclasses.dataclass
class AgentLiveness:
    """The verdict on one agent, changed only by ``fall``/``rise`` results in a row.

    A new agent starts *unknown* (not alive) until ``rise`` polls succeed, so a node that has
    only just appeared never takes an address on the strength of one answer.
    """

    policy: PollPolicy = DEFAULT
    alive: bool = False
    streak: int = 0  # consecutive results that disagree with the current verdict
    last_ok: float | None = None

    def observe(self, ok: bool, now: float) -> bool:
        """Record one poll result; True when the verdict flipped."""
        if ok:
            self.last_ok = now
        if ok == self.alive:
            self.streak = 0
            return False
        self.streak += 1
        needed = self.policy.rise if ok else self.policy.fall
        if self.streak >= needed:
            self.alive = ok
            self.streak = 0
            return True
        return False


def lease_fresh(
    renew_time: datetime.datetime | None,
    duration_s: float | None,
    now: datetime.datetime,
) -> bool:
    """Whether a Lease renewed at ``renew_time`` for ``duration_s`` still holds at ``now``."""
    if renew_time is None or not duration_s:
        return False
    return now < renew_time + datetime.timedelta(seconds=duration_s)
