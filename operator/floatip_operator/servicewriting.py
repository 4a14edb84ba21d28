"""The Service loop: the leader applies the allocation plan; the one writer of Services'
finalizers and statuses and of the VirtualIPs that record their addresses.

Any change to a Service, a pool, a VirtualIP or a namespace pokes the loop; changes within
``debounce_s`` are decided together, and every `FULL_PASS_EVERY_S` it decides again anyway. A
pass reads the four informers (all fully listed: a plan from half a list could hand out an
address that is taken) and asks `allocation.plan`, then writes, in this order:

1. for each Service it serves, side by side: floatip's finalizer, before any address is
   recorded for it (a Service deleted in between then still waits for its VirtualIPs to go),
   then at once the new VirtualIPs it is first to hold (each lands in the VirtualIP informer
   at once, so the next pass counts its address as taken even before the watch brings it). A
   new Service's address waits for its own finalizer, not for every other Service's;
2. once every finalizer was tried, beside those creates: the deletions the plan decided
   (VirtualIPs whose Service let go of them; their own finalizer releases the address on the
   node first; a create never takes an address a VirtualIP being deleted still has, as
   `allocation` counts those taken), the VirtualIPs whose Services changed (a Service joined
   or left a shared address: their `services.SERVICES_ANNOTATION` and sharing key, a JSON
   patch guarded by the list read) and those whose pool's template changed. A Service that
   left an address in use on the wire for another (`holdings.Plan.rechosen`) gets one log
   line and one ``AddressInUseOnWire`` Warning Event once its old VirtualIP's write landed;
3. each Service's status where it changed, once every VirtualIP it holds that this pass
   creates was tried: right after its own finalizer and creates, or, when it shares an address
   another Service creates in this pass, at the end of the pass (`servicestatuswriting`: in
   the background, so the next pass need not wait for them; a Service's first status waits a
   moment for its announcement, so one write says both). From then on the Service's result is
   offered again by the status loop (`offer_statuses`) whenever a VirtualIP or Service
   changes, also while a pass still waits for its writes: the announcements of a burst's first
   addresses reach their Services' statuses without waiting for the pass creating the rest;
4. for each Service floatip no longer serves (deleted, or no longer ``type: LoadBalancer`` of
   floatip's class) whose VirtualIPs are all gone: its status cleared (unless deleted), then
   its finalizer removed.

The VirtualIPs' writes are `servicerecordwriting`'s, the statuses `servicestatuswriting`'s.
In steady state nothing is written. Only the leader writes; a write that does not land is
logged and the next pass decides again. A pass's writes run side by side, at most
`WRITE_BATCH` in flight (`inflight`: a sliding window; the VirtualIP reconciler writes in
batches, which measured better for it); each Service's own writes stay in the order above.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from floatip import logs
from floatip.api import servicerequests, services, status
from floatip.kube import client, paths
from floatip_operator import (
    allocation,
    holdings,
    inflight,
    informing,
    leadership,
    metrics,
    passloop,
    posting,
    serviceinputs,
    servicerecords,
    servicerecordwriting,
    servicestatuses,
    servicestatuswriting,
)

log = logs.get(__name__)

FULL_PASS_EVERY_S = 30.0  # a safety net: decide again now and then (writes only what changed)
WRITE_BATCH = 32  # writes in flight at once
#: Changes within this long are decided together (at least): a failover rewrites many
#: VirtualIP statuses, and the Services' Announced conditions need not follow each one.
DEBOUNCE_S = 0.1


class ServiceWriter:
    """Owns the Service loop; its informers, elector and poster are :mod:`runtime`'s."""

    def __init__(
        self,
        *,
        api: client.Api,
        services_: informing.Informer,
        pools: informing.Informer,
        vips: informing.Informer,
        namespaces: informing.Informer,
        elector: leadership.Elector,
        poster: posting.Poster,
        default_class: bool,
        debounce_s: float,
    ) -> None:
        self.api = api
        self.services = services_
        self.pools = pools
        self.vips = vips
        self.namespaces = namespaces
        self.elector = elector
        self.poster = poster
        self.default_class = default_class
        self.loop = passloop.PassLoop(
            "service", self.pass_once, debounce_s=debounce_s, idle_s=FULL_PASS_EVERY_S
        )
        self.status_loop = passloop.PassLoop(
            "service status", self.offer_statuses, debounce_s=debounce_s, idle_s=FULL_PASS_EVERY_S
        )
        #: Each Service's request and result from the newest plan, once its own writes of that
        #: plan were tried: what the status loop offers again as its VirtualIPs change.
        self.offers: dict[str, tuple[servicerequests.Request, holdings.Result]] = {}
        #: The VirtualIPs as the newest plan read them: a result is offered again only while
        #: its Service and VirtualIPs read the same (an announcement does not change that).
        self.planned: dict[str, holdings.VipView] = {}
        self.window = asyncio.Semaphore(WRITE_BATCH)
        self.inputs = serviceinputs.Inputs(default_class=default_class)
        self.records = servicerecordwriting.RecordWrites(
            api=api, pools=pools, vips=vips, elector=elector, failed=self._failed
        )
        self.statuses = servicestatuswriting.StatusWrites(
            api=api, services=services_, vips=vips, elector=elector, poster=poster,
            poke=self.status_loop.poke, failed=self._failed,
        )  # fmt: skip

    def poke(self) -> None:
        self.loop.poke()
        self.status_loop.poke()

    async def run(self) -> None:
        try:
            await asyncio.gather(self.loop.run(), self.status_loop.run())
        finally:
            self.statuses.cancel()

    def ready(self) -> bool:
        informers = (self.services, self.pools, self.vips, self.namespaces)
        return self.elector.is_leader and all(i.synced.is_set() for i in informers)

    def idle(self) -> bool:
        """No Service, and no VirtualIP of one: nothing to allocate, write or let go. A cluster
        of plain VirtualIPs pokes this loop with every status change of each."""
        return not self.services.store and not any(
            services.listed(body["metadata"].get("annotations"))
            for body in self.vips.store.values()
        )

    async def offer_statuses(self) -> None:
        """Offer every Service's newest result again (`StatusWrites.offer` builds and writes
        only what changed since: a Service whose inputs did not change costs a lookup).

        A result stands only for what its plan read: a Service whose request, or a VirtualIP
        it holds whose view (`holdings.VipView`: its address, Services, a foreign host's answer
        to its probe...) changed since, waits for the next pass to decide again, which its
        change poked. An announcement changes no view."""
        if not self.ready():
            return
        for key, (request, result) in list(self.offers.items()):
            body = self.services.store.get(key)
            if body is None or self.inputs.request_of(key, body) != request:
                continue
            if all(self._as_planned(held.vip) for held in result.held):
                self.statuses.offer(body, request, result)

    def _as_planned(self, name: str) -> bool:
        view = self._view(name)
        return view is not None and view == self.planned.get(name)

    def _view(self, name: str) -> holdings.VipView | None:
        """The VirtualIP ``name`` as a pass reads it now (None: none, or no address)."""
        body = self.vips.store.get(name)
        return None if body is None else self.inputs.vip_view_of(name, body)

    async def pass_once(self) -> None:
        if not self.ready():
            self.offers.clear()  # a new term offers only what its own plans decided
            metrics.set_services(None)  # the leader reports them: a sum over replicas is right
            return
        if self.idle():
            self.offers.clear()
            self.statuses.forget_except(())
            metrics.set_services(None)
            return
        read = self.inputs.read(
            self.services.store, self.pools.store, self.vips.store, self.namespaces.store
        )
        ours, requests = read.ours, read.requests
        pool_views, vip_views = read.pool_views, read.vip_views
        plan = allocation.plan(requests.values(), pool_views, vip_views, read.namespaces)
        metrics.set_services(plan.tally(requests))
        self.planned = {view.name: view for view in vip_views}
        # A Service this plan decides otherwise waits for its own writes again before the
        # status loop offers it (the new result may name a VirtualIP not created yet).
        for key, (request, result) in list(self.offers.items()):
            if plan.results.get(key) != result or requests.get(key) != request:
                del self.offers[key]

        finalized = {key: asyncio.get_running_loop().create_future() for key in ours}
        creates: dict[str, list[holdings.NewVip]] = {}
        for new in plan.creates:
            creates.setdefault(new.service, []).append(new)
        creator = {new.name: new.service for new in plan.creates}
        self.statuses.forget_except(ours)

        # A Service's status (from its newest body) follows its own finalizer and creates at
        # once; one holding an address another Service creates in this pass waits for the pass.
        def offer(key: str, result: holdings.Result) -> None:
            self.offers[key] = (requests[key], result)
            self.statuses.offer(self.services.store.get(key, ours[key]), requests[key], result)

        early = {
            key: functools.partial(offer, key, result)
            for key, result in plan.results.items()
            if all(creator.get(held.vip, key) == key for held in result.held)
        }
        admits = (
            self._admit(k, body, creates.get(k, []), finalized, then=early.get(k))
            for k, body in ours.items()
        )
        await asyncio.gather(*admits, self._rewrite(plan, pool_views, vip_views, finalized))
        unready = {key for key, done in finalized.items() if not done.result()}
        for key, result in plan.results.items():
            if key not in unready and key not in early:
                offer(key, result)
        listed = {key for v in vip_views for key in v.services}
        await inflight.each(
            self.window,
            (
                self._let_go(body)
                for body in read.letting_go
                if servicerecords.service_key(body) not in listed
            ),
        )

    async def _admit(
        self,
        key: str,
        body: Mapping[str, Any],
        creates: Iterable[holdings.NewVip],
        finalized: Mapping[str, asyncio.Future[bool]],
        *,
        then: Callable[[], None] | None,
    ) -> None:
        """One Service's own sequence: floatip's finalizer, then at once the VirtualIPs it is
        first to hold (listing only the Services whose finalizer is on), then ``then`` (its
        status). Services run side by side, so a new Service's address waits for its own
        finalizer, not every other's, and a status for its own writes, not the whole pass's."""
        done = False
        try:
            ops = servicerecords.finalizers(body, add=True)
            if ops is None:
                done = True
            else:
                async with self.window:
                    done = await self._patch_service(body, ops)
        finally:
            finalized[key].set_result(done)
        if not done:
            return
        for new in creates:
            kept = [k for k in new.services if k not in finalized or await finalized[k]]
            async with self.window:
                created = await self.records.create(new._replace(services=tuple(kept)))
            if created and (view := self._view(new.name)) is not None:
                # as this plan meant it: the status loop may offer its Services
                self.planned[new.name] = view
        if then is not None:
            then()

    async def _rewrite(
        self,
        plan: holdings.Plan,
        pool_views: Iterable[holdings.PoolView],
        vip_views: Iterable[holdings.VipView],
        finalized: Mapping[str, asyncio.Future[bool]],
    ) -> None:
        """The deletions, member lists and templates the plan decided, once every Service's
        finalizer was tried (a member list names only Services whose finalizer is on)."""
        unready = {key for key, done in finalized.items() if not await done}
        landed = await inflight.each(
            self.window,
            [
                *(self.records.delete(name, why) for name, why in plan.deletes.items()),
                *(
                    self.records.update(name, members, unready)
                    for name, members in plan.updates.items()
                ),
                *self.records.retemplate(pool_views, vip_views, plan.deletes),
            ],
        )
        written = [*plan.deletes, *plan.updates]
        self._rechosen(
            plan, {name for name, done in zip(written, landed[: len(written)], strict=True) if done}
        )

    def _rechosen(self, plan: holdings.Plan, left: set[str]) -> None:
        """One log line and one Warning Event for each Service that left an address in use
        on the wire (``left``: the VirtualIPs whose deletion or member list landed)."""
        for key, moved in plan.rechosen.items():
            body = self.services.store.get(key)
            if moved.vip not in left or body is None:
                continue
            seen = moved.seen
            log.warning("service address in use on the wire, another chosen", service=key,
                        address=str(seen.address), mac=seen.mac, node=seen.node, vip=moved.vip,
                        chosen=str(moved.address), pool=moved.pool)  # fmt: skip
            self.poster.post(servicestatuses.regarding(body), servicestatuses.rechosen(moved))

    async def _patch_service(self, body: Mapping[str, Any], ops: list[dict[str, Any]]) -> bool:
        meta = body["metadata"]
        path = paths.service(meta["namespace"], meta["name"])
        try:
            answer = await self.api.request("PATCH", path, body=ops, content_type=client.JSON_PATCH)
        except client.ApiError as exc:
            return await self._failed("service finalizers", servicerecords.service_key(body), exc)
        self.services.put(answer)
        return True

    async def _let_go(self, body: Mapping[str, Any]) -> bool:
        """Clear floatip's status of a Service it no longer serves, then remove its finalizer."""
        previous = status.of(body)
        if not servicerequests.being_deleted(body):
            cleared = servicestatuses.released(previous)
            if servicestatuses.changed(previous, cleared):
                if not await self.statuses.put(body, cleared):
                    return False
                for notice in servicestatuses.service_notices(previous, cleared, holdings.Result()):
                    self.poster.post(servicestatuses.regarding(body), notice)
                body = self.services.store.get(servicerecords.service_key(body), body)
        ops = servicerecords.finalizers(body, add=False)
        if ops is None or not self.elector.is_leader:
            return True
        done = await self._patch_service(body, ops)
        if done:
            log.info("service let go", service=servicerecords.service_key(body))
        return done

    async def _failed(
        self, what: str, name: str, exc: client.ApiError, races: tuple[int, ...] = (409, 422)
    ) -> bool:
        """Log a write that did not land; decide again soon after a lost race (``races``: the
        codes that mean one; 422 is a failed JSON-patch ``test``), else at the next full pass."""
        race = exc.code in races
        kind = metrics.ErrorKind.CONFLICT if race else metrics.ErrorKind.API
        metrics.ERRORS.labels(kind=kind.value).inc()
        log.info("service write not applied", what=what, name=name, code=exc.code, error=str(exc))
        if race:  # decide again once the watch brings the news
            self.poke()
        return False
