"""What the agent's components need of each other, as protocols (the seams of the unit tests).

A worker acts on one VirtualIP through these (`Ports`); the production classes
(`kernel_addresses.Kernel`, `links.LinkPool`, `announcements.Announcements`,
`handoffs.Handoffs`, `reporter.Reporter`, `presence.Presence`) satisfy them, and the tests pass
fakes that record what was asked.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import NamedTuple, Protocol

from floatip.api import events, model
from floatip_agent import (
    addressing,
    decisions,
    fencing,
    handoff,
    leasing,
    metrics,
    probing,
    problems,
    ratelimit,
    table,
)


class Kernel(Protocol):
    """The node's addresses (netlink)."""

    async def snapshot(self, *, max_age: float = 0.0) -> addressing.Snapshot: ...

    async def add(
        self, address: addressing.IPAddress, *, ifname: str, snapshot: addressing.Snapshot
    ) -> enum.StrEnum: ...

    async def remove(
        self, address: addressing.IPAddress, *, ifname: str | None = None
    ) -> enum.StrEnum: ...


class Wire(Protocol):
    """The LAN, through each interface's packet sockets."""

    async def probe(
        self,
        ifname: str,
        address: addressing.IPAddress,
        *,
        peer_macs: Collection[str],
        count: int,
        window: float,
    ) -> probing.ProbeResult: ...

    async def announce(self, ifname: str, addresses: Sequence[addressing.IPAddress]) -> None: ...

    async def verify(self, ifname: str, addresses: Sequence[addressing.IPAddress]) -> None: ...

    async def redirect(
        self, ifname: str, address: addressing.IPAddress, *, to_mac: str
    ) -> None: ...

    def mac(self, ifname: str) -> str | None: ...


class Announcing(Protocol):
    """The announcement schedules of held addresses."""

    def start(
        self, name: str, held: decisions.Held, tuning: model.Announce, *, first_sent: bool,
        report: bool,
    ) -> None: ...  # fmt: skip

    def stop(self, name: str) -> None: ...

    def active(self, name: str) -> bool: ...

    def report(self, name: str) -> None: ...


class HandingOff(Protocol):
    """The flow handoffs in force."""

    @property
    def enabled(self) -> bool: ...

    @property
    def active(self) -> Mapping[str, handoff.Handoff]: ...

    async def begin(self, name: str, planned: handoff.Handoff) -> bool: ...

    def arm(self, name: str) -> None: ...

    async def end(self, name: str) -> None: ...


class Reports(Protocol):
    """What the agent tells the API (status reports, Events); never waits for it."""

    def announcement(self, name: str, announced: model.Announcement) -> None: ...

    def conflict(self, name: str, report: model.ConflictReport | None) -> None: ...

    def event(
        self, regarding: events.Regarding, *, reason: problems.Reason, action: problems.Action,
        note: str,
    ) -> None: ...  # fmt: skip


class Peering(Protocol):
    """What the other agents publish, and a fresh look at it on demand."""

    @property
    def peers(self) -> leasing.Peers: ...

    async def refresh_peers(self) -> bool: ...


class Ports(NamedTuple):
    """Everything a VirtualIP's worker acts through (fakes in the unit tests)."""

    kernel: Kernel
    wire: Wire
    announcements: Announcing
    handoffs: HandingOff
    reports: Reports
    peers: Peering
    fence: fencing.Fence
    table: table.Table
    counters: metrics.Metrics
    #: The node's defence budget: frames a second all its VIPs' defences may send together.
    budget: ratelimit.TokenBucket
    #: Ask the intake to read a VirtualIP anew (the answer comes back as a nudge).
    reread: Callable[[str], None]
