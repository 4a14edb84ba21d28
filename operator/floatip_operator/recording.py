"""A reconcile pass's side of the move record: what it decides from, what it records, how long
its statuses wait behind the record.

The record (`moverecord`, protocol.md "The move record") is the one write a failover's
successors wait for. A pass decides from each VirtualIP's stored status, or from the recorded
move that status has not caught up with yet (`Recording.base`); it records the moves it
decides in one write (`Recording.write`), and its status writes follow behind the busiest
successor's takes (`follow_pause`).
"""

from __future__ import annotations

import collections
import time
from collections.abc import Mapping, Sequence
from typing import Any

from floatip import logs
from floatip.api import moves, status
from floatip.kube import client
from floatip_operator import informing, metrics, moverecord, placement, statuses, trust

log = logs.get(__name__)

#: After recording a failover, the statuses wait `follow_pause`: the successors take on the
#: record meanwhile, and 3k status writes (and the watch events every agent parses) do not
#: compete with their takes for the API server's and the nodes' CPU. Statuses still converge
#: within seconds; nothing waits for them.
FOLLOW_S = 0.5
#: ... plus this per take of the busiest successor (an agent takes one in 0.7-1 ms when 500
#: fail over to it at once, bench scale), up to `FOLLOW_MAX_S` in all.
FOLLOW_PER_TAKE_S = 0.001
FOLLOW_MAX_S = 2.0


def follow_pause(recorded: Sequence[moves.Move]) -> float:
    """Seconds the statuses of a recorded pass wait (0: no failover among its moves)."""
    takes = collections.Counter(m.holder for m in recorded if moves.is_failover(m))
    if not takes:
        return 0.0
    busiest = max(takes.values())
    return min(FOLLOW_MAX_S, FOLLOW_S + FOLLOW_PER_TAKE_S * busiest)


def moves_now(
    body: Mapping[str, Any],
    base: Mapping[str, Any],
    decisions: Mapping[str, placement.Decision],
    verdicts: Mapping[tuple[str, str], trust.Verdict],
) -> bool:
    """Whether this pass moves the VirtualIP (a new holder, or a restoration)."""
    decision = decisions.get(str(body["metadata"]["name"]))
    if not verdicts[trust.key_of(body)].trusted:
        return True
    return decision is not None and decision.node != status.holder(base)


class Recording:
    """The leader's record and its book of its own writes, as a pass uses them."""

    def __init__(
        self, *, record: moverecord.MoveRecord, book: trust.Book, vips: informing.Informer
    ) -> None:
        self.record = record
        self.book = book
        self.vips = vips

    def base(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        """The status to decide from: the stored one, or the recorded move it has not caught up
        with yet (its status write is still to land), which the book then counts as ours."""
        name, uid = trust.key_of(body)
        previous = status.of(body)
        move = self.record.newer(name, uid=uid, epoch=status.epoch(previous))
        if move is None:
            return previous
        self.book.sending(
            (name, uid), trust.Assignment(move.holder, move.epoch), term=self.book.term
        )
        return statuses.overlay(previous, move)

    def caught_up(self, move: moves.Move) -> bool:
        """Whether the record may drop ``move``: its VirtualIP is gone or its status has it."""
        body = self.vips.store.get(move.name)
        if body is None:
            return True
        uid = str(body["metadata"].get("uid") or "")
        return not moves.newer(move, uid=uid, epoch=status.epoch(status.of(body)))

    async def write(
        self, moved: list[moves.Move], *, full_pass: bool, began: float
    ) -> list[moves.Move] | None:
        """Write this pass's moves to the record (the one write successors wait for); return
        those it holds (all of them unless they overflow the record: `moverecord.BUDGET`).

        Without moves, a full pass prunes what the statuses caught up with. None when the
        record could not be written: then no status is written either (decide again soon).
        ``began``: the pass's start (perf_counter), for the log line's timings.
        """
        if not moved and not (full_pass and self.record.prunable(self.caught_up)):
            return []
        decided = time.perf_counter()
        try:
            moved = await self.record.record(moved, caught_up=self.caught_up)
        except client.ApiError as exc:
            metrics.ERRORS.labels(kind=metrics.ErrorKind.API.value).inc()
            log.warning("move record not written; deciding again", moves=len(moved), error=str(exc))
            return None
        for move in moved:
            assignment = trust.Assignment(move.holder, move.epoch)
            self.book.wrote((move.name, move.uid), assignment, term=self.book.term, bumped=True)
        if any(map(moves.is_failover, moved)):
            metrics.FAILOVER_CRITICAL_WRITES.inc()
        if moved:
            log.info(
                "moves recorded", moves=len(moved), pending=len(self.record.pending),
                decided_ms=round(1000 * (decided - began), 1),
                written_ms=round(1000 * (time.perf_counter() - decided), 1),
            )  # fmt: skip
        return moved
