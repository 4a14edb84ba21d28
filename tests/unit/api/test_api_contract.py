"""The status contract, Events and times, written once for operator, agent and kubectl vip.

Proves: times format as metav1.Time and MicroTime and parse back (junk parses to None); the
one Event builder makes an events.k8s.io/v1 Event regarding the VirtualIP in namespace
default, with limits applied; a status reads typed and leniently (a field that does not fit
the schema is left out, the rest kept); the agent's patches name only its own key and
validate against the model; the operator's JSON patch is guarded by a test of the epoch and
touches only the operator's fields; entries built here validate against the model.
"""

from __future__ import annotations

import datetime

import pytest

from floatip.api import events, model, status, times

NOW = datetime.datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=datetime.UTC)


def test_times() -> None:
    assert times.timestamp(NOW) == "2026-01-01T12:00:00Z"
    assert times.micro_time(NOW) == "2026-01-01T12:00:00.123456Z"
    assert times.parse(times.micro_time(NOW)) == NOW
    assert times.parse(times.timestamp(NOW)) == NOW.replace(microsecond=0)
    assert times.parse("2026-01-01T12:00:00") == NOW.replace(microsecond=0)  # naive: UTC
    for junk in ("garbage", "", None, 17):
        assert times.parse(junk) is None


def test_event_shape() -> None:
    body = events.build(
        regarding=events.Regarding("web", "u1", "9"),
        type=events.Type.WARNING,
        reason=model.ConditionReason.NO_ELIGIBLE_NODE,
        action="Reconcile",
        note="x" * 2000,
        controller=events.OPERATOR,
        instance="i" * 200,
        now=NOW,
    )
    assert body["apiVersion"] == "events.k8s.io/v1"
    assert body["metadata"] == {"generateName": "web.", "namespace": "default"}
    assert body["regarding"] == {
        "apiVersion": "floatip.io/v1alpha1",
        "kind": "VirtualIP",
        "name": "web",
        "uid": "u1",
        "resourceVersion": "9",
    }
    assert (body["type"], body["reason"]) == ("Warning", "NoEligibleNode")
    assert len(body["note"]) == events.NOTE_LIMIT
    assert len(body["reportingInstance"]) == events.INSTANCE_LIMIT
    assert body["eventTime"] == "2026-01-01T12:00:00.123456Z"
    assert events.build(
        regarding=events.Regarding("web"), type=events.Type.NORMAL, reason="Announced",
        action="Announce", note="", controller=events.AGENT, instance="n", now=NOW,
    )["regarding"] == {"apiVersion": "floatip.io/v1alpha1", "kind": "VirtualIP", "name": "web"}  # fmt: skip


ANNOUNCED = model.Announcement(
    node="a", epoch=3, mac="02:00:00:00:00:01", time="2026-01-01T12:00:00Z"
)
REPORT = model.ConflictReport(
    node="a", mac="02:66:00:00:00:01", since="2026-01-01T12:00:00Z",
    last_seen="2026-01-01T12:00:01Z", count=4, reasserted=3,
)  # fmt: skip


def test_lenient_read_keeps_what_fits() -> None:
    raw = {
        "holder": "a",
        "epoch": 3,
        "announcement": ANNOUNCED.to_json(),
        "conflict": {"node": "a"},  # malformed: left out
        "history": "not a list",  # malformed: left out
        "somethingNew": 1,  # unknown to this version: ignored
    }
    typed = status.read(raw)
    assert (typed.holder, typed.epoch, typed.announcement) == ("a", 3, ANNOUNCED)
    assert typed.conflict is None and typed.history == ()
    assert status.read(None) == model.VirtualIPStatus()
    assert status.announcement(raw) == ANNOUNCED and status.conflict(raw) is None
    assert status.holder({"holder": ""}) is None and status.epoch({"epoch": True}) == 0


def test_the_agents_patches_name_only_their_key() -> None:
    assert status.announcement_patch(ANNOUNCED) == {"status": {"announcement": ANNOUNCED.to_json()}}
    assert status.conflict_patch(None) == {"status": {"conflict": None}}
    patch = status.conflict_patch(REPORT)
    assert set(patch["status"]) == {"conflict"} <= set(status.AGENT_FIELDS)
    assert model.VirtualIPStatus.model_validate(patch["status"]).conflict == REPORT


@pytest.mark.parametrize("reason", list(model.MoveReason))
def test_entries_validate_against_the_model(reason: model.MoveReason) -> None:
    move = status.move_entry(
        time="2026-01-01T12:00:00Z", previous=None, to="b", reason=reason, epoch=1
    )
    condition = status.condition_entry(
        model.ConditionType.ASSIGNED, model.ConditionStatus.TRUE, reason, "m",
        generation=2, since="2026-01-01T12:00:00Z",
    )  # fmt: skip
    typed = model.VirtualIPStatus.model_validate({"history": [move], "conditions": [condition]})
    assert typed.history[0].from_ is None and typed.history[0].reason == reason
    assert "from" not in move


def test_operator_patch_is_guarded_and_touches_only_its_fields() -> None:
    previous = {"epoch": 2, "holder": "a", "announcement": ANNOUNCED.to_json()}
    ops = status.operator_patch(previous, {"epoch": 3, "holder": "b"})
    assert ops[0] == {"op": "test", "path": "/status/epoch", "value": 2}
    assert {"op": "add", "path": "/status/holder", "value": "b"} in ops
    assert not any(op["path"] == "/status/announcement" for op in ops)
    first = status.operator_patch(None, {"epoch": 1})
    assert first[0] == {"op": "test", "path": "/status", "value": None}
    assert first[1] == {"op": "add", "path": "/status", "value": {}}
