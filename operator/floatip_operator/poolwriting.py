"""The pool loop: the leader writes each VirtualIPPool's status when, and only when, it changed.

Any change to a pool or a VirtualIP pokes the loop (both informers); changes within
``debounce_s`` (`DEBOUNCE_S` at least) are decided together, and every `FULL_PASS_EVERY_S` it
decides again anyway. A pass computes every pool's status at once (`poolstatuses`: overlaps
are between pools, and counts read every VirtualIP) and writes those that differ from the
stored ones: in steady state it writes nothing. It runs apart from the VirtualIP reconcile
loop, so pools never delay a failover.

Each write is a merge patch of ``/status`` carrying the ``resourceVersion`` read: a pool edited
since (or a status written by another replica) refuses it with 409, and the pass after the
reread decides again. Only the leader writes, and only once both caches are fully listed. A
landed write goes into the pool informer, then each condition that changed gets one log line
and one Event (`notices.pool_notices`), and each address that entered or left
``inUseOnWire`` one log line.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from floatip import logs
from floatip.api import events, names, status, times
from floatip.kube import client, paths
from floatip_operator import (
    informing,
    leadership,
    metrics,
    notices,
    passloop,
    poolstatuses,
    posting,
)

log = logs.get(__name__)

FULL_PASS_EVERY_S = 30.0  # a safety net: decide again now and then (writes only what changed)
#: Changes within this long are decided together (at least): a failover rewrites thousands of
#: VirtualIP statuses, each an informer change, and pool counts need not follow each one.
DEBOUNCE_S = 0.25


class PoolWriter:
    """Owns the pool loop; its informers, elector and poster are :mod:`runtime`'s."""

    def __init__(
        self,
        *,
        api: client.Api,
        pools: informing.Informer,
        vips: informing.Informer,
        elector: leadership.Elector,
        poster: posting.Poster,
        debounce_s: float,
    ) -> None:
        self.api = api
        self.pools = pools
        self.vips = vips
        self.elector = elector
        self.poster = poster
        self.parsed: dict[str, poolstatuses.ParsedPool] = {}
        self.loop = passloop.PassLoop(
            "pool", self.pass_once, debounce_s=debounce_s, idle_s=FULL_PASS_EVERY_S
        )

    def poke(self) -> None:
        self.loop.poke()

    async def run(self) -> None:
        await self.loop.run()

    def parse(self, body: Mapping[str, Any]) -> poolstatuses.ParsedPool:
        """The pool's parsed spec, kept while its generation does not change."""
        name = str(body["metadata"]["name"])
        cached = self.parsed.get(name)
        if cached is None or cached.generation != int(body["metadata"].get("generation") or 0):
            cached = self.parsed[name] = poolstatuses.parse_pool(body)
        return cached

    async def pass_once(self) -> None:
        """Compute every pool's status; write those that changed (leader only)."""
        if not self.elector.is_leader:
            metrics.set_pools({})  # the leader reports the pools: sum over replicas is right
            return
        if not (self.pools.synced.is_set() and self.vips.synced.is_set()):
            return
        bodies = {
            name: body
            for name, body in self.pools.store.items()
            if not body["metadata"].get("deletionTimestamp")
        }
        self.parsed = {name: p for name, p in self.parsed.items() if name in bodies}
        if not bodies:
            metrics.set_pools({})
            return
        parsed = [self.parse(body) for body in bodies.values()]
        vips = [
            vip
            for body in self.vips.store.values()
            if not body["metadata"].get("deletionTimestamp")
            and (vip := poolstatuses.vip_of(body)) is not None
        ]
        previous = {name: status.of(body) for name, body in bodies.items()}
        built = poolstatuses.build_all(previous, parsed, vips, now=times.timestamp(times.now()))
        metrics.set_pools(built)
        for name, new in built.items():
            if poolstatuses.changed(previous[name], new):
                await self.write(bodies[name], new)

    async def write(self, body: Mapping[str, Any], new: dict[str, Any]) -> bool:
        """Write one pool's status; False when it did not land (the pass after decides again)."""
        name = str(body["metadata"]["name"])
        previous = body.get("status")
        patch = poolstatuses.patch(previous, new, str(body["metadata"].get("resourceVersion")))
        if not self.elector.is_leader:
            return False
        try:
            answer = await self.api.request(
                "PATCH",
                paths.virtualippool_status(name),
                body=patch,
                content_type=client.MERGE_PATCH,
            )
        except client.ApiError as exc:
            await self._write_failed(name, exc)
            return False
        self.pools.put(answer)
        meta = answer["metadata"]
        regarding = events.Regarding(
            name, str(meta.get("uid") or ""), str(meta["resourceVersion"]), kind=names.POOL_KIND
        )
        for notice in notices.pool_notices(previous, new):
            log.info("pool", pool=name, reason=notice.reason.value, note=notice.note)
            self.poster.post(regarding, notice)
        _log_in_use_on_wire(name, previous, new)
        return True

    async def _write_failed(self, name: str, exc: client.ApiError) -> None:
        if exc.not_found:
            self.pools.store.pop(name, None)
            return
        if not exc.conflict:  # no answer, or refused (RBAC, ...): the next full pass tries again
            metrics.ERRORS.labels(kind=metrics.ErrorKind.API.value).inc()
            log.warning("pool status not written", pool=name, code=exc.code, error=str(exc))
            return
        metrics.ERRORS.labels(kind=metrics.ErrorKind.CONFLICT.value).inc()
        log.info("pool changed under its status write; rereading", pool=name)
        with contextlib.suppress(client.ApiError):
            self.pools.put(await self.api.request("GET", paths.virtualippool(name)))
        self.poke()


def _log_in_use_on_wire(
    name: str, previous: Mapping[str, Any] | None, new: Mapping[str, Any]
) -> None:
    """One line per address the pool starts or stops listing in ``inUseOnWire``."""
    before = {e.get("address"): e for e in (previous or {}).get("inUseOnWire") or []}
    after = {e.get("address"): e for e in new.get("inUseOnWire") or []}
    for address, entry in after.items():
        if address not in before:
            seen = {key: entry.get(key) for key in ("mac", "node", "since")}
            log.warning("pool address in use on the wire", pool=name, address=address, **seen)
    for address in before.keys() - after.keys():
        log.info("pool address in use on the wire forgotten", pool=name, address=address)
