"""Whose assignment is this? The operator trusts only a holder and epoch it wrote (pure).

docs/design/protocol.md: the operator is the only writer of ``status.holder`` and
``status.epoch``, but RBAC lets every agent's ServiceAccount patch ``virtualips/status`` (it
must write ``announcement`` and ``conflict``). Where the chart's admission policies are not in
force (docs/security.md: before Kubernetes 1.30, or turned off), a compromised node can write a
holder and a higher epoch that every agent would obey; anyone with more rights than an agent
can anywhere. Two records say what the operator really assigned:

- ``status.history``, which only the operator appends to: its last entry's ``to`` and
  ``epoch`` are the holder and epoch of the operator's last move. A status whose holder or
  epoch differs from them was not written by the operator. A VirtualIP that never moved has no
  history, no holder and epoch 0 (`NEVER`); a release leaves a last entry without ``to``.
- the `Book`: the (holder, epoch) the acting replica wrote, or found consistent, per
  VirtualIP since it became leader. It also catches a forger who appends a history entry
  that matches the forged holder and epoch, as long as this replica runs.

A new leader starts its book from the history check (`Book.reset`). For `HANDOVER_S` after
that, a VirtualIP this replica has not yet moved itself may still change under it with a
consistent history entry: the previous leader's last write can be in flight at the handover
and land late (it can no longer land once this replica has bumped the epoch: its ``test``
of the old epoch fails). The remaining gap: a forger who writes a consistent history entry
along with the holder and epoch while no operator runs, or within that window, is believed;
the ValidatingAdmissionPolicy that keeps agents off these fields closes it.

What is found is put back at a new epoch, above every epoch seen (agents ignore epochs lower
than the newest they saw): `Verdict.restore_epoch`. The holder to put back is `Verdict.assigned`
(placement keeps it if it is still eligible; the reconciler does the I/O).
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Iterable, Mapping
from typing import Any, Final, NamedTuple

from floatip.api import status

#: How long after becoming leader the previous leader's in-flight write may still land (the
#: real kube-apiserver's default ``--request-timeout``).
HANDOVER_S: Final = 60.0
#: Assignments kept per VirtualIP: enough for a cache that lags a few moves behind.
KEPT: Final = 16
#: The status fields a forger must have written for `Finding.HOLDER` / `Finding.EPOCH`.
FIELDS: Final = ("holder", "epoch")


class Assignment(NamedTuple):
    """A holder (None: nobody) at an epoch."""

    holder: str | None
    epoch: int

    def __str__(self) -> str:
        return f"{self.holder or 'no holder'} at epoch {self.epoch}"


NEVER: Final = Assignment(None, 0)


def found(state: Mapping[str, Any]) -> Assignment:
    """The assignment a status shows, as agents read it."""
    return Assignment(status.holder(state), status.epoch(state))


def recorded(state: Mapping[str, Any]) -> Assignment:
    """The operator's last move according to ``status.history`` (`NEVER` without history)."""
    moves = status.history(state)
    if not moves:
        return NEVER
    last = moves[-1]
    to = last.get("to")
    return Assignment(to if isinstance(to, str) and to else None, status.epoch(last))


class Finding(enum.StrEnum):
    """What a status the operator did not write differs in (the metric's label)."""

    HOLDER = "holder"
    EPOCH = "epoch"
    BOTH = "holder-and-epoch"
    HISTORY = "history"  # holder and epoch are the operator's; history does not show them


class Basis(enum.StrEnum):
    """Which record said what the operator assigned."""

    BOOK = "book"  # this replica's record of its writes
    HISTORY = "history"  # status.history (after a restart or a leader change)


@dataclasses.dataclass(frozen=True)
class Verdict:
    """One status judged: trusted (``finding`` None) or not, and what to put back."""

    found: Assignment
    assigned: Assignment
    finding: Finding | None = None
    basis: Basis = Basis.HISTORY
    #: The highest epoch seen in the status, its history and the book.
    highest: int = 0

    @property
    def trusted(self) -> bool:
        return self.finding is None

    @property
    def restore_epoch(self) -> int:
        """The epoch of the restoration: above every epoch an agent may have seen."""
        return self.highest + 1


def judge_history(state: Mapping[str, Any]) -> Verdict:
    """The check that needs no memory: do holder and epoch match the last history entry?"""
    shown, last = found(state), recorded(state)
    return _verdict(shown, last, Basis.HISTORY, _highest(state), consistent=shown == last)


@dataclasses.dataclass
class _Entry:
    accepted: set[Assignment]
    #: this replica bumped the epoch itself: no other replica's write can land after that
    fenced: bool = False


class Book:
    """The assignments the acting replica wrote or found consistent, per VirtualIP.

    Keyed by (name, uid): a VirtualIP deleted and created again starts afresh. `reset` on
    every leadership change starts a new *term*; a write's outcome recorded under an older
    term is ignored (it may have been overtaken by another leader's writes).
    """

    def __init__(self, handover_s: float = HANDOVER_S) -> None:
        self.handover_s = handover_s
        self.term = 0
        self.since = -math.inf
        self._entries: dict[tuple[str, str], _Entry] = {}

    def reset(self, *, now: float) -> None:
        """Leadership changed: forget everything; the history check seeds the book again."""
        self.term += 1
        self.since = now
        self._entries.clear()

    def judge(self, key: tuple[str, str], state: Mapping[str, Any], *, now: float) -> Verdict:
        """Whether the operator wrote ``state``'s holder and epoch; a trusted one is recorded."""
        entry = self._entries.get(key)
        by_history = judge_history(state)
        if entry is None:
            if by_history.trusted:
                self._entries[key] = _Entry({by_history.found})
            return by_history
        shown = by_history.found
        handover = not entry.fenced and now - self.since < self.handover_s
        if by_history.trusted and (shown in entry.accepted or handover):
            entry.accepted.add(shown)
            _trim(entry.accepted)
            return by_history
        assigned = max(entry.accepted, key=lambda a: a.epoch)
        highest = max(by_history.highest, assigned.epoch)
        return _verdict(shown, assigned, Basis.BOOK, highest, consistent=False)

    def sending(self, key: tuple[str, str], assignment: Assignment, *, term: int) -> bool:
        """A write of ``assignment`` is under way (it may land even if no answer comes).

        Returns whether the book did not have it yet (only then may `refused` take it back).
        """
        if term != self.term:
            return False
        entry = self._entries.setdefault(key, _Entry(set()))
        new = assignment not in entry.accepted
        entry.accepted.add(assignment)
        _trim(entry.accepted)
        return new

    def wrote(
        self, key: tuple[str, str], assignment: Assignment, *, term: int, bumped: bool
    ) -> None:
        """The write landed; ``bumped``: it raised the epoch (fencing older writers out)."""
        if term == self.term:
            self.sending(key, assignment, term=term)
            self._entries[key].fenced |= bumped

    def refused(self, key: tuple[str, str], assignment: Assignment, *, term: int) -> None:
        """The API refused a write `sending` reported new: it never landed."""
        entry = self._entries.get(key)
        if term == self.term and entry is not None:
            entry.accepted.discard(assignment)
            if not entry.accepted:
                del self._entries[key]

    def keep_only(self, keys: Iterable[tuple[str, str]]) -> None:
        """Forget VirtualIPs that are gone."""
        keep = set(keys)
        for key in [k for k in self._entries if k not in keep]:
            del self._entries[key]


def key_of(body: Mapping[str, Any]) -> tuple[str, str]:
    """A VirtualIP's key in the book: name and uid (one created again starts afresh)."""
    meta = body["metadata"]
    return str(meta["name"]), str(meta.get("uid") or "")


def managers(meta: Mapping[str, Any], fields: Iterable[str] = FIELDS) -> list[str]:
    """The field managers that last wrote these status fields (as the API server recorded them
    in ``managedFields``; each writer names itself, so this is self-reported)."""
    wanted = {f"f:{field}" for field in fields}
    names: list[str] = []
    for entry in meta.get("managedFields") or ():
        if not isinstance(entry, Mapping) or entry.get("subresource") != "status":
            continue
        owned = ((entry.get("fieldsV1") or {}).get("f:status") or {}).keys()
        manager = entry.get("manager")
        if wanted & set(owned) and isinstance(manager, str) and manager not in names:
            names.append(manager)
    return names


def _verdict(
    shown: Assignment, assigned: Assignment, basis: Basis, highest: int, *, consistent: bool
) -> Verdict:
    if consistent:
        return Verdict(shown, shown, None, basis, highest)
    differs = (shown.holder != assigned.holder, shown.epoch != assigned.epoch)
    return Verdict(shown, assigned, _FINDINGS[differs], basis, highest)


_FINDINGS: Final = {
    (True, True): Finding.BOTH,
    (True, False): Finding.HOLDER,
    (False, True): Finding.EPOCH,
    (False, False): Finding.HISTORY,
}


def _highest(state: Mapping[str, Any]) -> int:
    return max([status.epoch(state), *(status.epoch(move) for move in status.history(state))])


def _trim(accepted: set[Assignment]) -> None:
    while len(accepted) > KEPT:
        accepted.discard(min(accepted, key=lambda a: a.epoch))
