"""Which VirtualIP status writes wait for the others (floatip_operator.deferring), no I/O.

Proves: only Ready and Announced turning True, nothing else changed, is good news that may
wait; a move, any other condition, Ready turning False or Announced True without Ready is
not; a write that may wait is held while the reconciler is in a burst of other writes (BURST
within QUIET_S), at most WAIT_S, and never when it may not wait; a few other writes (a single
move) are no burst; the names of written writes are forgotten.
"""

from __future__ import annotations

from typing import Any

import pytest

from floatip_operator import deferring

T = "2026-01-01T00:00:00Z"


def condition(kind: str, value: str, reason: str = "R") -> dict[str, Any]:
    return {"type": kind, "status": value, "reason": reason, "message": "", "lastTransitionTime": T,
            "observedGeneration": 1}  # fmt: skip


def vip_status(ready: str = "False", announced: str = "False", **over: Any) -> dict[str, Any]:
    base = {
        "holder": "server1", "epoch": 1, "observedGeneration": 1,
        "conditions": [condition("Ready", ready), condition("Assigned", "True"),
                       condition("Announced", announced), condition("Conflict", "False")],
    }  # fmt: skip
    return {**base, **over}


PENDING = vip_status()
READY = vip_status("True", "True")


def test_the_announcement_coming_in_is_good_news_only() -> None:
    assert deferring.good_news_only(PENDING, READY)
    # the agent's own fields in the stored status are not the operator's: no difference
    assert deferring.good_news_only({**PENDING, "announcement": {"node": "server1"}}, READY)


@pytest.mark.parametrize(
    "previous, new",
    [
        (PENDING, vip_status("True", "True", holder="server2")),  # a move
        (PENDING, vip_status("True", "True", epoch=2)),
        (READY, PENDING),  # bad news
        (READY, vip_status("True", "True", observedGeneration=2)),  # already Ready
        (PENDING, vip_status("False", "True")),  # announced, not Ready
        (None, READY),  # a first status
        (
            PENDING,
            {**READY, "conditions": [*READY["conditions"][:3], condition("Conflict", "True")]},
        ),
    ],
)
def test_anything_else_is_written_at_once(previous: Any, new: dict[str, Any]) -> None:
    assert not deferring.good_news_only(previous, new)


def burst(*names: str) -> dict[str, bool]:
    """One pass: ``BURST`` writes that may not wait, and ``names`` that may."""
    return {**{f"other{i}": False for i in range(deferring.BURST)}, **dict.fromkeys(names, True)}


def test_held_in_a_burst_of_other_writes_and_for_quiet_s_after() -> None:
    deferral = deferring.Deferral()
    assert deferral.hold(burst("a"), now=100.0) == {"a"}
    assert deferral.hold({"a": True, "c": True}, now=100.5) == {"a", "c"}  # within QUIET_S
    assert deferral.hold({"a": True, "c": True}, now=100.0 + deferring.QUIET_S) == set()
    assert deferral.since == {}  # written: forgotten
    assert deferral.hold({"a": True}, now=200.0) == set()  # no other write: at once


def test_a_few_other_writes_are_no_burst() -> None:
    """A single move: its Ready is written as soon as the announcement is in."""
    deferral = deferring.Deferral()
    few = {f"other{i}": False for i in range(deferring.BURST - 1)}
    assert deferral.hold({**few, "a": True}, now=10.0) == set()
    assert deferral.hold({"moved": False, "a": True}, now=10.1) == {"a"}  # now BURST in QUIET_S
    assert deferral.hold({"a": True}, now=10.9) == {"a"}  # all of them within QUIET_S
    assert deferral.hold({"a": True}, now=11.05) == set()  # the first 31 are older


def test_held_at_most_wait_s_and_never_when_it_may_not_wait() -> None:
    deferral = deferring.Deferral()
    now = 10.0
    assert deferral.hold(burst("a"), now) == {"a"}
    while now < 10.0 + deferring.WAIT_S - 0.5:
        now += 0.5
        assert deferral.hold(burst("a", "late"), now) == {"a", "late"}
    now += 0.5
    assert deferral.hold(burst("a", "late"), now) == {"late"}
    assert set(deferral.since) == {"late"}
    assert not deferral.hold(burst(), now + 1) and not deferral.since
