"""The VirtualIP status the operator writes, built from a placement decision (pure).

The operator owns ``holder``, ``epoch``, ``observedGeneration``, ``conditions`` and ``history``
(`floatip.api.status`, docs/design/protocol.md); the agents own ``announcement`` and
``conflict``, which this module only reads. Rules:

- A move (new holder differs from the old) bumps ``epoch`` by one and appends to ``history``
  (the last :data:`model.HISTORY_LENGTH` kept) with the decision's `model.MoveReason`.
- ``Ready`` is True exactly when ``Assigned`` is True and the holder's agent has announced the
  address at the current epoch (``Announced``). ``Conflict`` and ``HealthCheck`` report what the
  agents see; neither moves anything by itself.
- ``Grouped`` (members of a ``spec.group`` only; ungrouped VirtualIPs' statuses are as they
  were): True (``Together``) while the group is placed as one, else False with
  ``GroupConflict`` or ``GroupUnplaceable``, which ``Assigned`` and ``Ready`` then show too.
- A condition keeps its ``lastTransitionTime`` while its status does not change, so an
  unchanged world builds an identical status and the operator writes nothing.
- A move already in the move record (`floatip.api.moves`) whose status write has not landed
  yet is decided from as if it had (`overlay`): the record and the status must never name two
  holders at one epoch.
- A restoration (`Inputs.restore`, a status the operator did not write: `trust`) is a move at
  `trust.Verdict.restore_epoch`, from the holder the status shows to the decision's node (the
  operator's own assignment when it is still eligible), with reason ``Restored``.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence
from typing import Any

from floatip.api import model, moves, status
from floatip_operator import placement, trust

TRUE, FALSE, UNKNOWN = (
    model.ConditionStatus.TRUE,
    model.ConditionStatus.FALSE,
    model.ConditionStatus.UNKNOWN,
)
Why = model.ConditionReason


class State(enum.StrEnum):
    """One VirtualIP's state as the operator's metric counts it."""

    READY = "ready"
    PENDING = "pending"  # assigned, not announced yet
    UNASSIGNED = "unassigned"
    DUPLICATE = "duplicate"
    INVALID = "invalid"


@dataclasses.dataclass(frozen=True)
class Inputs:
    """What one VirtualIP's status is built from, besides its previous status."""

    generation: int
    now: str
    #: The placement decision; None when the spec is invalid (``invalid`` says why).
    decision: placement.Decision | None = None
    invalid: str = ""
    has_health_check: bool = False
    #: The health-check verdict on each node (absent: not known).
    health: Mapping[str, bool] = dataclasses.field(default_factory=dict)
    #: spec.node, and whether such a node exists (runs an agent or not).
    pinned: str | None = None
    pinned_exists: bool = True
    #: The status shows a holder or epoch the operator never assigned: put its own back.
    restore: trust.Verdict | None = None


def build(previous: Mapping[str, Any] | None, inputs: Inputs) -> dict[str, Any]:
    """The operator's part of the new status (see the module docstring)."""
    previous = previous or {}
    new = assignment(previous, inputs)
    fresh = _conditions(new.get("holder"), new["epoch"], new.get("history") or [], previous, inputs)
    new["conditions"] = status.settle_conditions(
        fresh, previous.get("conditions") or [], inputs.now, inputs.generation
    )
    return new


def assignment(previous: Mapping[str, Any] | None, inputs: Inputs) -> dict[str, Any]:
    """The new status's assignment: epoch, observedGeneration, holder and history, without
    the conditions `build` adds. A move's record entry needs only this (`recorded_move`), and
    it is a fifth of `build`'s cost: a failover of 1,000 VIPs is recorded sooner."""
    previous = previous or {}
    old_holder = status.holder(previous)
    epoch = status.epoch(previous)
    history = list(status.history(previous))
    decision = inputs.decision
    holder = old_holder if decision is None else decision.node
    if inputs.restore is not None:
        if decision is None:
            holder = inputs.restore.assigned.holder
        epoch = inputs.restore.restore_epoch
        history.append(
            status.move_entry(
                time=inputs.now,
                previous=old_holder,
                to=holder,
                reason=model.MoveReason.RESTORED,
                epoch=epoch,
            )
        )
        history = history[-model.HISTORY_LENGTH :]
    elif decision is not None and holder != old_holder:
        epoch += 1
        reason = decision.move_reason if holder is not None else model.MoveReason.RELEASED
        if reason is model.MoveReason.ASSIGNED and old_holder is not None:
            reason = model.MoveReason.FAILOVER  # the old holder's Node is gone
        history.append(
            status.move_entry(
                time=inputs.now, previous=old_holder, to=holder, reason=reason, epoch=epoch
            )
        )
        history = history[-model.HISTORY_LENGTH :]
    new: dict[str, Any] = {"epoch": epoch, "observedGeneration": inputs.generation}
    if holder is not None:
        new["holder"] = holder
    if history:
        new["history"] = history
    return new


def overlay(previous: Mapping[str, Any] | None, move: moves.Move) -> dict[str, Any]:
    """``previous`` as it reads once the status write of the recorded ``move`` has landed."""
    base = dict(previous or {})
    if move.holder is not None:
        base["holder"] = move.holder
    else:
        base.pop("holder", None)
    base["epoch"] = move.epoch
    entry = status.move_entry(
        time=move.time, previous=move.previous, to=move.holder,
        reason=model.MoveReason(move.reason), epoch=move.epoch,
    )  # fmt: skip
    base["history"] = [*status.history(base), entry][-model.HISTORY_LENGTH :]
    return base


def recorded_move(
    name: str, uid: str, base: Mapping[str, Any], new: Mapping[str, Any]
) -> moves.Move | None:
    """The move ``new`` makes from ``base`` (None when it keeps the holder and epoch)."""
    if status.epoch(new) <= status.epoch(base):
        return None
    last = status.history(new)[-1]
    return moves.Move(
        name=name, uid=uid, holder=status.holder(new), epoch=status.epoch(new),
        reason=str(last.get("reason")), previous=status.holder(base), time=str(last.get("time")),
    )  # fmt: skip


def changed(previous: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    return status.operator_part(previous) != dict(new)


def state(built: Mapping[str, Any]) -> State:
    """The metric's state of a status this module built."""
    if status.is_true(built, model.ConditionType.READY):
        return State.READY
    reason = status.condition(built, model.ConditionType.ASSIGNED).get("reason")
    if reason == Why.INVALID_SPEC:
        return State.INVALID
    if reason == Why.DUPLICATE_ADDRESS:
        return State.DUPLICATE
    return State.PENDING if status.holder(built) else State.UNASSIGNED


# --- conditions ------------------------------------------------------------------------


_Fresh = status.FreshCondition


def _conditions(
    holder: str | None,
    epoch: int,
    history: Sequence[Mapping[str, Any]],
    previous: Mapping[str, Any],
    inputs: Inputs,
) -> list[_Fresh]:
    assigned = _assigned(holder, epoch, history, inputs)
    announced = _announced(holder, epoch, status.announcement(previous))
    ready = model.ConditionType.READY
    if assigned.value is not TRUE:
        readiness = _Fresh(ready, FALSE, assigned.reason, assigned.message)
    elif announced.value is not TRUE:
        readiness = _Fresh(ready, FALSE, Why.ANNOUNCEMENT_PENDING, announced.message)
    else:
        message = f"{holder} holds and announces the address at epoch {epoch}"
        readiness = _Fresh(ready, TRUE, Why.READY, message)
    fresh = [readiness, assigned, announced, _health(holder, inputs), _conflict(previous)]
    if inputs.decision is not None and inputs.decision.group is not None:
        fresh.append(_grouped(holder, inputs.decision))
    return fresh


def _assigned(
    holder: str | None, epoch: int, history: Sequence[Mapping[str, Any]], inputs: Inputs
) -> _Fresh:
    kind = model.ConditionType.ASSIGNED
    decision = inputs.decision
    if decision is None:
        return _Fresh(
            kind, FALSE, Why.INVALID_SPEC, f"the spec cannot be acted on: {inputs.invalid}"
        )
    if decision.reason is placement.Reason.DUPLICATE_ADDRESS:
        return _Fresh(kind, FALSE, Why.DUPLICATE_ADDRESS, decision.detail)
    if decision.reason is placement.Reason.NO_READY_ENDPOINT:
        return _Fresh(kind, FALSE, Why.NO_READY_ENDPOINT, decision.detail)
    if decision.reason in _GROUP_REFUSALS:
        return _Fresh(kind, FALSE, decision.reason.value, decision.detail)
    if decision.reason is placement.Reason.NO_ELIGIBLE_NODE or holder is None:
        return _Fresh(kind, FALSE, Why.NO_ELIGIBLE_NODE, decision.detail or "no node is eligible")
    if inputs.pinned is not None and inputs.pinned != holder:
        reason = (
            Why.PINNED_NODE_NOT_FOUND if not inputs.pinned_exists else Why.PINNED_NODE_INELIGIBLE
        )
        return _Fresh(kind, TRUE, reason, f"{decision.detail}; {holder} holds it at epoch {epoch}")
    last = str(history[-1].get("reason")) if history else model.MoveReason.ASSIGNED
    return _Fresh(kind, TRUE, last, f"{holder} holds it at epoch {epoch}")


#: The members a Grouped condition names (then "and N more").
GROUP_NAMES_SHOWN = 10
_GROUP_REFUSALS = (placement.Reason.GROUP_CONFLICT, placement.Reason.GROUP_UNPLACEABLE)


def _grouped(holder: str | None, decision: placement.Decision) -> _Fresh:
    """A member of a spec.group: whether its group is placed together, naming the members."""
    kind = model.ConditionType.GROUPED
    shown = decision.members[:GROUP_NAMES_SHOWN]
    more = len(decision.members) - len(shown)
    group = (
        f"group {decision.group} ({len(decision.members)} members: {', '.join(shown)}"
        + (f" and {more} more" if more else "")
        + ")"
    )
    if decision.reason in _GROUP_REFUSALS:
        return _Fresh(kind, FALSE, decision.reason.value, f"{group}: {decision.detail}")
    if decision.reason is placement.Reason.NO_ELIGIBLE_NODE:
        return _Fresh(kind, FALSE, Why.GROUP_UNPLACEABLE, f"{group}: {decision.detail}")
    where = f"held by {holder}" if holder is not None else "held by no node"
    return _Fresh(kind, TRUE, Why.TOGETHER, f"{group} is {where}")


def _announced(holder: str | None, epoch: int, announced: model.Announcement | None) -> _Fresh:
    kind = model.ConditionType.ANNOUNCED
    if holder is None:
        return _Fresh(kind, FALSE, Why.NOT_ASSIGNED, "no node holds the address")
    if announced is not None and status.announces(announced, holder, epoch):
        message = f"{holder} announced it at epoch {epoch} from {announced.mac}"
        return _Fresh(kind, TRUE, Why.ANNOUNCED, message)
    message = f"waiting for {holder} to add and announce it at epoch {epoch}"
    return _Fresh(kind, FALSE, Why.PENDING, message)


def _health(holder: str | None, inputs: Inputs) -> _Fresh:
    kind = model.ConditionType.HEALTH_CHECK
    if inputs.decision is None:
        return _Fresh(kind, UNKNOWN, Why.INVALID_SPEC, "the spec cannot be acted on")
    if not inputs.has_health_check:
        return _Fresh(kind, TRUE, Why.NOT_CONFIGURED, "spec.healthCheck is not set")
    if holder is None:
        return _Fresh(kind, UNKNOWN, Why.NOT_ASSIGNED, "no node holds the address")
    verdict = inputs.health.get(holder)
    if verdict is None:
        return _Fresh(kind, UNKNOWN, Why.NO_RESULT, f"{holder} has not reported the check yet")
    if verdict:
        return _Fresh(kind, TRUE, Why.PASSING, f"the check passes on {holder}")
    return _Fresh(kind, FALSE, Why.FAILING, f"the check fails on {holder}")


def _conflict(previous: Mapping[str, Any]) -> _Fresh:
    kind = model.ConditionType.CONFLICT
    report = previous.get("conflict")  # read raw: a malformed report still means a conflict
    if isinstance(report, Mapping):
        return _Fresh(
            kind,
            TRUE,
            Why.FOREIGN_CLAIM,
            f"a foreign host ({report.get('mac')}) claims the address since "
            f"{report.get('since')}: seen {report.get('count')} times by {report.get('node')}, "
            f"re-asserted {report.get('reasserted')} times",
        )
    return _Fresh(kind, FALSE, Why.NO_CONFLICT, "no foreign host claims the address")
