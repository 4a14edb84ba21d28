"""The agent's Lease: its liveness fence and what it publishes to peers and the operator (pure).

protocol.md "The agent's Lease": ``floatip-agent-<node>`` in the agent's namespace,
``holderIdentity`` the node, renewed every 15 s (``--lease-renew-seconds``) for three times
that (`duration_for`), with annotations naming the
health endpoint, the node's own (unmarked) addresses per interface and its MACs. Peers read
the MACs so that a planned switchover's old holder is never taken for an intruder.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from floatip.api import names
from floatip_agent import addressing

LEASE_DURATION = 45  # for the default 15 s renewal


def duration_for(renew_seconds: float) -> int:
    """A Lease outlives two missed renewals: three renewal periods, 30 s at least."""
    return max(30, int(3 * renew_seconds + 0.999))


ZERO_MAC = "00:00:00:00:00:00"


def restarting_patch(until: datetime.datetime) -> dict[str, Any]:
    """Merge patch announcing a restart that should be over by ``until``."""
    return {"metadata": {"annotations": {names.RESTARTING_ANNOTATION: micro_time(until)}}}


def lease_name(node: str) -> str:
    return names.AGENT_LEASE_PREFIX + node


def interfaces_annotation(snapshot: addressing.Snapshot) -> str:
    """``eth0=192.0.2.11/24,2001:db8:f1::11/64;eth1=...``: unmarked global addresses."""
    by_link: dict[str, list[str]] = {}
    for entry in snapshot.addresses:
        ip = entry.interface.ip
        if entry.owned or ip.is_loopback or ip.is_link_local:
            continue
        by_link.setdefault(addressing.link_name(snapshot, entry.link_index), []).append(
            str(entry.interface)
        )
    return ";".join(f"{name}={','.join(addrs)}" for name, addrs in sorted(by_link.items()))


def macs_annotation(snapshot: addressing.Snapshot) -> str:
    """``eth0=02:f1:00:00:00:01;eth1=...``: every link with a real MAC (not loopback)."""
    return ";".join(
        f"{link.name}={link.mac.lower()}"
        for link in sorted(snapshot.links, key=lambda lk: lk.name)
        if link.mac and link.mac != ZERO_MAC
    )


def parse_macs(annotation: str) -> set[str]:
    """The MACs in a ``floatip.io/macs`` annotation; malformed parts are skipped."""
    macs: set[str] = set()
    for part in annotation.split(";"):
        _, sep, mac = part.partition("=")
        if sep and mac.count(":") == 5:
            macs.add(mac.strip().lower())
    return macs


def _peers(
    leases: Iterable[Mapping[str, Any]], *, node: str
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(node, annotations) of every other agent's Lease (not this node's, not the operator's)."""
    for lease in leases:
        metadata = lease.get("metadata") or {}
        name = str(metadata.get("name") or "")
        if name.startswith(names.AGENT_LEASE_PREFIX) and name != lease_name(node):
            yield name.removeprefix(names.AGENT_LEASE_PREFIX), metadata.get("annotations") or {}


def peer_macs(leases: Iterable[Mapping[str, Any]], *, node: str) -> set[str]:
    """MACs published by every other agent's Lease (not this node's own)."""
    macs: set[str] = set()
    for _, published in _peers(leases, node=node):
        macs |= parse_macs(str(published.get(names.MACS_ANNOTATION) or ""))
    return macs


def peer_interfaces(leases: Iterable[Mapping[str, Any]], *, node: str) -> dict[str, str]:
    """``{node: floatip.io/interfaces annotation}`` of every other agent's Lease."""
    return {
        peer: published[names.INTERFACES_ANNOTATION]
        for peer, published in _peers(leases, node=node)
        if isinstance(published.get(names.INTERFACES_ANNOTATION), str)
    }


def micro_time(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
            "name": lease_name(node),
            "namespace": namespace,
            "annotations": dict(annotations),
            "labels": {"app.kubernetes.io/name": "floatip-agent"},
        },
        "spec": {
            "holderIdentity": node,
            "leaseDurationSeconds": duration,
            "acquireTime": micro_time(now),
            "renewTime": micro_time(now),
        },
    }


#: A restart mark stays until the agent has answered probes this long, so that the operator's
#: verdict (rise: two good probes) is "alive" again before the mark that held failover goes.
RESTART_MARK_KEPT_SECONDS = 5.0


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
            "renewTime": micro_time(now),
        }
    }
    if annotations is not None:
        patch["metadata"] = {"annotations": dict(annotations)}
        if clear_restart_mark:  # null removes the mark this agent's previous run left
            patch["metadata"]["annotations"][names.RESTARTING_ANNOTATION] = None
    return patch
