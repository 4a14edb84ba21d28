"""Groups (``spec.group``): VirtualIPs that placement treats as one unit (pure).

keepalived's ``vrrp_sync_group`` and Pacemaker's groups: a router's outside and inside
addresses, or a service's IPv4 and IPv6 pair, must always share one holder. `placement` decides
one holder per `Unit`, an ungrouped VirtualIP or every member of one group, and gives it to
each member. What a unit asks of a node is what every member asks (`placement` intersects the
members' eligible nodes, health checks included); this module says which VirtualIPs form a
unit and what the unit prefers:

- **Pins and preferences** (`floatip.api.groups`, the rule ``floatip validate`` applies too):
  the members that set ``spec.node`` must name one node, the members that list
  ``preferredNodes`` must list the same nodes in the same order with the same ``preempt``;
  the others follow them.
- Members that disagree make a ``GroupConflict``: the unit then has no pin and no preferences
  (placement keeps it together, keeps a healthy holder and still fails it over; it only
  ignores the moves those fields would ask for) until they agree, and says why on each.
- **Holder**: the node that holds most members (ties: the first member's, by name). A member
  held elsewhere joins it (``JoinedGroup``, planned).
- ``holdDownSeconds`` stays each member's own: a node is settled for the group once it is
  settled for every member.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from typing import NamedTuple

from floatip.api import groups
from floatip_operator.eligibility import VipView


class Unit(NamedTuple):
    """VirtualIPs placed together: one ungrouped VirtualIP, or the members of a group.

    A NamedTuple, not a frozen dataclass: placement makes one per ungrouped VirtualIP, 10,000
    per pass, and a tuple is made several times faster."""

    members: tuple[VipView, ...]
    group: str | None = None
    holder: str | None = None
    pin: str | None = None
    preferred: tuple[str, ...] = ()
    preempt: bool = False
    #: Why the members disagree (GroupConflict); empty when they agree.
    conflict: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(member.name for member in self.members)


def units(vips: Sequence[VipView]) -> list[Unit]:
    """The units of ``vips``, in the order of each unit's first VirtualIP in ``vips``."""
    grouped: dict[str, list[VipView]] = {}
    order: list[VipView | str] = []
    for vip in vips:
        group = vip.spec.group
        if group is None:
            order.append(vip)
            continue
        if group not in grouped:
            grouped[group] = []
            order.append(group)
        grouped[group].append(vip)
    return [
        Unit((item,), None, item.holder, item.spec.node, item.spec.preferred_nodes,
             item.spec.preempt)  # an ungrouped VirtualIP: its own wishes
        if isinstance(item, VipView)
        else _group(item, tuple(grouped[item]))
        for item in order
    ]  # fmt: skip


def _group(name: str, members: tuple[VipView, ...]) -> Unit:
    agreed = groups.agreement(name, [(m.name, m.spec) for m in members])
    holder = common_holder(members)
    if agreed.conflict:
        return Unit(members, name, holder, conflict=agreed.conflict)
    return Unit(members, name, holder, agreed.pin, agreed.preferred, agreed.preempt)


def common_holder(members: Sequence[VipView]) -> str | None:
    """The node that holds most ``members`` (ties: the first member's, in their order)."""
    held = [m.holder for m in members if m.holder is not None]
    if not held:
        return None
    counts = collections.Counter(held)
    most = max(counts.values())
    return next(node for node in held if counts[node] == most)
