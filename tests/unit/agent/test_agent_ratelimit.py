"""The re-assertion rate limit (floatip_agent.ratelimit), on a fake clock. Proves:

- a full bucket allows `capacity` takes at once, then refuses;
- tokens come back at `rate` per second, never beyond `capacity`;
- `wait_time` says exactly how long until the next take succeeds;
- a clock going backwards adds no tokens; nonsense settings are refused with a reason.
"""

from __future__ import annotations

import pytest

from floatip_agent import ratelimit
from tests.unit.agent import fakes


def test_burst_then_refusal() -> None:
    clock = fakes.Clock()
    bucket = ratelimit.TokenBucket(capacity=3, rate=1.0, clock=clock)
    assert [bucket.try_take() for _ in range(4)] == [True, True, True, False]


def test_refill_at_rate_up_to_capacity() -> None:
    clock = fakes.Clock()
    bucket = ratelimit.TokenBucket(capacity=2, rate=4.0, clock=clock)
    assert bucket.try_take() and bucket.try_take()
    clock.now += 0.125
    assert bucket.tokens == pytest.approx(0.5)
    assert not bucket.try_take()
    clock.now += 0.125
    assert bucket.try_take()
    clock.now += 3600
    assert bucket.tokens == 2


def test_wait_time() -> None:
    clock = fakes.Clock()
    bucket = ratelimit.TokenBucket(capacity=1, rate=2.0, clock=clock)
    assert bucket.wait_time() == 0
    assert bucket.try_take()
    assert bucket.wait_time() == pytest.approx(0.5)
    clock.now += 0.5
    assert bucket.wait_time() == 0
    assert bucket.try_take()
    with pytest.raises(ValueError, match="exceeds the bucket's capacity 1"):
        bucket.wait_time(2)


def test_clock_going_backwards_adds_nothing() -> None:
    clock = fakes.Clock()
    bucket = ratelimit.TokenBucket(capacity=1, rate=1.0, clock=clock)
    assert bucket.try_take()
    clock.now -= 10
    assert not bucket.try_take()
    clock.now += 1  # back where it was: still no time has passed since the last take
    assert not bucket.try_take()


@pytest.mark.parametrize(
    ("capacity", "rate", "words"),
    [(0, 1.0, "capacity must be at least 1"), (1, 0.0, "rate must be positive")],
)
def test_nonsense_settings(capacity: float, rate: float, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        ratelimit.TokenBucket(capacity=capacity, rate=rate)
