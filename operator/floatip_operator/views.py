"""Turn API objects and poll results into the views the pure decision modules take.

Pure: Nodes, agent Leases (``floatip-agent-<node>``, annotations per docs/design/protocol.md),
the poller's verdicts and reports, and VirtualIP bodies in; :class:`eligibility.NodeView`,
:class:`eligibility.VipView` and health results out. No I/O and no clock of its own: callers pass
``now`` so tests can state exactly when a Lease expires.

A node is *drained* when it carries the label or the annotation ``floatip.io/drain`` (any value),
like MetalLB's ``node.kubernetes.io/exclude-from-external-load-balancers``.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any

from floatip.api import addresses, leases, model, names, status, validation
from floatip_operator import eligibility, liveness


@dataclasses.dataclass(frozen=True)
class AgentState:
    """What the poller says of one agent: its verdict and the last /healthz answer."""

    alive: bool
    report: Mapping[str, Any] | None = None


def restarting(lease: Mapping[str, Any] | None, *, now: datetime.datetime) -> bool:
    """Whether the agent announced a restart that is still within its grace."""
    until = leases.restarting_until(lease)
    return until is not None and now < until


def with_restart_grace(
    agents: Mapping[str, AgentState],
    agent_leases: Mapping[str, Mapping[str, Any]],
    *,
    now: datetime.datetime,
) -> dict[str, AgentState]:
    """The poller's verdicts, with a restarting agent counted alive (its last report kept)."""
    adjusted = dict(agents)
    for node, lease in agent_leases.items():
        if restarting(lease, now=now):
            previous = agents.get(node)
            adjusted[node] = AgentState(True, previous.report if previous else None)
    return adjusted


def parse_interfaces(
    text: str,
) -> tuple[tuple[eligibility.Interface, ...], frozenset[addresses.IPAddress]]:
    """``eth0=192.0.2.11/24,2001:db8::11/64;eth1=...`` -> interfaces and the node's own addresses.

    Malformed entries are skipped: a half-readable annotation must not hide the rest.
    """
    listed = list(leases.interfaces(text))
    found = tuple(eligibility.Interface(name, iface.network) for name, iface in listed)
    return found, frozenset(iface.ip for _, iface in listed)


def lease_fresh(
    lease: Mapping[str, Any] | None, *, now: datetime.datetime, contact_since: datetime.datetime
) -> bool:
    """Whether an agent Lease still fences: renewed in time, or within the grace after an outage.

    ``contact_since`` is when the operator's own API contact was last (re)established: while
    the API was down no agent could renew, so an old renewTime proves nothing until the agents
    have had a whole Lease duration of working API to renew in.
    """
    if lease is None:
        return False
    renewed, duration = leases.renewal(lease)
    if liveness.lease_fresh(renewed, duration, now):
        return True
    return liveness.lease_fresh(renewed and contact_since, duration, now)


def node_ready(node: Mapping[str, Any]) -> bool:
    for condition in node.get("status", {}).get("conditions", []) or []:
        if condition.get("type") == "Ready":
            return bool(condition.get("status") == "True")
    return False


def drained(node: Mapping[str, Any]) -> bool:
    meta = node.get("metadata", {})
    return names.DRAIN_LABEL in (meta.get("labels") or {}) or names.DRAIN_LABEL in (
        meta.get("annotations") or {}
    )


def node_views(
    nodes: Mapping[str, Mapping[str, Any]],
    agent_leases: Mapping[str, Mapping[str, Any]],
    agents: Mapping[str, AgentState],
    *,
    now: datetime.datetime,
    contact_since: datetime.datetime,
) -> dict[str, eligibility.NodeView]:
    """Every existing Node as placement sees it (``agent_leases``, ``agents`` keyed by node)."""
    views: dict[str, eligibility.NodeView] = {}
    for name, node in nodes.items():
        lease = agent_leases.get(name)
        interfaces, own = parse_interfaces(leases.published(lease or {})[0])
        agent = agents.get(name)
        published = interfaces
        interfaces = with_carrier(interfaces, agent)
        views[name] = eligibility.NodeView(
            name=name,
            ready=node_ready(node),
            agent_alive=agent is not None and agent.alive,
            lease_fresh=lease_fresh(lease, now=now, contact_since=contact_since),
            drained=drained(node),
            labels=dict(node.get("metadata", {}).get("labels") or {}),
            interfaces=interfaces,
            own_addresses=own,
            carrier_lost=len(interfaces) < len(published),
        )
    return views


def with_carrier(
    interfaces: tuple[eligibility.Interface, ...], agent: AgentState | None
) -> tuple[eligibility.Interface, ...]:
    """Drop the interfaces whose carrier the agent last reported lost (protocol.md, /healthz)."""
    links = (agent.report or {}).get("links") if agent is not None else None
    if not isinstance(links, Mapping):
        return interfaces
    return tuple(iface for iface in interfaces if links.get(iface.name) is not False)


def health_results(agents: Mapping[str, AgentState]) -> dict[str, dict[str, bool]]:
    """VirtualIP name -> node -> verdict of its health check, from the agents' /healthz reports."""
    results: dict[str, dict[str, bool]] = {}
    for node, agent in agents.items():
        if not agent.alive or agent.report is None:
            continue
        health = agent.report.get("health")
        if isinstance(health, Mapping):
            for vip, verdict in health.items():
                if isinstance(verdict, bool):
                    results.setdefault(str(vip), {})[node] = verdict
    return results


@dataclasses.dataclass(frozen=True)
class ParsedSpec:
    """One VirtualIP's spec at one generation: the model, or the problems that stop it."""

    generation: int
    spec: model.VirtualIPSpec | None
    problems: str = ""


def parse_spec(body: Mapping[str, Any]) -> ParsedSpec:
    generation = int(body.get("metadata", {}).get("generation") or 0)
    try:
        return ParsedSpec(generation, validation.parse_spec(body.get("spec")))
    except validation.InvalidSpecError as exc:
        return ParsedSpec(generation, None, str(exc))


def vip_view(body: Mapping[str, Any], spec: model.VirtualIPSpec) -> eligibility.VipView:
    meta = body.get("metadata", {})
    return eligibility.VipView(
        name=str(meta.get("name")),
        spec=spec,
        holder=status.holder(status.of(body)),
        created=str(meta.get("creationTimestamp", "")),
    )
