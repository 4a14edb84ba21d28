"""How fast the agent puts VIPs on a node: add + first announcement, per VIP and for many.

DESIGN.md's targets: adding and announcing one VIP within 5 ms, 1,000 VIPs on one node
applied and announced within 2 s. `add_and_announce` measures exactly that path on a real
kernel (netlink add, marked, plus the first gratuitous ARP / unsolicited NA written to the
wire) and returns figures; it asserts nothing. `floatip bench agent` runs it in a lab
namespace. Addresses come from 198.18.0.0/15 (RFC 2544, benchmarking) on the named
interface, and are removed again at the end.
"""

from __future__ import annotations

import ipaddress
import itertools
import time
from typing import NamedTuple

from floatip_agent import announcing, kernel_addresses, packets

BENCH_NETWORK = ipaddress.IPv4Network("198.18.0.0/15")


class BenchResult(NamedTuple):
    """Figures of one run: per-VIP latency percentiles and the whole run's duration."""

    vips: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    total_s: float

    def describe(self) -> str:
        """One line for people."""
        return (
            f"{self.vips} VIPs added and announced in {self.total_s:.3f} s; per VIP "
            f"p50 {self.p50_ms:.3f} ms, p99 {self.p99_ms:.3f} ms, max {self.max_ms:.3f} ms"
        )


def percentile(values: list[float], fraction: float) -> float:
    """The `fraction` quantile of `values` (nearest rank), e.g. 0.99 for p99."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


async def add_and_announce(
    *,
    count: int,
    ifname: str,
    netns: str | None = None,
    network: ipaddress.IPv4Network | ipaddress.IPv6Network = BENCH_NETWORK,
) -> BenchResult:
    """Add `count` VIPs from `network` on `ifname` and announce each once; remove them after."""
    hosts = [ipaddress.ip_address(str(a)) for a in itertools.islice(network.hosts(), count)]
    if len(hosts) < count:
        raise ValueError(f"{network} has only {len(hosts)} host addresses; {count} asked for")
    latencies: list[float] = []
    async with kernel_addresses.open_netlink(netns=netns) as ipr:
        snapshot = await kernel_addresses.read_snapshot(ipr)
        with announcing.Announcer.open(ifname=ifname, netns=netns) as announcer:
            start = time.perf_counter()
            try:
                for address in hosts:
                    began = time.perf_counter()
                    await kernel_addresses.add_vip(
                        ipr, address=address, ifname=ifname, snapshot=snapshot
                    )
                    await announcer.send([packets.announcement(address, mac=announcer.mac)])
                    latencies.append(time.perf_counter() - began)
                total = time.perf_counter() - start
            finally:
                await kernel_addresses.remove_vips(ipr, addresses=hosts)
    in_ms = [value * 1000 for value in latencies]
    return BenchResult(
        vips=count,
        p50_ms=percentile(in_ms, 0.50),
        p99_ms=percentile(in_ms, 0.99),
        max_ms=max(in_ms),
        total_s=total,
    )
