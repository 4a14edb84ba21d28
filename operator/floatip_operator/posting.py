"""Posting the operator's Events: a queue and a few workers, so a burst never stalls a pass.

A failover can move thousands of VirtualIPs at once; their Events wait in `Poster`'s queue for
a few workers instead of holding up the status writes. Posting never raises: an Event lost to
an API hiccup (after three tries) is logged, and must never stop a failover.
"""

from __future__ import annotations

import asyncio

from floatip import logs
from floatip.api import events, times
from floatip.kube import client
from floatip_operator import notices

log = logs.get(__name__)
WORKERS = 4
ATTEMPTS = 3


class Poster:
    """Events about VirtualIPs, posted in the background by `WORKERS` tasks (`run`)."""

    def __init__(self, api: client.Api, *, instance: str) -> None:
        self.api = api
        self.instance = instance
        self.queue: asyncio.Queue[tuple[events.Regarding, notices.Notice]] = asyncio.Queue()

    def post(self, regarding: events.Regarding, notice: notices.Notice) -> None:
        """Queue one Event (returns at once)."""
        self.queue.put_nowait((regarding, notice))

    async def run(self) -> None:
        """One worker: post queued Events one at a time, forever."""
        while True:
            regarding, notice = await self.queue.get()
            await self.send(regarding, notice)

    async def send(self, regarding: events.Regarding, notice: notices.Notice) -> None:
        """Post one Event now, trying `ATTEMPTS` times; log (never raise) on failure."""
        body = events.build(
            regarding=regarding, type=notice.type, reason=notice.reason, action="Reconcile",
            note=notice.note, controller=events.OPERATOR, instance=self.instance,
            now=times.now(),
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
