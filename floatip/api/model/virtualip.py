"""The VirtualIP kind: one address, where it may live, and the status floatip reports for it.

The spec is written by people and GitOps tools, the status by floatip only (the operator and
the holder's agent, floatip.api.status says who writes which field).
"""

from __future__ import annotations

from typing import Literal

import pydantic
from pydantic import Field

from floatip.api import addresses
from floatip.api.model.base import Model, cel_rule, validations
from floatip.api.model.meta import Condition, ObjectMeta, Timestamp
from floatip.api.model.specfields import (
    AnnounceField,
    GroupName,
    HealthCheckField,
    InterfaceField,
    NodeName,
    NodeSelectorField,
    PreferredNodesField,
)

#: The longest text form of an address with a prefix: a full IPv6 address plus ``/128``.
ADDRESS_MAX_LENGTH = 49
HISTORY_LENGTH = 10

_ADDRESS_RULES = validations(
    cel_rule(
        "isIP(self) || isCIDR(self)",
        f"must be an IPv4 or IPv6 address, optionally with a prefix length, "
        f"like {addresses.EXAMPLE}",
    ),
    cel_rule(
        "!(isIP(self) || isCIDR(self)) "
        "|| (isIP(self) ? ip(self) : cidr(self).ip()).isGlobalUnicast()",
        "must be a unicast address: not multicast, loopback, link-local, unspecified or broadcast",
    ),
    cel_rule(
        "!isCIDR(self) || isIP(self) "
        "|| cidr(self).prefixLength() >= (cidr(self).ip().family() == 4 ? 31 : 127) "
        "|| cidr(self).ip() != cidr(self).masked().ip()",
        "must not be the network address of its own prefix",
    ),
)


class VirtualIPSpec(
    Model,
    json_schema_extra=validations(
        cel_rule(
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


class VirtualIP(Model):
    """A whole VirtualIP manifest."""

    model_config = pydantic.ConfigDict(extra="ignore")

    api_version: Literal["floatip.io/v1alpha1"] = "floatip.io/v1alpha1"
    kind: Literal["VirtualIP"] = "VirtualIP"
    metadata: ObjectMeta
    spec: VirtualIPSpec
    status: VirtualIPStatus | None = None
