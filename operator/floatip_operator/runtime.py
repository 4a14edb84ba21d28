"""Wiring: one :class:`Runtime` per operator process, its tasks started and stopped by kopf.

Builds the API client, the informers (EndpointSlices among them, slimmed to what
externalTrafficPolicy Local reads: `endpoints`), the poller, the leader elector, the Event
poster, the reconcile loop, the pool loop, the Service loop and the finalizer from
:class:`options.Options`, and answers the
finalizer's question (is this VirtualIP's address released yet?) from their state.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from floatip import logs
from floatip.api import leases, status
from floatip.kube import client, paths
from floatip_operator import (
    deleting,
    endpoints,
    finalizing,
    informing,
    leadership,
    metrics,
    moverecord,
    options,
    polling,
    poolwriting,
    posting,
    reconciling,
    servicerecords,
    servicewriting,
)

log = logs.get(__name__)


class Runtime:
    def __init__(self, opts: options.Options, api: client.Api) -> None:
        self.options = opts
        self.api = api
        self.contact = informing.Contact()
        self.tasks: list[asyncio.Task[None]] = []

        def changed() -> None:
            self.reconciler.poke()
            self.finalizer.poke()

        def vips_changed() -> None:
            changed()
            self.pool_writer.poke()  # counts and overlaps read every VirtualIP's address
            self.service_writer.poke()  # addresses taken; Services' Announced conditions

        self.vips = informing.Informer(
            api, paths.VIRTUALIPS, on_change=vips_changed, contact=self.contact
        )

        def pools_changed() -> None:
            self.pool_writer.poke()
            self.service_writer.poke()

        def services_changed() -> None:
            self.service_writer.poke()
            self.reconciler.endpoints_changed()  # a Service's externalTrafficPolicy

        def namespaces_changed() -> None:
            self.service_writer.poke()  # pools' namespaceSelector

        def slices_changed() -> None:
            self.reconciler.endpoints_changed()

        # No Contact: pools failing to list (no pool CRD, an older ClusterRole) is no outage,
        # nor are Services or namespaces (a ClusterRole from before Services).
        self.pools = informing.Informer(
            api, paths.VIRTUALIPPOOLS, on_change=pools_changed, contact=None
        )
        self.services = informing.Informer(
            api,
            paths.SERVICES,
            on_change=services_changed,
            contact=None,
            key=servicerecords.service_key,
        )
        self.namespaces = informing.Informer(
            api, paths.NAMESPACES, on_change=namespaces_changed, contact=None
        )
        self.slices = informing.Informer(
            api,
            paths.ENDPOINTSLICES,
            on_change=slices_changed,
            contact=None,
            key=servicerecords.service_key,
            shape=endpoints.slim,
        )
        self.nodes = informing.Informer(api, paths.NODES, on_change=changed, contact=self.contact)
        self.leases = informing.Informer(
            api,
            paths.leases(opts.namespace),
            on_change=changed,
            contact=self.contact,
            keep=lambda obj: leases.node_of(obj) is not None,
        )
        self.poller = polling.Poller(opts.policy, on_change=changed)

        def leadership_changed(leader: bool) -> None:
            metrics.LEADER.set(1 if leader else 0)
            self.reconciler.book.reset(now=time.monotonic())  # another may have written since
            if leader:
                self.reconciler.last_nodes = None
                self.reconciler.poke()
                self.finalizer.poke()
                self.pool_writer.poke()
                self.service_writer.poke()
            else:
                self.finalizer.stop_releasing()
                metrics.set_pools({})  # the new leader reports the pools and the Services
                metrics.set_services(None)

        self.elector = leadership.Elector(
            api,
            opts.namespace,
            opts.identity,
            duration_s=opts.leader_lease_seconds,
            on_change=leadership_changed,
        )
        self.poster = posting.Poster(api, instance=opts.identity)
        self.reconciler = reconciling.Reconciler(
            api=api,
            vips=self.vips,
            nodes=self.nodes,
            leases=self.leases,
            poller=self.poller,
            elector=self.elector,
            contact=self.contact,
            poster=self.poster,
            record=moverecord.MoveRecord(api, namespace=opts.namespace, identity=opts.identity),
            debounce_s=opts.debounce_seconds,
            services_=self.services,
            slices=self.slices,
        )
        self.pool_writer = poolwriting.PoolWriter(
            api=api,
            pools=self.pools,
            vips=self.vips,
            elector=self.elector,
            poster=self.poster,
            debounce_s=max(opts.debounce_seconds, poolwriting.DEBOUNCE_S),
        )
        self.service_writer = servicewriting.ServiceWriter(
            api=api,
            services_=self.services,
            pools=self.pools,
            vips=self.vips,
            namespaces=self.namespaces,
            elector=self.elector,
            poster=self.poster,
            default_class=opts.services_default_class,
            debounce_s=max(opts.debounce_seconds, servicewriting.DEBOUNCE_S),
        )
        self.finalizer = finalizing.Finalizer(
            api=api,
            vips=self.vips,
            elector=self.elector,
            poster=self.poster,
            release_state=lambda name, body, since: self.release_state(name, body, since=since),
            timeout_s=opts.delete_timeout_seconds,
        )

    def start(self) -> None:
        metrics.LEADER.set(0)
        metrics.serve(port=self.options.metrics_port, host=self.options.metrics_host)
        for job in (
            self.vips.run(),
            self.nodes.run(),
            self.leases.run(),
            self.pools.run(),
            self.services.run(),
            self.namespaces.run(),
            self.slices.run(),
            self.elector.run(),
            self.reconciler.run(),
            self.pool_writer.run(),
            self.service_writer.run(),
            self.finalizer.run(),
            *(self.poster.run() for _ in range(posting.WORKERS)),
        ):
            self.tasks.append(asyncio.create_task(job))

    async def stop(self) -> None:
        self.finalizer.stop_releasing()
        await self.elector.release()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.poller.close()
        await self.api.close()

    def release_state(self, name: str, body: dict[str, Any], *, since: float) -> deleting.Release:
        """Whether the VirtualIP ``name`` (being deleted) no longer holds its address.

        Only agent reports polled after ``since`` (monotonic; when the wait began) count.
        """
        current = status.of(self.vips.store.get(name, body))
        holder = status.holder(current)
        nodes = self.reconciler.node_views(self.reconciler.agent_leases())
        node = nodes.get(holder) if holder else None
        alive = node is not None and node.reachable and holder in self.poller.states()
        reports = self.poller.holds(holder, name, since=since) if holder else None
        return deleting.release_state(current, holder_alive=alive, holder_reports_it=reports)
