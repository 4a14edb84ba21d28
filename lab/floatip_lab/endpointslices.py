"""What the EndpointSlice controller writes for a Service, as pure functions (the lab's stand-in).

The lab has no kube-controller-manager, so `floatip_lab.endpoints` plays its EndpointSlice
controller, and this module is that controller's reconciler reduced to what floatip and
kube-proxy read. For every Service with a selector (not ExternalName), per address family of
``spec.ipFamilies``:

- one endpoint per selected Pod that has an IP of that family and is not Succeeded or Failed:
  ``addresses``, ``nodeName``, a ``targetRef`` to the Pod, and the conditions as the real
  controller derives them (``serving`` = the Pod is Ready; ``terminating`` = it has a
  deletionTimestamp; ``ready`` = serving and not terminating, or always when the Service
  publishes not-ready addresses);
- ``ports`` from the Service's ports, ``targetPort`` resolved against each Pod (a name looks up
  the container port of that name; a Pod without it lacks that port), so Pods resolving to
  different ports land in different slices, as in the real controller; at most 100 endpoints
  a slice (its ``maxEndpointsPerSlice`` default);
- labels ``kubernetes.io/service-name`` and ``endpointslice.kubernetes.io/managed-by`` (the real
  controller's value, since the stand-in plays it) over the Service's own, and an
  ownerReference to the Service, so deleting the Service lets the garbage collector remove
  them;
- a Service that selects nothing keeps one empty slice (the real controller's placeholder).

`plan` compares that with the slices there are and returns the writes: reuse existing slices
in name order, create the missing, delete the surplus and those of an earlier Service of the
same name (another uid).
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

API_VERSION = "discovery.k8s.io/v1"
SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
CONTROLLER = "endpointslice-controller.k8s.io"
HEADLESS = "service.kubernetes.io/headless"
MAX_ENDPOINTS = 100
_FAMILY = {"IPv4": 4, "IPv6": 6}


@dataclasses.dataclass(frozen=True)
class Write:
    """One write: ``create`` (``body``), ``update`` (``name``, ``body``), ``delete`` (``name``)."""

    verb: str
    namespace: str
    name: str = ""
    body: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """A Service's equality selector matches these labels (an empty one selects nothing)."""
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def selecting(
    services: Iterable[Mapping[str, Any]], pods: Iterable[Mapping[str, Any]]
) -> list[tuple[str, str]]:
    """The Services (namespace, name) whose selector picks any of ``pods`` (a Pod's change
    concerns them: the real controller's ``getPodServiceMemberships``)."""
    pods = list(pods)
    found = []
    for service in services:
        meta = service.get("metadata") or {}
        selector = (service.get("spec") or {}).get("selector") or {}
        for pod in pods:
            pod_meta = pod.get("metadata") or {}
            if pod_meta.get("namespace") == meta.get("namespace") and selects(
                selector, pod_meta.get("labels") or {}
            ):
                found.append(service_key(service))
                break
    return found


def owner(slice_: Mapping[str, Any]) -> tuple[str, str] | None:
    """The Service (namespace, name) a slice this controller manages belongs to."""
    meta = slice_.get("metadata") or {}
    labels = meta.get("labels") or {}
    if labels.get(MANAGED_BY) != CONTROLLER or not labels.get(SERVICE_NAME):
        return None
    return str(meta.get("namespace")), str(labels[SERVICE_NAME])


def _ports(service: Mapping[str, Any], pod: Mapping[str, Any]) -> tuple[tuple[Any, ...], ...]:
    """(name, port, protocol, appProtocol) per Service port that resolves on ``pod``."""
    named = {
        (p.get("name"), p.get("protocol", "TCP")): p.get("containerPort")
        for c in (pod.get("spec") or {}).get("containers") or []
        for p in c.get("ports") or []
        if p.get("name")
    }
    found = []
    for port in (service.get("spec") or {}).get("ports") or []:
        protocol = port.get("protocol", "TCP")
        target = port.get("targetPort", port.get("port"))
        number = named.get((target, protocol)) if isinstance(target, str) else target
        if isinstance(number, int):
            found.append((port.get("name") or "", number, protocol, port.get("appProtocol")))
    return tuple(found)


def _endpoint(service: Mapping[str, Any], pod: Mapping[str, Any], family: int) -> dict[str, Any]:
    status = pod.get("status") or {}
    ips = [e.get("ip") for e in status.get("podIPs") or []] or [status.get("podIP")]
    [address] = [ip for ip in ips if ip and ipaddress.ip_address(ip).version == family][:1]
    conditions = status.get("conditions") or []
    serving = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    terminating = bool((pod.get("metadata") or {}).get("deletionTimestamp"))
    publish = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    meta = pod.get("metadata") or {}
    found: dict[str, Any] = {
        "addresses": [address],
        "conditions": {
            "ready": publish or (serving and not terminating),
            "serving": serving,
            "terminating": terminating,
        },
        "targetRef": {
            "kind": "Pod",
            "namespace": meta.get("namespace"),
            "name": meta.get("name"),
            "uid": meta.get("uid"),
        },
    }
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        found["nodeName"] = node
    return found


def _has_ip(pod: Mapping[str, Any], family: int) -> bool:
    status = pod.get("status") or {}
    ips = [e.get("ip") for e in status.get("podIPs") or []] or [status.get("podIP")]
    return any(ip and ipaddress.ip_address(ip).version == family for ip in ips)


def wants_slices(service: Mapping[str, Any]) -> bool:
    spec = service.get("spec") or {}
    return bool(spec.get("selector")) and spec.get("type") != "ExternalName"


def desired(service: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The slices ``service`` should have (bodies without a name) given the Pods there are."""
    meta, spec = service.get("metadata") or {}, service.get("spec") or {}
    namespace = meta.get("namespace")
    chosen = sorted(
        (
            p
            for p in pods
            if (p.get("metadata") or {}).get("namespace") == namespace
            and selects(spec.get("selector") or {}, (p.get("metadata") or {}).get("labels") or {})
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
        ),
        key=lambda p: str((p.get("metadata") or {}).get("name")),
    )
    slices = []
    for family_name in spec.get("ipFamilies") or ["IPv4"]:
        family = _FAMILY.get(family_name)
        if family is None:
            continue
        groups: dict[tuple[tuple[Any, ...], ...], list[dict[str, Any]]] = {}
        for pod in chosen:
            if _has_ip(pod, family):
                groups.setdefault(_ports(service, pod), []).append(_endpoint(service, pod, family))
        if not groups:
            groups[()] = []  # the placeholder
        for ports, endpoints in groups.items():
            for start in range(0, max(len(endpoints), 1), MAX_ENDPOINTS):
                chunk = endpoints[start : start + MAX_ENDPOINTS]
                slices.append(_slice(service, family_name, ports, chunk))
    return slices


def _slice(
    service: Mapping[str, Any],
    family: str,
    ports: tuple[tuple[Any, ...], ...],
    endpoints: list[dict[str, Any]],
) -> dict[str, Any]:
    meta = service.get("metadata") or {}
    labels = {
        k: v
        for k, v in (meta.get("labels") or {}).items()
        if k not in (SERVICE_NAME, MANAGED_BY, HEADLESS)
    }
    labels |= {SERVICE_NAME: meta.get("name"), MANAGED_BY: CONTROLLER}
    if (service.get("spec") or {}).get("clusterIP") == "None":
        labels[HEADLESS] = ""
    owner = {
        "apiVersion": "v1",
        "kind": "Service",
        "name": meta.get("name"),
        "uid": meta.get("uid"),
        "controller": True,
        "blockOwnerDeletion": True,
    }
    return {
        "apiVersion": API_VERSION,
        "kind": "EndpointSlice",
        "metadata": {
            "generateName": f"{meta.get('name')}-",
            "namespace": meta.get("namespace"),
            "labels": labels,
            "ownerReferences": [owner],
        },
        "addressType": family,
        "endpoints": endpoints,
        "ports": [
            {"name": name, "port": port, "protocol": protocol}
            | ({"appProtocol": app} if app else {})
            for name, port, protocol, app in ports
        ],
    }


def _owner_uid(slice_: Mapping[str, Any]) -> str | None:
    for ref in (slice_.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("kind") == "Service" and ref.get("controller"):
            return str(ref.get("uid"))
    return None


def _same(have: Mapping[str, Any], want: Mapping[str, Any]) -> bool:
    hm, wm = have.get("metadata") or {}, want["metadata"]
    return bool(
        (have.get("endpoints") or []) == want["endpoints"]
        and (have.get("ports") or []) == want["ports"]
        and hm.get("labels") == wm["labels"]
        and hm.get("ownerReferences") == wm["ownerReferences"]
    )


def plan(
    services: Iterable[Mapping[str, Any]],
    pods: Iterable[Mapping[str, Any]],
    slices: Iterable[Mapping[str, Any]],
) -> list[Write]:
    """The writes that make the managed ``slices`` what the ``services`` and ``pods`` call for.

    Slices of a Service that is gone are left to the garbage collector (their ownerReference),
    as the real controller leaves them; those of a Service without a selector are left alone
    (someone else writes them); an ExternalName Service's are deleted.
    """
    pods = list(pods)
    by_service: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for existing in slices:
        meta = existing.get("metadata") or {}
        if (meta.get("labels") or {}).get(MANAGED_BY) == CONTROLLER:
            owner = (str(meta.get("namespace")), str((meta.get("labels") or {}).get(SERVICE_NAME)))
            by_service.setdefault(owner, []).append(existing)
    writes: list[Write] = []
    for service in sorted(services, key=service_key):
        spec = service.get("spec") or {}
        have = sorted(by_service.get(service_key(service), []), key=_name)
        if spec.get("type") == "ExternalName":
            writes += [_delete(s) for s in have]
        elif spec.get("selector"):
            writes += _reconcile(service, pods, have)
    return writes


def _reconcile(
    service: Mapping[str, Any], pods: list[Mapping[str, Any]], have: list[Mapping[str, Any]]
) -> list[Write]:
    uid = (service.get("metadata") or {}).get("uid")
    writes = [_delete(s) for s in have if _owner_uid(s) != uid]  # an earlier Service's
    have = [s for s in have if _owner_uid(s) == uid]
    wanted = desired(service, pods)
    for family in sorted({str(s.get("addressType")) for s in have} | set(_FAMILY)):
        mine = [s for s in have if s.get("addressType") == family]
        theirs = [w for w in wanted if w["addressType"] == family]
        for old, new in zip(mine, theirs, strict=False):
            if not _same(old, new):
                meta = {**old["metadata"], **new["metadata"]}
                meta.pop("generateName")
                body = {**new, "metadata": meta}  # old's name and resourceVersion: a PUT
                writes.append(Write("update", _namespace(old), _name(old), body))
        namespace = str((service.get("metadata") or {}).get("namespace"))
        writes += [Write("create", namespace, "", w) for w in theirs[len(mine) :]]
        writes += [_delete(s) for s in mine[len(theirs) :]]
    return writes


def _delete(slice_: Mapping[str, Any]) -> Write:
    return Write("delete", _namespace(slice_), _name(slice_))


def service_key(service: Mapping[str, Any]) -> tuple[str, str]:
    """A Service's (namespace, name), as slices name their owner."""
    meta = service.get("metadata") or {}
    return str(meta.get("namespace")), str(meta.get("name"))


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name"))


def _namespace(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("namespace"))
