"""The lab's EndpointSlice controller stand-in (floatip_lab.endpointslices), as pure functions.

Proves, as the real controller behaves for what floatip and kube-proxy read:
- a Service selecting three Ready Pods gets one IPv4 slice: an endpoint per Pod with its IP,
  nodeName and targetRef, ready/serving/terminating, the Service's port by its targetPort,
  the service-name and managed-by labels and an ownerReference to the Service;
- a Pod not Ready is ready=false, serving=false; a terminating one ready=false,
  terminating=true; publishNotReadyAddresses makes them ready; Failed Pods and Pods of
  another namespace or without the labels are left out;
- a named targetPort resolves per Pod, Pods resolving differently land in different slices;
  an IPv6 family gets its own slice from the Pods' IPv6 addresses;
- a Service selecting nothing keeps one empty (placeholder) slice;
- `plan` creates what is missing, updates (a PUT of the old name and resourceVersion) only
  what changed, writes nothing in steady state, deletes an earlier Service's slices and an
  ExternalName Service's, and leaves slices of a deleted Service to the garbage collector.
"""

from __future__ import annotations

from typing import Any

import pytest

from floatip_lab import endpointslices as es


def service(name: str = "web", **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 80,
                 "protocol": "TCP"}], "ipFamilies": ["IPv4"], **spec},
    }  # fmt: skip


def pod(
    node: str,
    ip: str,
    *,
    ready: bool = True,
    labels: dict[str, str] | None = None,
    namespace: str = "default",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "metadata": {"name": f"web-{node}", "namespace": namespace, "uid": f"pod-{node}",
                     "labels": {"app": "web"} if labels is None else labels,
                     **extra.pop("meta", {})},
        "spec": {"nodeName": node, "containers": [{"name": "nginx", "ports": [
            {"name": "http", "containerPort": extra.pop("http", 80), "protocol": "TCP"}]}]},
        "status": {"phase": extra.pop("phase", "Running"), "podIP": ip,
                   "podIPs": [{"ip": a} for a in (ip, *extra.pop("more", ()))],
                   "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }  # fmt: skip


THREE = [pod("server1", "192.0.2.11"), pod("server2", "192.0.2.12"), pod("server3", "192.0.2.13")]


def test_three_ready_pods_make_one_slice_as_the_controller_writes_it() -> None:
    [slice_] = es.desired(service(), THREE)
    assert slice_["addressType"] == "IPv4"
    assert slice_["metadata"]["generateName"] == "web-"
    assert slice_["metadata"]["labels"] == {es.SERVICE_NAME: "web", es.MANAGED_BY: es.CONTROLLER}
    assert slice_["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Service", "name": "web", "uid": "uid-web",
         "controller": True, "blockOwnerDeletion": True}
    ]  # fmt: skip
    assert slice_["ports"] == [{"name": "", "port": 80, "protocol": "TCP"}]
    assert [(e["nodeName"], e["addresses"]) for e in slice_["endpoints"]] == [
        ("server1", ["192.0.2.11"]),
        ("server2", ["192.0.2.12"]),
        ("server3", ["192.0.2.13"]),
    ]
    first = slice_["endpoints"][0]
    assert first["conditions"] == {"ready": True, "serving": True, "terminating": False}
    assert first["targetRef"] == {
        "kind": "Pod", "namespace": "default", "name": "web-server1", "uid": "pod-server1"
    }  # fmt: skip


def test_conditions_and_which_pods_count() -> None:
    pods = [
        pod("server1", "192.0.2.11", ready=False),
        pod("server2", "192.0.2.12", meta={"deletionTimestamp": "2025-01-01T00:00:00Z"}),
        pod("server3", "192.0.2.13", phase="Failed"),
        pod("server4", "192.0.2.14", namespace="other"),
        pod("server5", "192.0.2.15", labels={"app": "db"}),
    ]
    [slice_] = es.desired(service(), pods)
    conditions = {e["nodeName"]: e["conditions"] for e in slice_["endpoints"]}
    assert conditions == {
        "server1": {"ready": False, "serving": False, "terminating": False},
        "server2": {"ready": False, "serving": True, "terminating": True},
    }
    [published] = es.desired(service(publishNotReadyAddresses=True), pods)
    assert all(e["conditions"]["ready"] for e in published["endpoints"])


def test_named_target_port_resolves_per_pod_and_families_get_their_own_slices() -> None:
    svc = service(
        ports=[{"name": "web", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        ipFamilies=["IPv4", "IPv6"],
    )
    pods = [
        pod("server1", "192.0.2.11", more=["2001:db8:f1::11"]),
        pod("server2", "192.0.2.12", http=8080),
    ]
    slices = es.desired(svc, pods)
    v4 = {s["ports"][0]["port"]: s for s in slices if s["addressType"] == "IPv4"}
    assert sorted(v4) == [80, 8080]
    assert [e["nodeName"] for e in v4[8080]["endpoints"]] == ["server2"]
    [v6] = [s for s in slices if s["addressType"] == "IPv6"]
    assert v6["endpoints"][0]["addresses"] == ["2001:db8:f1::11"]


def test_a_service_selecting_nothing_keeps_a_placeholder_slice() -> None:
    [placeholder] = es.desired(service(selector={"app": "none"}), THREE)
    assert placeholder["endpoints"] == [] and placeholder["ports"] == []


def created(body: dict[str, Any], name: str, version: str = "1") -> dict[str, Any]:
    """``body`` as the server stores it after a create."""
    meta = {**body["metadata"], "name": name, "resourceVersion": version}
    return {**body, "metadata": meta}


def test_plan_creates_updates_only_changes_and_is_quiet_in_steady_state() -> None:
    [write] = es.plan([service()], THREE, [])
    assert (write.verb, write.namespace) == ("create", "default")
    stored = created(dict(write.body), "web-abcde")
    assert es.plan([service()], THREE, [stored]) == []
    pods = [*THREE[:1], pod("server2", "192.0.2.12", ready=False), *THREE[2:]]
    [update] = es.plan([service()], pods, [stored])
    assert (update.verb, update.name) == ("update", "web-abcde")
    assert update.body["metadata"]["resourceVersion"] == "1"
    assert "generateName" not in update.body["metadata"]
    assert update.body["endpoints"][1]["conditions"]["ready"] is False


@pytest.mark.parametrize(
    ("services", "verbs"),
    [
        ([], []),  # the Service is gone: the garbage collector's to remove
        ([service(type="ExternalName", selector=None)], ["delete"]),
        ([service(selector=None)], []),  # someone else's slices
    ],
)
def test_plan_deletes_only_what_the_controller_would(
    services: list[dict[str, Any]], verbs: list[str]
) -> None:
    [write] = es.plan([service()], THREE, [])
    stored = created(dict(write.body), "web-abcde")
    assert [w.verb for w in es.plan(services, THREE, [stored])] == verbs


def test_plan_replaces_the_slices_of_an_earlier_service_of_the_same_name() -> None:
    [write] = es.plan([service()], THREE, [])
    stored = created(dict(write.body), "web-abcde")
    again = service()
    again["metadata"]["uid"] = "uid-web-2"
    assert [(w.verb, w.name) for w in es.plan([again], THREE, [stored])] == [
        ("delete", "web-abcde"),
        ("create", ""),
    ]


def test_a_pods_change_concerns_the_services_selecting_it_before_or_after() -> None:
    """The controller queues only the Services a Pod's change concerns (its old labels or its
    new), in the Pod's namespace: the real controller's getPodServiceMemberships."""
    services = [
        service("web"),
        service("api", selector={"app": "api"}),
        service("none", selector=None),
        {**service("elsewhere"), "metadata": {"name": "elsewhere", "namespace": "other"}},
    ]
    web, api = pod("server1", "192.0.2.11"), pod("server1", "192.0.2.11", labels={"app": "api"})
    assert es.selecting(services, [web]) == [("default", "web")]
    assert es.selecting(services, [web, api]) == [("default", "web"), ("default", "api")]
    assert es.selecting(services, [pod("server1", "192.0.2.11", labels={})]) == []


def test_a_slice_names_its_service_only_when_this_controller_manages_it() -> None:
    [write] = es.plan([service()], THREE, [])
    stored = created(dict(write.body), "web-abcde")
    assert es.owner(stored) == ("default", "web")
    foreign = {**stored, "metadata": {**stored["metadata"], "labels": {es.SERVICE_NAME: "web"}}}
    assert es.owner(foreign) is None
