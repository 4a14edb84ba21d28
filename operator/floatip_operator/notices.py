"""What deserves a Kubernetes Event when a status changes (pure).

``kubectl describe vip`` should tell why: every move (its `model.MoveReason`), a refusal the
first time it appears (invalid spec, duplicate address, no eligible node, no ready endpoint,
unknown pinned node, a group's conflict or no node for all of it) and a new conflict.
`notices` compares the old and the new status;
`floatip_operator.posting` sends what it returns with the shared Event builder
(`floatip.api.events`). `pool_notices` does the same for a VirtualIPPool's conditions
(`poolstatuses`). `forged` is the Warning for a holder or epoch the operator never assigned,
once it is put back (`trust`).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from floatip.api import events, model, services, status
from floatip_operator import trust

_E = TypeVar("_E", bound=enum.StrEnum)


class Reason(enum.StrEnum):
    """Event reasons of the operator that are neither a move nor an Assigned reason."""

    CONFLICT = "Conflict"
    RELEASE_TIMEOUT = "ReleaseTimeout"
    FORGED_ASSIGNMENT = "ForgedAssignment"


#: Assigned reasons worth a Warning when they first appear.
WARN_ON = frozenset(
    {
        model.ConditionReason.INVALID_SPEC,
        model.ConditionReason.DUPLICATE_ADDRESS,
        model.ConditionReason.NO_ELIGIBLE_NODE,
        model.ConditionReason.NO_READY_ENDPOINT,
        model.ConditionReason.PINNED_NODE_NOT_FOUND,
        model.ConditionReason.GROUP_CONFLICT,
        model.ConditionReason.GROUP_UNPLACEABLE,
    }
)


@dataclasses.dataclass(frozen=True)
class Notice:
    """One Event to post: its type, reason (an enum member), note, and the move it reports."""

    type: events.Type
    reason: (
        model.MoveReason
        | model.ConditionReason
        | model.PoolConditionReason
        | services.EventReason
        | Reason
    )
    note: str

    @property
    def move(self) -> model.MoveReason | None:
        return self.reason if isinstance(self.reason, model.MoveReason) else None


def notices(previous: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[Notice]:
    """What changed between two statuses that deserves an Event."""
    previous = previous or {}
    found: list[Notice] = []
    moves = status.history(new)
    if status.epoch(new) != status.epoch(previous) and moves:
        move = moves[-1]
        reason = _enum(model.MoveReason, move.get("reason"))
        if reason is not None:
            found.append(
                Notice(
                    events.Type.NORMAL,
                    reason,
                    f"moved from {move.get('from') or 'nowhere'} to "
                    f"{move.get('to') or 'nowhere'} at epoch {move.get('epoch')}",
                )
            )
    old_assigned = status.condition(previous, model.ConditionType.ASSIGNED)
    assigned = status.condition(new, model.ConditionType.ASSIGNED)
    refusal = _enum(model.ConditionReason, assigned.get("reason"))
    if refusal in WARN_ON and refusal != old_assigned.get("reason"):
        found.append(Notice(events.Type.WARNING, refusal, str(assigned.get("message", ""))))
    if status.is_true(new, model.ConditionType.CONFLICT) and not status.is_true(
        previous, model.ConditionType.CONFLICT
    ):
        conflict = status.condition(new, model.ConditionType.CONFLICT)
        found.append(Notice(events.Type.WARNING, Reason.CONFLICT, str(conflict.get("message"))))
    return found


#: A pool's condition reasons that post a Warning (the others post a Normal Event).
POOL_WARN_ON = frozenset(
    {
        model.PoolConditionReason.INVALID_SPEC,
        model.PoolConditionReason.OVERLAPS_POOL,
        model.PoolConditionReason.OVERLAPS_VIRTUAL_IP,
        model.PoolConditionReason.EXHAUSTED,
    }
)


def pool_notices(previous: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[Notice]:
    """One Event per pool condition whose status or reason changed, or, for a True Overlap,
    whose message did (it names what the pool overlaps).

    A condition that first appears in its all-clear state (a new pool's ``Overlap`` False)
    posts nothing: nothing happened. The Event's reason is the condition's reason.
    """
    previous = previous or {}
    found: list[Notice] = []
    for kind in model.PoolConditionType:
        old, now = status.condition(previous, kind), status.condition(new, kind)
        reason = _enum(model.PoolConditionReason, now.get("reason"))
        if reason is None:
            continue
        same = (old.get("status"), old.get("reason")) == (now.get("status"), now.get("reason"))
        if kind is model.PoolConditionType.OVERLAP:
            same = same and (
                now.get("status") != "True" or old.get("message") == now.get("message")
            )
            if not old and reason is model.PoolConditionReason.NO_OVERLAP:
                continue
        if not same:
            kind_of = events.Type.WARNING if reason in POOL_WARN_ON else events.Type.NORMAL
            found.append(Notice(kind_of, reason, f"{kind}: {now.get('message', '')}"))
    return found


def forged(
    verdict: trust.Verdict, restored: trust.Assignment, managers: Sequence[str] = ()
) -> Notice:
    """The Warning for a status the operator did not write, once ``restored`` is written."""
    source = (
        "its own record of its writes"
        if verdict.basis is trust.Basis.BOOK
        else "status.history"
        if verdict.assigned != trust.NEVER
        else "status.history, which is empty: the operator never assigned it"
    )
    note = (
        f"status shows {verdict.found}, which the operator never wrote ({verdict.finding}); "
        f"it last assigned {verdict.assigned} (per {source}). Put back: {restored}"
    )
    if restored.holder != verdict.assigned.holder:
        note += f" ({verdict.assigned.holder or 'no holder'} may not hold it now)"
    if managers:
        names = ", ".join(managers)
        note += (
            f". status.holder/epoch last written by field manager {names} "
            "(self-reported by the writer)"
        )
    note += ". A node's credentials may be compromised: see the runbook."
    return Notice(events.Type.WARNING, Reason.FORGED_ASSIGNMENT, note)


def _enum(kind: type[_E], value: object) -> _E | None:
    try:
        return kind(str(value))
    except ValueError:
        return None
