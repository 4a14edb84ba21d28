"""Waiting for a condition the kernel reaches asynchronously (a neighbour update, a link).

The deadline only turns a hang into a clear failure; it is not a performance assertion, so
callers choose generous timeouts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeoutError(AssertionError):
    """The condition did not hold before the deadline."""


def wait_until(
    probe: Callable[[], T | None],
    *,
    what: str,
    timeout: float = 10.0,
    interval: float = 0.02,
    describe: Callable[[], str] | None = None,
) -> T:
    """Call `probe` until it returns something other than None (or False); return that value.

    `what` says what was awaited; `describe`, if given, reports the state seen last so the
    failure message shows what happened instead.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() >= deadline:
            seen = f"; last seen: {describe()}" if describe else ""
            raise WaitTimeoutError(f"gave up after {timeout} s waiting for {what}{seen}")
        time.sleep(interval)
