"""The agent's Lease: its liveness fence and what it publishes to peers and the operator (pure).

protocol.md "The agent's Lease": ``floatip-agent-<node>`` in the agent's namespace,
``holderIdentity`` the node, renewed every 15 s (``--lease-renew-seconds``) for three times
that (`duration_for`), with annotations naming the health endpoint, the node's own (unmarked)
addresses per interface and its MACs, encoded by `floatip.api.leases` (the operator and the
other agents decode them there). Peers read the MACs so that a planned switchover's old
holder is never taken for an intruder, and the addresses for the flow handoff.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from floatip.api import leases, names, times
from floatip_agent import addressing

LEASE_DURATION = 45  # for the default 15 s renewal
#: A restart mark stays until the agent has answered polls this long, so that the operator's
#: verdict (rise: two good polls) is "alive" again before the mark that held failover goes.
RESTART_MARK_KEPT_SECONDS = 5.0


def duration_for(renew_seconds: float) -> int:
    """A Lease outlives two missed renewals: three renewal periods, 30 s at least."""
    return max(30, int(3 * renew_seconds + 0.999))


def published(snapshot: addressing.Snapshot, *, endpoint: str) -> dict[str, str]:
    """The annotations this node publishes, from a snapshot of its kernel."""
    by_link: dict[str, list[addressing.IPInterface]] = {}
    for entry in snapshot.addresses:
        ip = entry.interface.ip
        if entry.owned or ip.is_loopback or ip.is_link_local:
            continue
        by_link.setdefault(addressing.link_name(snapshot, entry.link_index), []).append(
            entry.interface
        )
    return {
        names.ENDPOINT_ANNOTATION: endpoint,
        names.INTERFACES_ANNOTATION: leases.encode_interfaces(by_link),
        names.MACS_ANNOTATION: leases.encode_macs({link.name: link.mac for link in snapshot.links}),
    }


class Peers(NamedTuple):
    """What the other agents publish: their MACs, and each node's interfaces annotation."""

    macs: frozenset[str]
    interfaces: Mapping[str, str]


def peers(all_leases: Iterable[Mapping[str, Any]], *, node: str) -> Peers:
    """The other agents' MACs and interfaces (not this node's, not the operator's Lease)."""
    macs: set[str] = set()
    interfaces: dict[str, str] = {}
    for peer, lease in leases.agents(all_leases):
        if peer == node:
            continue
        text, mac_text = leases.published(lease)
        macs |= leases.macs(mac_text)
        if text:
            interfaces[peer] = text
    return Peers(frozenset(macs), interfaces)


def lease_body(
    *,
    node: str,
    namespace: str,
    annotations: Mapping[str, str],
    now: datetime.datetime,
    duration: int = LEASE_DURATION,
) -> dict[str, Any]:
    """The whole Lease, for creating it."""
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": leases.name_for(node),
            "namespace": namespace,
            "annotations": dict(annotations),
            "labels": {"app.kubernetes.io/name": "floatip-agent"},
        },
        "spec": {
            "holderIdentity": node,
            "leaseDurationSeconds": duration,
            "acquireTime": times.micro_time(now),
            "renewTime": times.micro_time(now),
        },
    }


def renewal_patch(
    *,
    node: str,
    annotations: Mapping[str, str] | None,
    now: datetime.datetime,
    duration: int = LEASE_DURATION,
    clear_restart_mark: bool = True,
) -> dict[str, Any]:
    """Merge patch renewing the Lease (and updating the annotations if given)."""
    patch: dict[str, Any] = {
        "spec": {
            "holderIdentity": node,
            "leaseDurationSeconds": duration,
            "renewTime": times.micro_time(now),
        }
    }
    if annotations is not None:
        patch["metadata"] = {"annotations": dict(annotations)}
        if clear_restart_mark:  # null removes the mark this agent's previous run left
            patch["metadata"]["annotations"][names.RESTARTING_ANNOTATION] = None
    return patch


def restarting_patch(until: datetime.datetime) -> dict[str, Any]:
    """Merge patch announcing a restart that should be over by ``until``."""
    return {"metadata": {"annotations": leases.restart_mark(until)}}
