"""The announcement schedule on a real LAN, as the agent runs it (announcements.Announcements
over links.LinkPool, the address added by kernel_addresses). Proves, for IPv4 (gratuitous
ARP) and IPv6 (unsolicited NA):

- a client whose neighbour entry for the VIP points to the previous holder (it talked to the
  VIP there: a real ping) holds the node's MAC after the schedule's first burst, with the
  client's kernel at its defaults (``arp_accept=0``): the announcement updated the entry;
- the frames the client sees follow the spec's tuning: a burst of ``burstCount`` frames, the
  same burst again after ``secondBurstDelaySeconds`` and a refresh every
  ``refreshIntervalSeconds``, and none after the schedule is stopped (never early: lower
  bounds are exact, upper bounds only guard against a stuck schedule);
- the announcement is reported (node, epoch, the node's MAC) once, right after the first frame
  and before the second (the old holder of a planned move waits for it).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from floatip.api import model
from floatip_agent import (
    addressing,
    announcements,
    decisions,
    kernel_addresses,
    links,
    metrics,
    wire,
)
from floatip_lab import netns, waiting
from tests.unit.agent import fakes

LanFactory = Callable[..., netns.Topology]

pytestmark = pytest.mark.kernel

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
TUNING = model.Announce(
    burst_count=3,
    burst_interval_milliseconds=100,
    second_burst_delay_seconds=1,
    refresh_interval_seconds=1,
)
#: 0, 0.1, 0.2 (burst), 1.0, 1.1, 1.2 (second burst), 2.2 (refresh): seven frames in 2.7 s.
EXPECTED = (0.0, 0.1, 0.2, 1.0, 1.1, 1.2, 2.2)
WATCH = 2.7
SLACK = 0.4  # the upper bound: a frame this late means a stuck schedule, not a slow machine


class RecordingPool(links.LinkPool):
    """The real link pool, noting each write of frames in ``order``."""

    def __init__(self, order: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.order = order

    async def announce(self, ifname: str, addresses: Sequence[addressing.IPAddress]) -> None:
        await super().announce(ifname, addresses)
        self.order.append("frame")


class RecordingReports(fakes.Reports):
    def __init__(self, order: list[str]) -> None:
        super().__init__()
        self.order = order

    def announcement(self, name: str, announced: model.Announcement) -> None:
        super().announcement(name, announced)
        self.order.append("report")


async def seen_from(watcher: wire.Watcher, mac: str, vip: IPAddress, seconds: float) -> list[float]:
    """When (loop time) each claim of ``vip`` by ``mac`` reached the watcher within ``seconds``."""
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def collect() -> None:
        async for claim in watcher.claims():
            if claim.address == vip and claim.mac == mac:
                times.append(loop.time())

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(collect(), seconds)
    return times


@pytest.mark.parametrize(
    "vip",
    [ipaddress.ip_address("192.0.2.130"), ipaddress.ip_address("2001:db8:f1::130")],
    ids=["ipv4", "ipv6"],
)
async def test_schedule_moves_the_client_and_keeps_its_timing(
    lan: LanFactory, vip: IPAddress
) -> None:
    topo = lan("node", "old", "client", ipv6=True)
    node, old, client = topo["node"], topo["old"], topo["client"]
    prefix, dad = ("24", []) if vip.version == 4 else ("64", ["nodad"])
    old.run(["ip", "addr", "add", f"{vip}/{prefix}", "dev", "eth0", *dad])
    client.run(["ping", "-c1", "-W2", str(vip)])
    assert client.neighbour_mac(vip) == old.mac
    old.run(["ip", "addr", "del", f"{vip}/{prefix}", "dev", "eth0"])  # the old holder is gone

    order: list[str] = []
    pool = RecordingPool(order, netns=node.netns)
    reports = RecordingReports(order)
    schedules = announcements.Announcements(
        node="node", wire=pool, reports=reports, counters=metrics.Metrics()
    )
    runner = asyncio.create_task(schedules.run())
    try:
        async with kernel_addresses.open_netlink(netns=node.netns) as ipr:
            await kernel_addresses.add_vip(ipr, address=vip)
        with wire.Watcher.open(ifname="eth0", netns=client.netns) as watcher:
            pool.link("eth0")
            start = asyncio.get_running_loop().time()
            schedules.start(
                "web", decisions.Held(vip, "eth0", 1), TUNING, first_sent=False, report=True
            )
            arrived = await seen_from(watcher, node.mac, vip, WATCH)
            schedules.stop("web")
            after_stop = await seen_from(watcher, node.mac, vip, 1.3)
    finally:
        runner.cancel()
        await pool.close()

    offsets = [round(t - start, 3) for t in arrived]
    assert len(offsets) == len(EXPECTED), f"frames at {offsets}, expected at {EXPECTED}"
    for got, due in zip(offsets, EXPECTED, strict=True):
        assert due - 0.01 <= got <= due + SLACK, f"frames at {offsets}, expected at {EXPECTED}"
    assert after_stop == [], "a stopped schedule sent on"
    [announced] = reports.announcements
    assert (announced.node, announced.epoch, announced.mac) == ("node", 1, node.mac)
    assert order[:3] == ["frame", "report", "frame"], order

    waiting.wait_until(
        lambda: client.neighbour_mac(vip) == node.mac,
        what=f"the client's entry for {vip} to point to the node {node.mac}",
        describe=lambda: f"{client.neighbours().get(vip)}",
    )
    client.run(["ping", "-c1", "-W2", str(vip)])
    assert client.neighbour_mac(vip) == node.mac
