"""The control-plane VIP's report: the Lease its holder writes once the API is up (pure).

Shared by its writer (`floatip_agent.controlplane.publishing`) and its reader (``kubectl vip
status``), so both agree on one layout.

The Lease ``kube-system/floatip-control-plane`` is a *report*, never an input: no agent reads
it, so the API being down, slow or wrong cannot move the VIP. The holder writes it (its own
credentials, a Role limited to this one object: ``floatip control-plane rbac``) and
``kubectl vip status`` shows it. Fields: ``holderIdentity`` the holding node,
``leaseTransitions`` its term, ``renewTime`` the last write; annotations carry the address,
the cluster id and every node's role and health as the holder sees them.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from typing import Any

from floatip.api import times

NAMESPACE = "kube-system"
LEASE = "floatip-control-plane"
ADDRESS = "floatip.io/control-plane-address"
CLUSTER = "floatip.io/control-plane-cluster"
NODES = "floatip.io/control-plane-nodes"
#: Seconds between two writes while holding (and at once after a claim or a change).
PERIOD_SECONDS = 10.0


def summary(state: Mapping[str, Any]) -> dict[str, Any]:
    """The part of `floatip_agent.controlplane.node`'s /state worth publishing; a change of it
    is worth a write at once."""
    nodes = {
        str(state["node"]): {"role": state["role"], "healthy": state["healthy"]},
        **{
            str(name): {
                "role": "holder" if peer["holding"] else "backup",
                "healthy": peer["healthy"],
            }
            for name, peer in state["peers"].items()
            if peer["live"]
        },
    }
    return {
        "holder": state["node"] if state["role"] == "holder" else None,
        "term": state["term"], "address": state["address"], "cluster": state["clusterId"],
        "nodes": dict(sorted(nodes.items())),
    }  # fmt: skip


def lease(summary_: Mapping[str, Any], *, now: datetime.datetime) -> dict[str, Any]:
    """The whole Lease (for a create, or a merge patch of an existing one)."""
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": LEASE,
            "namespace": NAMESPACE,
            "labels": {"app.kubernetes.io/name": "floatip",
                       "app.kubernetes.io/component": "control-plane-vip"},
            "annotations": {
                ADDRESS: str(summary_["address"]), CLUSTER: str(summary_["cluster"]),
                NODES: json.dumps(summary_["nodes"], sort_keys=True, separators=(",", ":")),
            },
        },
        "spec": {
            "holderIdentity": summary_["holder"],
            "leaseTransitions": int(summary_["term"]),
            "renewTime": times.micro_time(now),
        },
    }  # fmt: skip


def describe(obj: Mapping[str, Any], *, now: datetime.datetime) -> str:
    """One line for ``kubectl vip status``: where the control-plane VIP is, as last reported."""
    metadata = obj.get("metadata") or {}
    annotations = metadata.get("annotations") or {}
    spec = obj.get("spec") or {}
    holder = spec.get("holderIdentity") or "nobody"
    age = ""
    moment = times.parse(spec.get("renewTime"))
    if moment is not None:
        age = f", reported {max(0, int((now - moment).total_seconds()))} s ago"
    try:
        nodes = json.loads(annotations.get(NODES) or "{}")
    except ValueError:
        nodes = {}
    health = {True: "ready", False: "unready", None: "unknown"}
    listed = ", ".join(
        f"{name} {health.get(info.get('healthy'), '?')}" for name, info in sorted(nodes.items())
        if isinstance(info, dict)
    )  # fmt: skip
    address = annotations.get(ADDRESS, "?")
    term = spec.get("leaseTransitions", 0)
    line = f"control-plane VIP {address}: held by {holder} (term {term}{age})"
    return line + (f"; apiservers: {listed}" if listed else "")
