"""The VirtualIP status the operator writes, built from a placement decision (pure).

The operator owns ``holder``, ``epoch``, ``observedGeneration``, ``conditions`` and ``history``
(docs/design/protocol.md); the agents own ``announcement`` and ``conflict``, which this module
only reads. Rules:

- A move (new holder differs from the old) bumps ``epoch`` by one and appends to ``history``
  (the last :data:`model.HISTORY_LENGTH` kept) with the decision's reason.
- ``Ready`` is True exactly when ``Assigned`` is True and the holder's agent has announced the
  address at the current epoch (``Announced``). ``Conflict`` and ``HealthCheck`` report what the
  agents see; neither moves anything by itself.
- A condition keeps its ``lastTransitionTime`` while its status does not change, so an
  unchanged world builds an identical status and the operator writes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from floatip.api import model
from floatip_operator import placement

OWNED = ("holder", "epoch", "observedGeneration", "conditions", "history")
RELEASED = "Released"  # history reason when an address loses its holder without a new one

TRUE, FALSE, UNKNOWN = "True", "False", "Unknown"


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


def owned(status: Mapping[str, Any] | None) -> dict[str, Any]:
    """The operator's part of a status, as stored (absent keys left out)."""
    status = status or {}
    return {key: status[key] for key in OWNED if key in status}


def build(previous: Mapping[str, Any] | None, inputs: Inputs) -> dict[str, Any]:
    """The operator's part of the new status (see the module docstring)."""
    previous = previous or {}
    old_holder = previous.get("holder")
    epoch = int(previous.get("epoch") or 0)
    history = list(previous.get("history") or [])
    decision = inputs.decision
    holder = old_holder if decision is None else decision.node
    if decision is not None and holder != old_holder:
        epoch += 1
        reason = decision.reason.value if holder is not None else RELEASED
        if reason == placement.Reason.ASSIGNED and old_holder is not None:
            reason = placement.Reason.FAILOVER.value  # the old holder's Node is gone
        move = {"time": inputs.now, "from": old_holder, "to": holder, "reason": reason}
        history.append({k: v for k, v in move.items() if v is not None} | {"epoch": epoch})
        history = history[-model.HISTORY_LENGTH :]
    status: dict[str, Any] = {"epoch": epoch, "observedGeneration": inputs.generation}
    if holder is not None:
        status["holder"] = holder
    if history:
        status["history"] = history
    fresh = _conditions(holder, epoch, history, previous, inputs)
    status["conditions"] = _keep_transition_times(
        fresh, previous.get("conditions") or [], inputs.now, inputs.generation
    )
    return status


def changed(previous: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    return owned(previous) != dict(new)


def patch(
    previous: Mapping[str, Any] | None, new: Mapping[str, Any], *, resource_version: str
) -> list[dict[str, Any]]:
    """A JSON patch from the old status to ``new``, guarded by a ``test`` first op.

    The guard is ``/status/epoch`` when the status has one (agents' writes never conflict with
    it; a competing replica's epoch bump does), else the object's resourceVersion.
    """
    old = dict(previous or {})
    ops: list[dict[str, Any]] = []
    if "epoch" in old:
        ops.append({"op": "test", "path": "/status/epoch", "value": old["epoch"]})
    else:
        ops.append({"op": "test", "path": "/metadata/resourceVersion", "value": resource_version})
    if previous is None:
        ops.append({"op": "add", "path": "/status", "value": {}})
    for key in OWNED:
        if key in new and new[key] != old.get(key):
            ops.append({"op": "add", "path": f"/status/{key}", "value": new[key]})
        elif key not in new and key in old:
            ops.append({"op": "remove", "path": f"/status/{key}"})
    return ops


def condition(status: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    for item in status.get("conditions") or []:
        if item.get("type") == kind:
            return item  # type: ignore[no-any-return]
    return None


# --- conditions ------------------------------------------------------------------------


def _cond(kind: model.ConditionType, status: str, reason: str, message: str) -> dict[str, Any]:
    return {"type": kind.value, "status": status, "reason": reason, "message": message}


def _conditions(
    holder: str | None,
    epoch: int,
    history: Sequence[Mapping[str, Any]],
    previous: Mapping[str, Any],
    inputs: Inputs,
) -> list[dict[str, Any]]:
    assigned = _assigned(holder, epoch, history, inputs)
    announced = _announced(holder, epoch, previous.get("announcement"))
    if assigned["status"] != TRUE:
        ready = _cond(model.ConditionType.READY, FALSE, assigned["reason"], assigned["message"])
    elif announced["status"] != TRUE:
        ready = _cond(model.ConditionType.READY, FALSE, "AnnouncementPending", announced["message"])
    else:
        ready = _cond(
            model.ConditionType.READY,
            TRUE,
            "Ready",
            f"{holder} holds and announces the address at epoch {epoch}",
        )
    return [
        ready,
        assigned,
        announced,
        _health(holder, inputs),
        _conflict(previous.get("conflict")),
    ]


def _assigned(
    holder: str | None, epoch: int, history: Sequence[Mapping[str, Any]], inputs: Inputs
) -> dict[str, Any]:
    kind = model.ConditionType.ASSIGNED
    decision = inputs.decision
    if decision is None:
        return _cond(kind, FALSE, "InvalidSpec", f"the spec cannot be acted on: {inputs.invalid}")
    if decision.reason is placement.Reason.DUPLICATE_ADDRESS:
        return _cond(kind, FALSE, "DuplicateAddress", decision.detail)
    if decision.reason is placement.Reason.NO_ELIGIBLE_NODE or holder is None:
        return _cond(kind, FALSE, "NoEligibleNode", decision.detail or "no node is eligible")
    if inputs.pinned is not None and inputs.pinned != holder:
        reason = "PinnedNodeNotFound" if not inputs.pinned_exists else "PinnedNodeIneligible"
        return _cond(kind, TRUE, reason, f"{decision.detail}; {holder} holds it at epoch {epoch}")
    last = history[-1]["reason"] if history else placement.Reason.ASSIGNED.value
    return _cond(kind, TRUE, str(last), f"{holder} holds it at epoch {epoch}")


def _announced(holder: str | None, epoch: int, announcement: object) -> dict[str, Any]:
    kind = model.ConditionType.ANNOUNCED
    if holder is None:
        return _cond(kind, FALSE, "NotAssigned", "no node holds the address")
    if (
        isinstance(announcement, Mapping)
        and announcement.get("node") == holder
        and announcement.get("epoch") == epoch
    ):
        mac = announcement.get("mac", "?")
        return _cond(kind, TRUE, "Announced", f"{holder} announced it at epoch {epoch} from {mac}")
    return _cond(
        kind, FALSE, "Pending", f"waiting for {holder} to add and announce it at epoch {epoch}"
    )


def _health(holder: str | None, inputs: Inputs) -> dict[str, Any]:
    kind = model.ConditionType.HEALTH_CHECK
    if inputs.decision is None:
        return _cond(kind, UNKNOWN, "InvalidSpec", "the spec cannot be acted on")
    if not inputs.has_health_check:
        return _cond(kind, TRUE, "NotConfigured", "spec.healthCheck is not set")
    if holder is None:
        return _cond(kind, UNKNOWN, "NotAssigned", "no node holds the address")
    verdict = inputs.health.get(holder)
    if verdict is None:
        return _cond(kind, UNKNOWN, "NoResult", f"{holder} has not reported the check yet")
    if verdict:
        return _cond(kind, TRUE, "Passing", f"the check passes on {holder}")
    return _cond(kind, FALSE, "Failing", f"the check fails on {holder}")


def _conflict(report: object) -> dict[str, Any]:
    kind = model.ConditionType.CONFLICT
    if isinstance(report, Mapping):
        return _cond(
            kind,
            TRUE,
            "ForeignClaim",
            f"a foreign host ({report.get('mac')}) claims the address since "
            f"{report.get('since')}: seen {report.get('count')} times by {report.get('node')}, "
            f"re-asserted {report.get('reasserted')} times",
        )
    return _cond(kind, FALSE, "NoConflict", "no foreign host claims the address")


def _keep_transition_times(
    fresh: list[dict[str, Any]], old: Sequence[Mapping[str, Any]], now: str, generation: int
) -> list[dict[str, Any]]:
    before = {item.get("type"): item for item in old}
    result = []
    for item in fresh:
        prior = before.get(item["type"])
        same = prior is not None and prior.get("status") == item["status"]
        since = prior.get("lastTransitionTime") if same and prior else now
        result.append(
            {
                "type": item["type"],
                "status": item["status"],
                "observedGeneration": generation,
                "lastTransitionTime": since or now,
                "reason": item["reason"],
                "message": item["message"],
            }
        )
    return result
