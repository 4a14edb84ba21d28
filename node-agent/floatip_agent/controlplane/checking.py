"""The local apiserver's health: ``/readyz`` checked on a fixed period, judged by rise/fall.

A check starts every ``check_seconds``, not after the previous one ended: an apiserver that
hangs (accepts the connection, never answers) fails `fall` checks in one timeout plus
``fall - 1`` periods instead of ``fall`` timeouts. At most ``fall + 1`` checks are in flight.
Each verdict change is handed to ``on_change`` (the node logs it, tells its peers at once
and re-runs the election).

`fresh_pass` and `healthy_since` let the node tell a holder's own failure from a store-wide
one before it takes over (`election`, "Confirm"): the newest check that completed must have
passed and have *started* after the holder said it failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from floatip_agent.controlplane import metrics, probe, readiness, settings


class Checker:
    """Runs the checks for one node; `run` until cancelled."""

    def __init__(
        self,
        config: settings.Config,
        verdict: readiness.Readiness,
        *,
        counters: metrics.Metrics,
        on_change: Callable[[], None],
        on_result: Callable[[], None] = lambda: None,
    ) -> None:
        self.config = config
        self.profile = config.profile
        self.verdict = verdict
        self.counters = counters
        self.on_change = on_change
        self.on_result = on_result  # after every check (a pending takeover may now confirm)
        self.tls = probe.context(config.ca_file)
        self.newest: tuple[float, bool] = (float("-inf"), False)  # (started, ok) of the newest
        self.healthy_since = float("inf")  # when the verdict last became healthy

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        slots = asyncio.Semaphore(self.profile.fall + 1)
        pending: set[asyncio.Task[None]] = set()
        try:
            while True:
                started = loop.time()
                await slots.acquire()
                task = asyncio.create_task(self._once(slots))
                pending.add(task)
                task.add_done_callback(pending.discard)
                await asyncio.sleep(max(0.0, started + self.profile.check_seconds - loop.time()))
        finally:
            for task in list(pending):
                task.cancel()

    def fresh_pass(self, since: float) -> bool:
        """Whether the newest completed check passed and started after `since`."""
        started, ok = self.newest
        return ok and started > since

    async def _once(self, slots: asyncio.Semaphore) -> None:
        started = asyncio.get_running_loop().time()
        try:
            ok = await probe.ready(
                port=self.config.port, path=self.config.health_path, tls=self.tls,
                within=self.profile.check_timeout_seconds,
            )  # fmt: skip
        finally:
            slots.release()
        self.counters.checks.labels(result="pass" if ok else "fail").inc()
        if started > self.newest[0]:
            self.newest = (started, ok)
            self.on_result()
        if self.verdict.record(ok):
            self.counters.healthy.set(1 if self.verdict.healthy else 0)
            self.healthy_since = (
                asyncio.get_running_loop().time() if self.verdict.healthy else float("inf")
            )
            self.on_change()
