"""The loop every writer of the operator runs: a pass when poked, debounced, and now and then.

The VirtualIP reconciler, the pool loop and the Service loop each decide everything at once
and write only what changed, so they share one shape: wait until something pokes the loop
(or ``idle_s`` passes), let a burst of changes settle for ``debounce_s`` so it is one pass,
run the pass; a pass that raises is counted and logged, and tried again half a second later.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from floatip import logs
from floatip_operator import metrics

log = logs.get(__name__)

RETRY_S = 0.5  # after a failed pass


class PassLoop:
    """Runs ``pass_once`` when poked and every ``idle_s``; ``retry`` after a failed pass."""

    def __init__(
        self,
        what: str,
        pass_once: Callable[[], Awaitable[None]],
        *,
        debounce_s: float,
        idle_s: float,
        retry: Callable[[], None] | None = None,
    ) -> None:
        self.what = what
        self.pass_once = pass_once
        self.debounce_s = debounce_s
        self.idle_s = idle_s
        self.retry = retry or self.poke
        self.poked = asyncio.Event()

    def poke(self) -> None:
        self.poked.set()

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.poked.wait(), timeout=self.idle_s)
            if self.poked.is_set():
                await asyncio.sleep(self.debounce_s)
                self.poked.clear()
            try:
                await self.pass_once()
            except Exception:
                metrics.ERRORS.labels(kind=metrics.ErrorKind.PASS.value).inc()
                log.exception(f"{self.what} pass failed")
                self.retry()
                await asyncio.sleep(RETRY_S)
