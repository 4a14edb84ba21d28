"""The VirtualIP API: the one source of truth for the operator, the agent, the CRD and the docs.

Every field's type, range, default and description lives here. ``floatip.api.crd`` derives
the CRD's openAPIV3Schema from these classes (the CEL rules beside the fields they guard),
``floatip.api.validation`` turns pydantic's errors into problems a person can act on, and
the reference docs are generated from the same descriptions.

Field names are camelCase on the wire (Kubernetes API conventions) and snake_case in Python.
Durations are integers with their unit in the name (``intervalSeconds``), as Kubernetes asks.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal

import pydantic
from pydantic import Field
from pydantic.alias_generators import to_camel

from floatip.api import addresses, labels, pools

#: The longest text form of an address with a prefix: a full IPv6 address plus ``/128``.
ADDRESS_MAX_LENGTH = 49
#: Linux's IFNAMSIZ is 16 bytes with the terminating NUL.
INTERFACE_MAX_LENGTH = 15
HISTORY_LENGTH = 10
MAX_PREFERRED_NODES = 64
MAX_POOL_ENTRIES = 64
#: A pool's priority is an int32 on the wire, like every integer Kubernetes APIs bound.
MAX_PRIORITY = 2**31 - 1


def _cel(rule: str, message: str, **extra: str) -> dict[str, str]:
    return {"rule": rule, "message": message, **extra}


def _validations(*rules: dict[str, str]) -> dict[str, Any]:
    return {"x-kubernetes-validations": list(rules)}


class Model(pydantic.BaseModel):
    """Base of every API struct: camelCase on the wire, unknown fields refused, immutable."""

    model_config = pydantic.ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_enum_values=False,
    )

    def to_json(self) -> dict[str, Any]:
        """The object as the API server stores it (camelCase, absent optionals left out)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# --- spec -------------------------------------------------------------------------------


class SelectorOperator(enum.StrEnum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


def _check_label_key(key: str) -> str:
    if problem := labels.label_key_problem(key):
        raise ValueError(problem)
    return key


def _check_label_value(value: str) -> str:
    if problem := labels.label_value_problem(value):
        raise ValueError(problem)
    return value


def _check_group_name(value: str) -> str:
    if problem := labels.dns_label_problem(value, what="group name"):
        raise ValueError(problem)
    return value


def _check_node_name(value: str) -> str:
    if problem := labels.dns_subdomain_problem(value):
        raise ValueError(problem)
    return value


_PREFIX_BOUND = "size(k) <= 317 && (!k.contains('/') || k.indexOf('/') <= 253)"

LabelKey = Annotated[
    str,
    Field(
        max_length=317,
        json_schema_extra={
            "pattern": labels.LABEL_KEY_PATTERN,
            **_validations(
                _cel(
                    _PREFIX_BOUND.replace("k", "self"),
                    "a label key's prefix is 253 characters at most",
                )
            ),
        },
    ),
    pydantic.AfterValidator(_check_label_key),
]
LabelValue = Annotated[
    str,
    Field(max_length=63, json_schema_extra={"pattern": labels.LABEL_VALUE_PATTERN}),
    pydantic.AfterValidator(_check_label_value),
]
NodeName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=253,
        json_schema_extra={"pattern": f"^{labels.DNS_SUBDOMAIN_PATTERN}$"},
    ),
    pydantic.AfterValidator(_check_node_name),
]
GroupName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=63,
        json_schema_extra={"pattern": f"^{labels.DNS_LABEL_PATTERN}$"},
    ),
    pydantic.AfterValidator(_check_group_name),
]


class LabelSelectorRequirement(
    Model,
    json_schema_extra=_validations(
        _cel(
            "self.operator in ['Exists', 'DoesNotExist'] "
            "? (!has(self.values) || size(self.values) == 0) "
            ": (has(self.values) && size(self.values) > 0)",
            "In and NotIn need at least one value; Exists and DoesNotExist take none",
        )
    ),
):
    """One term of a label selector: a key, an operator and the values it compares with."""

    key: LabelKey = Field(description="The label key the term applies to.")
    operator: SelectorOperator = Field(
        description="How the key's value is compared: In, NotIn, Exists or DoesNotExist."
    )
    values: tuple[LabelValue, ...] = Field(
        default=(),
        max_length=64,
        description="The values for In and NotIn; empty for Exists and DoesNotExist.",
    )

    @pydantic.model_validator(mode="after")
    def _values_fit_operator(self) -> LabelSelectorRequirement:
        wants_values = self.operator in (SelectorOperator.IN, SelectorOperator.NOT_IN)
        if wants_values and not self.values:
            raise ValueError(f"operator {self.operator.value} needs at least one value in 'values'")
        if not wants_values and self.values:
            raise ValueError(f"operator {self.operator.value} takes no values; remove 'values'")
        return self


class LabelSelector(Model):
    """A Kubernetes LabelSelector: which objects it selects by their labels (all terms match)."""

    match_labels: dict[LabelKey, LabelValue] = Field(
        default_factory=dict,
        json_schema_extra={
            "maxProperties": 64,
            **_validations(
                _cel(
                    f"self.all(k, k.matches('{labels.LABEL_KEY_PATTERN}') && {_PREFIX_BOUND})",
                    "every key must be a qualified label key: [prefix/]name, the name 1-63 "
                    "letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
                )
            ),
        },
        description="Labels an object must carry, with these exact values.",
    )
    match_expressions: tuple[LabelSelectorRequirement, ...] = Field(
        default=(), max_length=32, description="Further terms an object's labels must satisfy."
    )

    def matches(self, object_labels: dict[str, str]) -> bool:
        """Whether an object (a node, a Service, a namespace) with these labels is selected."""
        return labels.matches(
            object_labels,
            match_labels=self.match_labels,
            match_expressions=[
                (term.key, term.operator.value, term.values) for term in self.match_expressions
            ],
        )


class Announce(Model):
    """How the holder tells the LAN where the address lives (gratuitous ARP / unsolicited NA)."""

    burst_count: int = Field(
        default=3,
        ge=1,
        le=10,
        description="Announcements sent right after taking the address.",
    )
    burst_interval_milliseconds: int = Field(
        default=100,
        ge=10,
        le=5000,
        description="Pause between the announcements of one burst.",
    )
    second_burst_delay_seconds: int = Field(
        default=5,
        ge=0,
        le=300,
        description=(
            "Delay before a second burst, for switches and hosts that missed the first "
            "(0 turns it off)."
        ),
    )
    refresh_interval_seconds: int = Field(
        default=60,
        ge=0,
        le=3600,
        description=(
            "Period of the refresh announcement while the address is held, well below the "
            "300 s MAC ageing of common switches (0 turns it off)."
        ),
    )


class HealthCheckType(enum.StrEnum):
    TCP = "tcp"
    HTTP = "http"


class HealthCheck(
    Model,
    json_schema_extra=_validations(
        _cel(
            "!has(self.path) || self.type == 'http'",
            "path applies to http health checks only",
            fieldPath=".path",
        ),
        _cel(
            "!has(self.timeoutSeconds) || !has(self.intervalSeconds) "
            "|| self.timeoutSeconds <= self.intervalSeconds",
            "timeoutSeconds must not exceed intervalSeconds",
            fieldPath=".timeoutSeconds",
        ),
    ),
):
    """A check of a local service on each candidate node, like keepalived's track_script.

    A node whose check fails ``fall`` times in a row stops being eligible; it becomes eligible
    again after ``rise`` successes in a row.
    """

    type: HealthCheckType = Field(description="tcp: a TCP connect; http: a GET expecting 2xx/3xx.")
    port: int = Field(ge=1, le=65535, description="The port on the node's loopback to check.")
    path: str | None = Field(
        default=None,
        max_length=1024,
        pattern=r"^/\S*$",
        description="The HTTP path to GET (http only; defaults to /).",
    )
    interval_seconds: int = Field(default=2, ge=1, le=300, description="Time between checks.")
    timeout_seconds: int = Field(default=1, ge=1, le=60, description="Time one check may take.")
    rise: int = Field(default=2, ge=1, le=10, description="Successes in a row to become healthy.")
    fall: int = Field(default=3, ge=1, le=10, description="Failures in a row to become unhealthy.")


# The fields a VirtualIP and a pool's template share, each defined once (type, bounds, rules,
# default and description) and used by both.


def _check_interface_name(value: str) -> str:
    if value in (".", "..") or any(char in "/:" or char.isspace() for char in value):
        raise ValueError(
            f"{value!r} is not a valid Linux interface name: 1-15 characters, "
            "no '/', ':' or whitespace, not '.' or '..'"
        )
    return value


def _check_distinct_nodes(value: tuple[str, ...]) -> tuple[str, ...]:
    seen: dict[str, int] = {}
    for index, node in enumerate(value):
        if node in seen:
            raise ValueError(
                f"node {node!r} is listed twice (items {seen[node]} and {index}); "
                "list each node once"
            )
        seen[node] = index
    return value


InterfaceName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=INTERFACE_MAX_LENGTH,
        json_schema_extra={
            "pattern": r"^[^/:\s]+$",
            **_validations(
                _cel("self != '.' && self != '..'", "'.' and '..' are not interface names")
            ),
        },
    ),
    pydantic.AfterValidator(_check_interface_name),
]
InterfaceField = Annotated[
    InterfaceName | None,
    Field(
        description=(
            "The interface to add the address to; by default the one whose subnet contains it."
        ),
    ),
]
NodeSelectorField = Annotated[
    LabelSelector | None,
    Field(
        description="Which nodes may hold the address; by default every node running the agent.",
    ),
]
PreferredNodesField = Annotated[
    tuple[NodeName, ...],
    Field(
        max_length=MAX_PREFERRED_NODES,
        json_schema_extra={"x-kubernetes-list-type": "set"},
        description=(
            "Nodes to prefer, best first (keepalived's priority). Placement takes the first "
            "eligible one when the address must move."
        ),
    ),
    pydantic.AfterValidator(_check_distinct_nodes),
]
AnnounceField = Annotated[
    Announce,
    Field(
        default_factory=Announce,
        json_schema_extra={"default": {}},
        description="Announcement tuning.",
    ),
]
HealthCheckField = Annotated[
    HealthCheck | None,
    Field(
        description=(
            "An optional check of a local service that a node must pass to hold the address."
        ),
    ),
]


_ADDRESS_RULES = _validations(
    _cel(
        "isIP(self) || isCIDR(self)",
        f"must be an IPv4 or IPv6 address, optionally with a prefix length, "
        f"like {addresses.EXAMPLE}",
    ),
    _cel(
        "!(isIP(self) || isCIDR(self)) "
        "|| (isIP(self) ? ip(self) : cidr(self).ip()).isGlobalUnicast()",
        "must be a unicast address: not multicast, loopback, link-local, unspecified or broadcast",
    ),
    _cel(
        "!isCIDR(self) || isIP(self) "
        "|| cidr(self).prefixLength() >= (cidr(self).ip().family() == 4 ? 31 : 127) "
        "|| cidr(self).ip() != cidr(self).masked().ip()",
        "must not be the network address of its own prefix",
    ),
)


class VirtualIPSpec(
    Model,
    json_schema_extra=_validations(
        _cel(
            "!has(self.preempt) || !self.preempt "
            "|| (has(self.preferredNodes) && size(self.preferredNodes) > 0)",
            "preempt needs preferredNodes: it returns the address to the first healthy one",
            fieldPath=".preempt",
        ),
    ),
):
    """The desired state of a virtual IP, written by people and GitOps tools (never by floatip)."""

    address: str = Field(
        max_length=ADDRESS_MAX_LENGTH,
        json_schema_extra=_ADDRESS_RULES,
        description=(
            "The virtual IP: one IPv4 or IPv6 address, optionally with the prefix length of "
            "its subnet (192.0.2.10/24). The prefix picks the interface; the address itself is "
            "added without a prefix route."
        ),
    )
    interface: InterfaceField = None
    node_selector: NodeSelectorField = None
    preferred_nodes: PreferredNodesField = ()
    preempt: bool = Field(
        default=False,
        description=(
            "Move the address back to a better preferred node as soon as it is eligible again. "
            "Off by default to avoid flapping (keepalived's nopreempt)."
        ),
    )
    hold_down_seconds: int = Field(
        default=10,
        ge=0,
        le=3600,
        description=(
            "How long a node that lost eligibility (its link, its agent, the health check) "
            "must stay eligible before the address is preempted back to it or it is chosen "
            "over a node that stayed eligible; doubled for each further loss within 5 minutes "
            "(at most 8 times). A failover away from a failed holder is never delayed "
            "(keepalived's preempt_delay; 0 turns it off)."
        ),
    )
    node: NodeName | None = Field(
        default=None,
        description=(
            "Pin the address to this node. Changing it performs a planned, make-before-break "
            "switchover."
        ),
    )
    announce: AnnounceField
    health_check: HealthCheckField = None
    group: GroupName | None = Field(
        default=None,
        description=(
            "VirtualIPs that name the same group always share one holder (keepalived's "
            "vrrp_sync_group): a node is eligible for the group only when it is eligible for "
            "every member (nodeSelector, interface, health checks), a member's failing health "
            "check moves the whole group, and a planned move is make-before-break for every "
            "member. Members that set node, or preferredNodes and preempt, must agree; members "
            "that leave them unset follow the others."
        ),
    )

    @pydantic.field_validator("address")
    @classmethod
    def _usable_address(cls, value: str) -> str:
        addresses.parse_address(value)
        return value

    @property
    def interface_address(self) -> addresses.IPInterface:
        """The parsed address with its prefix (full length when none was given)."""
        return addresses.parse_address(self.address)


# --- status -----------------------------------------------------------------------------


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


Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class Condition(Model):
    """One observation of an object's state, shaped like metav1.Condition."""

    type: str = Field(
        max_length=316, description="What it observes: the kind's status.conditions lists them."
    )
    status: ConditionStatus = Field(description="True, False or Unknown.")
    observed_generation: int | None = Field(
        default=None, ge=0, description="The spec generation the condition was computed from."
    )
    last_transition_time: Timestamp = Field(description="When the status last changed.")
    reason: str = Field(max_length=1024, description="A CamelCase word for machines.")
    message: str = Field(default="", max_length=32768, description="A sentence for people.")


class Move(Model):
    """One change of holder, kept in status.history."""

    time: Timestamp = Field(description="When the operator decided the move.")
    from_: str | None = Field(default=None, alias="from", description="The previous holder.")
    to: str | None = Field(default=None, description="The new holder (none: released).")
    reason: str = Field(max_length=1024, description="Why the address moved.")
    epoch: int = Field(ge=0, description="The epoch the move created.")


class Announcement(Model):
    """What the holder's agent reports after it added and announced the address."""

    node: str = Field(description="The node whose agent announced the address.")
    epoch: int = Field(ge=0, description="The epoch the agent acted on.")
    mac: str = Field(max_length=64, description="The MAC address the LAN now sees for it.")
    time: Timestamp = Field(description="When the first announcement went out.")


class ConflictReport(Model):
    """A foreign host claims the address (reported by the holder's agent; cleared when gone)."""

    node: str = Field(description="The holder that saw the foreign claims.")
    mac: str = Field(max_length=64, description="The foreign MAC address.")
    since: Timestamp = Field(description="When the first foreign claim was seen.")
    last_seen: Timestamp = Field(description="When the latest foreign claim was seen.")
    count: int = Field(ge=0, description="Foreign claims seen since.")
    reasserted: int = Field(ge=0, description="Announcements sent to take the address back.")


class VirtualIPStatus(Model):
    """The observed state, written by floatip only (so GitOps tools never see drift in spec)."""

    holder: str | None = Field(default=None, description="The node that holds the address.")
    epoch: int = Field(
        default=0,
        ge=0,
        description="Bumped on every move; an agent acts only on the newest epoch it has seen.",
    )
    observed_generation: int | None = Field(
        default=None, ge=0, description="The spec generation this status reflects."
    )
    conditions: tuple[Condition, ...] = Field(
        default=(),
        max_length=16,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
        description="Ready, Assigned, Announced, Conflict and HealthCheck; Grouped on members "
        "of a spec.group.",
    )
    history: tuple[Move, ...] = Field(
        default=(), max_length=HISTORY_LENGTH, description="The last moves, oldest first."
    )
    announcement: Announcement | None = Field(
        default=None,
        description=(
            "Written by the holder's agent once it holds and has announced the address: the "
            "old holder of a planned switchover removes it only after this shows the new epoch."
        ),
    )
    conflict: ConflictReport | None = Field(
        default=None, description="Written by the holder's agent while a foreign host claims it."
    )


# --- the object -------------------------------------------------------------------------


class ObjectMeta(pydantic.BaseModel):
    """The part of metadata a manifest author writes; the rest is the API server's."""

    model_config = pydantic.ConfigDict(extra="allow", frozen=True)

    name: NodeName
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class VirtualIP(Model):
    """A whole VirtualIP manifest."""

    model_config = pydantic.ConfigDict(extra="ignore")

    api_version: Literal["floatip.io/v1alpha1"] = "floatip.io/v1alpha1"
    kind: Literal["VirtualIP"] = "VirtualIP"
    metadata: ObjectMeta
    spec: VirtualIPSpec
    status: VirtualIPStatus | None = None


# --- VirtualIPPool ------------------------------------------------------------------------------
# Addresses that floatip hands out to Services of type LoadBalancer (docs/reference.md). The
# arithmetic of its addresses is floatip.api.pools; the CEL rules below check what a schema can
# (each entry's syntax, family, unicast and host bits), the model the rest (a range's order, a
# range across special addresses, entries of one pool that share addresses).

_POOL_ENTRY_PARSES = (
    "(self.contains('-') ? (size(self.split('-')) == 2 "
    "&& isIP(self.split('-')[0]) && isIP(self.split('-')[1])) : isCIDR(self))"
)
_FIRST, _LAST = "ip(self.split('-')[0])", "ip(self.split('-')[1])"
#: The blocks a unicast CIDR must not contain (a CIDR whose own address lies in one fails
#: isGlobalUnicast); pools.SPECIAL_NETWORKS names the same ones.
_SPECIAL_CIDRS = (
    "['127.0.0.0/8', '169.254.0.0/16', '224.0.0.0/4', '255.255.255.255/32', "
    "'::1/128', 'fe80::/10', 'ff00::/8']"
)

_POOL_ENTRY_RULES = _validations(
    _cel(
        _POOL_ENTRY_PARSES,
        f"must be a CIDR or a range FIRST-LAST of two addresses, like {pools.EXAMPLE}",
    ),
    _cel(
        f"!{_POOL_ENTRY_PARSES} || !self.contains('-') || {_FIRST}.family() == {_LAST}.family()",
        "both ends of a range must be of one family",
    ),
    _cel(
        f"!{_POOL_ENTRY_PARSES} || (self.contains('-') "
        f"? ({_FIRST}.isGlobalUnicast() && {_LAST}.isGlobalUnicast()) "
        f": (cidr(self).ip().isGlobalUnicast() "
        f"&& !{_SPECIAL_CIDRS}.exists(b, cidr(self).containsCIDR(b))))",
        "must hold only unicast addresses: no multicast, loopback, link-local, unspecified or "
        "broadcast address",
    ),
    _cel(
        "!isCIDR(self) || cidr(self) == cidr(self).masked()",
        "a CIDR must start at its network address, without host bits (192.0.2.0/28, not "
        "192.0.2.5/28)",
    ),
)


def _check_pool_entry(value: str) -> str:
    pools.parse_entry(value)
    return value


PoolEntry = Annotated[
    str,
    Field(min_length=1, max_length=pools.ENTRY_MAX_LENGTH, json_schema_extra=_POOL_ENTRY_RULES),
    pydantic.AfterValidator(_check_pool_entry),
]


class VirtualIPTemplate(Model):
    """The VirtualIP spec fields every address of the pool gets, as a VirtualIP defines them."""

    interface: InterfaceField = None
    node_selector: NodeSelectorField = None
    preferred_nodes: PreferredNodesField = ()
    announce: AnnounceField
    health_check: HealthCheckField = None


class VirtualIPPoolSpec(Model):
    """The addresses of the pool and who may draw from it, written by people (never floatip)."""

    addresses: tuple[PoolEntry, ...] = Field(
        min_length=1,
        max_length=MAX_POOL_ENTRIES,
        json_schema_extra={"x-kubernetes-list-type": "set"},
        description=(
            "The addresses to hand out: CIDRs (192.0.2.0/28, 2001:db8::/120) and ranges "
            "FIRST-LAST of one family, both ends included (192.0.2.10-192.0.2.20). A CIDR "
            "shorter than /31 (IPv4) or /127 (IPv6) never hands out its network address, nor "
            "its broadcast address (IPv4); a range hands out every address it names. Entries "
            "must not share addresses."
        ),
    )
    auto_assign: bool = Field(
        default=True,
        description=(
            "Hand out addresses to Services that do not name a pool; when false, only to "
            "Services that ask for this pool or one of its addresses."
        ),
    )
    service_selector: LabelSelector | None = Field(
        default=None,
        description="Which Services may draw from the pool, by their labels; by default all.",
    )
    namespace_selector: LabelSelector | None = Field(
        default=None,
        description=(
            "Which namespaces' Services may draw from the pool, by the namespace's labels; "
            "by default all."
        ),
    )
    priority: int | None = Field(
        default=None,
        ge=0,
        le=MAX_PRIORITY,
        description=(
            "Which pool a Service draws from first when several may serve it: the lowest "
            "number first, pools without a priority after every pool with one, ties by name "
            "(MetalLB's serviceAllocation.priority)."
        ),
    )
    template: VirtualIPTemplate = Field(
        default_factory=VirtualIPTemplate,
        json_schema_extra={"default": {}},
        description="The VirtualIP spec fields every address of the pool gets.",
    )

    @pydantic.field_validator("addresses")
    @classmethod
    def _entries_apart(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        shared = []
        for first, second, overlap in pools.internal_overlaps(value):
            if value[first] == value[second]:
                shared.append(f"items {first} and {second} are both {value[first]!r}")
            else:
                shared.append(f"items {first} and {second} share {overlap}")
        if shared:
            raise ValueError("; ".join(shared) + ": list each address in one entry only")
        return value

    @property
    def pool(self) -> pools.Pool:
        """The parsed addresses (sizes, membership, the next free address)."""
        return pools.parse_pool(self.addresses)


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


_COUNT_NOTE = (
    f" Counts above {pools.INT64_MAX} (2^63 - 1, int64; an IPv6 pool larger than a /65 holds "
    "more) are reported as that number."
)


def _check_int64(value: int) -> int:
    if value > pools.INT64_MAX:
        raise ValueError(f"must be at most {pools.INT64_MAX} (int64): report larger counts as that")
    return value


#: A count in status: an int64 on the wire. The bound is the model's (and the format's): a
#: schema ``maximum`` is a float64 in Kubernetes and in Helm's YAML, which cannot hold 2^63 - 1.
Count = Annotated[
    int, Field(ge=0, json_schema_extra={"format": "int64"}), pydantic.AfterValidator(_check_int64)
]


class AddressCounts(Model):
    """How many addresses of one family the pool holds and hands out."""

    total: Count = Field(description="Addresses the pool hands out." + _COUNT_NOTE)
    allocated: Count = Field(
        description=(
            "Addresses taken now: distinct addresses of VirtualIPs whose spec.address lies in "
            "the pool, allocated from it or standalone (a taken address is never handed out)."
        )
    )
    available: Count = Field(
        description="Addresses still free: total minus allocated." + _COUNT_NOTE
    )


class VirtualIPPoolStatus(Model):
    """The observed state of the pool, written by floatip only."""

    observed_generation: int | None = Field(
        default=None, ge=0, description="The spec generation this status reflects."
    )
    ipv4: AddressCounts | None = Field(default=None, description="The IPv4 addresses.")
    ipv6: AddressCounts | None = Field(default=None, description="The IPv6 addresses.")
    conditions: tuple[Condition, ...] = Field(
        default=(),
        max_length=16,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
        description=(
            "Ready (True when the spec is valid and the pool overlaps nothing; reason Ready, "
            "or Exhausted when no address is left) and Overlap (True when the pool shares "
            "addresses with another pool, OverlapsPool, or holds the address of a standalone "
            "VirtualIP, OverlapsVirtualIP)."
        ),
    )


class VirtualIPPool(Model):
    """A whole VirtualIPPool manifest."""

    model_config = pydantic.ConfigDict(extra="ignore")

    api_version: Literal["floatip.io/v1alpha1"] = "floatip.io/v1alpha1"
    kind: Literal["VirtualIPPool"] = "VirtualIPPool"
    metadata: ObjectMeta
    spec: VirtualIPPoolSpec
    status: VirtualIPPoolStatus | None = None
