"""The leader's side of the move record: write a pass's moves in one object, before statuses.

`floatip.api.moves` says what the record is and why it exists. Here: the leader keeps what the
record holds (`pending`) and its resourceVersion, and writes it whole, guarded by that
resourceVersion, so two replicas can never both add to it: the loser gets 409, reads it again
and decides again with what the other wrote. A new leader's first write (`fence`) re-writes
what it read; after that no write of the previous leader can land, and every move the previous
leader recorded is in `pending`, which the reconciler overlays on the statuses it decides from.

Only the I/O and the bookkeeping live here; which moves to record and which entries the
statuses have caught up with are the reconciler's questions (`caught_up`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from floatip import logs
from floatip.api import moves
from floatip.kube import client, paths
from floatip_operator import metrics

log = logs.get(__name__)

#: The record's size at most: a ConfigMap holds 1 MiB (kube-apiserver refuses more), and a
#: pass that assigns 10,000 new VirtualIPs at once must not be refused as a whole.
BUDGET = 768 * 1024


class MoveRecord:
    """The ConfigMap ``floatip-moves`` as the leader last read or wrote it."""

    def __init__(self, api: client.Api, *, namespace: str, identity: str) -> None:
        self.api = api
        self.namespace = namespace
        self.identity = identity
        self.pending: dict[str, moves.Move] = {}
        self.resource_version: str | None = None
        self.fenced_term: int | None = None  # the leadership term of our first write

    @property
    def path(self) -> str:
        return paths.configmap(self.namespace, moves.CONFIGMAP)

    def newer(self, name: str, *, uid: str, epoch: int) -> moves.Move | None:
        """The recorded move of this object newer than the status at ``epoch``, if any."""
        move = self.pending.get(name)
        return move if moves.newer(move, uid=uid, epoch=epoch) else None

    async def fence(self, term: int) -> None:
        """Read the record and write it back as this replica: the previous leader is out.

        Raises `client.ApiError` when the API refuses or does not answer (try again later).
        """
        if self.fenced_term == term:
            return
        await self.read()
        await self._write(self.pending.values(), kind="fence")
        self.fenced_term = term
        log.info("move record fenced", moves=len(self.pending), leader=self.identity)

    async def record(
        self, new: Iterable[moves.Move], *, caught_up: Callable[[moves.Move], bool]
    ) -> list[moves.Move]:
        """Write ``new`` moves, dropping those the statuses have caught up with; return the
        moves written. Failovers first, and only as many as fit in `BUDGET` bytes: a move left
        out is authorised by its status write alone, as before the record existed.

        Raises `client.ApiError`; on a 409 the record is read again first, so the caller's next
        pass decides from what the other writer recorded.
        """
        merged = {m.name: m for m in self.pending.values() if not caught_up(m)}
        room = BUDGET - sum(_size(m) for m in merged.values())
        fresh: list[moves.Move] = []
        for move in sorted(new, key=lambda m: not moves.is_failover(m)):
            room -= _size(move)
            if room < 0:
                break
            fresh.append(move)
        merged.update((m.name, m) for m in fresh)
        await self._write(merged.values(), kind="moves" if fresh else "prune")
        return fresh

    def prunable(self, caught_up: Callable[[moves.Move], bool]) -> bool:
        return any(caught_up(m) for m in self.pending.values())

    async def read(self) -> None:
        try:
            found: Mapping[str, Any] | None = await self.api.request("GET", self.path)
        except client.ApiError as exc:
            if not exc.not_found:
                raise
            found = None
        self.pending = moves.decode(found)
        self.resource_version = (
            None if found is None else str((found.get("metadata") or {}).get("resourceVersion"))
        )

    async def _write(self, entries: Iterable[moves.Move], *, kind: str) -> None:
        entries = list(entries)
        data = moves.encode(entries, leader=self.identity)
        try:
            if self.resource_version is None:
                answer = await self.api.request(
                    "POST",
                    paths.configmaps(self.namespace),
                    body=moves.body(self.namespace, data, resource_version=None),
                )
            else:
                answer = await self.api.request(
                    "PUT",
                    self.path,
                    body=moves.body(self.namespace, data, resource_version=self.resource_version),
                )
        except client.ApiError as exc:
            if exc.conflict or exc.not_found:  # another replica wrote or removed it
                log.info("move record changed under us; rereading", error=str(exc))
                await self.read()
            raise
        self.pending = {m.name: m for m in entries}
        self.resource_version = str((answer.get("metadata") or {}).get("resourceVersion"))
        metrics.RECORD_WRITES.labels(kind=kind).inc()


def _size(move: moves.Move) -> int:
    """About the bytes ``move`` takes in the record's JSON (its strings and the keys around)."""
    strings = (move.name, move.uid, move.holder or "", move.reason, move.previous or "")
    return sum(len(text) for text in strings) + len(move.time) + 80
