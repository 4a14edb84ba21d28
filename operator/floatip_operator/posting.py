"""Posting the operator's Events: a queue and a few workers, so a burst never stalls a pass.

A failover can move thousands of VirtualIPs at once; their Events wait in `Poster`'s queue for
a few workers instead of holding up the status writes. Statuses come first: while any status
write is under way (`Poster.status_write`), and for `QUIET_S` after the last, the workers
wait (up to `DEFER_S` after an Event was queued), so a burst's Events follow its statuses
instead of taking the API server's time from them; each Event keeps the time it was queued as
its ``eventTime``. Posting never raises: an Event lost to an API hiccup (after three tries) is
logged, and must never stop a failover.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import time
from collections.abc import Iterator

from floatip import logs
from floatip.api import events, times
from floatip.kube import client
from floatip_operator import notices

log = logs.get(__name__)
WORKERS = 4
ATTEMPTS = 3
DEFER_S = 10.0  # the longest an Event waits for the status writes to pause
QUIET_S = 0.25  # status writes have paused when none was under way for this long


class Poster:
    """Events about VirtualIPs, posted in the background by `WORKERS` tasks (`run`)."""

    def __init__(self, api: client.Api, *, instance: str) -> None:
        self.api = api
        self.instance = instance
        #: (regarding, notice, when it happened, monotonic deadline of its wait)
        self.queue: asyncio.Queue[
            tuple[events.Regarding, notices.Notice, datetime.datetime, float]
        ] = asyncio.Queue()
        self.writing = 0  # status writes under way
        self.paused = asyncio.Event()  # set while none is, nor was for QUIET_S
        self.paused.set()
        self._pausing: asyncio.TimerHandle | None = None

    def post(self, regarding: events.Regarding, notice: notices.Notice) -> None:
        """Queue one Event (returns at once)."""
        self.queue.put_nowait((regarding, notice, times.now(), time.monotonic() + DEFER_S))

    @contextlib.contextmanager
    def status_write(self) -> Iterator[None]:
        """Around one status write: the workers wait while any is under way, and for `QUIET_S`
        after the last one (a pass writes in windows, and the next pass follows at once)."""
        self.writing += 1
        self.paused.clear()
        if self._pausing is not None:
            self._pausing.cancel()
            self._pausing = None
        try:
            yield
        finally:
            self.writing -= 1
            if not self.writing:
                self._pausing = asyncio.get_running_loop().call_later(QUIET_S, self.paused.set)

    async def run(self) -> None:
        """One worker: post queued Events one at a time, each once the status writes pause."""
        while True:
            regarding, notice, at, deadline = await self.queue.get()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.paused.wait(), deadline - time.monotonic())
            await self.send(regarding, notice, at)

    async def send(
        self,
        regarding: events.Regarding,
        notice: notices.Notice,
        at: datetime.datetime | None = None,
    ) -> None:
        """Post one Event now (``at``: when it happened, else now), trying `ATTEMPTS` times;
        log (never raise) on failure."""
        body = events.build(
            regarding=regarding, type=notice.type, reason=notice.reason, action="Reconcile",
            note=notice.note, controller=events.OPERATOR, instance=self.instance,
            now=at or times.now(),
        )  # fmt: skip
        for attempt in range(ATTEMPTS):
            try:
                await self.api.request(
                    "POST", events.path(regarding.namespace or events.NAMESPACE), body=body
                )
            except client.ApiError as exc:
                if attempt == ATTEMPTS - 1:
                    log.warning(
                        "event not posted", vip=regarding.name, reason=notice.reason.value,
                        error=str(exc),
                    )  # fmt: skip
                    return
                await asyncio.sleep(0.5 * (attempt + 1))
            else:
                return
