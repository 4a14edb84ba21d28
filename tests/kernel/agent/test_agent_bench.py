"""The agent benchmark (floatip_lab.benchmarks.agent_apply) runs end to end. Proves it adds and announces
the asked number of VIPs (each one's announcement reaches another host on the LAN), reports
figures for all of them, and removes every VIP it added. It prints the figures; it asserts
no timing.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable

import pytest

from floatip_agent import claims, wire
from floatip_lab import netns
from floatip_lab.benchmarks import agent_apply

LanFactory = Callable[..., netns.Topology]

pytestmark = pytest.mark.kernel

COUNT = 1000


async def test_bench_adds_announces_and_cleans_up(lan: LanFactory) -> None:
    topo = lan("node", "client")
    node, client = topo["node"], topo["client"]
    before = {a.interface for a in node.addresses()}
    expected = set(list(agent_apply.BENCH_NETWORK.hosts())[:COUNT])
    with wire.Watcher.open(ifname="eth0", netns=client.netns) as watcher:
        result = await agent_apply.add_and_announce(count=COUNT, ifname="eth0", netns=node.netns)
        print(f"\nagent bench: {result.describe()}")
        heard: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()

        async def hear_all() -> None:
            async for claim in watcher.claims():
                if claim.mac == node.mac and claim.kind is claims.ClaimKind.ARP_ANNOUNCEMENT:
                    heard.add(claim.address)
                    if heard >= expected:
                        return

        await asyncio.wait_for(hear_all(), 10)
    assert result.vips == COUNT
    assert 0 < result.p50_ms <= result.p99_ms <= result.max_ms
    assert heard == expected
    assert {a.interface for a in node.addresses()} == before  # (flags: link-local DAD ends)
