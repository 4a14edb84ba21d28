"""The VirtualIPs that record Services' addresses, written for the Service loop (`servicewriting`).

A Service's address is a VirtualIP (`servicerecords` builds its body and patches): created
when the plan hands an address out, deleted when its Services let go of it, its Service list
(and sharing key) rewritten when a Service joins or leaves a shared address, and its spec
given its pool's edited template. Each write is the leader's only, lands in the VirtualIP
informer at once (so the next pass counts an address as taken before the watch brings it),
and says whether it landed; one that did not goes to the loop's ``failed`` (logged, counted,
decided again).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from floatip import logs
from floatip.api import services
from floatip.kube import client, paths
from floatip_operator import holdings, informing, leadership, memo, servicerecords

log = logs.get(__name__)

#: a write that did not land (what, which, the error) -> False: the loop's `_failed`, with its
#: default races (409, and 422 for a failed JSON-patch ``test``)
Failed = Callable[[str, str, client.ApiError], Awaitable[bool]]


class RecordWrites:
    """The Service loop's writes of its VirtualIPs."""

    def __init__(
        self,
        *,
        api: client.Api,
        pools: informing.Informer,
        vips: informing.Informer,
        elector: leadership.Elector,
        failed: Failed,
    ) -> None:
        self.api = api
        self.pools = pools
        self.vips = vips
        self.elector = elector
        self.failed = failed
        self._templates: memo.Memo[dict[str, Any] | None] = memo.Memo()

    async def create(self, new: holdings.NewVip) -> bool:
        """Create the VirtualIP that records a new address (its finalizer already on)."""
        if not self.elector.is_leader:
            return False
        body = servicerecords.vip_body(new)
        try:
            answer = await self.api.request("POST", paths.VIRTUALIPS, body=body)
        except client.ApiError as exc:
            return await self.failed("virtualip creation", new.name, exc)
        self.vips.put(answer)
        log.info(
            "service address allocated",
            service=",".join(new.services or (new.service,)),
            address=str(new.address),
            pool=new.pool,
            vip=new.name,
        )
        return True

    async def delete(self, name: str, why: str) -> bool:
        """Delete a VirtualIP whose Service let go of it (its finalizer releases the address)."""
        if not self.elector.is_leader:
            return False
        try:
            await self.api.request("DELETE", paths.virtualip(name))
        except client.ApiError as exc:
            if exc.not_found:
                return True
            return await self.failed("virtualip deletion", name, exc)
        log.info("service address released", vip=name, why=why)
        return True

    async def update(self, name: str, members: holdings.Members, unready: set[str]) -> bool:
        """Rewrite a VirtualIP's Services (a Service without floatip's finalizer yet joins at
        the next pass: it could be deleted meanwhile with nothing to take it off the list)."""
        body = self.vips.store.get(name)
        if body is None or not self.elector.is_leader:
            return False
        listed = services.listed(body["metadata"].get("annotations"))
        keys = tuple(k for k in members.services if k not in unready or k in listed)
        ops = servicerecords.members(body, members._replace(services=keys))
        if ops is None:
            return True
        if not await self._patch_vip(name, ops, client.JSON_PATCH, "virtualip services"):
            return False
        log.info("service address members", vip=name, services=",".join(keys))
        return True

    async def _patch_vip(self, name: str, patch: Any, content_type: str, what: str) -> bool:
        """One guarded patch of a VirtualIP this loop records; the answer goes to the cache."""
        try:
            answer = await self.api.request(
                "PATCH", paths.virtualip(name), body=patch, content_type=content_type
            )
        except client.ApiError as exc:
            return await self.failed(what, name, exc)
        self.vips.put(answer)
        return True

    def retemplate(
        self,
        pool_views: Iterable[holdings.PoolView],
        vip_views: Iterable[holdings.VipView],
        deleting: Mapping[str, str],
    ) -> list[Awaitable[bool]]:
        """The writes that give each pool's VirtualIPs its edited template."""
        pool_versions = {name: memo.version(body) for name, body in self.pools.store.items()}

        def patch_of(body: Mapping[str, Any], pool: holdings.PoolView) -> dict[str, Any] | None:
            name = str(body["metadata"].get("name"))
            seen = (memo.version(body), pool.name, pool_versions.get(pool.name))
            derive = functools.partial(servicerecords.template_patch, body, pool)
            return self._templates.get(name, seen, derive)

        found = servicerecords.retemplates(
            pool_views, vip_views, self.vips.store, deleting, patch_of=patch_of
        )
        self._templates.keep_only(self.vips.store)
        return [self._write_template(name, pool, patch) for name, pool, patch in found]

    async def _write_template(self, name: str, pool: str, patch: dict[str, Any]) -> bool:
        if not self.elector.is_leader:
            return False
        if not await self._patch_vip(name, patch, client.MERGE_PATCH, "virtualip template"):
            return False
        log.info("service address template", vip=name, pool=pool,
                 fields=",".join(sorted(patch["spec"])))  # fmt: skip
        return True
