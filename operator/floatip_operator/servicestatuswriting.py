"""Floatip Services' statuses, written in the background for the Service loop (`servicewriting`).

A pass of the Service loop decides each Service's status (`servicestatuses.build`) and hands
it to `StatusWrites.offer`, which writes it only where it changed, in a task of its own: the
pass does not wait, so a burst of status writes never holds up the next pass's finalizers and
VirtualIPs (new Services wait for their address, not for every other Service's status); they
go out at most `STATUS_BATCH` at a time, a window of their own beside the pass's. Each write
is a merge patch guarded by the ``resourceVersion`` read, the Service's Events posted once it
landed.

A Service whose status was found unchanged is not built again until its body, one of its
VirtualIPs or its allocation changes (`memo`). One write per Service at a time: a pass
meanwhile leaves the Service out, and the loop is poked again when that write is done, so its
status is decided again from the newest state.
A Service's first status waits up to `FIRST_STATUS_WAIT_S` while it says only "allocated,
announcement pending" (`servicestatuses.first_news`), so one write normally carries the ingress
and both conditions; the loop is poked when the wait is over. A status held back is not built
again from the same inputs before then.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Container, Mapping
from typing import Any

from floatip import logs
from floatip.api import servicerequests, status, times
from floatip.kube import client, paths
from floatip_operator import (
    holdings,
    informing,
    leadership,
    memo,
    posting,
    servicerecords,
    servicestatuses,
)

log = logs.get(__name__)

STATUS_BATCH = 32  # status writes in flight at once (beside the pass's own `WRITE_BATCH`)
FIRST_STATUS_WAIT_S = 5.0  # how long a first status waits for the announcement

Failed = Callable[[str, str, client.ApiError, tuple[int, ...]], Awaitable[bool]]


class StatusWrites:
    """The Services' status writes in flight, and the first statuses waiting."""

    def __init__(
        self,
        *,
        api: client.Api,
        services: informing.Informer,
        vips: informing.Informer,
        elector: leadership.Elector,
        poster: posting.Poster,
        poke: Callable[[], None],
        failed: Failed,
    ) -> None:
        self.api = api
        self.services = services
        self.vips = vips
        self.elector = elector
        self.poster = poster
        self.poke = poke
        self.failed = failed
        self.window = asyncio.Semaphore(STATUS_BATCH)
        self.writing: set[str] = set()
        self.skipped: set[str] = set()  # left out by a pass while their write was in flight
        self.waiting: dict[str, float] = {}  # first statuses held back, since (monotonic)
        #: What each first status held back was decided from: the same inputs again decide the
        #: same (held back, until the wait is over), so no new build while a burst's hundreds
        #: of new Services wait for their announcements.
        self.holding: dict[str, tuple[Any, ...]] = {}
        #: What each Service's unchanged status was last decided from (`memo`): the same
        #: Service, VirtualIPs and allocation again decide the same status, so no new build.
        self.settled: dict[str, tuple[Any, ...]] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    def cancel(self) -> None:
        for task in self.tasks:
            task.cancel()

    def forget_except(self, keys: Container[str]) -> None:
        """Drop the waits of Services floatip no longer serves."""
        for key in [k for k in self.waiting if k not in keys]:
            del self.waiting[key]
        for key in [k for k in self.settled if k not in keys]:
            del self.settled[key]
        for key in [k for k in self.holding if k not in keys]:
            del self.holding[key]

    def offer(
        self, body: Mapping[str, Any], request: servicerequests.Request, result: holdings.Result
    ) -> None:
        """Start writing the Service's status in the background, if it changed (and unless
        its write is in flight, or its first status is still worth holding back)."""
        key = request.key
        if key in self.writing:
            self.skipped.add(key)
            return
        held = tuple(memo.version(self.vips.store.get(h.vip) or {}) for h in result.held)
        inputs = (memo.version(body), held, result)
        known = None not in inputs and None not in held
        if known and self.settled.get(key) == inputs:
            return
        since = self.waiting.get(key)
        waited = time.monotonic() - since if since is not None else FIRST_STATUS_WAIT_S
        if known and self.holding.get(key) == inputs and waited < FIRST_STATUS_WAIT_S:
            return
        self.settled.pop(key, None)
        self.holding.pop(key, None)
        previous = status.of(body)
        new = servicestatuses.build(
            previous,
            result,
            request.families,
            self.vips.store,
            generation=int(body["metadata"].get("generation") or 0),
            now=times.timestamp(times.now()),
        )
        if not servicestatuses.changed(previous, new):
            self.waiting.pop(key, None)
            self.settled[key] = inputs
            return
        if servicestatuses.first_news(previous, new):
            now = time.monotonic()
            if key not in self.waiting:
                self.waiting[key] = now
                asyncio.get_running_loop().call_later(FIRST_STATUS_WAIT_S, self.poke)
            if now - self.waiting[key] < FIRST_STATUS_WAIT_S:
                self.holding[key] = inputs
                return
        self.waiting.pop(key, None)
        self.writing.add(key)
        task = asyncio.create_task(self._write(body, request, previous, new, result))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _write(
        self,
        body: Mapping[str, Any],
        request: servicerequests.Request,
        previous: Mapping[str, Any] | None,
        new: Mapping[str, Any],
        result: holdings.Result,
    ) -> None:
        try:
            async with self.window:
                written = await self.put(body, new)
            if written:
                for notice in servicestatuses.service_notices(previous, new, result):
                    log.info("service", service=request.key, reason=notice.reason.value,
                             note=notice.note)  # fmt: skip
                    self.poster.post(servicestatuses.regarding(body), notice)
        finally:
            self.writing.discard(request.key)
            if request.key in self.skipped:
                self.skipped.discard(request.key)
                self.poke()

    async def put(self, body: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
        """The guarded merge patch of the Service's ``status`` (the leader's only)."""
        if not self.elector.is_leader:
            return False
        meta = body["metadata"]
        patch = servicestatuses.patch(new, str(meta.get("resourceVersion")))
        try:
            with self.poster.status_write():
                answer = await self.api.request(
                    "PATCH",
                    paths.service_status(meta["namespace"], meta["name"]),
                    body=patch,
                    content_type=client.MERGE_PATCH,
                )
        except client.ApiError as exc:
            return await self.failed(
                "service status", servicerecords.service_key(body), exc, (409,)
            )
        self.services.put(answer)
        return True
