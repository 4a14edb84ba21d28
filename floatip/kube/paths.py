"""The REST paths floatip reads and writes (cluster-scoped VirtualIPs and VirtualIPPools;
namespaced Leases, the move record's ConfigMap, Services and EndpointSlices)."""

from __future__ import annotations

from floatip.api import names

VIRTUALIPS = f"/apis/{names.GROUP}/{names.VERSION}/{names.PLURAL}"
VIRTUALIPPOOLS = f"/apis/{names.GROUP}/{names.VERSION}/{names.POOL_PLURAL}"
NODES = "/api/v1/nodes"
SERVICES = "/api/v1/services"  # every namespace's, for the list and watch
NAMESPACES = "/api/v1/namespaces"
ENDPOINTSLICES = "/apis/discovery.k8s.io/v1/endpointslices"  # every namespace's
READYZ = "/readyz"


def virtualip(name: str) -> str:
    return f"{VIRTUALIPS}/{name}"


def virtualip_status(name: str) -> str:
    return f"{VIRTUALIPS}/{name}/status"


def virtualippool(name: str) -> str:
    return f"{VIRTUALIPPOOLS}/{name}"


def virtualippool_status(name: str) -> str:
    return f"{VIRTUALIPPOOLS}/{name}/status"


def node(name: str) -> str:
    return f"{NODES}/{name}"


def leases(namespace: str) -> str:
    return f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"


def lease(namespace: str, name: str) -> str:
    return f"{leases(namespace)}/{name}"


def configmaps(namespace: str) -> str:
    return f"/api/v1/namespaces/{namespace}/configmaps"


def configmap(namespace: str, name: str) -> str:
    return f"{configmaps(namespace)}/{name}"


def service(namespace: str, name: str) -> str:
    return f"/api/v1/namespaces/{namespace}/services/{name}"


def service_status(namespace: str, name: str) -> str:
    return f"{service(namespace, name)}/status"
