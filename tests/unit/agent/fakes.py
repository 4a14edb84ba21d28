"""Fakes of the agent's ports (floatip_agent.ports): they record what a worker asks for.

The worker and the claim guard are unit-tested against these, without root, netlink or
sockets; the kernel tests (tests/kernel/agent) run the real ports on a real kernel.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from floatip.api import events, model
from floatip_agent import (
    addressing,
    conflicts,
    decisions,
    fencing,
    handoff,
    kernel_addresses,
    leasing,
    metrics,
    probing,
    problems,
    ratelimit,
    settings,
    table,
    worker,
)

ETH0_MAC = "02:f1:00:00:00:01"
PEER_MAC = "02:f1:00:00:00:02"
INTRUDER_MAC = "02:66:00:00:00:01"
VIP = ipaddress.ip_address("192.0.2.100")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Kernel:
    def __init__(self) -> None:
        self.addresses: list[tuple[str, addressing.IPAddress]] = []
        self.added: list[addressing.IPAddress] = []
        self.removed: list[addressing.IPAddress] = []
        self.fail_add: Exception | None = None
        self.fail_remove: Exception | None = None

    async def snapshot(self, *, max_age: float = 0.0) -> addressing.Snapshot:
        iface = ipaddress.ip_interface
        owned = tuple(
            addressing.KernelAddress(2, iface(f"{a}/{a.max_prefixlen}"), 99)
            for _, a in self.addresses
        )
        return addressing.Snapshot(
            links=(addressing.Link(2, "eth0", True, ETH0_MAC),),
            addresses=(addressing.KernelAddress(2, iface("192.0.2.11/24"), 0), *owned),
        )

    async def add(
        self, address: addressing.IPAddress, *, ifname: str, snapshot: addressing.Snapshot
    ) -> enum.StrEnum:
        if self.fail_add is not None:
            raise self.fail_add
        self.added.append(address)
        self.addresses.append((ifname, address))
        return kernel_addresses.Added.ADDED

    async def remove(
        self, address: addressing.IPAddress, *, ifname: str | None = None
    ) -> enum.StrEnum:
        if self.fail_remove is not None:
            raise self.fail_remove
        self.removed.append(address)
        self.addresses = [(i, a) for i, a in self.addresses if a != address]
        return kernel_addresses.Removed.REMOVED


class Wire:
    def __init__(self) -> None:
        self.answering: set[str] = set()  # MACs that answer a probe
        self.probes: list[addressing.IPAddress] = []
        self.announced: list[tuple[str, tuple[addressing.IPAddress, ...]]] = []
        self.redirected: list[tuple[addressing.IPAddress, str]] = []
        self.verified: list[tuple[str, tuple[addressing.IPAddress, ...]]] = []
        self.opened: set[str] = set()

    async def probe(
        self,
        ifname: str,
        address: addressing.IPAddress,
        *,
        peer_macs: Collection[str],
        count: int,
        window: float,
    ) -> probing.ProbeResult:
        self.opened.add(ifname)
        self.probes.append(address)
        return probing.ProbeResult(
            frozenset(self.answering - set(peer_macs)), frozenset(self.answering & set(peer_macs))
        )

    async def announce(self, ifname: str, addresses: Sequence[addressing.IPAddress]) -> None:
        self.opened.add(ifname)
        self.announced.append((ifname, tuple(addresses)))

    async def verify(self, ifname: str, addresses: Sequence[addressing.IPAddress]) -> None:
        self.verified.append((ifname, tuple(addresses)))

    async def redirect(self, ifname: str, address: addressing.IPAddress, *, to_mac: str) -> None:
        self.redirected.append((address, to_mac))

    def mac(self, ifname: str) -> str | None:
        return ETH0_MAC if ifname in self.opened else None


class Announcements:
    def __init__(self) -> None:
        self.started: list[tuple[str, decisions.Held, bool, bool]] = []
        self.stopped: list[str] = []
        self.running: set[str] = set()
        self.reported: list[str] = []  # report() calls: an announcement reported after all

    def start(
        self, name: str, held: decisions.Held, tuning: model.Announce, *, first_sent: bool,
        report: bool,
    ) -> None:  # fmt: skip
        self.started.append((name, held, first_sent, report))
        self.running.add(name)

    def stop(self, name: str) -> None:
        self.stopped.append(name)
        self.running.discard(name)

    def active(self, name: str) -> bool:
        return name in self.running

    def report(self, name: str) -> None:
        self.reported.append(name)


class Handoffs:
    def __init__(self, *, enabled: bool = True) -> None:
        self._enabled = enabled
        self._active: dict[str, handoff.Handoff] = {}
        self.begun: list[handoff.Handoff] = []
        self.armed: list[str] = []
        self.ended: list[str] = []

    @property
    def enabled(self) -> bool:
        return self._enabled

    @property
    def active(self) -> Mapping[str, handoff.Handoff]:
        return self._active

    async def begin(self, name: str, planned: handoff.Handoff) -> bool:
        self.begun.append(planned)
        self._active[name] = planned
        return True

    def arm(self, name: str) -> None:
        self.armed.append(name)

    async def end(self, name: str) -> None:
        self.ended.append(name)
        self._active.pop(name, None)


class Reports:
    def __init__(self) -> None:
        self.announcements: list[model.Announcement] = []
        self.conflicts: list[model.ConflictReport | None] = []
        self.events: list[tuple[problems.Reason, problems.Action, str]] = []

    def announcement(self, name: str, announced: model.Announcement) -> None:
        self.announcements.append(announced)

    def conflict(self, name: str, report: model.ConflictReport | None) -> None:
        self.conflicts.append(report)

    def event(
        self, regarding: events.Regarding, *, reason: problems.Reason, action: problems.Action,
        note: str,
    ) -> None:  # fmt: skip
        self.events.append((reason, action, note))

    def reasons(self) -> list[problems.Reason]:
        return [reason for reason, _, _ in self.events]


class Peers:
    def __init__(self, macs: Collection[str] = (PEER_MAC,)) -> None:
        self.peers = leasing.Peers(frozenset(macs), {})
        self.after_refresh: leasing.Peers | None = None
        self.refreshes = 0

    async def refresh_peers(self) -> bool:
        self.refreshes += 1
        if self.after_refresh is not None:
            self.peers = self.after_refresh
        return True


class World:
    """A worker's world: every fake port, a fence and a clock."""

    def __init__(self, *, node: str = "me", handoffs: bool = True) -> None:
        self.clock = Clock()
        self.config = settings.Settings(node=node)
        self.kernel = Kernel()
        self.wire = Wire()
        self.announcements = Announcements()
        self.handoffs = Handoffs(enabled=handoffs)
        self.reports = Reports()
        self.peers = Peers()
        self.fence = fencing.Fence(unsure_after=2.0, clock=self.clock)
        self.fence.contact()
        self.table = table.Table()
        self.counters = metrics.Metrics()
        self.budget = ratelimit.TokenBucket(
            capacity=conflicts.NODE_BURST, rate=conflicts.NODE_RATE, clock=self.clock
        )
        self.rereads: list[str] = []
        self.io = worker.Ports(
            kernel=self.kernel, wire=self.wire, announcements=self.announcements,
            handoffs=self.handoffs, reports=self.reports, peers=self.peers, fence=self.fence,
            table=self.table, counters=self.counters, budget=self.budget,
            reread=self.rereads.append,
        )  # fmt: skip

    def worker(self, name: str = "web") -> worker.VipWorker:
        return worker.VipWorker(name, config=self.config, io=self.io, clock=self.clock)

    def sample(self, metric: str, **labels: str) -> float:
        value = self.counters.registry.get_sample_value(metric, labels)
        return 0.0 if value is None else value


def vip_object(
    *, holder: str | None, epoch: int, reason: str = "Assigned", **status: Any
) -> dict[str, Any]:
    """A VirtualIP as the API server sends it, assigned to ``holder`` at ``epoch``."""
    history = [{"time": "2026-01-01T00:00:00Z", "reason": reason, "epoch": epoch}]
    body: dict[str, Any] = {"epoch": epoch, "history": history, **status}
    if holder is not None:
        body["holder"] = holder
    return {
        "metadata": {"name": "web", "uid": "u1"},
        "spec": {"address": f"{VIP}/24"},
        "status": body,
    }
