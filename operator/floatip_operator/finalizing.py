"""The finalizer ``floatip.io/release``: on every VirtualIP, removed once its address is released.

Deleting a VirtualIP removes the address everywhere before the object goes (DESIGN.md). The
leader adds the finalizer to each VirtualIP it sees without one (the Service loop creates its
VirtualIPs with it already on) and, for each VirtualIP being deleted, waits until
`deleting.release_state` says the holder released the address (or the delete timeout passed:
a ``ReleaseTimeout`` Warning), then removes it. Both writes are JSON
patches whose ``test`` names the finalizers read, so a concurrent change of the list (another
controller's finalizer) refuses the write and the next look reads it anew; the API server
refuses a finalizer added to an object already being deleted.

kopf did this with a deletion handler, and watched every VirtualIP to do it: its copy of
10,000 VirtualIPs, listed in one answer and handed to a worker each, took more of the
operator's memory than everything else it holds, and each replica added the finalizer. The
VirtualIP informer the reconciler keeps already shows which VirtualIP needs what.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from floatip import logs
from floatip.api import events, names, times
from floatip.kube import client, paths
from floatip_operator import deleting, informing, leadership, notices, posting

log = logs.get(__name__)

LOOK_EVERY_S = 1.0  # besides every change the informer sees
LOOK_GAP_S = 0.5  # at most two looks a second: a look reads every VirtualIP in the informer
ADD_BATCH = 32  # finalizer additions in flight at once
REMOVE_ATTEMPTS = 5

#: name, body, and since (monotonic): is that VirtualIP's address released? (`runtime`)
ReleaseState = Callable[[str, dict[str, Any], float], deleting.Release]


class Finalizer:
    """Adds and removes ``floatip.io/release`` for the leader; `run` is its loop."""

    def __init__(
        self,
        *,
        api: client.Api,
        vips: informing.Informer,
        elector: leadership.Elector,
        poster: posting.Poster,
        release_state: ReleaseState,
        timeout_s: float,
    ) -> None:
        self.api = api
        self.vips = vips
        self.elector = elector
        self.poster = poster
        self.release_state = release_state
        self.timeout_s = timeout_s
        self.poked = asyncio.Event()
        self.releasing: dict[str, asyncio.Task[None]] = {}
        self.adding: asyncio.Task[None] | None = None

    def poke(self) -> None:
        self.poked.set()

    def stop_releasing(self) -> None:
        """Leadership lost: another replica finishes the deletions (and the additions)."""
        for task in [*self.releasing.values(), *([self.adding] if self.adding else [])]:
            task.cancel()
        self.releasing.clear()
        self.adding = None

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.poked.wait(), timeout=LOOK_EVERY_S)
            self.poked.clear()
            if not self.elector.is_leader:
                self.stop_releasing()
                continue
            if self.vips.synced.is_set():
                self.look()
            await asyncio.sleep(LOOK_GAP_S)

    def look(self) -> None:
        """Start a release for each VirtualIP being deleted, and one task adding the finalizer
        where it is missing (unless one is still at work); returns at once."""
        missing = []
        for name, body in self.vips.store.items():
            meta = body["metadata"]
            held = meta.get("finalizers")
            if meta.get("deletionTimestamp"):
                if names.FINALIZER in (held or []) and name not in self.releasing:
                    task = asyncio.create_task(self._release(name, body), name=f"release-{name}")
                    self.releasing[name] = task
            elif names.FINALIZER not in (held or []):
                missing.append((name, held))
        if missing and (self.adding is None or self.adding.done()):
            self.adding = asyncio.create_task(self._add_all(missing), name="finalizers")

    async def _add_all(self, missing: list[tuple[str, list[str] | None]]) -> None:
        for start in range(0, len(missing), ADD_BATCH):
            batch = missing[start : start + ADD_BATCH]
            await asyncio.gather(*(self._add(name, held) for name, held in batch))

    async def _add(self, name: str, held: list[str] | None) -> None:
        ops = guarded(held, [*(held or []), names.FINALIZER])
        try:
            answer = await self.api.request(
                "PATCH", paths.virtualip(name), body=ops, content_type=client.JSON_PATCH
            )
        except client.ApiError as exc:  # changed meanwhile, or gone: the next look sees
            log.info("finalizer not added", vip=name, error=str(exc))
            return
        self.vips.put(answer)

    async def _release(self, name: str, body: dict[str, Any]) -> None:
        try:
            deleted = times.parse(body["metadata"].get("deletionTimestamp"))
            waited = 0.0 if deleted is None else (times.now() - deleted).total_seconds()
            begun = time.monotonic()
            result = await deleting.wait_released(
                name=name,
                state=lambda: self.release_state(name, body, begun),
                deadline=begun + max(0.0, self.timeout_s - max(0.0, waited)),
            )
            if not result.done:
                note = (
                    f"{result.why} gave up after {self.timeout_s:g} s; the VirtualIP is "
                    "deleted anyway (check that node for a stale address)"
                )
                regarding = events.Regarding(name, str(body["metadata"].get("uid") or ""))
                notice = notices.Notice(events.Type.WARNING, notices.Reason.RELEASE_TIMEOUT, note)
                await self.poster.send(regarding, notice)
            await self._remove(name)
        finally:
            self.releasing.pop(name, None)

    async def _remove(self, name: str) -> None:
        for attempt in range(REMOVE_ATTEMPTS):
            current = self.vips.store.get(name)
            if attempt or current is None:
                try:
                    current = await self.api.request("GET", paths.virtualip(name))
                except client.ApiError as exc:
                    if exc.not_found:
                        return
                    log.info("finalizer not removed", vip=name, error=str(exc))
                    await asyncio.sleep(0.2 * (attempt + 1))
                    continue
            held = current["metadata"].get("finalizers")
            if names.FINALIZER not in (held or []):
                return
            ops = guarded(held, [f for f in held if f != names.FINALIZER])
            try:
                await self.api.request(
                    "PATCH", paths.virtualip(name), body=ops, content_type=client.JSON_PATCH
                )
            except client.ApiError as exc:
                if exc.not_found:
                    return
                log.info("finalizer not removed", vip=name, error=str(exc))
                continue
            log.info("finalizer removed", vip=name)
            return


def guarded(held: list[str] | None, wanted: list[str]) -> list[dict[str, Any]]:
    """A JSON patch from the finalizers ``held`` (None: none) to ``wanted``, refused if they
    changed meanwhile (pure)."""
    return [
        {"op": "test", "path": "/metadata/finalizers", "value": held},
        {"op": "add", "path": "/metadata/finalizers", "value": wanted},
    ]
