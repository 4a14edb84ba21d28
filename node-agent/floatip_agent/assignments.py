"""What the operator assigned: VirtualIP objects read as `Assignment`s, newest epoch only (pure).

The agent never decides placement; it reads `status.holder` and `status.epoch` (the operator's,
protocol.md "Epochs and handover") and `status.announcement` (the new holder's agent's) from
each VirtualIP. `EpochBook` keeps the newest epoch seen per VirtualIP so that a late watch
event, a stale re-read or a relist after a 410 can never take the agent back to an older
assignment (DESIGN.md safety 1): an older epoch never makes it add or keep an address.

`parse` never raises on a malformed object: it returns `Invalid` saying why (the operator
reports invalid specs; the agent only skips them).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pydantic

from floatip.api import model
from floatip_agent import addressing


class Assignment(NamedTuple):
    """One VirtualIP as the agent needs it."""

    name: str
    uid: str
    address: addressing.IPAddress
    interface: str | None
    announce: model.Announce
    health_check: model.HealthCheck | None
    node_selector: model.LabelSelector | None
    holder: str | None
    epoch: int
    announced_node: str | None
    announced_epoch: int | None
    last_reason: str | None
    conflict_node: str | None
    announced_mac: str | None = None
    deleting: bool = False  # metadata.deletionTimestamp is set: release before it goes


class Invalid(NamedTuple):
    """A VirtualIP the agent cannot act on, and why."""

    name: str
    problem: str


def parse(obj: dict[str, Any]) -> Assignment | Invalid:
    """The assignment an API object (a dict, as the API server sends it) carries."""
    metadata = obj.get("metadata") or {}
    name = str(metadata.get("name") or "")
    try:
        spec = model.VirtualIPSpec.model_validate(obj.get("spec") or {})
    except pydantic.ValidationError as exc:
        return Invalid(name, f"spec is invalid ({exc.error_count()} problems): {exc}")
    status = obj.get("status") or {}
    if not isinstance(status, dict):
        return Invalid(name, "status is not an object")
    announcement = status.get("announcement") or {}
    conflict = status.get("conflict") or {}
    history = status.get("history") or []
    last = history[-1] if isinstance(history, list) and history else {}
    epoch = status.get("epoch", 0)
    announced_epoch = announcement.get("epoch") if isinstance(announcement, dict) else None
    return Assignment(
        name=name,
        uid=str(metadata.get("uid") or ""),
        address=spec.interface_address.ip,
        interface=spec.interface,
        announce=spec.announce,
        health_check=spec.health_check,
        node_selector=spec.node_selector,
        holder=_text(status.get("holder")),
        epoch=epoch if isinstance(epoch, int) else 0,
        announced_node=_text(announcement.get("node")) if isinstance(announcement, dict) else None,
        announced_epoch=announced_epoch if isinstance(announced_epoch, int) else None,
        last_reason=_text(last.get("reason")) if isinstance(last, dict) else None,
        conflict_node=_text(conflict.get("node")) if isinstance(conflict, dict) else None,
        announced_mac=_text(announcement.get("mac")) if isinstance(announcement, dict) else None,
        deleting=bool(metadata.get("deletionTimestamp")),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class EpochBook:
    """The newest epoch seen per VirtualIP (by uid, so a re-created object starts afresh)."""

    def __init__(self) -> None:
        self._newest: dict[str, tuple[str, int]] = {}

    def accept(self, assignment: Assignment) -> bool:
        """Record `assignment` if it is not older than what was seen; return whether it is."""
        seen = self._newest.get(assignment.name)
        if seen is not None and seen[0] == assignment.uid and assignment.epoch < seen[1]:
            return False
        self._newest[assignment.name] = (assignment.uid, assignment.epoch)
        return True

    def newest(self, name: str) -> int | None:
        """The newest epoch seen for `name`, if any."""
        seen = self._newest.get(name)
        return seen[1] if seen else None

    def forget(self, name: str) -> None:
        """The VirtualIP was deleted."""
        self._newest.pop(name, None)
