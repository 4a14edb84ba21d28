"""Which nodes a unit of placement may take, and the least loaded of them (pure, fast).

`placement` decides; this module answers its questions about nodes: the eligible nodes of a
`grouping.Unit` (for a group, the intersection of its members'), whether a node is *settled*
for it (`damping`), and the least-loaded eligible node. 10,000 VirtualIPs over 1,000 nodes must
place in well under 0.5 s, so eligibility before addresses and checks is computed once per set
of VirtualIPs that share selector, interface and subnets (and endpoint nodes), and the
least-loaded node comes from a heap per such set instead of a scan. ``loads`` counts the
VirtualIPs placed on each node so far; the placer adds to it.
"""

from __future__ import annotations

import heapq
import zlib
from collections.abc import Hashable, Mapping, Set

from floatip_operator import damping, eligibility
from floatip_operator.eligibility import HealthResults, NodeView, VipView
from floatip_operator.grouping import Unit


def tiebreak(node: str) -> int:
    """A stable hash of a node name: the same in every process and every replica."""
    return zlib.crc32(node.encode())


class Candidates:
    """The nodes each unit may take, and the least loaded of them, for one placement."""

    def __init__(
        self,
        nodes: Mapping[str, NodeView],
        health: HealthResults,
        unrest: Mapping[Hashable, damping.Unrest],
    ) -> None:
        self.nodes = nodes
        self.health = health
        self.unrest = unrest
        self.loads: dict[str, int] = dict.fromkeys(nodes, 0)
        self.alive = [n for n in nodes.values() if n.alive]
        self.networks = sorted(
            {iface.network for n in self.alive for iface in n.interfaces},
            key=lambda net: (net.version, str(net)),
        )
        self.owner_of_address = {a: n.name for n in nodes.values() for a in n.own_addresses}
        #: eligible nodes (before addresses and checks) by what decides them (`_key`)
        self.bases: dict[Hashable, frozenset[str]] = {}
        self.heaps: dict[Hashable, list[tuple[int, int, str]]] = {}

    def _key(self, vip: VipView) -> tuple[object, ...]:
        selector = vip.spec.node_selector
        selector_key = None if selector is None else selector.model_dump_json()
        if vip.spec.interface is not None:
            return (selector_key, "if", vip.spec.interface)
        ip = vip.ip
        return (selector_key, "net", tuple(i for i, n in enumerate(self.networks) if ip in n))

    def base(self, unit: Unit) -> tuple[Hashable, frozenset[str]]:
        """The nodes a unit may hold on before addresses and checks: a group's, the
        intersection of its members' (computed once per distinct set of them)."""
        if len(unit.members) == 1:
            return self.vip_base(unit.members[0])
        parts = [self.vip_base(member) for member in unit.members]
        key = ("group", frozenset(k for k, _ in parts))
        base = self.bases.get(key)
        if base is None:
            base = frozenset.intersection(*(b for _, b in parts))
            self.bases[key] = base
        return key, base

    def vip_base(self, vip: VipView) -> tuple[Hashable, frozenset[str]]:
        key = self._key(vip)
        base = self._unconstrained(vip, key)
        if vip.endpoint_nodes is None:
            return key, base
        key = (*key, "endpoints", vip.endpoint_nodes)
        narrowed = self.bases.get(key)
        if narrowed is None:
            narrowed = base & vip.endpoint_nodes
            self.bases[key] = narrowed
        return key, narrowed

    def _unconstrained(self, vip: VipView, key: tuple[object, ...]) -> frozenset[str]:
        base = self.bases.get(key)
        if base is None:
            base = frozenset(
                n.name
                for n in self.alive
                if (
                    vip.spec.node_selector is None or vip.spec.node_selector.matches(dict(n.labels))
                )
                and eligibility.can_hold_on(vip, n)
            )
            self.bases[key] = base
        return base

    def eligible(self, unit: Unit, base: frozenset[str], node: str | None) -> bool:
        if node is None or node not in base:
            return False
        members = unit.members
        if len(members) > 1:
            return all(self.fits(member, node) for member in members)
        vip = members[0]  # the common case, inline: placement asks this of every VirtualIP
        if self.owner_of_address.get(vip.ip) == node:
            return False
        if vip.spec.health_check is not None:
            return self.health.get(vip.name, {}).get(node) is True
        return True

    def fits(self, vip: VipView, node: str) -> bool:
        """The checks `_base` leaves out: the node's own addresses, the health check."""
        if self.owner_of_address.get(vip.ip) == node:
            return False
        if vip.spec.health_check is not None:
            return self.health.get(vip.name, {}).get(node) is True
        return True

    def settled(self, unit: Unit, node: str) -> bool:
        """Whether ``node`` (and each member's check on it) was fit for the hold-down."""
        if not self.unrest:
            return True
        for vip in unit.members:
            hold = vip.spec.hold_down_seconds
            for key in (node, (vip.name, node)):
                unrest = self.unrest.get(key)
                if unrest is not None and not unrest.settled(hold):
                    return False
        return True

    def least_loaded(self, unit: Unit, key: Hashable, base: frozenset[str]) -> str | None:
        if self.unrest:  # a settled node first; an unsettled one only when none is
            unsettled = {n for n in base if not self.settled(unit, n)}
            if unsettled and unsettled != base:
                chosen = self._lightest(unit, key, base, skip=unsettled)
                if chosen is not None:
                    return chosen
        return self._lightest(unit, key, base, skip=frozenset())

    def _lightest(
        self, unit: Unit, key: Hashable, base: frozenset[str], *, skip: Set[str]
    ) -> str | None:
        heap = self.heaps.get(key)
        if heap is None:
            heap = [(self.loads[n], tiebreak(n), n) for n in base]
            heapq.heapify(heap)
            self.heaps[key] = heap
        rejected: list[tuple[int, int, str]] = []
        chosen: str | None = None
        while heap:
            load, rank, node = heapq.heappop(heap)
            if load != self.loads[node]:  # stale: another unit changed this node's load
                heapq.heappush(heap, (self.loads[node], rank, node))
                continue
            if node not in skip and self.eligible(unit, base, node):
                chosen = node
                heapq.heappush(heap, (load + len(unit.members), rank, node))
                break
            rejected.append((load, rank, node))
        for entry in rejected:
            heapq.heappush(heap, entry)
        return chosen
