"""Small pure decisions: leader election, deletion release, Events.

Proves: a replica renews its own Lease, takes a free or stale one, and waits while another
holder renews; deletion proceeds without a holder, with a dead holder, once the holder no
longer reports it or withdrew its announcement, and waits otherwise; Events are raised for a
move, for a refusal when it first appears (not again), and for a new conflict, and are shaped
as events.k8s.io/v1 Events regarding the VirtualIP in namespace default.
"""

from __future__ import annotations

import datetime

import pytest

from floatip_operator import deleting, events, leadership

DURATION = 6.0


@pytest.mark.parametrize(
    ("spec", "unchanged_for", "action"),
    [
        (None, 0.0, leadership.Action.ACQUIRE),
        ({"holderIdentity": "me"}, 0.0, leadership.Action.RENEW),
        ({"holderIdentity": "me"}, 100.0, leadership.Action.RENEW),
        ({"holderIdentity": None}, 0.0, leadership.Action.ACQUIRE),
        ({"holderIdentity": "other"}, 5.9, leadership.Action.WAIT),
        ({"holderIdentity": "other"}, 6.0, leadership.Action.ACQUIRE),
    ],
)
def test_leader_judgement(
    spec: dict[str, object] | None, unchanged_for: float, action: leadership.Action
) -> None:
    assert (
        leadership.judge(spec, me="me", unchanged_for_s=unchanged_for, duration_s=DURATION)
        is action
    )


ANNOUNCED = {"holder": "a", "epoch": 2, "announcement": {"node": "a", "epoch": 2}}


@pytest.mark.parametrize(
    ("status", "alive", "reports", "done"),
    [
        (None, True, None, True),
        ({"epoch": 1}, True, None, True),
        (ANNOUNCED, False, True, True),
        (ANNOUNCED, True, False, True),
        ({"holder": "a", "epoch": 2}, True, True, True),  # announcement withdrawn
        (ANNOUNCED, True, True, False),
        (ANNOUNCED, True, None, False),  # no fresh report yet: wait
    ],
)
def test_release_state(
    status: dict[str, object] | None, alive: bool, reports: bool | None, done: bool
) -> None:
    result = deleting.release_state(status, holder_alive=alive, holder_reports_it=reports)
    assert result.done is done and result.why


async def test_wait_released_gives_up_at_the_deadline() -> None:
    waiting = deleting.Release(False, "waiting")
    result = await deleting.wait_released(name="web", state=lambda: waiting, deadline=0.0)
    assert result is waiting


def _status(epoch: int, assigned_reason: str, conflict: str = "False") -> dict[str, object]:
    return {
        "epoch": epoch,
        "history": [{"from": "a", "to": "b", "reason": "Failover", "epoch": epoch}]
        if epoch
        else [],
        "conditions": [
            {"type": "Assigned", "status": "True", "reason": assigned_reason, "message": "m"},
            {"type": "Conflict", "status": conflict, "reason": "r", "message": "foreign"},
        ],
    }


def test_notices() -> None:
    move = events.notices(_status(1, "Assigned"), _status(2, "Failover"))
    assert move == [events.Notice("Normal", "Failover", "moved from a to b at epoch 2")]
    first = events.notices(_status(0, "Assigned"), _status(0, "NoEligibleNode"))
    assert first == [events.Notice("Warning", "NoEligibleNode", "m")]
    assert events.notices(_status(0, "NoEligibleNode"), _status(0, "NoEligibleNode")) == []
    conflict = events.notices(_status(1, "Assigned"), _status(1, "Assigned", conflict="True"))
    assert conflict == [events.Notice("Warning", "Conflict", "foreign")]


def test_event_shape() -> None:
    vip = {"metadata": {"name": "web", "uid": "u1", "resourceVersion": "9"}}
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    body = events.build_event(
        vip, events.Notice("Normal", "Failover", "x"), instance="op-a", now=now
    )
    assert body["apiVersion"] == "events.k8s.io/v1"
    assert body["metadata"] == {"generateName": "web.", "namespace": "default"}
    assert body["regarding"]["kind"] == "VirtualIP" and body["regarding"]["uid"] == "u1"
    assert (body["type"], body["reason"], body["note"]) == ("Normal", "Failover", "x")
    assert body["eventTime"] == "2026-01-01T00:00:00.000000Z"
