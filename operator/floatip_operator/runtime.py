"""Wiring: one :class:`Runtime` per operator process, its tasks started and stopped by kopf.

Builds the API client, the three informers, the prober, the leader elector and the reconcile
loop from :class:`options.Options`, and answers the deletion handler's question (is this
VirtualIP's address released yet?) from their state.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from floatip import logs
from floatip_operator import (
    deleting,
    informing,
    kube,
    leadership,
    metrics,
    options,
    probing,
    reconciling,
    views,
)

log = logs.get(__name__)

EVENT_POSTERS = 4


class Runtime:
    def __init__(self, opts: options.Options, api: kube.Api) -> None:
        self.options = opts
        self.api = api
        self.contact = informing.Contact()
        self.tasks: list[asyncio.Task[None]] = []

        def changed() -> None:
            self.reconciler.poke()

        lease_path = f"/apis/coordination.k8s.io/v1/namespaces/{opts.namespace}/leases"
        self.vips = informing.Informer(
            api, reconciling.VIPS_PATH, on_change=changed, contact=self.contact
        )
        self.nodes = informing.Informer(
            api, reconciling.NODES_PATH, on_change=changed, contact=self.contact
        )
        self.leases = informing.Informer(
            api,
            lease_path,
            on_change=changed,
            contact=self.contact,
            keep=lambda obj: views.agent_node(obj) is not None,
        )
        self.prober = probing.Prober(opts.policy, on_change=changed)

        def leadership_changed(leader: bool) -> None:
            metrics.LEADER.set(1 if leader else 0)
            if leader:
                self.reconciler.last_nodes = None
                self.reconciler.poke()

        self.elector = leadership.Elector(
            api,
            opts.namespace,
            opts.identity,
            duration_s=opts.leader_lease_seconds,
            on_change=leadership_changed,
        )
        self.reconciler = reconciling.Reconciler(
            api=api,
            vips=self.vips,
            nodes=self.nodes,
            leases=self.leases,
            prober=self.prober,
            elector=self.elector,
            contact=self.contact,
            debounce_s=opts.debounce_seconds,
        )

    def start(self) -> None:
        metrics.LEADER.set(0)
        metrics.serve(port=self.options.metrics_port, host=self.options.metrics_host)
        for job in (
            self.vips.run(),
            self.nodes.run(),
            self.leases.run(),
            self.elector.run(),
            self.reconciler.run(),
            *(self.reconciler.post_events() for _ in range(EVENT_POSTERS)),
        ):
            self.tasks.append(asyncio.create_task(job))

    async def stop(self) -> None:
        await self.elector.release()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.prober.close()
        await self.api.close()

    def release_state(self, name: str, body: dict[str, Any], *, since: float) -> deleting.Release:
        """Whether the VirtualIP ``name`` (being deleted) no longer holds its address.

        Only agent reports probed after ``since`` (monotonic; when the wait began) count.
        """
        current = self.vips.store.get(name, body)
        status = current.get("status") or {}
        holder = status.get("holder")
        states = self.prober.states()
        leases = self.reconciler.agent_leases()
        nodes = self.reconciler.node_views(leases)
        node = nodes.get(str(holder)) if holder else None
        alive = node is not None and node.reachable and holder in states
        reports = self.prober.holds(str(holder), name, since=since) if holder else None
        return deleting.release_state(status, holder_alive=alive, holder_reports_it=reports)
