"""The intake's reading of the move record beside each VirtualIP (floatip_agent.intake).

Proves, without an API server (only what the intake makes of objects it is handed):
- a recorded move newer than the status it has seen reassigns that VirtualIP at once (one
  nudge, not confirmed), however many VirtualIPs the record moves, and only those;
- a VirtualIP object that arrives after the record is read with the record's move applied,
  and once its status has caught up it is confirmed; a late event of the older status neither
  takes it back nor makes it unconfirmed again;
- a move of an object deleted and created again (another uid), and an empty record, change
  nothing;
- a spec is validated once per uid and generation (status events reuse it);
- once every member of a group held here is announced elsewhere, word of a member nudges the
  workers of the others held here (`GroupMoved`), and not before.
"""

from __future__ import annotations

from typing import Any, cast

from floatip.api import moves
from floatip.kube import client
from floatip_agent import assignments, decisions, intake, nudges, table
from tests.unit.agent import fakes


def vip(name: str, *, holder: str, epoch: int, uid: str = "") -> dict[str, Any]:
    body = fakes.vip_object(holder=holder, epoch=epoch)
    body["metadata"] = {"name": name, "uid": uid or f"uid-{name}"}
    return body


class Setup:
    def __init__(self) -> None:
        self.table = table.Table()
        self.nudges: list[tuple[str, nudges.Nudge]] = []
        self.intake = intake.Intake(
            api=cast(client.Api, None), assigned=self.table,
            nudge=lambda name, n: self.nudges.append((name, n)), namespace="floatip",
        )  # fmt: skip

    def record(self, *entries: moves.Move) -> None:
        self.intake.recorded(moves.body("floatip", moves.encode(entries, leader="op"),
                                        resource_version="1"))  # fmt: skip

    def holders(self) -> dict[str, tuple[str | None, int, bool]]:
        found = {}
        for name, n in self.nudges:
            assert isinstance(n, nudges.Reassigned) and n.assignment is not None
            found[name] = (n.assignment.holder, n.assignment.epoch, n.assignment.confirmed)
        return found


def test_a_recorded_failover_reassigns_every_vip_it_moves_at_once() -> None:
    s = Setup()
    s.intake.listed([vip(f"v{i}", holder="dead", epoch=1) for i in range(100)])
    s.intake.listed([])  # nothing: every VirtualIP gone
    s.intake.listed([vip(f"v{i}", holder="dead", epoch=1) for i in range(100)])
    s.nudges.clear()
    s.record(*(moves.Move(f"v{i}", f"uid-v{i}", "me", 2, "Failover", "dead") for i in range(60)))
    assert s.holders() == {f"v{i}": ("me", 2, False) for i in range(60)}
    assert s.table.assignments["v0"].holder == "me" and s.table.assignments["v99"].holder == "dead"


def test_an_object_read_after_the_record_gets_its_move_until_the_status_catches_up() -> None:
    s = Setup()
    s.record(moves.Move("web", "uid-web", "me", 5, "Failover", "dead"))
    s.intake.changed(vip("web", holder="dead", epoch=4))
    s.intake.changed(vip("web", holder="me", epoch=5))
    s.intake.changed(vip("web", holder="dead", epoch=4))  # a late event of the old status
    seen = [(n.assignment.holder, n.assignment.epoch, n.assignment.confirmed)
            for _, n in s.nudges if isinstance(n, nudges.Reassigned) and n.assignment]  # fmt: skip
    assert seen == [("me", 5, False), ("me", 5, True)]


def test_a_move_of_another_object_or_an_empty_record_changes_nothing() -> None:
    s = Setup()
    s.intake.changed(vip("web", holder="dead", epoch=1, uid="new"))
    s.nudges.clear()
    s.record(moves.Move("web", "old", "me", 2, "Failover", "dead"))
    s.intake.recorded(None)
    assert s.nudges == [] and s.table.assignments["web"].holder == "dead"


def test_a_spec_is_validated_once_per_generation() -> None:
    specs = assignments.Specs()
    meta = {"uid": "u1", "generation": 1}
    first = specs.get("web", meta, {"address": "192.0.2.100/24"})
    assert specs.get("web", meta, {"address": "192.0.2.100/24"}) is first  # a status event
    changed = specs.get("web", meta | {"generation": 2}, {"address": "192.0.2.101/24"})
    assert not isinstance(changed, str) and str(changed.interface_address.ip) == "192.0.2.101"
    invalid = specs.get("web", meta | {"generation": 3}, {"address": "no"})
    assert isinstance(invalid, str) and invalid.startswith("spec is invalid")
    again = specs.get("web", meta | {"uid": "u2"}, {"address": "192.0.2.102/24"})
    assert not isinstance(again, str) and str(again.interface_address.ip) == "192.0.2.102"


def test_a_group_fully_announced_elsewhere_nudges_its_members_held_here() -> None:
    s = Setup()
    members = [vip(name, holder="me", epoch=1) for name in ("a", "b", "c", "solo")]
    for body in members[:3]:
        body["spec"]["group"] = "edge"
    s.intake.listed(members)
    for index, name in enumerate(("a", "b", "solo")):  # held here; c is not
        s.table.hold(name, decisions.Held(fakes.VIP + index, "eth0", 1))

    def announced_elsewhere(name: str) -> dict[str, Any]:
        announcement = {"node": "other", "epoch": 2, "mac": fakes.PEER_MAC, "time": "t"}
        body = vip(name, holder="other", epoch=2)
        body["spec"]["group"] = "edge"
        body["status"]["announcement"] = announcement
        return body

    s.nudges.clear()
    s.intake.changed(announced_elsewhere("a"))
    assert [name for name, _ in s.nudges] == ["a"], "b is not announced yet: nobody may go"
    s.nudges.clear()
    s.intake.changed(announced_elsewhere("b"))
    assert s.nudges == [("a", nudges.GroupMoved("b")), ("b", s.nudges[1][1])]
    s.nudges.clear()
    s.intake.changed(announced_elsewhere("c"))  # not held here, and its peers were told
    assert s.nudges[:2] == [("a", nudges.GroupMoved("c")), ("b", nudges.GroupMoved("c"))]
