"""``/metrics`` counts requests by verb and resource, like kube-apiserver's apiserver_request_total."""

from __future__ import annotations

from floatip_apiserver import metrics
from floatip_apiserver.runtime import RunningServer

from .conftest import Client


def test_resource_of_paths() -> None:
    assert metrics.resource_of(["api", "v1", "nodes"]) == "nodes"
    assert metrics.resource_of(["api", "v1", "namespaces", "floatip"]) == "namespaces"
    assert metrics.resource_of(["api", "v1", "namespaces", "floatip", "events"]) == "events"
    path = ["apis", "coordination.k8s.io", "v1", "namespaces", "floatip", "leases", "a"]
    assert metrics.resource_of(path) == "leases"
    path = ["apis", "floatip.io", "v1alpha1", "virtualips", "web", "status"]
    assert metrics.resource_of(path) == "virtualips/status"
    assert metrics.resource_of(["version"]) == ""


async def test_apiserver_request_total_counts_writes_by_resource(
    apiserver: RunningServer, http: Client
) -> None:
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "floatip"}}
    assert (await http.call("POST", "/api/v1/namespaces", body))[0] == 201
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "a"}}
    leases = "/apis/coordination.k8s.io/v1/namespaces/floatip/leases"
    assert (await http.call("POST", leases, lease))[0] == 201
    patch = {"spec": {"holderIdentity": "x"}}
    for _ in range(3):
        await http.call("PATCH", f"{leases}/a", patch, content_type="application/merge-patch+json")
    text = apiserver.api.request_counts
    assert text[("POST", "leases")] == 1
    assert text[("PATCH", "leases")] == 3
    rendered = metrics.render(text)
    assert 'apiserver_request_total{verb="PATCH",resource="leases"} 3' in rendered
