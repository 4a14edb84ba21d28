"""The status builder (pure): epochs, history, conditions, transition times, patches.

Proves: a first placement sets epoch 1 and one history entry; an unchanged world rebuilds an
identical status (no write); every move bumps the epoch once and records its reason; history
keeps the last 10; Ready is Assigned and Announced at the current epoch; each refusal
(InvalidSpec, DuplicateAddress, NoEligibleNode, missing or ineligible pin) has its reason;
HealthCheck and Conflict report the agents' view; lastTransitionTime survives unchanged
statuses; the patch is guarded by a test of the epoch (or resourceVersion) and touches only the
operator's keys; a move in the move record is decided from as if its status had landed (no
second bump, a further move starts from the recorded epoch).
"""

from __future__ import annotations

from typing import Any

import pytest

from floatip.api import model, moves
from floatip.api import status as api_status
from floatip_operator import placement, statuses
from floatip_operator.placement import Decision, Reason

T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"


def _inputs(decision: Decision | None, **extra: Any) -> statuses.Inputs:
    return statuses.Inputs(generation=1, now=extra.pop("now", T1), decision=decision, **extra)


def _cond(status: dict[str, Any], kind: str) -> dict[str, Any]:
    found = api_status.condition(status, kind)
    assert found, kind
    return dict(found)


def _assigned(
    node: str = "a", previous: str | None = None, reason: Reason = Reason.ASSIGNED
) -> Decision:
    return Decision("web", node, previous, reason)


def test_first_placement_sets_epoch_one_and_history() -> None:
    status = statuses.build(None, _inputs(_assigned(), now=T0))
    assert status["holder"] == "a" and status["epoch"] == 1
    assert status["history"] == [{"time": T0, "to": "a", "reason": "Assigned", "epoch": 1}]
    assert status["observedGeneration"] == 1
    assert [c["type"] for c in status["conditions"]] == [
        "Ready",
        "Assigned",
        "Announced",
        "HealthCheck",
        "Conflict",
    ]
    assert _cond(status, "Ready")["reason"] == "AnnouncementPending"
    assert all(
        c["lastTransitionTime"] == T0 and c["observedGeneration"] == 1 for c in status["conditions"]
    )


def test_unchanged_world_builds_an_identical_status() -> None:
    first = statuses.build(None, _inputs(_assigned(), now=T0))
    again = statuses.build(first, _inputs(Decision("web", "a", "a", Reason.KEPT), now=T1))
    assert not statuses.changed(first, again)


def test_announcement_at_current_epoch_makes_ready_and_keeps_other_times() -> None:
    first = statuses.build(None, _inputs(_assigned(), now=T0))
    stored = first | {"announcement": {"node": "a", "epoch": 1, "mac": "m", "time": T0}}
    ready = statuses.build(stored, _inputs(Decision("web", "a", "a", Reason.KEPT), now=T1))
    assert _cond(ready, "Ready") | {"message": ""} == {
        "type": "Ready",
        "status": "True",
        "reason": "Ready",
        "observedGeneration": 1,
        "lastTransitionTime": T1,
        "message": "",
    }
    assert _cond(ready, "Assigned")["lastTransitionTime"] == T0
    assert _cond(ready, "Announced")["status"] == "True"


@pytest.mark.parametrize(
    "announcement",
    [
        None,
        {"node": "a", "epoch": 1, "mac": "m", "time": T0},  # an older epoch
        {"node": "b", "epoch": 2, "mac": "m", "time": T0},  # another node
    ],
)
def test_stale_or_foreign_announcement_is_not_announced(
    announcement: dict[str, Any] | None,
) -> None:
    previous = {"holder": "b", "epoch": 1, "history": [], "announcement": announcement}
    moved = statuses.build(previous, _inputs(Decision("web", "a", "b", Reason.FAILOVER)))
    assert moved["epoch"] == 2
    assert _cond(moved, "Announced")["reason"] == "Pending"
    assert _cond(moved, "Ready")["status"] == "False"


@pytest.mark.parametrize(
    "reason", [Reason.FAILOVER, Reason.PINNED, Reason.PREEMPTED, Reason.HOLDER_INELIGIBLE]
)
def test_every_move_bumps_the_epoch_once_with_its_reason(reason: Reason) -> None:
    previous = statuses.build(None, _inputs(_assigned("b"), now=T0))
    moved = statuses.build(previous, _inputs(Decision("web", "a", "b", reason)))
    assert moved["epoch"] == 2 and moved["holder"] == "a"
    assert moved["history"][-1] == {
        "time": T1,
        "from": "b",
        "to": "a",
        "reason": reason.value,
        "epoch": 2,
    }
    assert _cond(moved, "Assigned")["reason"] == reason.value


def test_history_keeps_the_last_ten_moves() -> None:
    status: dict[str, Any] | None = None
    for i in range(13):
        holder = status["holder"] if status else None
        status = statuses.build(status, _inputs(Decision("web", f"n{i}", holder, Reason.PINNED)))
    assert status is not None
    assert status["epoch"] == 13
    assert [m["epoch"] for m in status["history"]] == list(range(4, 14))


def test_assigned_to_a_vanished_holder_is_recorded_as_failover() -> None:
    previous = {"holder": "gone", "epoch": 3}
    moved = statuses.build(previous, _inputs(Decision("web", "a", "gone", Reason.ASSIGNED)))
    assert moved["history"][-1]["reason"] == "Failover"


def test_losing_the_holder_is_a_release() -> None:
    previous = {"holder": "a", "epoch": 3}
    decision = Decision("web", None, "a", Reason.DUPLICATE_ADDRESS, detail="older 'x'")
    released = statuses.build(previous, _inputs(decision))
    assert "holder" not in released and released["epoch"] == 4
    assert released["history"][-1]["reason"] == model.MoveReason.RELEASED


@pytest.mark.parametrize(
    ("decision", "extra", "reason"),
    [
        (None, {"invalid": "spec.address: bad"}, "InvalidSpec"),
        (Decision("web", None, None, Reason.DUPLICATE_ADDRESS, detail="x"), {}, "DuplicateAddress"),
        (Decision("web", None, None, Reason.NO_ELIGIBLE_NODE, detail="x"), {}, "NoEligibleNode"),
        # The holder keeps it while nothing else can take it, but it is not eligible itself.
        (Decision("web", "a", "a", Reason.NO_ELIGIBLE_NODE, detail="x"), {}, "NoEligibleNode"),
    ],
)
def test_refusals_are_assigned_false_with_their_reason(
    decision: Decision | None, extra: dict[str, Any], reason: str
) -> None:
    status = statuses.build(
        {"holder": "a", "epoch": 1} if decision and decision.previous else None,
        _inputs(decision, **extra),
    )
    assert _cond(status, "Assigned")["status"] == "False"
    assert _cond(status, "Assigned")["reason"] == reason
    assert _cond(status, "Ready") | {"lastTransitionTime": ""} == {
        "type": "Ready",
        "status": "False",
        "reason": reason,
        "observedGeneration": 1,
        "lastTransitionTime": "",
        "message": _cond(status, "Assigned")["message"],
    }


def test_invalid_spec_keeps_the_holder_and_epoch() -> None:
    status = statuses.build({"holder": "a", "epoch": 4}, _inputs(None, invalid="bad"))
    assert (status["holder"], status["epoch"]) == ("a", 4)
    assert "bad" in _cond(status, "Assigned")["message"]


@pytest.mark.parametrize(
    ("exists", "reason"), [(False, "PinnedNodeNotFound"), (True, "PinnedNodeIneligible")]
)
def test_pin_that_cannot_be_honoured_says_so(exists: bool, reason: str) -> None:
    decision = Decision("web", "a", None, Reason.ASSIGNED, detail="pinned node 'z' ...")
    status = statuses.build(None, _inputs(decision, pinned="z", pinned_exists=exists))
    assigned = _cond(status, "Assigned")
    assert (assigned["status"], assigned["reason"]) == ("True", reason)
    assert "pinned node 'z'" in assigned["message"]


@pytest.mark.parametrize(
    ("configured", "health", "expected"),
    [
        (False, {}, ("True", "NotConfigured")),
        (True, {}, ("Unknown", "NoResult")),
        (True, {"a": True}, ("True", "Passing")),
        (True, {"a": False, "b": True}, ("False", "Failing")),
    ],
)
def test_health_check_condition(
    configured: bool, health: dict[str, bool], expected: tuple[str, str]
) -> None:
    status = statuses.build(None, _inputs(_assigned(), has_health_check=configured, health=health))
    cond = _cond(status, "HealthCheck")
    assert (cond["status"], cond["reason"]) == expected


def test_conflict_reported_by_the_agent_raises_the_condition_without_moving() -> None:
    conflict = {
        "node": "a",
        "mac": "02:bad",
        "since": T0,
        "lastSeen": T1,
        "count": 4,
        "reasserted": 2,
    }
    previous = {"holder": "a", "epoch": 1, "conflict": conflict}
    status = statuses.build(previous, _inputs(Decision("web", "a", "a", Reason.KEPT)))
    cond = _cond(status, "Conflict")
    assert (cond["status"], cond["reason"]) == ("True", "ForeignClaim")
    assert "02:bad" in cond["message"] and status["epoch"] == 1


def test_patch_tests_the_epoch_and_touches_only_owned_keys() -> None:
    previous = {"holder": "b", "epoch": 1, "announcement": {"node": "b", "epoch": 1}}
    new = statuses.build(previous, _inputs(Decision("web", "a", "b", Reason.FAILOVER)))
    ops = api_status.operator_patch(previous, new)
    assert ops[0] == {"op": "test", "path": "/status/epoch", "value": 1}
    assert {op["path"] for op in ops[1:]} <= {f"/status/{k}" for k in api_status.OPERATOR_FIELDS}
    assert {"op": "add", "path": "/status/epoch", "value": 2} in ops


def test_patch_of_a_fresh_object_tests_that_no_status_exists_and_adds_one() -> None:
    """Not the resourceVersion: the finalizer added at creation would refuse the write."""
    new = statuses.build(None, _inputs(_assigned()))
    ops = api_status.operator_patch(None, new)
    assert ops[:2] == [
        {"op": "test", "path": "/status", "value": None},
        {"op": "add", "path": "/status", "value": {}},
    ]
    assert not any(op["path"].startswith("/metadata") for op in ops)


def test_patch_of_a_status_without_epoch_tests_the_epoch_absent() -> None:
    new = statuses.build({}, _inputs(_assigned()))
    assert api_status.operator_patch({}, new)[0] == {
        "op": "test",
        "path": "/status/epoch",
        "value": None,
    }


def test_patch_removes_a_holder_that_went_away() -> None:
    previous = {"holder": "a", "epoch": 1}
    new = statuses.build(previous, _inputs(Decision("web", None, "a", Reason.DUPLICATE_ADDRESS)))
    assert {"op": "remove", "path": "/status/holder"} in api_status.operator_patch(previous, new)


def test_placement_reasons_are_the_protocols_history_reasons() -> None:
    allowed = {"Failover", "Pinned", "Preempted", "HolderIneligible", "EndpointsMoved", "Assigned"}
    allowed |= {"JoinedGroup"}
    refusals = {"Kept", "NoEligibleNode", "NoReadyEndpoint", "DuplicateAddress"}
    refusals |= {"GroupConflict", "GroupUnplaceable"}
    moving = {r.value for r in placement.Reason} - refusals
    assert moving == allowed


def test_a_recorded_move_is_decided_from_as_if_its_status_write_had_landed() -> None:
    stored = statuses.build(None, _inputs(_assigned("a"), now=T0))
    failover = statuses.build(stored, _inputs(_assigned("b", "a", Reason.FAILOVER)))
    move = statuses.recorded_move("web", "u1", stored, failover)
    assert move == moves.Move("web", "u1", "b", 2, "Failover", "a", T1)
    base = statuses.overlay(stored, move)
    assert (base["holder"], base["epoch"], base["history"]) == (
        "b", 2, failover["history"]
    )  # fmt: skip
    # the next pass keeps b: same holder and epoch as the record, no second bump
    again = statuses.build(base, _inputs(_assigned("b", "b")))
    assert (again["holder"], again["epoch"]) == ("b", 2)
    assert statuses.recorded_move("web", "u1", base, again) is None
    # b failed too before the status landed: the next move starts from the record's epoch
    onward = statuses.build(base, _inputs(_assigned("c", "b", Reason.FAILOVER)))
    assert onward["epoch"] == 3 and onward["history"][-2:] == [
        failover["history"][-1], {"time": T1, "from": "b", "to": "c", "reason": "Failover",
                                  "epoch": 3},
    ]  # fmt: skip
    released = statuses.overlay(stored, moves.Move("web", "u1", None, 2, "Released", "a", T1))
    assert "holder" not in released and released["history"][-1]["reason"] == "Released"
