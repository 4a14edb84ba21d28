"""What the operator assigned: VirtualIP objects read as `Assignment`s, newest epoch only (pure).

The agent never decides placement; it reads `status.holder` and `status.epoch` (the operator's,
protocol.md "Epochs and handover") and `status.announcement` (the new holder's agent's) from
each VirtualIP, through `floatip.api.status`. `EpochBook` keeps the newest epoch seen per
VirtualIP so that a late watch event, a stale re-read or a relist after a 410 can never take
the agent back to an older assignment (DESIGN.md safety 1): an older epoch never makes it add
or keep an address.

A move in the operator's move record (`floatip.api.moves`) newer than the status is read as
the assignment it makes (`moved`): the status says the same a little later. Such an
assignment is not ``confirmed`` yet: the agent acts on it at once, but reports its
announcement only once the status names it (the admission policy lets an agent write
``status.announcement`` only while ``status.holder`` names its node).

`parse` never raises on a malformed object: it returns `Invalid` saying why (the operator
reports invalid specs; the agent only skips them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import pydantic

from floatip.api import model, moves, status
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
    confirmed: bool = True  # the status itself says holder and epoch (not only the move record)
    group: str | None = None  # spec.group: handed over whole (`decisions.group_pending`)


class Invalid(NamedTuple):
    """A VirtualIP the agent cannot act on, and why."""

    name: str
    problem: str


class Specs:
    """Validated specs by VirtualIP, kept per uid and ``metadata.generation``.

    Most watch events of a VirtualIP change only its status (each move is three of them), and
    the generation changes exactly when the spec does: validating the spec once per
    generation keeps pydantic off that path (a node failing over 1,000 VirtualIPs sees 3,000).
    """

    def __init__(self) -> None:
        self._known: dict[str, tuple[str, int, model.VirtualIPSpec | str]] = {}

    def get(
        self, name: str, metadata: Mapping[str, Any], spec: object
    ) -> model.VirtualIPSpec | str:
        """The spec, or the problem that makes it invalid."""
        uid, generation = str(metadata.get("uid") or ""), metadata.get("generation")
        known = self._known.get(name)
        if known is not None and isinstance(generation, int) and known[:2] == (uid, generation):
            return known[2]
        try:
            found: model.VirtualIPSpec | str = model.VirtualIPSpec.model_validate(spec or {})
        except pydantic.ValidationError as exc:
            found = f"spec is invalid ({exc.error_count()} problems): {exc}"
        if isinstance(generation, int):
            self._known[name] = (uid, generation, found)
        return found

    def forget(self, name: str) -> None:
        self._known.pop(name, None)


def parse(obj: Mapping[str, Any], specs: Specs | None = None) -> Assignment | Invalid:
    """The assignment an API object (a dict, as the API server sends it) carries."""
    metadata = obj.get("metadata") or {}
    name = str(metadata.get("name") or "")
    spec = (specs or Specs()).get(name, metadata, obj.get("spec"))
    if isinstance(spec, str):
        return Invalid(name, spec)
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
        group=spec.group,
    )


def moved(assignment: Assignment, move: moves.Move | None) -> Assignment:
    """``assignment`` as the recorded ``move`` makes it, when the move is newer than its status.

    The announcement fields stay the status's (they speak of an older epoch, so no decision
    reads them as the new holder's), the move's reason becomes the last move's.
    """
    if not moves.newer(move, uid=assignment.uid, epoch=assignment.epoch):
        return assignment
    assert move is not None
    return assignment._replace(
        holder=move.holder, epoch=move.epoch, last_reason=move.reason, confirmed=False
    )


class EpochBook:
    """The newest epoch seen per VirtualIP (by uid, so a re-created object starts afresh).

    An assignment the status confirmed is not taken back to unconfirmed at the same epoch (a
    late event of the older status, read through the move record again, says nothing new).
    """

    def __init__(self) -> None:
        self._newest: dict[str, tuple[str, int, bool]] = {}

    def accept(self, assignment: Assignment) -> bool:
        """Record `assignment` if it is not older than what was seen; return whether it is."""
        seen = self._newest.get(assignment.name)
        if seen is not None and seen[0] == assignment.uid:
            if assignment.epoch < seen[1]:
                return False
            if assignment.epoch == seen[1] and seen[2] and not assignment.confirmed:
                return False
        self._newest[assignment.name] = (assignment.uid, assignment.epoch, assignment.confirmed)
        return True

    def newest(self, name: str) -> int | None:
        """The newest epoch seen for `name`, if any."""
        seen = self._newest.get(name)
        return seen[1] if seen else None

    def forget(self, name: str) -> None:
        """The VirtualIP was deleted."""
        self._newest.pop(name, None)
