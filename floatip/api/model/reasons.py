"""The words statuses, Events and metrics carry: condition types, statuses and reasons.

Plain enums without pydantic, so every side (the operator's decisions, the agent, kubectl vip)
names a condition or a move the same way. The schemas keep a condition's type and reason and a
move's reason free text (as metav1.Condition does); these enums say what floatip writes there.
"""

from __future__ import annotations

import enum


class ConditionType(enum.StrEnum):
    READY = "Ready"
    ASSIGNED = "Assigned"
    ANNOUNCED = "Announced"
    CONFLICT = "Conflict"
    HEALTH_CHECK = "HealthCheck"
    #: Only on members of a spec.group: whether the group is placed together (Together), or
    #: why not (GroupConflict, GroupUnplaceable); its message names the members.
    GROUPED = "Grouped"


class ConditionStatus(enum.StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class MoveReason(enum.StrEnum):
    """Why the address moved: ``status.history[].reason`` and the Assigned condition's reason.

    The old holder of a move reads it: after a ``Failover`` it removes the address at once
    (nothing to wait for), after any other move it waits for the new holder's announcement.
    """

    ASSIGNED = "Assigned"  # the address had no holder
    FAILOVER = "Failover"  # the holder was judged dead or unreachable
    HOLDER_INELIGIBLE = "HolderIneligible"  # the holder answers but may not hold it (drain, ...)
    PINNED = "Pinned"  # spec.node
    PREEMPTED = "Preempted"  # back to a better preferred node
    #: externalTrafficPolicy Local: the holder has no ready endpoint of the Service(s) any more,
    #: another node has one (planned, make-before-break, like HolderIneligible)
    ENDPOINTS_MOVED = "EndpointsMoved"
    RELEASED = "Released"  # no node holds it any more
    #: a member of a spec.group moves to the node that holds the rest of its group (it joined
    #: the group, or the group was split); planned, like HolderIneligible
    JOINED_GROUP = "JoinedGroup"
    #: the status showed a holder or epoch the operator never assigned; its own assignment is
    #: put back at a new epoch (docs/design/protocol.md, "A write the operator did not make")
    RESTORED = "Restored"


class ConditionReason(enum.StrEnum):
    """The ``reason`` of a condition that is not a move (those are `MoveReason`s)."""

    READY = "Ready"
    ANNOUNCEMENT_PENDING = "AnnouncementPending"
    INVALID_SPEC = "InvalidSpec"
    DUPLICATE_ADDRESS = "DuplicateAddress"
    NO_ELIGIBLE_NODE = "NoEligibleNode"
    #: externalTrafficPolicy Local and no node has a ready endpoint: no node holds the address
    NO_READY_ENDPOINT = "NoReadyEndpoint"
    PINNED_NODE_NOT_FOUND = "PinnedNodeNotFound"
    PINNED_NODE_INELIGIBLE = "PinnedNodeIneligible"
    NOT_ASSIGNED = "NotAssigned"
    PENDING = "Pending"
    ANNOUNCED = "Announced"
    NOT_CONFIGURED = "NotConfigured"
    NO_RESULT = "NoResult"
    PASSING = "Passing"
    FAILING = "Failing"
    FOREIGN_CLAIM = "ForeignClaim"
    NO_CONFLICT = "NoConflict"
    #: spec.group: every member is placed on one node
    TOGETHER = "Together"
    #: spec.group: members pin different nodes, or set different preferredNodes/preempt; the
    #: group is placed (and failed over) together as if none of them set those fields
    GROUP_CONFLICT = "GroupConflict"
    #: spec.group: no node is eligible for every member; the group is split as little as the
    #: nodes allow (members whose holder may keep them stay) until one is
    GROUP_UNPLACEABLE = "GroupUnplaceable"


class PoolConditionType(enum.StrEnum):
    READY = "Ready"
    #: The pool shares addresses with another pool or with a VirtualIP not drawn from it.
    OVERLAP = "Overlap"


class PoolConditionReason(enum.StrEnum):
    READY = "Ready"
    INVALID_SPEC = "InvalidSpec"
    EXHAUSTED = "Exhausted"
    NO_OVERLAP = "NoOverlap"
    OVERLAPS_POOL = "OverlapsPool"
    OVERLAPS_VIRTUAL_IP = "OverlapsVirtualIP"
