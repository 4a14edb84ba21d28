"""The VirtualIP status on the wire: who writes which field, how it is read, what is sent.

docs/design/protocol.md "Objects and who writes what": the operator's leader owns ``holder``,
``epoch``, ``observedGeneration``, ``conditions`` and ``history`` and writes them with a JSON
patch whose first op tests ``/status/epoch``; the holder's agent owns ``announcement`` and
``conflict`` and writes each with a JSON merge patch on ``/status`` naming only that key. The
operator, the agent and ``kubectl vip`` all read and write the status through this module;
`floatip.api.model` is its schema (the CRD is generated from it, and tests check that what is
built here validates against it).

Reading is lenient: a field that does not fit the schema reads as absent, never as an error,
because the agent must go on serving its other VirtualIPs whatever one object holds. The
operator's hot path builds and compares plain dicts (`condition`, `move`) instead of models:
placing 10,000 VirtualIPs rebuilds 10,000 statuses per pass, and a validated model costs
about 100 µs each.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, NamedTuple, TypeVar

import pydantic

from floatip.api import model

OPERATOR_FIELDS: Final = ("holder", "epoch", "observedGeneration", "conditions", "history")
AGENT_FIELDS: Final = ("announcement", "conflict")
_Model = TypeVar("_Model", bound=pydantic.BaseModel)


# -- reading -------------------------------------------------------------------------------------


def of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """The raw status of an API object (empty when it has none or it is not an object)."""
    status = obj.get("status")
    return status if isinstance(status, Mapping) else {}


def read(status: object) -> model.VirtualIPStatus:
    """The whole status, typed; fields that do not fit the schema are left out."""
    if not isinstance(status, Mapping):
        return model.VirtualIPStatus()
    try:
        return model.VirtualIPStatus.model_validate(status)
    except pydantic.ValidationError:
        pass
    fitting: dict[str, Any] = {}
    for name, field in model.VirtualIPStatus.model_fields.items():
        key = field.alias or name
        if key not in status:
            continue
        value = status[key]
        if key in _ITEMS and isinstance(value, list):  # keep the items that fit
            value = [item for item in value if _typed(_ITEMS[key], item) is not None]
        try:
            model.VirtualIPStatus.model_validate({key: value})
        except pydantic.ValidationError:
            continue
        fitting[key] = value
    return model.VirtualIPStatus.model_validate(fitting)


_ITEMS: dict[str, type[pydantic.BaseModel]] = {
    "conditions": model.Condition,
    "history": model.Move,
}


def holder(status: Mapping[str, Any]) -> str | None:
    value = status.get("holder")
    return value if isinstance(value, str) and value else None


def epoch(status: Mapping[str, Any]) -> int:
    value = status.get("epoch")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def announcement(status: Mapping[str, Any]) -> model.Announcement | None:
    """The holder's agent's announcement, if it is a well-formed one."""
    return _typed(model.Announcement, status.get("announcement"))


def announces(announced: model.Announcement | None, holder: str | None, epoch: int) -> bool:
    """Whether ``announced`` is ``holder``'s agent's, at ``epoch``: what makes an assigned
    VirtualIP Ready (the operator's ``Ready``, a Service's ``Announced``)."""
    return (
        announced is not None
        and holder is not None
        and announced.node == holder
        and announced.epoch == epoch
    )


def conflict(status: Mapping[str, Any]) -> model.ConflictReport | None:
    """The conflict an agent reports, if it is a well-formed one."""
    return _typed(model.ConflictReport, status.get("conflict"))


def history(status: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    moves = status.get("history")
    return [m for m in moves if isinstance(m, Mapping)] if isinstance(moves, list) else []


def last_move_reason(status: Mapping[str, Any]) -> str | None:
    """``history[-1].reason``: why the address last moved (a `model.MoveReason` value)."""
    moves = history(status)
    reason = moves[-1].get("reason") if moves else None
    return reason if isinstance(reason, str) else None


def condition(status: Mapping[str, Any], kind: model.ConditionType | str) -> Mapping[str, Any]:
    """The condition of type ``kind`` (empty when absent)."""
    for item in status.get("conditions") or ():
        if isinstance(item, Mapping) and item.get("type") == kind:
            return item
    return {}


def is_true(status: Mapping[str, Any], kind: model.ConditionType) -> bool:
    return condition(status, kind).get("status") == model.ConditionStatus.TRUE


def _typed(cls: type[_Model], value: object) -> _Model | None:
    if not isinstance(value, Mapping):
        return None
    try:
        return cls.model_validate(value)
    except pydantic.ValidationError:
        return None


# -- the agent's writes: JSON merge patches on /status -------------------------------------------


def announcement_patch(announced: model.Announcement) -> dict[str, Any]:
    """This node announced the address: ``{"status": {"announcement": {...}}}``."""
    return {"status": {"announcement": announced.to_json()}}


def conflict_patch(report: model.ConflictReport | None) -> dict[str, Any]:
    """The conflict record, or null to clear it."""
    return {"status": {"conflict": None if report is None else report.to_json()}}


# -- the operator's writes: entries of its fields, and the guarded JSON patch --------------------


def condition_entry(
    kind: model.ConditionType | model.PoolConditionType,
    value: model.ConditionStatus,
    reason: str,
    message: str,
    *,
    generation: int,
    since: str,
) -> dict[str, Any]:
    """One ``status.conditions[]`` item of a VirtualIP or a pool (``reason`` a
    `ConditionReason`, `MoveReason` or `PoolConditionReason`)."""
    return {
        "type": kind.value,
        "status": value.value,
        "observedGeneration": generation,
        "lastTransitionTime": since,
        "reason": str(reason),
        "message": message,
    }


def move_entry(
    *, time: str, previous: str | None, to: str | None, reason: model.MoveReason, epoch: int
) -> dict[str, Any]:
    """One ``status.history[]`` item; absent ends of the move are left out."""
    entry: dict[str, Any] = {"time": time}
    if previous is not None:
        entry["from"] = previous
    if to is not None:
        entry["to"] = to
    return entry | {"reason": reason.value, "epoch": epoch}


def operator_part(status: Mapping[str, Any] | None) -> dict[str, Any]:
    """The operator's fields of a status, as stored (absent keys left out)."""
    status = status or {}
    return {key: status[key] for key in OPERATOR_FIELDS if key in status}


def operator_patch(
    previous: Mapping[str, Any] | None, new: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """A JSON patch from the old status to the operator's ``new`` part, guarded by a ``test``.

    The guard is ``/status/epoch``: equal to the epoch read, or null (absent) when the status
    had none, and ``/status`` null when there was no status at all (a JSON patch ``test`` of
    null passes on an absent member in the API server's patch library). A competing replica's
    epoch bump, or its first assignment, fails the test; the loser gets 422 and decides
    again. Nothing else the guard could read changes under it: agents' merge patches name
    only their own keys, and metadata writes (a finalizer added as the object is created)
    no longer refuse the operator's first write, as a ``resourceVersion`` guard did.
    """
    old = dict(previous or {})
    ops: list[dict[str, Any]] = []
    if previous is None:
        ops.append({"op": "test", "path": "/status", "value": None})
        ops.append({"op": "add", "path": "/status", "value": {}})
    else:
        ops.append({"op": "test", "path": "/status/epoch", "value": old.get("epoch")})
    for key in OPERATOR_FIELDS:
        if key in new and new[key] != old.get(key):
            ops.append({"op": "add", "path": f"/status/{key}", "value": new[key]})
        elif key not in new and key in old:
            ops.append({"op": "remove", "path": f"/status/{key}"})
    return ops


class FreshCondition(NamedTuple):
    """A condition as computed now, before its transition time is settled."""

    kind: model.ConditionType | model.PoolConditionType
    value: model.ConditionStatus
    reason: str  # a ConditionReason, MoveReason or PoolConditionReason member
    message: str


def settle_conditions(
    fresh: Iterable[FreshCondition], old: object, now: str, generation: int
) -> list[dict[str, Any]]:
    """``status.conditions`` to write: each item keeps the ``lastTransitionTime`` of the
    previous item of its type while its status stays the same (API conventions), else ``now``.
    ``old`` is the stored list, whatever it holds (anything not a list counts as empty)."""
    items = old if isinstance(old, list) else []
    before = {item.get("type"): item for item in items if isinstance(item, Mapping)}
    result = []
    for item in fresh:
        prior = before.get(item.kind.value)
        same = prior is not None and prior.get("status") == item.value.value
        since = str(prior.get("lastTransitionTime") or now) if same and prior else now
        result.append(
            condition_entry(
                item.kind, item.value, item.reason, item.message, generation=generation, since=since
            )
        )
    return result
