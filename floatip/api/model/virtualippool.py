"""The VirtualIPPool kind: addresses that floatip hands out to Services of type LoadBalancer.

See docs/reference.md. The arithmetic of its addresses is floatip.api.pools; the CEL rules
below check what a schema can (each entry's syntax, family, unicast and host bits), the model
the rest (a range's order, a range across special addresses, entries of one pool that share
addresses).
"""

from __future__ import annotations

from typing import Annotated, Literal

import pydantic
from pydantic import Field

from floatip.api import pools
from floatip.api.model.base import Model, cel_rule, validations
from floatip.api.model.meta import Condition, ObjectMeta, Timestamp
from floatip.api.model.selectors import LabelSelector
from floatip.api.model.specfields import (
    AnnounceField,
    HealthCheckField,
    InterfaceField,
    NodeSelectorField,
    PreferredNodesField,
)

MAX_POOL_ENTRIES = 64
#: A pool's priority is an int32 on the wire, like every integer Kubernetes APIs bound.
MAX_PRIORITY = 2**31 - 1

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

_POOL_ENTRY_RULES = validations(
    cel_rule(
        _POOL_ENTRY_PARSES,
        f"must be a CIDR or a range FIRST-LAST of two addresses, like {pools.EXAMPLE}",
    ),
    cel_rule(
        f"!{_POOL_ENTRY_PARSES} || !self.contains('-') || {_FIRST}.family() == {_LAST}.family()",
        "both ends of a range must be of one family",
    ),
    cel_rule(
        f"!{_POOL_ENTRY_PARSES} || (self.contains('-') "
        f"? ({_FIRST}.isGlobalUnicast() && {_LAST}.isGlobalUnicast()) "
        f": (cidr(self).ip().isGlobalUnicast() "
        f"&& !{_SPECIAL_CIDRS}.exists(b, cidr(self).containsCIDR(b))))",
        "must hold only unicast addresses: no multicast, loopback, link-local, unspecified or "
        "broadcast address",
    ),
    cel_rule(
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
        description=(
            "Addresses still free: total minus allocated, minus the addresses in use on the "
            "wire (inUseOnWire) that no VirtualIP holds." + _COUNT_NOTE
        )
    )


#: How many addresses in use on the wire a pool's status lists at most (the lowest first).
MAX_IN_USE_ON_WIRE = 64


class AddressInUseOnWire(Model):
    """A pool address a foreign host answered for when a node probed it before taking it."""

    address: str = Field(max_length=45, description="The address.")
    mac: str = Field(max_length=64, description="The MAC of the host that answered the probe.")
    node: str = Field(max_length=253, description="The node whose probe drew the answer.")
    since: Timestamp = Field(description="When the pool first listed the address.")


class VirtualIPPoolStatus(Model):
    """The observed state of the pool, written by floatip only."""

    observed_generation: int | None = Field(
        default=None, ge=0, description="The spec generation this status reflects."
    )
    ipv4: AddressCounts | None = Field(default=None, description="The IPv4 addresses.")
    ipv6: AddressCounts | None = Field(default=None, description="The IPv6 addresses.")
    in_use_on_wire: tuple[AddressInUseOnWire, ...] = Field(
        default=(),
        max_length=MAX_IN_USE_ON_WIRE,
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["address"],
        },
        description=(
            "Pool addresses a foreign host answered for when a node probed them before taking "
            "them (the VirtualIP's status.conflict): not handed out automatically. An entry "
            "stays while a VirtualIP reports it, and is forgotten "
            f"{pools.IN_USE_ON_WIRE_FORGOTTEN_S // 60} minutes after its since once none does "
            "(the address is probed again before it is handed out), or once a node took it."
        ),
    )
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
