"""Rise/fall over the local apiserver's ``/readyz`` checks, with "not known yet" (pure).

Unlike a VirtualIP's check (`floatip_agent.healthchecks.Verdict`, which starts unhealthy), a
control-plane node starts *unknown*: a holder that was just restarted must not look
unhealthy to its peers before it has checked at all, or every restart would move the VIP.
Unknown never claims (a claim needs ``healthy is True``) and never gives way.
"""

from __future__ import annotations

from floatip_agent import risefall


class Readiness(risefall.RiseFall):
    """Healthy after `rise` passed checks in a row, unhealthy after `fall` failed ones;
    unknown until then."""

    def __init__(self, *, rise: int, fall: int) -> None:
        super().__init__(rise=rise, fall=fall, healthy=None)
