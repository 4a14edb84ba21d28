"""The pure parts of `floatip bench scale`: its VIPs, what the status watch saw, its figures.

`StatusBook` is what a watch of the VirtualIPs saw (each one's holder and Ready, and since
when); `mismatches` finds VIPs whose addresses are not on exactly their status's holder;
`failover_summary` turns the client's answers into the failover figures;
`counter_total` reads one counter from a Prometheus exposition; `neighbour_limits` says how
far the kernel's neighbour table must grow for the client to know every VIP; `result` is the
benchmark's JSON contract. No clock, no I/O.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from floatip.api import model, status
from floatip_lab import naming, timeline

ASKS_PER_SECOND = 20_000  # the client's budget of questions, whatever the number of VIPs
MIN_INTERVAL = 0.01  # and no VIP asked more often than the lab's HTTP client asks its one
CRITICAL_WRITES = "floatip_operator_failover_critical_writes_total"
NEIGHBOUR_HEADROOM = 256  # entries for everything else on the machine (other labs included)


def ask_interval(vips: int) -> float:
    """Seconds between two questions to one VIP: the measurement's resolution."""
    return max(MIN_INTERVAL, vips / ASKS_PER_SECOND)


def vip_names(count: int) -> list[str]:
    width = max(4, len(str(count)))
    return [f"scale-{i:0{width}d}" for i in range(1, count + 1)]


def vip_specs(
    network: ipaddress.IPv4Network, count: int, preferred: str, *, group: str | None = None
) -> dict[str, dict[str, Any]]:
    """Each VirtualIP's name and spec: the first free addresses, all preferring one node (and
    all in ``group``, when one is given: ``bench scale --group``)."""
    addresses = naming.vip_addresses(network, count)
    extra = {} if group is None else {"group": group}
    return {
        name: {"address": f"{address}/{network.prefixlen}", "preferredNodes": [preferred]} | extra
        for name, address in zip(vip_names(count), addresses, strict=True)
    }


@dataclasses.dataclass
class StatusBook:
    """Each VirtualIP's holder and Ready as the watch last saw them, and when that began."""

    holder: dict[str, str | None] = dataclasses.field(default_factory=dict)
    ready: dict[str, bool] = dataclasses.field(default_factory=dict)
    since: dict[str, float] = dataclasses.field(default_factory=dict)  # (holder, ready) as now

    def update(self, kind: str, obj: Mapping[str, Any], at: float) -> None:
        """One watch event (``ADDED``, ``MODIFIED``, ``DELETED``) seen at ``at``."""
        name = str((obj.get("metadata") or {}).get("name"))
        if kind == "DELETED":
            for table in (self.holder, self.ready, self.since):
                table.pop(name, None)
            return
        st = status.of(obj)
        now = (status.holder(st), status.is_true(st, model.ConditionType.READY))
        if (self.holder.get(name), self.ready.get(name)) != now or name not in self.since:
            self.holder[name], self.ready[name] = now
            self.since[name] = at

    def ready_names(self, names: Iterable[str]) -> list[str]:
        return [n for n in names if self.ready.get(n)]

    def moved_away(self, names: Iterable[str], node: str) -> list[str]:
        """Those whose status names another holder than ``node`` and is Ready."""
        return [n for n in names if self.ready.get(n) and self.holder.get(n) not in (None, node)]

    def settled_at(self, names: Iterable[str]) -> float | None:
        """When the last of ``names`` reached its present state (None for no names)."""
        times = [self.since[n] for n in names if n in self.since]
        return max(times) if times else None


def mismatches(
    addresses: Mapping[str, str], book: StatusBook, on: Mapping[str, Collection[str]]
) -> list[str]:
    """The VirtualIPs not held by exactly one node, the one their Ready status names.

    ``addresses``: name -> address; ``on``: node -> the addresses on its data interface.
    Each mismatch reads ``name address: status holder H (Ready|not Ready), on [nodes]``.
    """
    found = []
    for name, address in addresses.items():
        holder, ready = book.holder.get(name), book.ready.get(name, False)
        where = sorted(node for node, held in on.items() if address in held)
        if not ready or holder is None or where != [holder]:
            readiness = "Ready" if ready else "not Ready"
            found.append(f"{name} {address}: status holder {holder} ({readiness}), on {where}")
    return found


def failover_summary(
    held: Collection[str], firsts: Mapping[str, timeline.Answer], fault: float
) -> dict[str, Any]:
    """The failover figures of the VIPs ``held`` by the failed node at the ``fault``.

    ``firsts``: each VIP's first answer from another node after the fault. p50 and last are
    over the VIPs that got one (null when none did); ``never`` counts the others.
    """
    seconds = sorted(firsts[vip].time - fault for vip in held if vip in firsts)
    return {
        "held_by_failed_node": len(held),
        "p50_ms": round(1000 * timeline.percentile(seconds, 0.5), 1) if seconds else None,
        "last_ms": round(1000 * seconds[-1], 1) if seconds else None,
        "never": len(held) - len(seconds),
    }


def counter_total(text: str, name: str) -> float | None:
    """The sum of counter ``name``'s samples (any labels) in an exposition; None if absent."""
    sample = re.compile(rf"^{re.escape(name)}(?:\{{[^}}]*\}})? (\S+)")
    values = [float(m.group(1)) for line in text.splitlines() if (m := sample.match(line))]
    return sum(values) if values else None


def neighbour_limits(vips: int, current: Mapping[str, int]) -> dict[str, int]:
    """The ``net.ipv4.neigh.default`` thresholds to raise, and to what, for ``vips`` VIPs.

    The client keeps one neighbour entry per VIP, and the kernel's table is one for every
    namespace: above ``gc_thresh2`` it evicts entries older than 5 s, above ``gc_thresh3``
    it adds none (Linux defaults 512 and 1,024). Only raised, never lowered.
    """
    wanted = {
        "gc_thresh2": vips + NEIGHBOUR_HEADROOM,
        "gc_thresh3": 2 * (vips + NEIGHBOUR_HEADROOM),
    }
    return {key: value for key, value in wanted.items() if current.get(key, 0) < value}


def result(
    *,
    vips: int,
    nodes: int,
    ready_s: float,
    failover: Mapping[str, Any],
    critical_writes: int | None,
    total_writes: int,
    rss_mib: Mapping[str, float],
    group: str | None = None,
) -> dict[str, Any]:
    """The benchmark's JSON contract (README, "Benchmarks": ``floatip bench scale``); with
    ``--group``, a ``group`` key names the group every VIP was in (absent without it)."""
    grouped = {} if group is None else {"group": group}
    return grouped | {
        "vips": vips,
        "nodes": nodes,
        "ready_s": round(ready_s, 2),
        "failover": {
            key: failover[key] for key in ("held_by_failed_node", "p50_ms", "last_ms", "never")
        },
        "api_writes": {"critical_path": critical_writes, "total": total_writes},
        "rss_mib": {key: rss_mib[key] for key in ("agent_idle", "agent_loaded", "operator_loaded")},
    }
