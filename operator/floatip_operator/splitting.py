"""Where the members of a group go when no node may hold them all (pure).

A group is one unit (`grouping`) while some node is eligible for every member. When none is
(``GroupUnplaceable``: the members' subnets, selectors or health checks have no node in common)
placement must still never leave an address on a dead or ineligible node while a live node may
hold it (DESIGN.md, safety property 2: a failover is never delayed), so the group is split,
as little as the nodes allow:

1. A member whose holder is alive and eligible for it stays there: no move without a reason,
   the rule placement applies to every VirtualIP (so a healthy group is never torn apart).
2. The other members (holder dead, ineligible for it, or none) go in parts: the node eligible
   for the most of them takes every one it may hold; then the node eligible for the most of
   the rest, and so on. Ties: the node already holding the most members of the group (they
   rejoin it), a settled node (`damping`), the group's pin and ``preferredNodes``, the least
   loaded, a stable hash of the name (`candidates.tiebreak`), as placement breaks them.
3. A member no live node may hold stays where it is (``NoEligibleNode``), as an ungrouped
   VirtualIP does: an address is never taken from its holder without a node to take it.

Once a node can take every member again and is settled (`damping`: rejoining is no failover,
and a flapping node must not drag the group back and forth), placement moves the group back
onto one node (a planned move). Every member keeps ``GroupUnplaceable`` (or ``NoEligibleNode``, or
``GroupConflict``) meanwhile; `describe` names which member is where.
"""

from __future__ import annotations

import collections
import enum
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from floatip_operator import candidates
from floatip_operator.eligibility import NodeView, VipView
from floatip_operator.grouping import Unit


class Where(enum.StrEnum):
    """How a member of a split group got its node."""

    KEPT = "kept"  # its holder is alive and eligible for it
    MOVED = "moved"  # it goes to the node of its part
    NOWHERE = "nowhere"  # no live node may hold it: it stays where it is


class Placed(NamedTuple):
    member: VipView
    node: str | None
    where: Where


def fitting(unit: Unit, fit: candidates.Candidates) -> dict[str, frozenset[str]]:
    """The live nodes eligible for each member of ``unit`` (by name)."""
    return {
        vip.name: frozenset(n for n in fit.vip_base(vip)[1] if fit.fits(vip, n))
        for vip in unit.members
    }


def split(
    unit: Unit,
    fit: candidates.Candidates,
    nodes: Mapping[str, NodeView],
    fits: Mapping[str, frozenset[str]],
) -> list[Placed]:
    """Each member of ``unit`` and its node, in their order; ``fits``: the live nodes
    eligible for each member (`fitting`), none eligible for all of them."""
    placed: dict[str, Placed] = {}
    held: collections.Counter[str] = collections.Counter()
    displaced: list[VipView] = []
    for vip in unit.members:
        if vip.holder is not None and vip.holder in fits[vip.name]:
            placed[vip.name] = Placed(vip, vip.holder, Where.KEPT)
            held[vip.holder] += 1
        elif fits[vip.name]:
            displaced.append(vip)
        else:
            stays = vip.holder if vip.holder is not None and vip.holder in nodes else None
            placed[vip.name] = Placed(vip, stays, Where.NOWHERE)
    choose = _Chooser(unit, fit, fits, held)
    while displaced:
        best = choose.best(displaced)
        rest = []
        for vip in displaced:
            if best in fits[vip.name]:
                placed[vip.name] = Placed(vip, best, Where.MOVED)
                choose.took(best)
            else:
                rest.append(vip)
        displaced = rest
    return [placed[vip.name] for vip in unit.members]


class _Chooser:
    """The node for the next part of a split group (see the module docstring for the order)."""

    def __init__(
        self,
        unit: Unit,
        fit: candidates.Candidates,
        fitting: Mapping[str, frozenset[str]],
        held: collections.Counter[str],
    ) -> None:
        self.fit, self.fitting, self.held = fit, fitting, held
        self.order = {n: i for i, n in enumerate((unit.pin, *unit.preferred)) if n is not None}
        self.loads = dict(fit.loads)

    def best(self, displaced: Sequence[VipView]) -> str:
        counts = collections.Counter(n for vip in displaced for n in self.fitting[vip.name])

        def rank(node: str) -> tuple[int, int, bool, int, int, int]:
            unsettled = bool(self.fit.unrest) and not self.fit.settled(
                Unit(tuple(v for v in displaced if node in self.fitting[v.name])), node
            )
            return (
                -counts[node],
                -self.held[node],
                unsettled,
                self.order.get(node, len(self.order)),
                self.loads[node],
                candidates.tiebreak(node),
            )

        return min(counts, key=rank)

    def took(self, node: str) -> None:
        self.held[node] += 1
        self.loads[node] += 1


def describe(placed: Sequence[Placed]) -> str:
    """``a, b on s1; c on s3; d on no node (no live node is eligible)``: where each member is."""
    on: dict[str | None, list[str]] = {}
    for item in placed:
        if item.where is not Where.NOWHERE:
            on.setdefault(item.node, []).append(item.member.name)
    parts = [f"{_names(names)} on {node}" for node, names in on.items()]
    nowhere = [item for item in placed if item.where is Where.NOWHERE]
    if nowhere:
        stays = [f"{i.member.name} on {i.node}" for i in nowhere if i.node is not None]
        parts.append(
            f"{_names([i.member.name for i in nowhere])} on no node (no live node is eligible"
            + (f"; kept where it is: {_names(stays)})" if stays else ")")
        )
    return "; ".join(parts)


def _names(names: Sequence[str], shown: int = 5) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
