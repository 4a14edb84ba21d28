"""Small pure decisions: leader election, deletion release, Events.

Proves: a replica renews its own Lease, takes a free or stale one, and waits while another
holder renews; deletion proceeds without a holder, with a dead holder, once the holder no
longer reports it or withdrew its announcement, and waits otherwise; Events are raised for a
move, for a refusal when it first appears (not again), and for a new conflict, and are shaped
as events.k8s.io/v1 Events regarding the VirtualIP in namespace default.
"""

from __future__ import annotations

import pytest

from floatip.api import events, model
from floatip_operator import deleting, leadership, notices

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


ANNOUNCED = {
    "holder": "a",
    "epoch": 2,
    "announcement": {
        "node": "a",
        "epoch": 2,
        "mac": "02:00:00:00:00:01",
        "time": "2026-01-01T00:00:00Z",
    },
}


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
    move = notices.notices(_status(1, "Assigned"), _status(2, "Failover"))
    assert move == [
        notices.Notice(
            events.Type.NORMAL, model.MoveReason.FAILOVER, "moved from a to b at epoch 2"
        )
    ]
    assert move[0].move is model.MoveReason.FAILOVER
    first = notices.notices(_status(0, "Assigned"), _status(0, "NoEligibleNode"))
    assert first == [
        notices.Notice(events.Type.WARNING, model.ConditionReason.NO_ELIGIBLE_NODE, "m")
    ]
    assert first[0].move is None
    assert notices.notices(_status(0, "NoEligibleNode"), _status(0, "NoEligibleNode")) == []
    conflict = notices.notices(_status(1, "Assigned"), _status(1, "Assigned", conflict="True"))
    assert conflict == [notices.Notice(events.Type.WARNING, notices.Reason.CONFLICT, "foreign")]


def test_a_move_with_a_reason_no_floatip_writes_is_not_announced() -> None:
    """Events and the moves metric take their reason from the enum, never from free text."""
    odd = _status(2, "Failover")
    odd["history"] = [{"from": "a", "to": "b", "reason": "Because server-7 said so", "epoch": 2}]
    assert notices.notices(_status(1, "Assigned"), odd) == []
