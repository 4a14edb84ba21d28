"""The intake: what the API says of VirtualIPs, turned into nudges for their workers.

It lists and watches VirtualIPs (`floatip.kube.watching`), reads each object as an
`assignments.Assignment`, lets the `assignments.EpochBook` drop anything older than what was
seen (DESIGN.md safety 1), records the rest in the table and nudges the VirtualIP's worker
with it. A VirtualIP that is gone (deleted, or missing from a relist) becomes
``Reassigned(None)``. It also re-reads single VirtualIPs on request (`reread`: a peer claimed
an address this node holds) through the same path, so there is one way in for every word of
the API. It never acts on a VirtualIP itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import structlog

from floatip.kube import client, paths, watching
from floatip_agent import assignments, nudges, table

log = structlog.get_logger(__name__)

Nudge = Callable[[str, nudges.Nudge], None]


class Intake:
    """VirtualIP objects in, `nudges.Reassigned` out."""

    def __init__(
        self,
        *,
        api: client.Api,
        assigned: table.Table,
        nudge: Nudge,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.api = api
        self.table = assigned
        self.nudge = nudge
        self.on_change = on_change
        self.book = assignments.EpochBook()
        self._rereads: set[str] = set()
        self._background: set[asyncio.Task[None]] = set()

    def accept(self, obj: Mapping[str, Any]) -> assignments.Assignment | None:
        """Record ``obj``'s assignment if it is valid and not older than what was seen."""
        parsed = assignments.parse(obj)
        if isinstance(parsed, assignments.Invalid):
            log.info("vip-skipped", vip=parsed.name, problem=parsed.problem)
            return None
        if not self.book.accept(parsed):
            log.info("stale-epoch-ignored", vip=parsed.name, epoch=parsed.epoch,
                     newest=self.book.newest(parsed.name))  # fmt: skip
            return None
        self.table.assign(parsed)
        return parsed

    def listed(self, objects: Iterable[Mapping[str, Any]]) -> list[assignments.Assignment]:
        """A whole list: accept each, and every VirtualIP it no longer has is gone."""
        objects = list(objects)
        present = {str((o.get("metadata") or {}).get("name") or "") for o in objects}
        for name in [n for n in self.table.assignments if n not in present]:
            self.gone(name)
        accepted = [a for obj in objects if (a := self.accept(obj)) is not None]
        for assignment in accepted:
            self.nudge(assignment.name, nudges.Reassigned(assignment))
        self.on_change()
        return accepted

    def changed(self, obj: Mapping[str, Any]) -> None:
        accepted = self.accept(obj)
        if accepted is not None:
            self.nudge(accepted.name, nudges.Reassigned(accepted))
            self.on_change()

    def gone(self, name: str) -> None:
        if not name:
            return
        self.book.forget(name)
        self.table.forget(name)
        self.nudge(name, nudges.Reassigned(None))
        self.on_change()

    async def run(self) -> None:
        """List and watch VirtualIPs forever."""
        async for event in watching.list_and_watch(
            self.api, paths.VIRTUALIPS, on_error=self._failed
        ):
            if isinstance(event, watching.Listed):
                self.listed(event.objects)
            elif event.type == "DELETED":
                self.gone(str((event.object.get("metadata") or {}).get("name") or ""))
            else:
                self.changed(event.object)

    @staticmethod
    def _failed(error: client.ApiError) -> None:
        log.warning("vip-watch-failed", error=str(error))

    def reread(self, name: str) -> None:
        """Read VirtualIP ``name`` again soon (once, however often asked meanwhile)."""
        if name in self._rereads:
            return
        self._rereads.add(name)
        task = asyncio.create_task(self._reread(name), name=f"reread-{name}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _reread(self, name: str) -> None:
        try:
            obj = await self.api.request("GET", paths.virtualip(name))
        except client.ApiError as exc:
            if exc.not_found:
                self.gone(name)
            else:
                log.warning("vip-reread-failed", vip=name, error=str(exc))
            return
        finally:
            self._rereads.discard(name)
        self.changed(obj)
