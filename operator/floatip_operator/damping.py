"""Flap damping: a node that lost eligibility must stay fit for a hold-down before it counts.

DESIGN.md safety 9 (keepalived's ``preempt_delay``): a cable, a liveness poll or a health
check going up and down must not drag a VirtualIP back and forth. `Damping` watches, pass
after pass, whether each node is *fit* (alive and every interface with its carrier) and
whether each VirtualIP's health check passes on each node; a fall is a *loss*. A node that
had a loss is *unsettled* until it has been fit continuously for the VirtualIP's
``holdDownSeconds``, doubled for every further loss within `WINDOW` (up to `MAX_FACTOR`).
Placement (`placement`) never preempts back to an unsettled node nor chooses one over a settled
eligible node, but a failover away from a failed holder is never delayed: when only
unsettled nodes are eligible, one of them takes the address at once.

A node first seen by this process has no loss on record: an operator restart settles
nothing anew. Pure: the caller feeds observations and a monotonic ``now``.
"""

from __future__ import annotations

import collections
from collections.abc import Hashable, Mapping
from typing import NamedTuple

WINDOW = 300.0  # seconds: losses older than this no longer lengthen the hold-down
MAX_FACTOR = 8


class Unrest(NamedTuple):
    """A node (or a VirtualIP's check on a node) that had a loss lately."""

    fit_for: float  # seconds fit without a break (0 while unfit)
    losses: int  # losses within WINDOW

    def settled(self, hold_down: float) -> bool:
        factor = min(MAX_FACTOR, 1 << max(0, self.losses - 1))
        return self.fit_for >= hold_down * factor


class Damping:
    """Fitness over time, by key (a node name, or a (VirtualIP, node) pair for checks)."""

    def __init__(self) -> None:
        self._fit: dict[Hashable, bool] = {}
        self._since: dict[Hashable, float] = {}  # fit again since (after a loss)
        self._losses: dict[Hashable, collections.deque[float]] = {}

    def observe(self, fitness: Mapping[Hashable, bool], *, now: float) -> None:
        """Record each key's fitness now; a fall from fit is a loss."""
        for key, fit in fitness.items():
            before = self._fit.get(key)
            self._fit[key] = fit
            if before is None:
                continue  # first sight: nothing to hold against it
            if before and not fit:
                self._losses.setdefault(key, collections.deque()).append(now)
                self._since.pop(key, None)
            elif fit and not before:
                self._since[key] = now
        for key in [k for k in self._fit if k not in fitness]:  # gone (a deleted Node)
            self._fit.pop(key, None)
            self._since.pop(key, None)
            self._losses.pop(key, None)

    def unrest(self, *, now: float) -> dict[Hashable, Unrest]:
        """Every key with a loss within `WINDOW`, and how long it has been fit since."""
        found: dict[Hashable, Unrest] = {}
        for key, losses in list(self._losses.items()):
            while losses and now - losses[0] > WINDOW:
                losses.popleft()
            if not losses:
                del self._losses[key]
                continue
            since = self._since.get(key) if self._fit.get(key) else None
            found[key] = Unrest(0.0 if since is None else now - since, len(losses))
        return found
