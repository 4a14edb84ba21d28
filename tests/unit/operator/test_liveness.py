"""Agent liveness: hysteresis on probes, Lease freshness, and the profiles' budgets.

Proves: a new agent is not alive until `rise` successes; one (or fall-1) lost probes never flip
a live agent; `fall` failures in a row do; a success in between resets the count; the Lease is
fresh strictly before renewTime + duration; the default and fast profiles detect a dead agent
within their documented budgets (0.75 s, 0.28 s) and keep Lease writes under 0.2/s at 10 s.
"""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from floatip_operator import liveness


def feed(state: liveness.AgentLiveness, results: str) -> list[bool]:
    return [state.observe(r == "+", float(i)) for i, r in enumerate(results)]


def test_new_agent_needs_rise_successes() -> None:
    state = liveness.AgentLiveness(liveness.PollPolicy(rise=2, fall=3))
    assert feed(state, "+") == [False]
    assert not state.alive
    assert feed(state, "+") == [True]
    assert state.alive


def test_one_lost_probe_never_flips() -> None:
    state = liveness.AgentLiveness(liveness.PollPolicy(rise=1, fall=3), alive=True)
    feed(state, "--+--+--+")
    assert state.alive


def test_fall_failures_in_a_row_flip() -> None:
    state = liveness.AgentLiveness(liveness.PollPolicy(rise=1, fall=3), alive=True)
    assert feed(state, "---") == [False, False, True]
    assert not state.alive
    assert state.last_ok is None


@given(st.text(alphabet="+-", max_size=40), st.integers(1, 5), st.integers(1, 5))
def test_verdict_is_the_last_run_long_enough(results: str, rise: int, fall: int) -> None:
    state = liveness.AgentLiveness(liveness.PollPolicy(rise=rise, fall=fall))
    feed(state, results)
    expected = False
    run_char, run_len = "", 0
    for r in results:
        run_len = run_len + 1 if r == run_char else 1
        run_char = r
        if r == "+" and run_len >= rise and not expected:
            expected, run_len = True, 0
            run_char = ""
        elif r == "-" and run_len >= fall and expected:
            expected, run_len = False, 0
            run_char = ""
    assert state.alive is expected


NOW = datetime.datetime(2026, 11, 26, 12, 0, 0, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("renewed_seconds_ago", "duration", "fresh"),
    [
        (0, 30, True),
        (29.9, 30, True),
        (30, 30, False),
        (31, 30, False),
        (0, None, False),
        (0, 0, False),
    ],
)
def test_lease_freshness(renewed_seconds_ago: float, duration: float | None, fresh: bool) -> None:
    renewed = NOW - datetime.timedelta(seconds=renewed_seconds_ago)
    assert liveness.lease_fresh(renewed, duration, NOW) is fresh


def test_never_renewed_lease_is_not_fresh() -> None:
    assert not liveness.lease_fresh(None, 30, NOW)


def test_profile_budgets() -> None:
    assert liveness.DEFAULT.detection_s == pytest.approx(0.75)
    assert liveness.FAST.detection_s == pytest.approx(0.28)
    assert liveness.lease_writes_per_second(10) <= 0.2
