"""Rise/fall hysteresis over a series of checks (pure): keepalived's ``rise`` and ``fall``.

One implementation for the node agent's VirtualIP health checks (`floatip_agent.healthchecks`,
which start unhealthy: a node must pass ``rise`` checks before it may hold the address) and
the control-plane agent's apiserver checks (`floatip_agent.controlplane.readiness`, which
start *unknown*: a restarted holder must not look unhealthy to its peers before it checked).
"""

from __future__ import annotations


class RiseFall:
    """Healthy after `rise` passed checks in a row, unhealthy after `fall` failed ones;
    ``healthy`` starts as given (None: not known yet)."""

    def __init__(self, *, rise: int, fall: int, healthy: bool | None = None) -> None:
        if rise < 1 or fall < 1:
            raise ValueError(f"rise and fall must be at least 1, got rise={rise} fall={fall}")
        self.rise = rise
        self.fall = fall
        self.healthy = healthy
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
