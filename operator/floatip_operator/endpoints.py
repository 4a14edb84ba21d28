"""externalTrafficPolicy Local: which nodes may hold a Service's address, from EndpointSlices
(pure).

docs/services.md "externalTrafficPolicy". kube-proxy delivers a Local Service's external traffic
only to endpoints on the node it arrived at and drops it on a node with none, so only nodes
with a ready endpoint of the Service may hold its address (kube-vip #790 and #608, Cilium #27800
announced from nodes without one). The endpoints are the EndpointSlices (discovery.k8s.io/v1)
labelled `services.SERVICE_NAME_LABEL` with the Service's name, in its namespace: each
endpoint's ``nodeName`` where ``conditions.ready`` is true (or absent, which the API defines as
ready). When a Service has no ready endpoint anywhere, nodes whose endpoints are terminating
but still ``serving`` count instead: kube-proxy sends Local traffic to those when a node has
no ready one (KEP-1669, ProxyTerminatingEndpoints, GA in 1.28), so a single-replica rolling
update keeps its address on the node whose old pod is draining rather than dropping it. A
VirtualIP shared by several Services (`services.SERVICES_ANNOTATION`) may be held only
where every Local one of them has a ready endpoint (the intersection); Cluster Services
constrain nothing.

`constraints` reduces the Services and slices to what placement needs: each Local Service's
ready nodes. It is recomputed only when a Service or a slice changed, and two equal results
mean nothing to re-place; `allowed_nodes` then answers per VirtualIP in the size of its
Service list. `slim` keeps of a slice only what this module reads (an informer holds every
slice of the cluster).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from floatip.api import services

#: Service key -> nodes with a ready endpoint, for every Service whose policy is Local.
Constraints = Mapping[str, frozenset[str]]


def is_local(service: Mapping[str, Any]) -> bool:
    spec = service.get("spec")
    return isinstance(spec, Mapping) and spec.get("externalTrafficPolicy") == services.LOCAL


def slice_service(endpoint_slice: Mapping[str, Any]) -> str | None:
    """The key (``namespace/name``) of the Service an EndpointSlice belongs to, if labelled."""
    meta = endpoint_slice.get("metadata") or {}
    name = (meta.get("labels") or {}).get(services.SERVICE_NAME_LABEL)
    if not name:
        return None
    return services.key(str(meta.get("namespace") or ""), str(name))


def ready_nodes(endpoint_slice: Mapping[str, Any]) -> set[str]:
    """Nodes with a ready endpoint in one slice (``ready`` absent counts as ready, per the API)."""
    return _nodes_where(endpoint_slice, "ready")


def serving_nodes(endpoint_slice: Mapping[str, Any]) -> set[str]:
    """Nodes with a serving endpoint in one slice, terminating or not (``serving`` absent
    counts as ``ready``, as the API defines it)."""
    return _nodes_where(endpoint_slice, "serving")


def _nodes_where(endpoint_slice: Mapping[str, Any], condition: str) -> set[str]:
    found: set[str] = set()
    for endpoint in endpoint_slice.get("endpoints") or []:
        if not isinstance(endpoint, Mapping):
            continue
        node = endpoint.get("nodeName")
        conditions = endpoint.get("conditions") or {}
        value = conditions.get(condition)
        if condition == "serving" and value is None:
            value = conditions.get("ready")
        if node and value is not False:
            found.add(str(node))
    return found


def constraints(
    service_bodies: Iterable[Mapping[str, Any]], slices: Iterable[Mapping[str, Any]]
) -> dict[str, frozenset[str]]:
    """Every Local Service's nodes with a ready endpoint; when it has none, those with a
    serving (terminating) one; empty when it has neither."""
    local = {
        services.key(str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        for body in service_bodies
        if is_local(body) and isinstance(meta := body.get("metadata"), Mapping)
    }
    ready: dict[str, set[str]] = {key: set() for key in local}
    serving: dict[str, set[str]] = {key: set() for key in local}
    for endpoint_slice in slices:
        key = slice_service(endpoint_slice)
        if key in ready:
            ready[key] |= ready_nodes(endpoint_slice)
            serving[key] |= serving_nodes(endpoint_slice)
    return {key: frozenset(ready[key] or serving[key]) for key in local}


def allowed_nodes(service_keys: Sequence[str], known: Constraints) -> frozenset[str] | None:
    """Where a VirtualIP of these Services may be held: None when none of them is Local."""
    allowed: frozenset[str] | None = None
    for key in service_keys:
        ready = known.get(key)
        if ready is not None:
            allowed = ready if allowed is None else allowed & ready
    return allowed


def slim(endpoint_slice: dict[str, Any]) -> dict[str, Any]:
    """Only what this module reads of a slice, and what an informer needs to keep it current."""
    meta = endpoint_slice.get("metadata") or {}
    label = (meta.get("labels") or {}).get(services.SERVICE_NAME_LABEL)
    kept_meta = {
        key: meta[key] for key in ("name", "namespace", "resourceVersion", "uid") if key in meta
    }
    if label is not None:
        kept_meta["labels"] = {services.SERVICE_NAME_LABEL: label}
    endpoints = [
        {
            "nodeName": endpoint.get("nodeName"),
            "conditions": {
                name: value
                for name, value in (endpoint.get("conditions") or {}).items()
                if name in ("ready", "serving")
            },
        }
        for endpoint in endpoint_slice.get("endpoints") or []
        if isinstance(endpoint, Mapping) and endpoint.get("nodeName")
    ]
    return {"metadata": kept_meta, "endpoints": endpoints}
