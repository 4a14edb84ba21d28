"""Writing one VirtualIP's status, guarded by its epoch, and everything that follows from it.

The reconciler decides a pass and orders its writes (the move record first, then the statuses,
`reconciling`); this module does one status write. It is a JSON patch whose first op is a
``test`` of ``/status/epoch`` (`floatip.api.status.operator_patch`, docs/design/protocol.md),
so a replica that lost the leadership in the middle of a failover can never bump an epoch
twice. Around it the leader keeps its book (`trust.Book`) honest: the assignment counts as
sent before the request (it may land even if no answer comes) and is taken back only when the
API refused it. A landed write goes into the VirtualIP informer at once, then come its Events
and metrics: every move, and a forged assignment put back (``ForgedAssignment``).

A write that did not land says why (`Outcome`); the reconciler decides when to decide again.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from floatip import logs
from floatip.api import events, status
from floatip.kube import client, paths
from floatip_operator import informing, leadership, metrics, notices, posting, trust

log = logs.get(__name__)


class Outcome(enum.Enum):
    """What became of one status write."""

    WRITTEN = "written"
    NOT_LEADER = "not-leader"  # nothing sent: only the leader writes statuses
    GONE = "gone"  # the VirtualIP was deleted: dropped from the informer's cache
    UNANSWERED = "unanswered"  # no answer (it may still land): decide again on the next tick
    REFUSED = "refused"  # a lost race or another refusal: reread, decide again at once


class StatusWriter:
    """The leader's status writes, sharing the reconciler's book of its own writes."""

    def __init__(
        self,
        *,
        api: client.Api,
        vips: informing.Informer,
        elector: leadership.Elector,
        poster: posting.Poster,
        book: trust.Book,
    ) -> None:
        self.api = api
        self.vips = vips
        self.elector = elector
        self.poster = poster
        self.book = book

    async def write(
        self, body: Mapping[str, Any], new: dict[str, Any], verdict: trust.Verdict
    ) -> Outcome:
        """Write one status (leader only); on a lost race, refetch it."""
        name = str(body["metadata"]["name"])
        previous = body.get("status")
        ops = status.operator_patch(previous, new)
        if not self.elector.is_leader:
            return Outcome.NOT_LEADER
        writers = [] if verdict.trusted else await self._status_writers(name)
        key, term, assignment = trust.key_of(body), self.book.term, trust.found(new)
        unknown = self.book.sending(key, assignment, term=term)
        try:
            with self.poster.status_write():
                answer = await self.api.request(
                    "PATCH", paths.virtualip_status(name), body=ops, content_type=client.JSON_PATCH
                )
        except client.ApiError as exc:
            if exc.code and unknown:  # refused: it never landed
                self.book.refused(key, assignment, term=term)
            return await self._write_failed(name, exc)
        bumped = assignment.epoch > status.epoch(status.of(body))
        self.book.wrote(key, assignment, term=term, bumped=bumped)
        self.vips.put(answer)
        log.info("status written", vip=name, holder=new.get("holder"), epoch=new["epoch"])
        meta = answer["metadata"]
        regarding = events.Regarding(name, str(meta.get("uid") or ""), str(meta["resourceVersion"]))
        if not verdict.trusted:
            self._restored(name, regarding, verdict, assignment, writers)
        for notice in notices.notices(previous, new):
            if notice.move is not None:
                metrics.MOVES.labels(reason=notice.move.value).inc()
            log.info(
                "vip", vip=name, reason=notice.reason.value, note=notice.note, epoch=new["epoch"]
            )
            self.poster.post(regarding, notice)
        return Outcome.WRITTEN

    def _restored(
        self,
        name: str,
        regarding: events.Regarding,
        verdict: trust.Verdict,
        restored: trust.Assignment,
        writers: list[str],
    ) -> None:
        """A forged assignment was put back: one log line, the metric, the Warning Event."""
        metrics.FORGED.labels(finding=str(verdict.finding)).inc()
        log.warning(
            "forged assignment restored", vip=name, finding=str(verdict.finding),
            found_holder=verdict.found.holder, found_epoch=verdict.found.epoch,
            assigned_holder=verdict.assigned.holder, assigned_epoch=verdict.assigned.epoch,
            basis=verdict.basis.value, holder=restored.holder, epoch=restored.epoch,
            writers=writers,
        )  # fmt: skip
        self.poster.post(regarding, notices.forged(verdict, restored, writers))

    async def _status_writers(self, name: str) -> list[str]:
        """Who last wrote status.holder/epoch, per managedFields (the informers drop them)."""
        try:
            fresh = await self.api.request("GET", paths.virtualip(name))
        except client.ApiError as exc:
            log.info("managedFields not read", vip=name, error=str(exc))
            return []
        return trust.managers(fresh.get("metadata") or {})

    async def _write_failed(self, name: str, exc: client.ApiError) -> Outcome:
        if exc.not_found:
            self.vips.store.pop(name, None)
            return Outcome.GONE
        if not exc.code:
            metrics.ERRORS.labels(kind=metrics.ErrorKind.API.value).inc()
            log.warning("status write failed", vip=name, error=str(exc))
            return Outcome.UNANSWERED
        kind = metrics.ErrorKind.CONFLICT if exc.conflict else metrics.ErrorKind.API
        metrics.ERRORS.labels(kind=kind.value).inc()
        log.info("status write refused; rereading", vip=name, code=exc.code, error=str(exc))
        try:
            self.vips.put(await self.api.request("GET", paths.virtualip(name)))
        except client.ApiError as again:
            log.info("reread failed", vip=name, error=str(again))
        return Outcome.REFUSED
