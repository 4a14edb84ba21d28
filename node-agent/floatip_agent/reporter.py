"""The one queue through which the agent writes to the API: status reports and Events.

Every component that has something to tell the cluster hands it to the `Reporter` and goes
on; nothing on the critical path waits for the API (like kopf's Event poster). What it sends
(docs/design/protocol.md): ``status.announcement`` and ``status.conflict`` as JSON merge
patches on ``/status`` naming only that key (`floatip.api.status`), and ``events.k8s.io/v1``
Events (`floatip.api.events`).

- Deduplicated: one pending value per (VirtualIP, key); a newer value replaces a queued one,
  so a burst of conflict updates costs one write. Identical pending Events are sent once.
- Rate-limited: a conflict report is written at most once a second per VirtualIP; Events go
  out through a token bucket (burst `EVENT_BURST`, then `EVENT_RATE` a second).
- Bounded: `WRITERS` status writes in flight at once; an announcement is tried
  `ANNOUNCEMENT_ATTEMPTS` times (the old holder of a planned move waits for it).
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Callable
from typing import Any

import structlog

from floatip.api import events, model, status, times
from floatip.kube import client, paths
from floatip_agent import problems, ratelimit

log = structlog.get_logger(__name__)

WRITERS = 8
ANNOUNCEMENT_ATTEMPTS = 5
CONFLICT_SPACING = 1.0  # seconds between two conflict writes of one VirtualIP
EVENT_BURST = 20
EVENT_RATE = 5.0


class Field(enum.StrEnum):
    """The status keys the agent owns (`floatip.api.status.AGENT_FIELDS`)."""

    ANNOUNCEMENT = "announcement"
    CONFLICT = "conflict"


Key = tuple[str, Field]


class Reporter:
    """Queues of status reports and Events for one node's agent; `run` sends them."""

    def __init__(
        self,
        api: client.Api,
        *,
        node: str,
        retry_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.node = node
        self.retry_seconds = retry_seconds
        self.clock = clock
        self._pending: dict[Key, dict[str, Any]] = {}
        self._keys: asyncio.Queue[Key] = asyncio.Queue()
        self._not_before: dict[Key, float] = {}
        self._writing: set[Key] = set()  # never two writes of one key at once: order holds
        self._events: asyncio.Queue[tuple[tuple[str, str, str], dict[str, Any]]] = asyncio.Queue()
        self._queued_events: set[tuple[str, str, str]] = set()
        self._bucket = ratelimit.TokenBucket(capacity=EVENT_BURST, rate=EVENT_RATE, clock=clock)

    # -- what the components hand over ----------------------------------------------------------

    def announcement(self, name: str, announced: model.Announcement) -> None:
        """This node announced VirtualIP ``name``: write ``status.announcement``."""
        self._put((name, Field.ANNOUNCEMENT), status.announcement_patch(announced))

    def conflict(self, name: str, report: model.ConflictReport | None) -> None:
        """Write (or clear, with None) ``status.conflict`` of VirtualIP ``name``."""
        self._put((name, Field.CONFLICT), status.conflict_patch(report))

    def event(
        self,
        regarding: events.Regarding,
        *,
        reason: problems.Reason,
        action: problems.Action,
        note: str,
    ) -> None:
        """Post an Event about a VirtualIP (Warning for every agent reason: each is a problem)."""
        key = (regarding.name, reason.value, note)
        if key in self._queued_events:
            return
        self._queued_events.add(key)
        self._events.put_nowait(
            (key, events.build(
                regarding=regarding, type=events.Type.WARNING, reason=reason, action=action,
                note=note, controller=events.AGENT, instance=f"{events.AGENT}-{self.node}",
                now=times.now(),
            ))
        )  # fmt: skip

    def _put(self, key: Key, patch: dict[str, Any]) -> None:
        if key not in self._pending:
            self._keys.put_nowait(key)
        self._pending[key] = patch

    # -- sending --------------------------------------------------------------------------------

    async def run(self) -> None:
        """Send forever: `WRITERS` status writers and one Event poster."""
        await asyncio.gather(*(self._write_loop() for _ in range(WRITERS)), self._post_loop())

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            key = await self._keys.get()
            wait = self._not_before.get(key, 0.0) - self.clock()
            if key in self._writing:  # an older value of it is on its way: after that one
                wait = max(wait, CONFLICT_SPACING / 10)
            if wait > 0:  # too soon after the last write of this key: come back then
                loop.call_later(wait, self._keys.put_nowait, key)
                continue
            patch = self._pending.pop(key, None)
            if patch is None:
                continue
            name, field = key
            self._writing.add(key)
            try:
                if field is Field.CONFLICT:
                    self._not_before[key] = self.clock() + CONFLICT_SPACING
                    await self._write(name, patch, attempts=1, what="conflict")
                else:
                    await self._write(
                        name, patch, attempts=ANNOUNCEMENT_ATTEMPTS, what="announcement"
                    )
            finally:
                self._writing.discard(key)

    async def _write(self, name: str, patch: dict[str, Any], *, attempts: int, what: str) -> None:
        for attempt in range(attempts):
            try:
                await self.api.request(
                    "PATCH", paths.virtualip_status(name), body=patch,
                    content_type=client.MERGE_PATCH,
                )  # fmt: skip
            except client.ApiError as exc:
                log.warning(f"{what}-write-failed", vip=name, error=str(exc))
                if exc.not_found or exc.refused or attempt == attempts - 1:
                    return
                await asyncio.sleep(self.retry_seconds)
            else:  # an announcement is a state change; a conflict's new count is not
                emit = log.info if what == "announcement" else log.debug
                emit(f"{what}-written", vip=name, **patch["status"][what] or {})
                return

    async def _post_loop(self) -> None:
        while True:
            key, body = await self._events.get()
            self._queued_events.discard(key)
            delay = self._bucket.wait_time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._bucket.try_take()
            try:
                await self.api.request("POST", events.path(), body=body)
            except client.ApiError as exc:
                log.warning(
                    "event-failed", vip=body["regarding"]["name"], reason=body["reason"],
                    error=str(exc),
                )  # fmt: skip
