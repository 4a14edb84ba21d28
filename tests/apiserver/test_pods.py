"""Pods as kube-apiserver serves them (no scheduler, no kubelet: tests write the status).

Proves: the defaults and what the default admission plugins add on create; a fresh status
(Pending, QoS class) whatever the client sent; the few spec fields an update may change; the
status subresource (podIP and podIPs kept in step, IPs checked); the real field selectors;
and, with the real kubectl, ``get pods`` (READY STATUS RESTARTS AGE from the status) and
``describe node`` listing the Pods bound to the node.
"""

from __future__ import annotations

import json
from typing import Any

from floatip_apiserver.runtime import RunningServer
from tests.apiserver.test_kubectl import kubectl

PODS = "/api/v1/namespaces/default/pods"
MERGE = "application/merge-patch+json"


def pod(name: str, **spec: Any) -> dict[str, Any]:
    spec.setdefault("containers", [{"name": "web", "image": "nginx:1.27"}])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


async def test_pod_create_applies_defaults_admission_and_a_fresh_status(http: Any) -> None:
    body = pod(
        "web", containers=[{"name": "web", "image": "nginx", "ports": [{"containerPort": 80}]}]
    )
    body["status"] = {"phase": "Running", "podIP": "10.0.0.5"}
    code, created = await http.call("POST", PODS, body)
    assert code == 201, created
    spec = created["spec"]
    assert (spec["restartPolicy"], spec["dnsPolicy"], spec["schedulerName"]) == (
        "Always",
        "ClusterFirst",
        "default-scheduler",
    )
    assert spec["terminationGracePeriodSeconds"] == 30 and spec["enableServiceLinks"] is True
    assert spec["serviceAccountName"] == spec["serviceAccount"] == "default"
    assert spec["priority"] == 0 and spec["preemptionPolicy"] == "PreemptLowerPriority"
    assert [t["key"] for t in spec["tolerations"]] == [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ]
    container = spec["containers"][0]
    assert container["imagePullPolicy"] == "Always"  # no tag: latest
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert container["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert created["status"] == {"phase": "Pending", "qosClass": "BestEffort"}

    limits = {"cpu": "1", "memory": "64Mi"}
    guaranteed = pod(
        "g", containers=[{"name": "a", "image": "busybox:1.36", "resources": {"limits": limits}}]
    )
    code, body = await http.call("POST", PODS, guaranteed)
    assert body["status"]["qosClass"] == "Guaranteed"
    assert body["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    burstable = pod(
        "b", containers=[{"name": "a", "image": "x:1", "resources": {"requests": {"cpu": "1"}}}]
    )
    code, body = await http.call("POST", PODS, burstable)
    assert body["status"]["qosClass"] == "Burstable"


async def test_pod_validation_and_the_fields_an_update_may_change(http: Any) -> None:
    cases = {
        "spec.containers: Required value": pod("x", containers=[]),
        "spec.containers[0].image: Required value": pod("x", containers=[{"name": "a"}]),
        'spec.containers[1].name: Duplicate value: "a"': pod(
            "x", containers=[{"name": "a", "image": "i"}, {"name": "a", "image": "i"}]
        ),
        'spec.restartPolicy: Unsupported value: "Sometimes"': pod("x", restartPolicy="Sometimes"),
        'metadata.name: Invalid value: "Web_1"': pod("Web_1"),
    }
    for expected, body in cases.items():
        code, answer = await http.call("POST", PODS, body)
        assert code == 422 and expected in answer["message"], (expected, answer)

    code, _ = await http.call("POST", PODS, pod("web"))
    assert code == 201
    image = {"spec": {"containers": [{"name": "web", "image": "nginx:1.28"}]}}
    code, body = await http.call(
        "PATCH", f"{PODS}/web", image, content_type="application/strategic-merge-patch+json"
    )
    assert code == 200, body
    assert body["spec"]["containers"][0]["image"] == "nginx:1.28"
    code, body = await http.call(
        "PATCH", f"{PODS}/web", {"spec": {"nodeName": "server1"}}, content_type=MERGE
    )
    assert code == 422
    assert body["message"].startswith(
        'Pod "web" is invalid: spec: Forbidden: pod updates may not change fields other than'
    )


async def test_pod_status_subresource_keeps_pod_ip_and_pod_ips_in_step(http: Any) -> None:
    code, created = await http.call("POST", PODS, pod("web"))
    running = {"status": {"phase": "Running", "podIP": "10.0.0.5", "hostIP": "192.0.2.11"}}
    code, body = await http.call("PATCH", f"{PODS}/web/status", running, content_type=MERGE)
    assert code == 200, body
    assert body["status"]["podIPs"] == [{"ip": "10.0.0.5"}]
    assert body["status"]["hostIPs"] == [{"ip": "192.0.2.11"}]
    assert body["spec"] == created["spec"]
    dual = {"status": {"podIP": None, "podIPs": [{"ip": "fd00::5"}, {"ip": "10.0.0.5"}]}}
    code, body = await http.call("PATCH", f"{PODS}/web/status", dual, content_type=MERGE)
    assert code == 200 and body["status"]["podIP"] == "fd00::5"
    bad = {"status": {"podIP": None, "podIPs": [{"ip": "10.0.0.500"}]}}
    code, body = await http.call("PATCH", f"{PODS}/web/status", bad, content_type=MERGE)
    assert code == 422 and "status.podIPs[0].ip" in body["message"]


async def test_pod_field_selectors_are_the_real_servers(http: Any) -> None:
    for name, node in (("a", "server1"), ("b", "server2"), ("c", "")):
        code, _ = await http.call("POST", PODS, pod(name, nodeName=node) if node else pod(name))
        assert code == 201
    await http.call(
        "PATCH", f"{PODS}/b/status", {"status": {"phase": "Succeeded"}}, content_type=MERGE
    )
    selectors = {
        "spec.nodeName=server1": ["a"],
        "spec.nodeName=": ["c"],
        # what kubectl describe node asks for
        "spec.nodeName=server2,status.phase!=Failed,status.phase!=Succeeded": [],
        "status.phase=Pending": ["a", "c"],
        "spec.restartPolicy=Always,spec.schedulerName=default-scheduler": ["a", "b", "c"],
        "spec.serviceAccountName=default,spec.hostNetwork=false": ["a", "b", "c"],
        "status.podIP=,status.nominatedNodeName=": ["a", "b", "c"],
    }
    for selector, expected in selectors.items():
        code, body = await http.call("GET", f"{PODS}?fieldSelector={selector}")
        assert code == 200, body
        assert [p["metadata"]["name"] for p in body["items"]] == expected, selector
    code, body = await http.call("GET", f"{PODS}?fieldSelector=status.hostIP=1.2.3.4")
    assert code == 400 and 'field label not supported: "status.hostIP"' in body["message"]


async def test_kubectl_get_pods_and_describe_node_show_what_the_status_says(
    apiserver: RunningServer, http: Any
) -> None:
    node = {
        "metadata": {"name": "server1"},
        "status": {"allocatable": {"cpu": "2", "memory": "2Gi", "pods": "110"}},
    }
    code, _ = await http.call("POST", "/api/v1/nodes", node)
    assert code == 201
    containers = [{"name": "web", "image": "nginx:1.27"}, {"name": "log", "image": "busybox:1.36"}]
    code, _ = await http.call("POST", PODS, pod("web-1", nodeName="server1", containers=containers))
    assert code == 201
    code, out = await kubectl(apiserver, "get", "pods")
    header, row = out.splitlines()
    assert header.split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert row.split()[:4] == ["web-1", "0/2", "Pending", "0"]
    statuses = [
        {"name": "web", "ready": True, "restartCount": 2, "state": {"running": {}}},
        {
            "name": "log",
            "ready": False,
            "restartCount": 1,
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        },
    ]
    running = {"status": {"phase": "Running", "podIP": "10.0.0.5", "containerStatuses": statuses}}
    code, out = await kubectl(
        apiserver,
        "patch",
        "pod",
        "web-1",
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps(running),
    )
    assert code == 0, out
    code, out = await kubectl(apiserver, "get", "pods", "-o", "wide")
    header, row = out.splitlines()
    assert header.split()[5:7] == ["IP", "NODE"]
    assert row.split()[:4] == ["web-1", "1/2", "CrashLoopBackOff", "3"]
    assert row.split()[5:7] == ["10.0.0.5", "server1"]
    code, out = await kubectl(apiserver, "describe", "node", "server1")
    assert code == 0, out
    assert "Non-terminated Pods:          (1 in total)" in out
    assert any(line.split()[:2] == ["default", "web-1"] for line in out.splitlines())
    code, out = await kubectl(apiserver, "get", "all")
    assert "pod/web-1" in out and "service/kubernetes" in out
