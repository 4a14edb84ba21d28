"""The agent: wires its components together and keeps them running; it decides nothing.

The components and the values between them are drawn in docs/architecture.md. Start
(protocol.md "Restart"): read the kernel's owned addresses, the move record and the
VirtualIPs, keep those
assigned here (`decisions.restart_plan`), remove the other owned ones, then run every
component. A component that crashes is logged and started again after a second (kopf's way
with daemons). Stopping (SIGTERM) cancels everything and leaves every address in place: a
rolling update must not drop VIPs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from floatip.api import times
from floatip.kube import client, config, paths
from floatip_agent import (
    address_batch,
    address_dump,
    addressing,
    announcements,
    assignments,
    carrier,
    conflicts,
    decisions,
    fencing,
    guard,
    handoffs,
    healthchecks,
    intake,
    kernel_addresses,
    links,
    metrics,
    nftables,
    presence,
    ratelimit,
    reporter,
    settings,
    table,
    verifying,
    worker,
    workers,
)

log = structlog.get_logger(__name__)
RESTART_DELAY = 1.0


class Agent:
    """One node's agent. `run()` until cancelled."""

    def __init__(self, settings_: settings.Settings, *, api: client.Api | None = None) -> None:
        self.config = settings_
        self.fence = fencing.Fence(unsure_after=settings_.unsure_after_seconds)
        self.api = api or client.Api(
            config.load_endpoint(kubeconfig=settings_.kubeconfig), on_contact=self.fence.contact
        )
        self.counters = metrics.Metrics()
        self.table = table.Table()
        self.links = links.LinkPool()
        self.reporter = reporter.Reporter(
            self.api, node=settings_.node, retry_seconds=settings_.retry_seconds
        )
        self.handoffs = handoffs.Handoffs(
            seconds=settings_.flow_handoff_seconds, counters=self.counters
        )
        self.presence: presence.Presence | None = None
        self.health = healthchecks.HealthChecks(
            lambda: healthchecks.wanted(self.table.assignments, self.facts().labels)
        )
        self.ready = asyncio.Event()

    def facts(self) -> presence.Facts:
        return self.presence.facts if self.presence else presence.Facts()

    async def run(self) -> None:
        """Rebuild from kernel + API, then run every component until cancelled."""
        batch = address_batch.AddressBatch.open()
        dump = address_dump.AddressDump()
        async with kernel_addresses.open_netlink() as ipr:
            kernel = kernel_addresses.Kernel(ipr, batch=batch, dump=dump)
            self.presence = found = presence.Presence(
                config=self.config, api=self.api, kernel=kernel, fence=self.fence,
                counters=self.counters, on_change=self.health.poke,
            )  # fmt: skip
            schedules = announcements.Announcements(
                node=self.config.node, wire=self.links, reports=self.reporter,
                counters=self.counters,
            )  # fmt: skip
            io = worker.Ports(
                kernel=kernel, wire=self.links, announcements=schedules, handoffs=self.handoffs,
                reports=self.reporter, peers=found, fence=self.fence, table=self.table,
                counters=self.counters,
                budget=ratelimit.TokenBucket(
                    capacity=conflicts.NODE_BURST, rate=conflicts.NODE_RATE
                ),
                reread=lambda name: news.reread(name),  # noqa: PLW0108 - news comes below
            )  # fmt: skip
            ownership = verifying.Verifier(
                held=self.table, wire=self.links, counters=self.counters,
                interval=self.config.verify_interval_seconds,
                budget=self.config.verify_budget_per_second,
            )  # fmt: skip
            pool = workers.Workers(lambda name: worker.VipWorker(name, config=self.config, io=io))
            news = intake.Intake(
                api=self.api, assigned=self.table, nudge=pool.nudge,
                namespace=self.config.namespace, on_change=self.health.poke,
            )  # fmt: skip
            claims = guard.ClaimGuard(
                node_facts=self.facts, peering=found, peers_age=found.peers_age,
                fence=self.fence, held=self.table, wire=self.links, nudge=pool.nudge,
                reread=news.reread,
            )  # fmt: skip
            try:
                await self._restart(kernel, found, news, pool)
                self.ready.set()
                await asyncio.gather(
                    _supervised("intake", news.run),
                    _supervised("guard", lambda: claims.run(self.links.claims)),
                    _supervised("presence", found.run),
                    _supervised("announcements", schedules.run),
                    _supervised("verifier", ownership.run),
                    _supervised("reporter", self.reporter.run),
                    _supervised("health-checks", self.health.run),
                )
            finally:
                await pool.stop()
                batch.close()
                dump.close()
                await self.links.close()
                if self.handoffs.active:
                    await self.handoffs.clear()
                log.info("agent-stopped", held=sorted(self.table.held),
                         note="addresses left in place")  # fmt: skip

    async def _restart(
        self,
        kernel: kernel_addresses.Kernel,
        found: presence.Presence,
        news: intake.Intake,
        pool: workers.Workers,
    ) -> None:
        """protocol.md "Restart": keep owned addresses assigned here, remove other owned ones."""
        snapshot = await found.read_links()
        owned = addressing.owned_by_link(snapshot)
        while True:
            try:
                await news.read_record()
                listed = await self.api.request("GET", paths.VIRTUALIPS)
                await found.refresh_node()
                await found.renew_lease()
                break
            except client.ApiError as exc:
                log.warning("api-unreachable-at-start", error=str(exc),
                            held_kept=sum(len(v) for v in owned.values()))  # fmt: skip
                await asyncio.sleep(self.config.retry_seconds)
        if nftables.available():  # a handoff of a killed predecessor would outlive its window
            await self.handoffs.clear()
        items = listed.get("items") or []
        current = [a for a in map(news.read, items) if isinstance(a, assignments.Assignment)]
        plan = decisions.restart_plan(owned, current, node=self.config.node)
        for ifname, address in plan.remove:
            result = await kernel.remove(address, ifname=ifname)
            log.info("restart-removed", address=str(address), interface=ifname, result=result)
        for name, held in plan.keep.items():
            log.info("restart-kept", vip=name, address=str(held.address), interface=held.ifname)
            pool.adopt(name, held)
        news.listed(items)

    async def announce_restart(self, grace_seconds: float) -> None:
        """Tell the operator this is a clean stop: hold failover for ``grace_seconds``."""
        if self.presence is not None:
            await self.presence.announce_restart(grace_seconds)

    def healthz(self) -> dict[str, Any]:
        """The /healthz document (protocol.md)."""
        last = self.fence.last_contact
        return {
            "node": self.config.node,
            "unsure": self.fence.unsure,
            "lastApiContact": times.timestamp(last) if last else None,
            "held": {name: held.epoch for name, held in sorted(self.table.held.items())},
            "health": {name: v.healthy for name, v in sorted(self.health.verdicts.items())},
            "links": carrier.carriers(self.facts().link_names),
        }


async def _supervised(name: str, run: Callable[[], Awaitable[None]]) -> None:
    """Run a component forever: a crash is logged and the component started again."""
    while True:
        try:
            await run()
            log.warning("component-ended", component=name, restart_in=RESTART_DELAY)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("component-crashed", component=name, restart_in=RESTART_DELAY)
        await asyncio.sleep(RESTART_DELAY)
