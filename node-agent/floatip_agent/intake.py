"""The intake: what the API says of VirtualIPs, turned into nudges for their workers.

It lists and watches VirtualIPs (`floatip.kube.watching`), reads each object as an
`assignments.Assignment`, lets the `assignments.EpochBook` drop anything older than what was
seen (DESIGN.md safety 1), records the rest in the table and nudges the VirtualIP's worker
with it. A VirtualIP that is gone (deleted, or missing from a relist) becomes
``Reassigned(None)``. It also watches the operator's move record (`floatip.api.moves`): a
recorded move newer than a VirtualIP's status is read as that VirtualIP's assignment
(`assignments.moved`), so every successor of a failed node acts on the one write that recorded
its moves, not on its own status write one by one. It also re-reads single VirtualIPs on
request (`reread`: a peer claimed an address this node holds) through the same path, so there
is one way in for every word of the API. A word about a member of a group (``spec.group``) also
nudges the group's other members held here (`nudges.GroupMoved`). It never acts on a VirtualIP
itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import structlog

from floatip.api import moves
from floatip.kube import client, paths, watching
from floatip_agent import assignments, decisions, nudges, table

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
        namespace: str,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.moves: dict[str, moves.Move] = {}
        self.table = assigned
        self.nudge = nudge
        self.on_change = on_change
        self.book = assignments.EpochBook()
        self.specs = assignments.Specs()
        self._rereads: set[str] = set()
        self._background: set[asyncio.Task[None]] = set()

    def read(self, obj: Mapping[str, Any]) -> assignments.Assignment | assignments.Invalid:
        """``obj``'s assignment, with a newer recorded move applied."""
        parsed = assignments.parse(obj, self.specs)
        if isinstance(parsed, assignments.Invalid):
            return parsed
        return assignments.moved(parsed, self.moves.get(parsed.name))

    def accept(self, obj: Mapping[str, Any]) -> assignments.Assignment | None:
        """Record ``obj``'s assignment if it is valid and not older than what was seen."""
        parsed = self.read(obj)
        if isinstance(parsed, assignments.Invalid):
            log.info("vip-skipped", vip=parsed.name, problem=parsed.problem)
            return None
        return self._accepted(parsed)

    def _accepted(self, parsed: assignments.Assignment) -> assignments.Assignment | None:
        if not self.book.accept(parsed):
            log.info("stale-epoch-ignored", vip=parsed.name, epoch=parsed.epoch,
                     newest=self.book.newest(parsed.name))  # fmt: skip
            return None
        self.table.assign(parsed)
        self._tell_group(parsed)
        return parsed

    def _tell_group(self, member: assignments.Assignment) -> None:
        """Once the new holder announced every member of ``member``'s group held here (or
        nothing is left to wait for), nudge their workers: one waiting to hand its address
        over may go. Looks only at the group's members held here, and nudges only then: a
        large group's move does not wake each of its members once per member."""
        if member.group is None or not decisions.handed_over(member):
            return
        peers = [n for n in self.table.group_held(member.group) if n != member.name]
        assigned = self.table.assignments
        if peers and all(decisions.handed_over(assigned[n]) for n in peers):
            for name in peers:
                self.nudge(name, nudges.GroupMoved(member.name))

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
        self.specs.forget(name)
        self.table.forget(name)
        self.nudge(name, nudges.Reassigned(None))
        self.on_change()

    def recorded(self, configmap: Mapping[str, Any] | None) -> None:
        """The move record changed: every VirtualIP it moves past its status is reassigned."""
        self.moves = moves.decode(configmap)
        reassigned = 0
        for name, move in self.moves.items():
            current = self.table.assignments.get(name)
            if current is None or not moves.newer(move, uid=current.uid, epoch=current.epoch):
                continue  # unknown here yet (its object brings it), or the status caught up
            accepted = self._accepted(assignments.moved(current, move))
            if accepted is not None:
                reassigned += 1
                self.nudge(name, nudges.Reassigned(accepted))
        if reassigned:
            log.info("moves-recorded", reassigned=reassigned, recorded=len(self.moves))
            self.on_change()

    async def read_record(self) -> None:
        """Read the move record once (at start); without it the statuses still say it all."""
        try:
            found = await self.api.request("GET", paths.configmap(self.namespace, moves.CONFIGMAP))
        except client.ApiError as exc:
            if not exc.not_found and not exc.refused:
                raise
            if exc.refused:
                log.warning("move-record-unreadable", error=str(exc),
                            note="moves reach this node by each VirtualIP's status only: "
                            "give the agent get/list/watch on configmaps (chart RBAC)")  # fmt: skip
            found = None
        self.recorded(found)

    async def run(self) -> None:
        """List and watch VirtualIPs and the move record forever."""
        await asyncio.gather(self._watch_vips(), self._watch_record())

    async def _watch_record(self) -> None:
        async for event in watching.list_and_watch(
            self.api, paths.configmaps(self.namespace), on_error=self._failed
        ):
            if isinstance(event, watching.Listed):
                named = [o for o in event.objects if _name(o) == moves.CONFIGMAP]
                self.recorded(named[0] if named else None)
            elif _name(event.object) == moves.CONFIGMAP:
                self.recorded(None if event.type == "DELETED" else event.object)

    async def _watch_vips(self) -> None:
        async for event in watching.list_and_watch(
            self.api, paths.VIRTUALIPS, on_error=self._failed
        ):
            if isinstance(event, watching.Listed):
                self.listed(event.objects)
            elif event.type == "DELETED":
                self.gone(_name(event.object))
            else:
                self.changed(event.object)

    @staticmethod
    def _failed(error: client.ApiError) -> None:
        log.warning("watch-failed", path=error.path, error=str(error))

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


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")
