"""Rise/fall over the local apiserver's ``/readyz`` checks, with "not known yet" (pure).

Unlike a VirtualIP's check (`floatip_agent.healthchecks.Verdict`, which starts unhealthy), a
control-plane node starts *unknown*: a holder that was just restarted must not look
unhealthy to its peers before it has checked at all, or every restart would move the VIP.
Unknown never claims (a claim needs ``healthy is True``) and never gives way.
"""

from __future__ import annotations


class Readiness:
    """Healthy after `rise` passed checks in a row, unhealthy after `fall` failed ones."""

    def __init__(self, *, rise: int, fall: int) -> None:
        if rise < 1 or fall < 1:
            raise ValueError(f"rise and fall must be at least 1, got rise={rise} fall={fall}")
        self.rise = rise
        self.fall = fall
        self.healthy: bool | None = None
        self._streak = 0  # passes (>0) or failures (<0) in a row

    def record(self, ok: bool) -> bool:
        """Count one check; return whether the verdict changed."""
        before = self.healthy
        if ok:
            self._streak = self._streak + 1 if self._streak > 0 else 1
            if self._streak >= self.rise:
                self.healthy = True
        else:
            self._streak = self._streak - 1 if self._streak < 0 else -1
            if -self._streak >= self.fall:
                self.healthy = False
        return self.healthy is not before
