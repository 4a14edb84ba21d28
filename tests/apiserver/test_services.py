"""Services as kube-apiserver serves them to kubectl users and LoadBalancer controllers.

Proves: the real defaults; cluster IPs from 10.96.0.0/12 (fd00:10:96::/112 when ipFamilies
asks, both for dual stack) and node ports from 30000-32767, never handed out twice and free
again once the Service is deleted, changes type or was only a dry run; the update rules
(allocated values kept when left out, type-dependent fields dropped, the cluster IP
immutable); 422s with the real field paths; the status subresource a LoadBalancer controller
writes; and, with the real kubectl, create/get/apply/status of a LoadBalancer Service and
``kubectl get all``.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest

from floatip_apiserver.kinds import allocators
from floatip_apiserver.runtime import RunningServer
from tests.apiserver.test_kubectl import kubectl

SERVICES = "/api/v1/namespaces/default/services"
MERGE = "application/merge-patch+json"
IPV4 = ipaddress.ip_network("10.96.0.0/12")
IPV6 = ipaddress.ip_network("fd00:10:96::/112")


def service(name: str, **spec: Any) -> dict[str, Any]:
    spec.setdefault("ports", [{"port": 80}])
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


async def create(http: Any, name: str, **spec: Any) -> dict[str, Any]:
    code, body = await http.call("POST", SERVICES, service(name, **spec))
    assert code == 201, body
    return dict(body)


async def refused(
    http: Any, body: dict[str, Any], method: str = "POST", path: str = SERVICES
) -> str:
    kind = MERGE if method == "PATCH" else "application/json"
    code, answer = await http.call(method, path, body, content_type=kind)
    assert code == 422, answer
    return str(answer["message"])


async def test_service_defaults_are_the_real_servers(http: Any) -> None:
    plain = await create(http, "plain")
    spec = plain["spec"]
    assert spec["type"] == "ClusterIP" and spec["sessionAffinity"] == "None"
    assert spec["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    assert spec["ipFamilies"] == ["IPv4"] and spec["ipFamilyPolicy"] == "SingleStack"
    assert spec["internalTrafficPolicy"] == "Cluster"
    assert "externalTrafficPolicy" not in spec and "allocateLoadBalancerNodePorts" not in spec
    assert ipaddress.ip_address(spec["clusterIP"]) in IPV4
    assert spec["clusterIPs"] == [spec["clusterIP"]]
    assert plain["status"] == {"loadBalancer": {}}

    lb = await create(http, "lb", type="LoadBalancer", ports=[{"port": 80, "targetPort": "http"}])
    assert lb["spec"]["externalTrafficPolicy"] == "Cluster"
    assert lb["spec"]["allocateLoadBalancerNodePorts"] is True
    assert 30000 <= lb["spec"]["ports"][0]["nodePort"] <= 32767
    assert lb["spec"]["ports"][0]["targetPort"] == "http"

    sticky = await create(http, "sticky", sessionAffinity="ClientIP")
    assert sticky["spec"]["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}

    alias = await create(
        http, "alias", type="ExternalName", externalName="db.example.com", ports=[]
    )
    assert not {"clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"} & set(alias["spec"])

    headless = await create(http, "headless", clusterIP="None", selector={"app": "x"})
    assert headless["spec"]["clusterIPs"] == ["None"]
    assert headless["spec"]["ipFamilyPolicy"] == "SingleStack"
    selectorless = await create(http, "selectorless", clusterIP="None")
    assert selectorless["spec"]["ipFamilyPolicy"] == "RequireDualStack"
    assert selectorless["spec"]["ipFamilies"] == ["IPv4", "IPv6"]

    v6 = await create(http, "v6", ipFamilies=["IPv6"])
    assert ipaddress.ip_address(v6["spec"]["clusterIP"]) in IPV6
    dual = await create(http, "dual", ipFamilyPolicy="RequireDualStack")
    first, second = dual["spec"]["clusterIPs"]
    assert ipaddress.ip_address(first) in IPV4 and ipaddress.ip_address(second) in IPV6
    assert dual["spec"]["ipFamilies"] == ["IPv4", "IPv6"]
    preferred = await create(
        http, "preferred", ipFamilyPolicy="PreferDualStack", ipFamilies=["IPv6"]
    )
    assert preferred["spec"]["ipFamilies"] == ["IPv6", "IPv4"]


async def test_kube_apiserver_keeps_the_kubernetes_service(http: Any) -> None:
    code, body = await http.call("GET", f"{SERVICES}/kubernetes")
    assert code == 200
    assert body["spec"]["clusterIP"] == "10.96.0.1"
    assert body["spec"]["ports"][0]["port"] == 443


async def test_cluster_ips_and_node_ports_are_given_once_and_freed_when_unused(http: Any) -> None:
    await create(
        http, "a", type="NodePort", clusterIP="10.96.0.50", ports=[{"port": 80, "nodePort": 30080}]
    )
    message = await refused(http, service("b", clusterIP="10.96.0.50"))
    assert message == (
        'Service "b" is invalid: spec.clusterIPs: Invalid value: ["10.96.0.50"]: failed to '
        "allocate IP 10.96.0.50: provided IP is already allocated"
    )
    assert "provided IP is already allocated" in await refused(
        http, service("b", clusterIP="10.96.0.1")
    )
    message = await refused(http, service("b", clusterIP="10.0.0.1"))
    assert (
        "the provided IP (10.0.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12"
        in message
    )
    message = await refused(
        http, service("b", type="NodePort", ports=[{"port": 80, "nodePort": 30080}])
    )
    assert message == (
        'Service "b" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is '
        "already allocated"
    )
    message = await refused(
        http, service("b", type="NodePort", ports=[{"port": 80, "nodePort": 80}])
    )
    assert (
        "provided port is not in the valid range. The range of valid ports is 30000-32767"
        in message
    )

    # a dry run keeps nothing
    code, dry = await http.call(
        "POST", f"{SERVICES}?dryRun=All", service("c", clusterIP="10.96.0.60")
    )
    assert code == 201 and dry["spec"]["clusterIP"] == "10.96.0.60"
    await create(http, "c", clusterIP="10.96.0.60")
    # deleting frees both values
    code, _ = await http.call("DELETE", f"{SERVICES}/a")
    assert code == 200
    await create(
        http, "b", type="NodePort", clusterIP="10.96.0.50", ports=[{"port": 80, "nodePort": 30080}]
    )
    # leaving NodePort frees the node port
    code, body = await http.call(
        "PATCH", f"{SERVICES}/b", {"spec": {"type": "ClusterIP"}}, content_type=MERGE
    )
    assert code == 200 and "nodePort" not in body["spec"]["ports"][0], body
    await create(http, "d", type="NodePort", ports=[{"port": 80, "nodePort": 30080}])

    dns = await create(
        http,
        "dns",
        type="NodePort",
        ports=[{"name": "udp", "port": 53, "protocol": "UDP"}, {"name": "tcp", "port": 53}],
    )
    udp, tcp = (p["nodePort"] for p in dns["spec"]["ports"])
    assert udp == tcp  # one node port per port number, as the real allocator shares it

    ips, ports = set(), set()
    for i in range(40):
        body = await create(
            http, f"many-{i}", type="LoadBalancer", ipFamilyPolicy="RequireDualStack"
        )
        ips.update(body["spec"]["clusterIPs"])
        ports.add(body["spec"]["ports"][0]["nodePort"])
    assert len(ips) == 80 and len(ports) == 40
    quiet = await create(http, "quiet", type="LoadBalancer", allocateLoadBalancerNodePorts=False)
    assert "nodePort" not in quiet["spec"]["ports"][0]
    local = await create(http, "local", type="LoadBalancer", externalTrafficPolicy="Local")
    assert 30000 <= local["spec"]["healthCheckNodePort"] <= 32767


def test_a_range_allocates_from_the_upper_band_first_and_says_when_it_is_full() -> None:
    held: dict[int, tuple[str, str]] = {}  # what the stored Services use
    values = allocators.Range(1, 6, static_band=2, holds=lambda owner, v: held.get(v) == owner)
    for i in range(6):
        owner = ("ns", f"s{i}")
        held[values.allocate(owner)] = owner
        if i == 3:  # the static band (1, 2) is left for requested values while it can be
            assert set(held) == {3, 4, 5, 6}
    with pytest.raises(allocators.FullError):
        values.allocate(("ns", "s6"))
    del held[4]  # its Service went away (or never was stored): the value is free again
    assert values.allocate(("ns", "s7")) == 4
    assert not values.free_for(5, ("ns", "other")) and values.free_for(5, held[5])


async def test_service_updates_keep_allocations_drop_type_fields_and_fix_the_cluster_ip(
    http: Any,
) -> None:
    lb = await create(http, "web", type="LoadBalancer", ports=[{"name": "http", "port": 80}])
    allocated = lb["spec"]
    # a PUT that leaves allocated values out (kubectl replace of a manifest) keeps them
    replaced = service("web", type="LoadBalancer", ports=[{"name": "http", "port": 80}])
    replaced["metadata"]["resourceVersion"] = lb["metadata"]["resourceVersion"]
    code, body = await http.call("PUT", f"{SERVICES}/web", replaced)
    assert code == 200, body
    assert body["spec"]["clusterIP"] == allocated["clusterIP"]
    assert body["spec"]["ports"][0]["nodePort"] == allocated["ports"][0]["nodePort"]
    assert body["metadata"]["resourceVersion"] == lb["metadata"]["resourceVersion"]  # a no-op

    message = await refused(http, {"spec": {"clusterIP": "10.96.0.77"}}, "PATCH", f"{SERVICES}/web")
    assert message.startswith('Service "web" is invalid: spec.clusterIPs[0]: Invalid value: ')
    assert message.endswith("may not change once set")
    code, body = await http.call(
        "PATCH", f"{SERVICES}/web", {"spec": {"type": "ClusterIP"}}, content_type=MERGE
    )
    assert code == 200, body
    dropped = {"externalTrafficPolicy", "allocateLoadBalancerNodePorts"}
    assert not dropped & set(body["spec"]) and "nodePort" not in body["spec"]["ports"][0]
    assert body["spec"]["clusterIP"] == allocated["clusterIP"]
    code, body = await http.call(
        "PATCH", f"{SERVICES}/web", {"spec": {"type": "NodePort"}}, content_type=MERGE
    )
    assert code == 200 and body["spec"]["ports"][0]["nodePort"] >= 30000

    upgrade = {"spec": {"ipFamilyPolicy": "RequireDualStack"}}
    code, body = await http.call("PATCH", f"{SERVICES}/web", upgrade, content_type=MERGE)
    assert code == 200, body
    assert body["spec"]["ipFamilies"] == ["IPv4", "IPv6"] and len(body["spec"]["clusterIPs"]) == 2
    downgrade = {"spec": {"ipFamilyPolicy": "SingleStack"}}
    code, body = await http.call("PATCH", f"{SERVICES}/web", downgrade, content_type=MERGE)
    assert code == 200, body
    assert body["spec"]["clusterIPs"] == [allocated["clusterIP"]] and body["spec"][
        "ipFamilies"
    ] == ["IPv4"]

    alias = {"spec": {"type": "ExternalName", "externalName": "example.com"}}
    code, body = await http.call("PATCH", f"{SERVICES}/web", alias, content_type=MERGE)
    assert code == 200, body
    assert not {"clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"} & set(body["spec"])


async def test_service_validation_is_a_422_with_the_real_field_paths(http: Any) -> None:
    cases = {
        "spec.ports: Required value": service("x", ports=[]),
        "spec.ports[1].name: Required value": service("x", ports=[{"port": 80}, {"port": 81}]),
        'spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"': service(
            "x", ports=[{"port": 80, "protocol": "HTTP"}]
        ),
        "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive": service(
            "x", ports=[{"port": 0}]
        ),
        "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'": service(
            "x", ports=[{"port": 80, "nodePort": 30001}]
        ),
        'spec.type: Unsupported value: "Magic"': service("x", type="Magic"),
        "spec.externalName: Required value": service("x", type="ExternalName"),
        'spec.externalTrafficPolicy: Invalid value: "Local": may only be set for '
        "externally-accessible services": service("x", externalTrafficPolicy="Local"),
        'metadata.name: Invalid value: "Web": a DNS-1035 label': service("Web"),
        "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort services": service(
            "x", type="NodePort", clusterIP="None"
        ),
        'spec.ipFamilies[0]: Unsupported value: "IPv5"': service("x", ipFamilies=["IPv5"]),
    }
    for expected, body in cases.items():
        message = await refused(http, body)
        assert expected in message, (expected, message)
    code, body = await http.call("POST", SERVICES, service("x", ports="80"))
    assert code == 400 and "cannot unmarshal" in body["message"]


async def test_the_status_subresource_carries_load_balancer_ingress_and_conditions(
    http: Any,
) -> None:
    created = await create(http, "web", type="LoadBalancer")
    status_path = f"{SERVICES}/web/status"
    ingress = {
        "status": {
            "loadBalancer": {"ingress": [{"ip": "192.0.2.50"}, {"hostname": "lb.example.com"}]}
        }
    }
    code, body = await http.call("PATCH", status_path, ingress, content_type=MERGE)
    assert code == 200, body
    points = body["status"]["loadBalancer"]["ingress"]
    assert points == [{"ip": "192.0.2.50", "ipMode": "VIP"}, {"hostname": "lb.example.com"}]
    assert body["spec"] == created["spec"]
    condition = {
        "type": "floatip.io/Announced",
        "status": "True",
        "reason": "Announced",
        "message": "",
        "lastTransitionTime": "2025-03-01T10:00:00Z",
    }
    code, body = await http.call(
        "PATCH", status_path, {"status": {"conditions": [condition]}}, content_type=MERGE
    )
    assert code == 200 and body["status"]["conditions"] == [condition]
    # the main endpoint ignores status, as the real one does
    code, body = await http.call(
        "PATCH", f"{SERVICES}/web", {"status": {"loadBalancer": {}}}, content_type=MERGE
    )
    assert code == 200 and body["status"]["loadBalancer"]["ingress"][0]["ip"] == "192.0.2.50"

    bad = {
        'status.loadBalancer.ingress[0].ip: Invalid value: "300.1.1.1"': {"ip": "300.1.1.1"},
        'status.loadBalancer.ingress[0].ipMode: Unsupported value: "NAT"': {
            "ip": "192.0.2.1",
            "ipMode": "NAT",
        },
        "status.loadBalancer.ingress[0].ipMode: Forbidden: may not be specified when `ip` is not set": {
            "hostname": "a.example.com",
            "ipMode": "VIP",
        },
        'status.loadBalancer.ingress[0].hostname: Invalid value: "192.0.2.1": must be a DNS name, '
        "not an IP address": {"hostname": "192.0.2.1"},
    }
    for expected, point in bad.items():
        patch = {"status": {"loadBalancer": {"ingress": [point]}}}
        code, body = await http.call("PATCH", status_path, patch, content_type=MERGE)
        assert code == 422 and expected in body["message"], (expected, body)
    no_reason = {"status": {"conditions": [dict(condition, reason="")]}}
    code, body = await http.call("PATCH", status_path, no_reason, content_type=MERGE)
    assert code == 422 and "status.conditions[0].reason: Required value" in body["message"]
    await create(http, "plain")
    code, body = await http.call("PATCH", f"{SERVICES}/plain/status", ingress, content_type=MERGE)
    assert code == 422
    assert (
        "status.loadBalancer.ingress: Forbidden: may only be used when `spec.type` is 'LoadBalancer'"
        in body["message"]
    )


async def test_kubectl_create_get_status_and_get_all_for_a_load_balancer_service(
    apiserver: RunningServer,
) -> None:
    # kubectl's typed create sends protobuf; its JSON rendering is the same request body
    code, manifest = await kubectl(
        apiserver,
        "create",
        "service",
        "loadbalancer",
        "web",
        "--tcp=80:8080",
        "--dry-run=client",
        "-o",
        "json",
    )
    assert code == 0, manifest
    code, out = await kubectl(apiserver, "create", "-f", "-", stdin=manifest)
    assert code == 0 and "service/web created" in out, out
    code, out = await kubectl(apiserver, "get", "svc")
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["kubernetes"][1:5] == ["ClusterIP", "10.96.0.1", "<none>", "443/TCP"]
    web = rows["web"]
    assert web[1] == "LoadBalancer" and ipaddress.ip_address(web[2]) in IPV4
    assert web[3] == "<pending>" and web[4].startswith("80:") and web[4].endswith("/TCP")
    ingress = {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.50"}]}}}
    code, out = await kubectl(
        apiserver,
        "patch",
        "svc",
        "web",
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps(ingress),
    )
    assert code == 0, out
    code, out = await kubectl(apiserver, "get", "svc", "web", "-o", "wide")
    header, row = out.splitlines()
    assert header.split()[-1] == "SELECTOR"
    assert row.split()[3] == "192.0.2.50" and row.split()[-1] == "app=web"
    code, out = await kubectl(apiserver, "get", "all")
    assert code == 0, out
    names = [line.split()[0] for line in out.splitlines()[1:] if line.strip()]
    # kubectl names the kind once more than one kind is in the category
    assert [n.removeprefix("service/") for n in names] == ["kubernetes", "web"], out


async def test_kubectl_apply_merges_service_ports_by_port_like_strategic_merge(
    apiserver: RunningServer,
) -> None:
    manifest = """apiVersion: v1
kind: Service
metadata:
  name: two
spec:
  type: NodePort
  selector: {{app: two}}
  ports:
  - {{name: http, port: 80, targetPort: 8080}}
{extra}"""
    https = "  - {name: https, port: 443, targetPort: %d}\n"
    code, out = await kubectl(
        apiserver, "apply", "-f", "-", stdin=manifest.format(extra=https % 8443)
    )
    assert code == 0, out
    code, out = await kubectl(apiserver, "get", "svc", "two", "-o", "json")
    before = {p["name"]: p for p in json.loads(out)["spec"]["ports"]}
    code, out = await kubectl(
        apiserver, "apply", "-f", "-", stdin=manifest.format(extra=https % 9443)
    )
    assert code == 0 and "configured" in out, out
    code, out = await kubectl(apiserver, "get", "svc", "two", "-o", "json")
    after = {p["name"]: p for p in json.loads(out)["spec"]["ports"]}
    assert after["http"] == before["http"]  # the patch named only the changed port
    assert after["https"] == dict(before["https"], targetPort=9443)
    code, out = await kubectl(
        apiserver, "diff", "-f", "-", stdin=manifest.format(extra=https % 9443)
    )
    assert code == 0, out
    code, out = await kubectl(apiserver, "apply", "-f", "-", stdin=manifest.format(extra=""))
    assert code == 0, out
    code, out = await kubectl(
        apiserver, "get", "svc", "two", "-o", "jsonpath={.spec.ports[*].name}"
    )
    assert out == "http"
