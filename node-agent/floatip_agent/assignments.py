"""What the operator assigned: VirtualIP objects read as `Assignment`s, newest epoch only (pure).

The agent never decides placement; it reads `status.holder` and `status.epoch` (the operator's,
protocol.md "Epochs and handover") and `status.announcement` (the new holder's agent's) from
each VirtualIP, through `floatip.api.status`. `EpochBook` keeps the newest epoch seen per
VirtualIP so that a late watch event, a stale re-read or a relist after a 410 can never take
the agent back to an older assignment (DESIGN.md safety 1): an older epoch never makes it add
or keep an address.

`parse` never raises on a malformed object: it returns `Invalid` saying why (the operator
reports invalid specs; the agent only skips them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import pydantic

from floatip.api import model, status
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


def parse(obj: Mapping[str, Any]) -> Assignment | Invalid:
    """The assignment an API object (a dict, as the API server sends it) carries."""
    metadata = obj.get("metadata") or {}
    name = str(metadata.get("name") or "")
    try:
        spec = model.VirtualIPSpec.model_validate(obj.get("spec") or {})
    except pydantic.ValidationError as exc:
        return Invalid(name, f"spec is invalid ({exc.error_count()} problems): {exc}")
    current = status.of(obj)
    announced = status.announcement(current)
    conflict = status.conflict(current)
    return Assignment(
        name=name,
        uid=str(metadata.get("uid") or ""),
        address=spec.interface_address.ip,
        interface=spec.interface,
        announce=spec.announce,
        health_check=spec.health_check,
        node_selector=spec.node_selector,
        holder=status.holder(current),
        epoch=status.epoch(current),
        announced_node=announced.node if announced else None,
        announced_epoch=announced.epoch if announced else None,
        last_reason=status.last_move_reason(current),
        conflict_node=conflict.node if conflict else None,
        announced_mac=announced.mac if announced else None,
        deleting=bool(metadata.get("deletionTimestamp")),
    )


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
