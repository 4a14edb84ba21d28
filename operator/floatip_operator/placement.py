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

Groups (``spec.group``, `grouping`): the rules above decide one holder per *unit*, an
ungrouped VirtualIP or all members of a group, and every member gets it in the same pass (a
failover moves them to one successor, recorded in one write). A node is eligible for a group
when it is for every member, so a member's failing health check moves the whole group; a group
weighs its member count on the node it goes to and is never split to even out the load.
Members that disagree (pins, preferences) get ``GroupConflict``: the group is placed as if none
of them set those fields (together, rules 4-6), so what the conflict blocks is only the moves
they would ask for (pin, preempt, a preferred node), never a failover or a move away from an
ineligible holder. A group no node may hold as a whole gets ``GroupUnplaceable``
(``NoEligibleNode`` when a member alone has no node) and is split as little as the nodes allow
(`splitting`): members whose holder may keep them stay, the others go to the node eligible for
the most of them, and so on, so no member waits on a dead or ineligible node while a live node
may hold it; it rejoins one node (planned) once a node may hold it all and is settled. A
group's refusal is each member's ``reason``; the reason of its move, if any, is
``move`` (what history records: a failover is a ``Failover``).

A move away from a holder whose agent still answers is *planned* (make-before-break: the new
holder announces, then the old one removes); away from an unreachable one it is a *failover*.

Speed: 10,000 VirtualIPs over 1,000 nodes must place in well under 0.5 s; `candidates` answers
which nodes a unit may take, and the least loaded of them, from sets and heaps it computes once
per kind of VirtualIP.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Hashable, Iterable, Mapping, Sequence

from floatip.api import model
from floatip_operator import candidates, damping, eligibility, grouping, splitting
from floatip_operator.eligibility import HealthResults, NodeView, VipView
from floatip_operator.grouping import Unit


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
    #: a member of a group moves to where the rest of it is (planned from a live holder)
    JOINED_GROUP = model.MoveReason.JOINED_GROUP.value
    GROUP_CONFLICT = model.ConditionReason.GROUP_CONFLICT.value
    GROUP_UNPLACEABLE = model.ConditionReason.GROUP_UNPLACEABLE.value


@dataclasses.dataclass(frozen=True)
class Decision:
    """Where one VirtualIP goes, and why."""

    vip: str
    node: str | None
    previous: str | None
    reason: Reason
    planned: bool = False
    detail: str = ""
    #: spec.group, and every member of it (names): the same for each member's decision
    group: str | None = None
    members: tuple[str, ...] = ()
    #: When ``reason`` is a group's refusal (GroupConflict, GroupUnplaceable, NoEligibleNode)
    #: that still placed the member: how (Kept, Assigned, Failover, HolderIneligible, ...).
    move: Reason | None = None

    @property
    def moved(self) -> bool:
        return self.node != self.previous

    @property
    def move_reason(self) -> model.MoveReason:
        """The reason history records when this decision moves the address."""
        try:
            return model.MoveReason((self.move or self.reason).value)
        except ValueError:  # Kept, NoEligibleNode, NoReadyEndpoint, DuplicateAddress, Group...
            return model.MoveReason.ASSIGNED


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
        self.fit = candidates.Candidates(nodes, health, unrest)
        self.loads = self.fit.loads

    # -- the rules ----------------------------------------------------------------------

    def run(self, vips: Sequence[VipView]) -> dict[str, Decision]:
        decisions: dict[str, Decision] = {}
        duplicates = _duplicates(vips)
        placeable: list[VipView] = []
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
            elif vip.endpoint_nodes is not None and not vip.endpoint_nodes and not vip.spec.group:
                decisions[vip.name] = Decision(
                    vip.name,
                    None,
                    vip.holder,
                    Reason.NO_READY_ENDPOINT,
                    detail="externalTrafficPolicy Local: no node has a ready endpoint of its "
                    "Service(s), so no node holds the address until one has",
                )
            else:
                placeable.append(vip)
        later: list[tuple[Unit, Hashable, frozenset[str], str]] = []
        for unit in grouping.units(placeable):
            key, base = self.fit.base(unit)
            decided, pin_note = self._fixed(unit, base)
            if decided is None:
                later.append((unit, key, base, pin_note))
            else:
                self._decided(decisions, decided)
        for unit, key, base, pin_note in later:
            self._decided(decisions, self._spread(unit, key, base, pin_note))
        return decisions

    def _decided(self, decisions: dict[str, Decision], decided: Iterable[Decision]) -> None:
        loads = self.loads
        for decision in decided:
            decisions[decision.vip] = decision
            if decision.node is not None:
                loads[decision.node] += 1

    def _place(self, unit: Unit, node: str, reason: Reason, detail: str = "") -> list[Decision]:
        """Every member of ``unit`` to ``node``: a member held elsewhere while the unit keeps
        its holder joins it (a split group)."""
        if unit.group is None:
            return [self._move(unit.members[0], node, reason, detail)]
        joining = Reason.JOINED_GROUP if reason is Reason.KEPT else reason
        placed = [self._move(member, node, joining, detail) for member in unit.members]
        if unit.conflict:  # placed as if no member set a pin or preferences: say why
            return self._refused(unit, placed, Reason.GROUP_CONFLICT, unit.conflict)
        return [dataclasses.replace(d, group=unit.group, members=unit.names) for d in placed]

    def _refused(
        self, unit: Unit, placed: Iterable[Decision], reason: Reason, detail: str
    ) -> list[Decision]:
        """``placed`` as a group's refusal: ``reason`` and ``detail`` on each member, the way it
        was placed kept as its ``move`` (history records a Failover as a Failover)."""
        return [
            dataclasses.replace(
                d,
                reason=reason,
                move=d.reason,
                detail=detail,
                group=unit.group,
                members=unit.names,
            )
            for d in placed
        ]

    def _stay(self, vip: VipView, reason: Reason, detail: str) -> list[Decision]:
        """No node for ``vip``: it keeps its holder while that node exists, and says why."""
        holder = vip.holder if vip.holder is not None and vip.holder in self.nodes else None
        return [Decision(vip.name, holder, vip.holder, reason, detail=detail)]

    def _move(self, vip: VipView, node: str, reason: Reason, detail: str = "") -> Decision:
        previous = vip.holder
        if previous == node:
            return Decision(vip.name, node, previous, Reason.KEPT, detail=detail)
        holder = self.nodes.get(previous) if previous else None
        if reason is Reason.ASSIGNED and holder is not None:
            reason = Reason.FAILOVER if not holder.reachable else self._why_leaving(vip, holder)
        elif reason is Reason.JOINED_GROUP and (holder is None or not holder.reachable):
            reason = Reason.ASSIGNED if previous is None else Reason.FAILOVER
        planned = holder is not None and holder.reachable
        return Decision(vip.name, node, previous, reason, planned=planned, detail=detail)

    def _why_leaving(self, vip: VipView, holder: NodeView) -> Reason:
        """The reason of a planned move away from a live holder that may not keep the address."""
        if vip.endpoint_nodes is not None and holder.name not in vip.endpoint_nodes:
            why = eligibility.why_ineligible(vip, holder, self.health)
            if why is eligibility.Ineligible.NO_LOCAL_ENDPOINT:
                return Reason.ENDPOINTS_MOVED
        return Reason.HOLDER_INELIGIBLE

    def _fixed(self, unit: Unit, base: frozenset[str]) -> tuple[list[Decision] | None, str]:
        """Rules 2-5 up to the preferred nodes; None when the least-loaded rule must decide."""
        pin, pin_note = unit.pin, ""
        if pin is not None:
            if self.fit.eligible(unit, base, pin):
                return self._place(unit, pin, Reason.PINNED), ""
            pin_note = self._pin_problem(unit, pin)
        preferred = [n for n in unit.preferred if self.fit.eligible(unit, base, n)]
        holder = unit.holder
        if holder is not None and self.fit.eligible(unit, base, holder):
            best = preferred[0] if preferred else None
            if unit.preempt and best and best != holder and self.fit.settled(unit, best):
                order = unit.preferred
                if holder not in order or order.index(best) < order.index(holder):
                    return self._place(unit, best, Reason.PREEMPTED, pin_note), pin_note
            return self._place(unit, holder, Reason.KEPT, pin_note), pin_note
        settled = [n for n in preferred if self.fit.settled(unit, n)]
        if settled:
            return self._place(unit, settled[0], Reason.ASSIGNED, pin_note), pin_note
        if preferred and not any(self.fit.settled(unit, n) and self.fit.eligible(unit, base, n)
                                 for n in base):  # fmt: skip
            return self._place(unit, preferred[0], Reason.ASSIGNED, pin_note), pin_note
        return None, pin_note

    def _spread(self, unit: Unit, key: Hashable, base: frozenset[str], note: str) -> list[Decision]:
        node = self.fit.least_loaded(unit, key, base)
        if node is not None and unit.group is not None and self._rejoin_waits(unit, node):
            return self._split(unit, note, unsettled=node)
        if node is not None:
            return self._place(unit, node, Reason.ASSIGNED, note)
        if unit.group is not None:
            return self._split(unit, note)
        vip = unit.members[0]
        detail = eligibility.summarize(vip, self.nodes, self.health)
        if vip.holder is not None and vip.holder in self.nodes:
            detail += f"; {vip.holder} keeps it until another node can take it"
        return self._stay(vip, Reason.NO_ELIGIBLE_NODE, detail)

    def _rejoin_waits(self, unit: Unit, node: str) -> bool:
        """Whether a split group, each member on a holder that may keep it, waits for ``node``
        (the one it would join) to settle (`damping`): rejoining is no failover, and a flapping
        node must not drag the group back and forth."""
        if not self.fit.unrest or self.fit.settled(unit, node):
            return False
        return all(
            m.holder is not None and m.holder in self.fit.vip_base(m)[1]
            and self.fit.fits(m, m.holder)
            for m in unit.members
        )  # fmt: skip

    def _split(self, unit: Unit, note: str, unsettled: str | None = None) -> list[Decision]:
        """No node may hold every member of ``unit`` (or only ``unsettled``, not yet settled):
        split it as little as possible (`splitting`), each member's decision saying why and
        where the others are."""
        fits = splitting.fitting(unit, self.fit)
        placed = splitting.split(unit, self.fit, self.nodes, fits)
        homeless = next((vip for vip in unit.members if not fits[vip.name]), None)
        if unsettled is not None:
            reason = Reason.GROUP_UNPLACEABLE
            why = (
                f"{unsettled} may hold every member of group {unit.group!r} but has not been "
                "eligible for holdDownSeconds since it last failed (flap damping)"
            )
        elif homeless is not None:
            summary = eligibility.summarize(homeless, self.nodes, self.health)
            reason, why = Reason.NO_ELIGIBLE_NODE, f"member {homeless.name}: {summary}"
        else:
            each = "; ".join(f"{name} on {_some(sorted(on))}" for name, on in fits.items())
            reason = Reason.GROUP_UNPLACEABLE
            why = f"no node is eligible for every member of group {unit.group!r} ({each})"
        where = (
            f"; split until a node can take them all: {splitting.describe(placed)} (a member "
            "whose holder may keep it stays, the others go to the node eligible for most of them)"
        )
        detail = "; ".join(filter(None, (unit.conflict, why + where, note)))
        if unit.conflict:
            reason = Reason.GROUP_CONFLICT
        placeable = [i for i in placed if i.where is not splitting.Where.NOWHERE]
        decided = self._refused(
            unit, [self._move(i.member, str(i.node), Reason.ASSIGNED) for i in placeable],
            reason, detail,
        )  # fmt: skip
        stay = [  # no live node may hold it: it stays where it is, as an ungrouped one would
            Decision(i.member.name, i.node, i.member.holder, reason, detail=detail,
                     group=unit.group, members=unit.names)
            for i in placed if i.where is splitting.Where.NOWHERE
        ]  # fmt: skip
        return [*decided, *stay]

    def _pin_problem(self, unit: Unit, pin: str) -> str:
        node = self.nodes.get(pin)
        if node is None:
            return f"pinned node {pin!r} does not exist or runs no floatip agent"
        for vip in unit.members:
            reason = eligibility.why_ineligible(vip, node, self.health)
            if reason is not None:
                member = f" for {vip.name}" if unit.group is not None else ""
                return f"pinned node {pin!r} is not eligible{member} ({reason.value})"
        return f"pinned node {pin!r} is not eligible (unknown)"


def _some(nodes: Sequence[str], shown: int = 3) -> str:
    """``a, b, c and 4 more``: a few node names for a message."""
    more = f" and {len(nodes) - shown} more" if len(nodes) > shown else ""
    return ", ".join(nodes[:shown]) + more


def _duplicates(vips: Sequence[VipView]) -> dict[str, str]:
    """Newer VirtualIP name -> the older one that owns the same address."""
    owners: dict[object, VipView] = {}
    losers: dict[str, str] = {}
    for vip in sorted(vips, key=lambda v: (v.created, v.name)):
        owner = owners.setdefault(vip.ip, vip)
        if owner is not vip:
            losers[vip.name] = owner.name
    return losers
