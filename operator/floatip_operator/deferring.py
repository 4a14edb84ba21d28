"""Which VirtualIP status writes wait while the reconciler has others to make (pure).

A Service's VirtualIP turning Ready is news nobody waits for: the Service's own status reads
the holder's announcement (`servicestatuses.announced_by_holder`), so its address is handed
out and its ``Announced`` condition is True before the VirtualIP's ``Ready`` is written. When
a thousand Services are created at once, those thousand ``Ready`` writes took the API
server's time from the assignments the other Services were waiting for. So such a write
(`good_news_only`: nothing but ``Ready`` and ``Announced`` turning True) waits while the
reconciler is in a burst of other status writes (at least `BURST` within the last `QUIET_S`),
at most `WAIT_S`; the Events already wait for the statuses the same way (`posting`). A single
move is no burst: its Ready is written as soon as the announcement is in. `QUIET_S` is a
second, not the Events' quarter: the Service loop creates a burst's VirtualIPs in clumps, and
the reconciler's assignments of one clump are often more than 0.25 s from the next one's
(measured at 1,000 Services, the Ready writes made before every Service had its address:
650 of 1,000 at 0.25 s, in the gaps; 55 and 467 in two runs at 1 s).

Everything else is written at once: a VirtualIP that is no Service's (its users wait for
``Ready``: ``kubectl wait``), a move, an assignment, and any bad news.
"""

from __future__ import annotations

import collections
from collections.abc import Mapping
from typing import Any

from floatip.api import model, services, status

WAIT_S = 10.0  # the longest a Service VirtualIP's Ready write waits for the others
QUIET_S = 1.0  # the window in which other writes count towards a burst
BURST = 32  # other writes within QUIET_S that are a burst worth yielding to

_NEWS = frozenset({model.ConditionType.READY.value, model.ConditionType.ANNOUNCED.value})


def may_wait(body: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether the write of ``new`` to VirtualIP ``body`` may wait for a burst of others: it is
    a Service's, and `good_news_only`."""
    meta = body.get("metadata") or {}
    return bool(services.listed(meta.get("annotations"))) and good_news_only(
        body.get("status"), new
    )


def good_news_only(previous: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """Whether ``new`` (the operator's fields, as `statuses.build` makes them) differs from the
    stored status only by ``Ready`` and ``Announced`` turning True: the holder's announcement
    came in, and nothing else changed."""
    stored = status.operator_part(previous)
    if status.is_true(stored, model.ConditionType.READY):
        return False
    if not status.is_true(new, model.ConditionType.READY):
        return False
    return _without_news(stored) == _without_news(new)


def _without_news(part: Mapping[str, Any]) -> dict[str, Any]:
    conditions = [
        c
        for c in part.get("conditions") or ()
        if not (isinstance(c, Mapping) and c.get("type") in _NEWS)
    ]
    return {**part, "conditions": conditions}


class Deferral:
    """The writes held back, and since when; the other writes of the last `QUIET_S`."""

    def __init__(self) -> None:
        self.since: dict[str, float] = {}  # name -> when its write was first held back
        self.recent: collections.deque[tuple[float, int]] = collections.deque()  # (when, how many)

    def hold(self, may_wait: Mapping[str, bool], now: float) -> set[str]:
        """Of one pass's writes (name -> whether it may wait), those to hold back now."""
        others = sum(1 for waits in may_wait.values() if not waits)
        if others:
            self.recent.append((now, others))
        while self.recent and self.recent[0][0] <= now - QUIET_S:
            self.recent.popleft()
        held: set[str] = set()
        if sum(count for _, count in self.recent) >= BURST:
            for name, waits in may_wait.items():
                if waits and now - self.since.setdefault(name, now) < WAIT_S:
                    held.add(name)
        self.since = {name: t for name, t in self.since.items() if name in held}
        return held
