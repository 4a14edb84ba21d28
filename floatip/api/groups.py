"""What a group's members (``spec.group``) must agree on, and what they ask of the group.

Written once here for every side: the operator's placement (`floatip_operator.grouping`) and
``floatip validate``, which reports a disagreement across the manifests it reads before the
operator has to (``GroupConflict``: the operator then places the group as if no member set a
pin or preferences, so a conflict blocks those moves, never a failover). The members that set
``node`` must name one node; the members that list ``preferredNodes`` must list the same nodes
in the same order with the same ``preempt``; members that leave them unset follow the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from floatip.api import model


class Agreement(NamedTuple):
    """What a group's members ask of it, or why they cannot (``conflict``)."""

    pin: str | None = None
    preferred: tuple[str, ...] = ()
    preempt: bool = False
    #: Why the members disagree, naming each; empty when they agree.
    conflict: str = ""


def agreement(group: str, members: Sequence[tuple[str, model.VirtualIPSpec]]) -> Agreement:
    """The pin and preferences of ``group`` whose ``members`` are (name, spec) pairs."""
    pins = {spec.node for _, spec in members if spec.node is not None}
    preferences = {(spec.preferred_nodes, spec.preempt) for _, spec in members
                   if spec.preferred_nodes}  # fmt: skip
    problems = []
    if len(pins) > 1:
        named = ", ".join(f"{name}: {spec.node}" for name, spec in members if spec.node)
        problems.append(f"its members pin different nodes ({named})")
    if len(preferences) > 1:
        named = ", ".join(
            f"{name}: [{', '.join(spec.preferred_nodes)}]" + (" preempt" if spec.preempt else "")
            for name, spec in members
            if spec.preferred_nodes
        )
        problems.append(f"its members list different preferredNodes or preempt ({named})")
    if problems:
        return Agreement(
            conflict=f"group {group!r} cannot follow its members' pins and preferences: "
            f"{' and '.join(problems)}; until the members that set them agree (or leave them "
            "unset) the group is placed as if none did: together, on a node eligible for every "
            "member, and still failed over"
        )
    preferred, preempt = next(iter(preferences)) if preferences else ((), False)
    return Agreement(next(iter(pins), None), preferred, preempt)
