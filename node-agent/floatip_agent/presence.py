"""The node's presence in the cluster: its Lease, its API contact, and what it knows of others.

Three loops (protocol.md "The agent's Lease", "Fencing"):
- the Lease, renewed every ``--lease-renew-seconds`` with what this node publishes (its
  health endpoint, own addresses and MACs: `leasing.published`); each renewal also re-reads
  the other agents' Leases, so `peers` (their MACs and addresses) stays current;
- a cheap ``GET /readyz`` every second when nothing else reached the API, so the fence
  (`fencing.Fence`, fed by every answer of the API client) knows whether the API is there;
- the Node, every ``node_refresh_seconds``: its labels (health checks follow the node
  selector) and InternalIP (the endpoint it publishes).

It publishes plain values (`facts`, `peers`) that other components read, and answers one
question on demand, `refresh_peers` (a claim by an unknown MAC may come from a peer that
started since the last look). ``on_change`` is told when the node's labels change.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import time
import types
from collections.abc import Awaitable, Callable, Mapping
from typing import NamedTuple

import structlog

from floatip.api import leases, times
from floatip.kube import client, paths
from floatip_agent import addressing, fencing, kernel_addresses, leasing, metrics, settings

log = structlog.get_logger(__name__)


class Facts(NamedTuple):
    """What this node is: its MACs, its links (reported with their carrier), its labels."""

    own_macs: frozenset[str] = frozenset()
    link_names: tuple[str, ...] = ()
    labels: Mapping[str, str] = types.MappingProxyType({})
    internal_ip: str | None = None


class Presence:
    """The Lease, ping and Node loops of one node's agent."""

    def __init__(
        self,
        *,
        config: settings.Settings,
        api: client.Api,
        kernel: kernel_addresses.Kernel,
        fence: fencing.Fence,
        counters: metrics.Metrics,
        on_change: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.api = api
        self.kernel = kernel
        self.fence = fence
        self.counters = counters
        self.on_change = on_change
        self.clock = clock
        self.started_at = clock()
        self.facts = Facts()
        self.peers = leasing.Peers(frozenset(), {})
        self.peers_read_at = float("-inf")

    @property
    def lease_name(self) -> str:
        return leases.name_for(self.config.node)

    async def run(self) -> None:
        """The three loops, forever; a failed step is logged and tried again next period."""
        await asyncio.gather(
            _forever(self.renew_lease, self.config.lease_renew_seconds),
            _forever(self.ping, self.config.ping_interval_seconds),
            _forever(self.refresh_node, self.config.node_refresh_seconds),
        )

    async def read_links(self) -> addressing.Snapshot:
        snapshot = await self.kernel.snapshot()
        self.facts = self.facts._replace(
            own_macs=frozenset(link.mac.lower() for link in snapshot.links if link.mac),
            link_names=tuple(sorted(link.name for link in snapshot.links if link.name != "lo")),
        )
        return snapshot

    async def renew_lease(self) -> None:
        snapshot = await self.read_links()
        endpoint = f"http://{self._endpoint_host(snapshot)}:{self.config.listen_port}"
        annotations = leasing.published(snapshot, endpoint=endpoint)
        now = times.now()
        duration = leasing.duration_for(self.config.lease_renew_seconds)
        namespace, node = self.config.namespace, self.config.node
        patch = leasing.renewal_patch(
            node=node, annotations=annotations, now=now, duration=duration,
            clear_restart_mark=self.clock() - self.started_at
            >= leasing.RESTART_MARK_KEPT_SECONDS,
        )  # fmt: skip
        try:
            try:
                await self.api.request(
                    "PATCH", paths.lease(namespace, self.lease_name), body=patch,
                    content_type=client.MERGE_PATCH,
                )  # fmt: skip
            except client.ApiError as exc:
                if not exc.not_found:
                    raise
                body = leasing.lease_body(
                    node=node, namespace=namespace, annotations=annotations, now=now,
                    duration=duration,
                )  # fmt: skip
                await self.api.request("POST", paths.leases(namespace), body=body)
        except client.ApiError:
            self.counters.lease_failures.inc()
            raise
        await self.refresh_peers()

    async def refresh_peers(self) -> bool:
        """Re-read the agents' Leases for their MACs; False when the API could not say."""
        try:
            listed = await self.api.request("GET", paths.leases(self.config.namespace))
        except client.ApiError as exc:
            log.warning("peer-refresh-failed", error=str(exc))
            return False
        found = leasing.peers(listed.get("items") or [], node=self.config.node)
        self.peers = found._replace(macs=found.macs - self.facts.own_macs)
        self.peers_read_at = self.clock()
        return True

    def peers_age(self) -> float:
        return self.clock() - self.peers_read_at

    async def ping(self) -> None:
        silence = self.fence.silence()
        if silence is None or silence >= self.config.ping_interval_seconds * 0.9:
            with contextlib.suppress(client.ApiError):  # the fence counts the silence
                await self.api.request("GET", paths.READYZ)
        self.counters.unsure.set(1 if self.fence.unsure else 0)

    async def refresh_node(self) -> None:
        try:
            node = await self.api.request("GET", paths.node(self.config.node))
        except client.ApiError as exc:
            if exc.not_found:
                return
            raise
        labels = dict((node.get("metadata") or {}).get("labels") or {})
        internal = next(
            (
                str(entry.get("address"))
                for entry in (node.get("status") or {}).get("addresses") or []
                if entry.get("type") == "InternalIP"
            ),
            self.facts.internal_ip,
        )
        changed = labels != dict(self.facts.labels)
        self.facts = self.facts._replace(labels=labels, internal_ip=internal)
        if changed:
            self.on_change()

    async def announce_restart(self, grace_seconds: float) -> None:
        """Tell the operator this is a clean stop: hold failover for ``grace_seconds``."""
        until = times.now() + datetime.timedelta(seconds=grace_seconds)
        try:
            await self.api.request(
                "PATCH", paths.lease(self.config.namespace, self.lease_name),
                body=leasing.restarting_patch(until), content_type=client.MERGE_PATCH,
            )  # fmt: skip
        except client.ApiError as exc:
            log.warning("restart-announcement-failed", error=str(exc))
        else:
            log.info("restart-announced", until=until.isoformat(), grace_seconds=grace_seconds)

    def _endpoint_host(self, snapshot: addressing.Snapshot) -> str:
        config = self.config
        if config.advertise_address:
            return config.advertise_address
        if config.listen_host not in ("0.0.0.0", "::"):
            return config.listen_host
        if self.facts.internal_ip:
            return self.facts.internal_ip
        for entry in sorted(
            snapshot.addresses, key=lambda e: addressing.link_name(snapshot, e.link_index)
        ):
            ip = entry.interface.ip
            if not entry.owned and ip.version == 4 and not ip.is_loopback:
                return str(ip)
        return "127.0.0.1"


async def _forever(step: Callable[[], Awaitable[None]], every: float) -> None:
    while True:
        started = time.monotonic()
        try:
            await step()
        except client.ApiError as exc:
            log.warning("loop-step-failed", step=step.__name__, error=str(exc))
        except OSError as exc:  # netlink: the next period reads the kernel again
            log.warning("loop-step-failed", step=step.__name__, error=str(exc) or repr(exc))
        await asyncio.sleep(max(0.05, started + every - time.monotonic()))
