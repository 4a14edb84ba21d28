"""EndpointSlices and Endpoints as a LoadBalancer controller reads them, and discovery of the
built-in kinds as kubectl reads it.

Proves: EndpointSlices are found by the ``kubernetes.io/service-name`` label, defaulted and
validated like the real server (address type, addresses of that type, no loopback endpoint,
port names, the address type fixed), strategic merge leaves their address lists atomic, and
``kubectl get endpointslices`` prints NAME ADDRESSTYPE PORTS ENDPOINTS AGE; Endpoints are
validated and carry the 1.33 deprecation Warning; discovery lists each built-in kind with its
verbs, short names, categories and subresources.
"""

from __future__ import annotations

from typing import Any

from floatip_apiserver.runtime import RunningServer
from tests.apiserver.test_kubectl import kubectl

SLICES = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
ENDPOINTS = "/api/v1/namespaces/default/endpoints"
SMP = "application/strategic-merge-patch+json"


def endpoint_slice(name: str, service: str, *addresses: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": name, "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [a], "conditions": {"ready": True}} for a in addresses],
        "ports": [{"name": "http", "port": 8080}],
    }
    body.update(fields)
    return body


async def test_endpoint_slices_by_service_label_defaults_and_validation(http: Any) -> None:
    code, created = await http.call(
        "POST", SLICES, endpoint_slice("web-a", "web", "10.0.0.21", "10.0.0.22")
    )
    assert code == 201, created
    assert created["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    await http.call("POST", SLICES, endpoint_slice("web-b", "web", "10.0.0.23"))
    await http.call("POST", SLICES, endpoint_slice("db-a", "db", "10.0.0.31"))
    code, listed = await http.call("GET", f"{SLICES}?labelSelector=kubernetes.io/service-name=web")
    assert [s["metadata"]["name"] for s in listed["items"]] == ["web-a", "web-b"]

    more = {"endpoints": [{"addresses": ["10.0.0.24"]}]}
    code, patched = await http.call("PATCH", f"{SLICES}/web-b", more, content_type=SMP)
    assert code == 200, patched
    assert patched["endpoints"] == [{"addresses": ["10.0.0.24"]}]  # a list without merge key

    cases = {
        "addressType: Required value": endpoint_slice("x", "web", "10.0.0.1", addressType=""),
        'addressType: Unsupported value: "IPv5"': endpoint_slice(
            "x", "web", "10.0.0.1", addressType="IPv5"
        ),
        'endpoints[0].addresses[0]: Invalid value: "fd00::1": must be a valid IPv4 address': endpoint_slice(
            "x", "web", "fd00::1"
        ),
        'endpoints[0].addresses[0]: Invalid value: "127.0.0.1": may not be in the loopback range': endpoint_slice(
            "x", "web", "127.0.0.1"
        ),
        "endpoints[0].addresses: Required value: must contain at least 1 address": endpoint_slice(
            "x", "web", endpoints=[{"addresses": []}]
        ),
        'ports[1].name: Duplicate value: "http"': endpoint_slice(
            "x", "web", "10.0.0.1", ports=[{"name": "http", "port": 1}, {"name": "http", "port": 2}]
        ),
    }
    for expected, body in cases.items():
        code, answer = await http.call("POST", SLICES, body)
        assert code == 422 and expected in answer["message"], (expected, answer)
    code, answer = await http.call(
        "PATCH", f"{SLICES}/web-a", {"addressType": "IPv6"}, content_type=SMP
    )
    assert (
        code == 422
        and 'addressType: Invalid value: "IPv6": field is immutable' in answer["message"]
    )


async def test_endpoints_are_validated_and_warned_deprecated(
    apiserver: RunningServer, http: Any
) -> None:
    body = {
        "metadata": {"name": "web"},
        "subsets": [{"addresses": [{"ip": "10.0.0.21"}], "ports": [{"port": 80}]}],
    }
    async with http.session.post(
        apiserver.url + ENDPOINTS,
        json=body,
        headers={"Authorization": f"Bearer {apiserver.admin_token}"},
    ) as response:
        assert response.status == 201
        created = await response.json()
        assert "v1 Endpoints is deprecated in v1.33+" in response.headers["Warning"]
    assert created["subsets"][0]["ports"] == [{"port": 80, "protocol": "TCP"}]
    bad = {"metadata": {"name": "x"}, "subsets": [{"addresses": [{"ip": "169.254.1.1"}]}]}
    code, answer = await http.call("POST", ENDPOINTS, bad)
    assert code == 422
    assert (
        'subsets[0].addresses[0].ip: Invalid value: "169.254.1.1": may not be in the link-local range'
        in answer["message"]
    )
    code, answer = await http.call("POST", ENDPOINTS, {"metadata": {"name": "x"}, "subsets": [{}]})
    assert code == 422 and "must specify `addresses` or `notReadyAddresses`" in answer["message"]


async def test_kubectl_get_endpointslices_and_endpoints_tables(
    apiserver: RunningServer, http: Any
) -> None:
    addresses = [f"10.0.0.{i}" for i in range(21, 26)]
    await http.call("POST", SLICES, endpoint_slice("web-a", "web", *addresses))
    await http.call("POST", SLICES, endpoint_slice("empty", "web", endpoints=[], ports=[]))
    code, out = await kubectl(apiserver, "get", "endpointslices")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    assert lines[1].split()[:4] == ["empty", "IPv4", "<unset>", "<unset>"]
    assert lines[2].split()[:3] == ["web-a", "IPv4", "8080"]
    assert " 10.0.0.21,10.0.0.22,10.0.0.23 + 2 more... " in lines[2]
    subsets = [{"addresses": [{"ip": "10.0.0.21"}, {"ip": "10.0.0.22"}], "ports": [{"port": 80}]}]
    await http.call("POST", ENDPOINTS, {"metadata": {"name": "web"}, "subsets": subsets})
    code, out = await kubectl(apiserver, "get", "ep")
    assert out.splitlines()[-1].split()[:2] == ["web", "10.0.0.21:80,10.0.0.22:80"], out


async def test_discovery_lists_the_built_in_kinds_as_the_real_server(http: Any) -> None:
    _, core = await http.call("GET", "/api/v1")
    by_name = {r["name"]: r for r in core["resources"]}
    expected = {
        "services": ("Service", ["svc"], ["all"]),
        "pods": ("Pod", ["po"], ["all"]),
        "endpoints": ("Endpoints", ["ep"], None),
        "configmaps": ("ConfigMap", ["cm"], None),
        "secrets": ("Secret", None, None),
        "serviceaccounts": ("ServiceAccount", ["sa"], None),
        "events": ("Event", ["ev"], None),
    }
    for name, (kind, short, categories) in expected.items():
        entry = by_name[name]
        assert entry["kind"] == kind and entry["namespaced"] is True, name
        assert entry.get("shortNames") == short and entry.get("categories") == categories, name
        assert sorted(entry["verbs"]) == sorted(
            ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
        )
    for sub in ("services/status", "pods/status"):
        assert by_name[sub]["verbs"] == ["get", "patch", "update"]
    _, group = await http.call("GET", "/apis/discovery.k8s.io/v1")
    assert [r["name"] for r in group["resources"]] == ["endpointslices"]
    _, groups = await http.call("GET", "/apis")
    assert {"discovery.k8s.io", "events.k8s.io"} <= {g["name"] for g in groups["groups"]}
