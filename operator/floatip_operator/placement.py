"""Placement: one holder per VirtualIP, chosen the same way by every operator replica.

Pure and deterministic. The rules, in order:

1. Of VirtualIPs sharing an address, the oldest keeps it; the others get ``DuplicateAddress``.
2. ``spec.node`` pins: the pinned node when it is eligible (a planned switchover when the
   address was elsewhere); otherwise placement goes on as if unpinned and says why.
3. ``preempt``: the best eligible preferred node takes the address back (planned), once it is
   *settled* (`damping`: fit for ``holdDownSeconds`` since its last loss).
4. The current holder keeps the address while it is eligible: no move without a reason.
5. Otherwise the first settled eligible of ``preferredNodes``; otherwise the least-loaded
   settled eligible node, ties broken by a stable hash of the node name. Only when no
   eligible node is settled does an unsettled one take it (a failover is never delayed).
6. An address is taken from its holder only when another node can take it: with no eligible
   node the holder (if any) keeps it and the decision says ``NoEligibleNode``.

externalTrafficPolicy Local (`eligibility.VipView.endpoint_nodes`, docs/services.md): only
nodes with a ready endpoint of the VirtualIP's Service(s) are eligible, through every rule
above. When no node at all has one, no node holds the address (``NoReadyEndpoint``: as MetalLB
announces nothing without a local endpoint); when the holder lost its last endpoint and another
node has one, the move is ``EndpointsMoved``, planned like any move from a live holder.

A move away from a holder whose agent still answers is *planned* (make-before-break: the new
holder announces, then the old one removes); away from an unreachable one it is a *failover*.

Speed: 10,000 VirtualIPs over 1,000 nodes must place in well under 0.5 s, so eligibility is
computed once per group of VirtualIPs that share selector, interface and subnets (and endpoint
nodes: a constrained group is the unconstrained one's nodes intersected with them), and the
least-loaded node comes from a heap per group instead of a scan.
"""

from __future__ import annotations

import dataclasses
import enum
import heapq
import zlib
from collections.abc import Hashable, Iterable, Mapping, Sequence, Set

from floatip.api import model
from floatip_operator import damping, eligibility
from floatip_operator.eligibility import HealthResults, NodeView, VipView


class Reason(enum.StrEnum):
    """Why a decision is what it is; a move's reason is also its `model.MoveReason`."""

    KEPT = "Kept"
    ASSIGNED = model.MoveReason.ASSIGNED.value  # the address had no holder
    FAILOVER = model.MoveReason.FAILOVER.value  # the holder is unreachable
    #: the holder answers but may not hold it (drain, lost carrier, failing check, ...)
    HOLDER_INELIGIBLE = model.MoveReason.HOLDER_INELIGIBLE.value
    PINNED = model.MoveReason.PINNED.value
    PREEMPTED = model.MoveReason.PREEMPTED.value
    #: the holder answers but has no ready endpoint of the Service(s) any more (Local)
    ENDPOINTS_MOVED = model.MoveReason.ENDPOINTS_MOVED.value
    NO_READY_ENDPOINT = model.ConditionReason.NO_READY_ENDPOINT.value
    NO_ELIGIBLE_NODE = model.ConditionReason.NO_ELIGIBLE_NODE.value
    DUPLICATE_ADDRESS = model.ConditionReason.DUPLICATE_ADDRESS.value


@dataclasses.dataclass(frozen=True)
class Decision:
    """Where one VirtualIP goes, and why."""

    vip: str
    node: str | None
    previous: str | None
    reason: Reason
    planned: bool = False
    detail: str = ""

    @property
    def moved(self) -> bool:
        return self.node != self.previous

    @property
    def move_reason(self) -> model.MoveReason:
        """The reason history records when this decision moves the address."""
        try:
            return model.MoveReason(self.reason.value)
        except ValueError:  # Kept, NoEligibleNode, NoReadyEndpoint, DuplicateAddress: no move
            return model.MoveReason.ASSIGNED


def tiebreak(node: str) -> int:
    """A stable hash of a node name: the same in every process and every replica."""
    return zlib.crc32(node.encode())


def place(
    vips: Iterable[VipView],
    nodes: Mapping[str, NodeView],
    health: HealthResults | None = None,
    unrest: Mapping[Hashable, damping.Unrest] | None = None,
) -> dict[str, Decision]:
    """Decide the holder of every VirtualIP (see the module docstring for the rules).

    ``unrest`` (`damping.Damping.unrest`): nodes, and (VirtualIP, node) health checks, that
    lost eligibility lately.
    """
    return _Placer(nodes, health or {}, unrest or {}).run(sorted(vips, key=lambda v: v.name))


class _Placer:
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
        self.groups: dict[tuple[object, ...], frozenset[str]] = {}
        self.heaps: dict[tuple[object, ...], list[tuple[int, int, str]]] = {}

    # -- eligibility, fast ------------------------------------------------------------

    def _group_key(self, vip: VipView) -> tuple[object, ...]:
        selector = vip.spec.node_selector
        selector_key = None if selector is None else selector.model_dump_json()
        if vip.spec.interface is not None:
            return (selector_key, "if", vip.spec.interface)
        ip = vip.ip
        return (selector_key, "net", tuple(i for i, n in enumerate(self.networks) if ip in n))

    def _base(self, vip: VipView) -> tuple[tuple[object, ...], frozenset[str]]:
        key = self._group_key(vip)
        base = self._unconstrained(vip, key)
        if vip.endpoint_nodes is None:
            return key, base
        key = (*key, "endpoints", vip.endpoint_nodes)
        narrowed = self.groups.get(key)
        if narrowed is None:
            narrowed = base & vip.endpoint_nodes
            self.groups[key] = narrowed
        return key, narrowed

    def _unconstrained(self, vip: VipView, key: tuple[object, ...]) -> frozenset[str]:
        base = self.groups.get(key)
        if base is None:
            base = frozenset(
                n.name
                for n in self.alive
                if (
                    vip.spec.node_selector is None or vip.spec.node_selector.matches(dict(n.labels))
                )
                and eligibility.can_hold_on(vip, n)
            )
            self.groups[key] = base
        return base

    def _eligible(self, vip: VipView, base: frozenset[str], node: str | None) -> bool:
        if node is None or node not in base:
            return False
        if self.owner_of_address.get(vip.ip) == node:
            return False
        if vip.spec.health_check is not None:
            return self.health.get(vip.name, {}).get(node) is True
        return True

    def _settled(self, vip: VipView, node: str) -> bool:
        """Whether ``node`` (and the VirtualIP's check on it) was fit for the hold-down."""
        if not self.unrest:
            return True
        hold = vip.spec.hold_down_seconds
        for key in (node, (vip.name, node)):
            unrest = self.unrest.get(key)
            if unrest is not None and not unrest.settled(hold):
                return False
        return True

    def _least_loaded(
        self, vip: VipView, key: tuple[object, ...], base: frozenset[str]
    ) -> str | None:
        if self.unrest:  # a settled node first; an unsettled one only when none is
            unsettled = {n for n in base if not self._settled(vip, n)}
            if unsettled and unsettled != base:
                chosen = self._lightest(vip, key, base, skip=unsettled)
                if chosen is not None:
                    return chosen
        return self._lightest(vip, key, base, skip=frozenset())

    def _lightest(
        self, vip: VipView, key: tuple[object, ...], base: frozenset[str], *, skip: Set[str]
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
            if load != self.loads[node]:  # stale: another group changed this node's load
                heapq.heappush(heap, (self.loads[node], rank, node))
                continue
            if node not in skip and self._eligible(vip, base, node):
                chosen = node
                heapq.heappush(heap, (load + 1, rank, node))
                break
            rejected.append((load, rank, node))
        for entry in rejected:
            heapq.heappush(heap, entry)
        return chosen

    # -- the rules ----------------------------------------------------------------------

    def run(self, vips: Sequence[VipView]) -> dict[str, Decision]:
        decisions: dict[str, Decision] = {}
        duplicates = _duplicates(vips)
        later: list[tuple[VipView, tuple[object, ...], frozenset[str], str]] = []
        for vip in vips:
            if vip.name in duplicates:
                decisions[vip.name] = Decision(
                    vip.name,
                    None,
                    vip.holder,
                    Reason.DUPLICATE_ADDRESS,
                    detail=f"{vip.spec.address} belongs to the older VirtualIP "
                    f"{duplicates[vip.name]!r}",
                )
                continue
            if vip.endpoint_nodes is not None and not vip.endpoint_nodes:
                decisions[vip.name] = Decision(
                    vip.name,
                    None,
                    vip.holder,
                    Reason.NO_READY_ENDPOINT,
                    detail="externalTrafficPolicy Local: no node has a ready endpoint of its "
                    "Service(s), so no node holds the address until one has",
                )
                continue
            key, base = self._base(vip)
            decision, pin_note = self._fixed(vip, base)
            if decision is None:
                later.append((vip, key, base, pin_note))
            else:
                decisions[vip.name] = decision
                if decision.node is not None:
                    self.loads[decision.node] += 1
        for vip, key, base, pin_note in later:
            decisions[vip.name] = self._spread(vip, key, base, pin_note)
            node = decisions[vip.name].node
            if node is not None:
                self.loads[node] += 1
        return decisions

    def _move(self, vip: VipView, node: str, reason: Reason, detail: str = "") -> Decision:
        previous = vip.holder
        if previous == node:
            return Decision(vip.name, node, previous, Reason.KEPT, detail=detail)
        holder = self.nodes.get(previous) if previous else None
        if reason is Reason.ASSIGNED and holder is not None:
            reason = Reason.FAILOVER if not holder.reachable else self._why_leaving(vip, holder)
        planned = holder is not None and holder.reachable
        return Decision(vip.name, node, previous, reason, planned=planned, detail=detail)

    def _why_leaving(self, vip: VipView, holder: NodeView) -> Reason:
        """The reason of a planned move away from a live holder that may not keep the address."""
        if vip.endpoint_nodes is not None and holder.name not in vip.endpoint_nodes:
            why = eligibility.why_ineligible(vip, holder, self.health)
            if why is eligibility.Ineligible.NO_LOCAL_ENDPOINT:
                return Reason.ENDPOINTS_MOVED
        return Reason.HOLDER_INELIGIBLE

    def _fixed(self, vip: VipView, base: frozenset[str]) -> tuple[Decision | None, str]:
        """Rules 2-5 up to the preferred nodes; None when the least-loaded rule must decide."""
        pin, pin_note = vip.spec.node, ""
        if pin is not None:
            if self._eligible(vip, base, pin):
                return self._move(vip, pin, Reason.PINNED), ""
            pin_note = self._pin_problem(vip, pin)
        preferred = [n for n in vip.spec.preferred_nodes if self._eligible(vip, base, n)]
        holder_ok = self._eligible(vip, base, vip.holder)
        if holder_ok and vip.holder is not None:
            best = preferred[0] if preferred else None
            if vip.spec.preempt and best and best != vip.holder and self._settled(vip, best):
                order = vip.spec.preferred_nodes
                if vip.holder not in order or order.index(best) < order.index(vip.holder):
                    return self._move(vip, best, Reason.PREEMPTED, pin_note), pin_note
            return Decision(
                vip.name, vip.holder, vip.holder, Reason.KEPT, detail=pin_note
            ), pin_note
        settled = [n for n in preferred if self._settled(vip, n)]
        if settled:
            return self._move(vip, settled[0], Reason.ASSIGNED, pin_note), pin_note
        if preferred and not any(self._settled(vip, n) and self._eligible(vip, base, n)
                                 for n in base):  # fmt: skip
            return self._move(vip, preferred[0], Reason.ASSIGNED, pin_note), pin_note
        return None, pin_note

    def _spread(
        self, vip: VipView, key: tuple[object, ...], base: frozenset[str], note: str
    ) -> Decision:
        node = self._least_loaded(vip, key, base)
        if node is not None:
            return self._move(vip, node, Reason.ASSIGNED, note)
        detail = eligibility.summarize(vip, self.nodes, self.health)
        if vip.holder is not None and vip.holder in self.nodes:
            detail += f"; {vip.holder} keeps it until another node can take it"
        else:
            return Decision(vip.name, None, vip.holder, Reason.NO_ELIGIBLE_NODE, detail=detail)
        return Decision(vip.name, vip.holder, vip.holder, Reason.NO_ELIGIBLE_NODE, detail=detail)

    def _pin_problem(self, vip: VipView, pin: str) -> str:
        node = self.nodes.get(pin)
        if node is None:
            return f"pinned node {pin!r} does not exist or runs no floatip agent"
        reason = eligibility.why_ineligible(vip, node, self.health)
        return f"pinned node {pin!r} is not eligible ({reason.value if reason else 'unknown'})"


def _duplicates(vips: Sequence[VipView]) -> dict[str, str]:
    """Newer VirtualIP name -> the older one that owns the same address."""
    owners: dict[object, VipView] = {}
    losers: dict[str, str] = {}
    for vip in sorted(vips, key=lambda v: (v.created, v.name)):
        owner = owners.setdefault(vip.ip, vip)
        if owner is not vip:
            losers[vip.name] = owner.name
    return losers
