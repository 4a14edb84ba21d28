"""Which nodes may hold a VirtualIP, and why the others may not.

Pure: the operator's adapters gather what the API and the agents say about each node into a
:class:`NodeView` and each VirtualIP into a :class:`VipView`; this module decides. Reasons are
named values so that status messages, Events and metrics speak the same words.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import ipaddress
from collections.abc import Mapping

from floatip.api import addresses, model

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Ineligible(enum.StrEnum):
    """Why one node may not hold one address (in the order they are checked)."""

    NODE_NOT_READY = "NodeNotReady"
    AGENT_DOWN = "AgentDown"  # the operator's fast poll of the agent's /healthz fails
    LEASE_EXPIRED = "LeaseExpired"  # the agent's Lease was not renewed in time
    DRAINED = "Drained"
    NOT_SELECTED = "NotSelected"  # spec.nodeSelector does not match the node's labels
    NO_INTERFACE = "NoInterface"  # no interface named spec.interface / whose subnet holds it
    NODE_ADDRESS = "NodeAddress"  # the address is one of the node's own
    #: externalTrafficPolicy Local: no ready endpoint of the VirtualIP's Service(s) on the node
    NO_LOCAL_ENDPOINT = "NoLocalEndpoint"
    HEALTH_CHECK_FAILING = "HealthCheckFailing"
    HEALTH_CHECK_UNKNOWN = "HealthCheckUnknown"


@dataclasses.dataclass(frozen=True)
class Interface:
    name: str
    network: IPNetwork


@dataclasses.dataclass(frozen=True)
class NodeView:
    """What the operator knows of one node, from the Node, its Lease and its agent."""

    name: str
    ready: bool = True
    agent_alive: bool = True
    lease_fresh: bool = True
    drained: bool = False
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    interfaces: tuple[Interface, ...] = ()
    own_addresses: frozenset[addresses.IPAddress] = frozenset()
    #: An interface it publishes has lost its carrier (it is left out of ``interfaces``).
    carrier_lost: bool = False

    @property
    def alive(self) -> bool:
        """Whether the node itself can hold anything, whatever the address."""
        return self.ready and self.agent_alive and self.lease_fresh and not self.drained

    @property
    def fit(self) -> bool:
        """Alive with every link up: what flap damping (`damping`) watches."""
        return self.alive and not self.carrier_lost

    @property
    def reachable(self) -> bool:
        """Whether the node's agent is alive, so it can hand an address over cleanly."""
        return self.agent_alive and self.lease_fresh


@dataclasses.dataclass(frozen=True)
class VipView:
    """What placement needs of one VirtualIP."""

    name: str
    spec: model.VirtualIPSpec
    holder: str | None = None
    #: Sorts VirtualIPs by age (creationTimestamp, then name): the older keeps a shared address.
    created: str = ""
    #: externalTrafficPolicy Local: only these nodes (a ready endpoint of every Service on the
    #: address, `endpoints.allowed_nodes`) may hold it; empty: none may. None: unconstrained.
    endpoint_nodes: frozenset[str] | None = None

    @functools.cached_property
    def ip(self) -> addresses.IPAddress:
        """The address without its prefix (parsed once: placement asks often)."""
        return self.spec.interface_address.ip


#: Health-check results: VirtualIP name -> node name -> healthy (absent: not known yet).
HealthResults = Mapping[str, Mapping[str, bool]]


def can_hold_on(vip: VipView, node: NodeView) -> bool:
    """Whether ``node`` has an interface that can take the address."""
    if vip.spec.interface is not None:
        return any(iface.name == vip.spec.interface for iface in node.interfaces)
    ip = vip.ip
    return any(ip in iface.network for iface in node.interfaces)


def why_ineligible(vip: VipView, node: NodeView, health: HealthResults) -> Ineligible | None:
    """The first reason ``node`` may not hold ``vip``, or None when it may."""
    if not node.ready:
        return Ineligible.NODE_NOT_READY
    if not node.agent_alive:
        return Ineligible.AGENT_DOWN
    if not node.lease_fresh:
        return Ineligible.LEASE_EXPIRED
    if node.drained:
        return Ineligible.DRAINED
    selector = vip.spec.node_selector
    if selector is not None and not selector.matches(dict(node.labels)):
        return Ineligible.NOT_SELECTED
    if not can_hold_on(vip, node):
        return Ineligible.NO_INTERFACE
    if vip.ip in node.own_addresses:
        return Ineligible.NODE_ADDRESS
    if vip.endpoint_nodes is not None and node.name not in vip.endpoint_nodes:
        return Ineligible.NO_LOCAL_ENDPOINT
    if vip.spec.health_check is not None:
        result = health.get(vip.name, {}).get(node.name)
        if result is None:
            return Ineligible.HEALTH_CHECK_UNKNOWN
        if not result:
            return Ineligible.HEALTH_CHECK_FAILING
    return None


def summarize(vip: VipView, nodes: Mapping[str, NodeView], health: HealthResults) -> str:
    """A sentence for a NoEligibleNode condition: how many nodes fail for which reason."""
    counts: dict[Ineligible, int] = {}
    for node in nodes.values():
        reason = why_ineligible(vip, node, health)
        if reason is not None:
            counts[reason] = counts.get(reason, 0) + 1
    if not nodes:
        return "no node runs the floatip agent"
    parts = [f"{count} {reason.value}" for reason, count in sorted(counts.items())]
    return f"none of {len(nodes)} node(s) is eligible: " + ", ".join(parts)
