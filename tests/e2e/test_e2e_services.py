"""The lab's side of Services end to end: web Pods, EndpointSlices, kube-proxy, judged by the client.

On one three-node lab, proves:
- `floatip lab up` reports a web Pod per server (app=web, on its node, the server's data IP,
  Ready), and the lab's endpoints controller gives a Service selecting them one EndpointSlice
  listing the three with nodeName, owned by the Service; `stop-pod server2` makes that
  endpoint not ready (and not serving), `start-pod` ready again;
- externalTrafficPolicy Cluster: with the Service's load-balancer address held by server1
  (a VirtualIP of that address), the client's requests to it are answered through the lab's
  kube-proxy by every ready pod in turn, those on other nodes included; after
  `stop-pod server2` never by server2;
- externalTrafficPolicy Local: only the holder's own pod answers; with that pod stopped the
  holder drops the traffic, and once the address moves to server3 its pod answers;
- deleting the Service removes its slices (the API server's garbage collector, through their
  ownerReference) and every node's rules for its address.

floatip's operator does not allocate Service addresses on this branch yet, so each test plays
the allocator: it writes the Service's ``status.loadBalancer.ingress`` itself and creates the
VirtualIP that puts the address on a node (until the operator does both).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from floatip_lab import kubeapi, proxyrules, session, webpods
from tests.e2e.conftest import create, running_lab

NODES = ["server1", "server2", "server3"]
SERVICES = "/api/v1/namespaces/default/services"
SLICES = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
MERGE = "application/merge-patch+json"


@pytest.fixture(scope="module")
def module_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[session.Session]:
    with running_lab(tmp_path_factory, nodes=3) as lab:
        yield lab


@pytest.fixture
def services(lab: session.Session) -> Iterator[list[str]]:
    """Names of the Services a test creates; deleted (and their VirtualIPs) afterwards."""
    created: list[str] = []
    yield created
    for name in created:
        with contextlib.suppress(kubeapi.ApiError):
            lab.api.request("DELETE", f"{SERVICES}/{name}")
        lab.delete_vip(name)


def make_service(
    lab: session.Session, services: list[str], name: str, *, policy: str = "Cluster"
) -> dict[str, Any]:
    body = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "type": "LoadBalancer",
            "selector": {"app": "web"},
            "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
            "externalTrafficPolicy": policy,
        },
    }
    services.append(name)
    return lab.api.request("POST", SERVICES, body)


def allocate(lab: session.Session, name: str, address: str) -> None:
    """Play the allocator: the Service's ingress point is ``address`` (ipMode VIP)."""
    status = {"status": {"loadBalancer": {"ingress": [{"ip": address, "ipMode": "VIP"}]}}}
    lab.api.request("PATCH", f"{SERVICES}/{name}/status", status, content_type=MERGE)


def slices(lab: session.Session, name: str) -> list[dict[str, Any]]:
    query = f"?labelSelector=kubernetes.io/service-name%3D{name}"
    items: list[dict[str, Any]] = lab.api.request("GET", SLICES + query).get("items") or []
    return items


def endpoints(lab: session.Session, name: str) -> dict[str, dict[str, Any]]:
    """nodeName -> conditions of every endpoint in the Service's slices."""
    return {
        e.get("nodeName"): e.get("conditions")
        for s in slices(lab, name)
        for e in s.get("endpoints") or []
    }


def ready_nodes(lab: session.Session, name: str) -> list[str]:
    return sorted(n for n, c in endpoints(lab, name).items() if c and c.get("ready"))


def wait_ready_nodes(lab: session.Session, name: str, nodes: list[str]) -> None:
    lab.wait(
        lambda: ready_nodes(lab, name) == nodes,
        what=f"service {name}'s ready endpoints on exactly {nodes}",
        timeout=15,
        describe=lambda: f"endpoints: {endpoints(lab, name)}",
    )


def answers(lab: session.Session, address: str, count: int) -> list[tuple[bool, str]]:
    return [lab.ask(address) for _ in range(count)]


def programmed(lab: session.Session, node: str, address: str) -> bool:
    """Whether ``node``'s kube-proxy table has a rule for ``address``."""
    done = lab.run(node, ["nft", "list", "table", "ip", proxyrules.TABLE], check=False)
    return f"ip daddr {address} " in done.stdout


def wait_programmed(lab: session.Session, address: str, on: bool = True) -> None:
    """Until every node's kube-proxy has (or, ``on=False``, no longer has) rules for it."""
    lab.wait(
        lambda: all(programmed(lab, node, address) == on for node in NODES),
        what=f"every kube-proxy {'with' if on else 'without'} rules for {address}",
        timeout=15,
        describe=lambda: f"programmed: {[programmed(lab, n, address) for n in NODES]}",
    )


def test_web_pods_and_their_endpointslice_follow_stop_and_start_pod(
    lab: session.Session, services: list[str]
) -> None:
    for node in NODES:
        pod = lab.api.request("GET", webpods.pod_path(node))
        assert pod["metadata"]["labels"] == {"app": "web"}
        assert pod["spec"]["nodeName"] == node and pod["spec"]["hostNetwork"] is True
        assert pod["status"]["podIP"] == lab.lab.host(node).ip
        assert webpods.is_ready(pod)
    svc = make_service(lab, services, "web-slices")
    wait_ready_nodes(lab, "web-slices", NODES)
    [slice_] = slices(lab, "web-slices")
    assert slice_["addressType"] == "IPv4"
    assert slice_["ports"] == [{"name": "http", "port": 80, "protocol": "TCP"}]
    [owner] = slice_["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("Service", "web-slices",
                                                            svc["metadata"]["uid"])  # fmt: skip
    addresses = {e["nodeName"]: e["addresses"] for e in slice_["endpoints"]}
    assert addresses == {n: [lab.lab.host(n).ip] for n in NODES}
    lab.fault("stop-pod", "server2")
    wait_ready_nodes(lab, "web-slices", ["server1", "server3"])
    assert endpoints(lab, "web-slices")["server2"] == {
        "ready": False, "serving": False, "terminating": False
    }  # fmt: skip
    lab.fault("start-pod", "server2")
    wait_ready_nodes(lab, "web-slices", NODES)


def test_cluster_service_answered_by_every_ready_pod_through_kube_proxy(
    lab: session.Session, services: list[str]
) -> None:
    address = "192.0.2.120"
    create(lab, "web-cluster", address, "server1")  # answered by server1's nginx directly
    make_service(lab, services, "web-cluster")
    wait_ready_nodes(lab, "web-cluster", NODES)
    allocate(lab, "web-cluster", address)
    wait_programmed(lab, address)
    seen = answers(lab, address, 6)
    assert all(ok for ok, _ in seen), seen
    assert {body for _, body in seen} == set(NODES), "round robin over the three pods"
    lab.fault("stop-pod", "server2")
    wait_ready_nodes(lab, "web-cluster", ["server1", "server3"])
    lab.wait(
        lambda: "server2" not in {b for _, b in answers(lab, address, 3)},
        what="kube-proxy to stop sending to server2's pod",
        timeout=15,
    )
    seen = answers(lab, address, 6)
    assert all(ok for ok, _ in seen), seen
    assert {body for _, body in seen} == {"server1", "server3"}


def test_local_service_answered_only_by_the_holders_own_pod(
    lab: session.Session, services: list[str]
) -> None:
    address = "192.0.2.121"
    create(lab, "web-local", address, "server1")
    make_service(lab, services, "web-local", policy="Local")
    wait_ready_nodes(lab, "web-local", NODES)
    allocate(lab, "web-local", address)
    wait_programmed(lab, address)
    assert answers(lab, address, 5) == [(True, "server1")] * 5
    lab.fault("stop-pod", "server1")
    wait_ready_nodes(lab, "web-local", ["server2", "server3"])
    lab.wait(
        lambda: not lab.ask(address)[0],
        what="server1 to drop the Local Service's traffic (no local ready endpoint)",
        timeout=15,
    )
    # what the operator's placement will do for Local: move the address to a node with a pod
    lab.patch_spec("web-local", {"node": "server3"})
    lab.wait_holder("web-local", "server3")
    lab.wait_answer(address, "server3")
    assert answers(lab, address, 5) == [(True, "server3")] * 5


def test_deleting_the_service_removes_its_slices_and_rules(
    lab: session.Session, services: list[str]
) -> None:
    address = "192.0.2.122"
    make_service(lab, services, "web-gone")
    wait_ready_nodes(lab, "web-gone", NODES)
    allocate(lab, "web-gone", address)
    wait_programmed(lab, address)
    lab.api.request("DELETE", f"{SERVICES}/web-gone")
    lab.wait(lambda: slices(lab, "web-gone") == [], what="web-gone's slices removed", timeout=15)
    wait_programmed(lab, address, on=False)
