"""externalTrafficPolicy Local: EndpointSlices -> the nodes that may hold a Service's address,
and placement under that constraint.

Proves (examples): only Local Services constrain; a slice's endpoints count on their node when
ready is true or absent, not when false; with no ready endpoint anywhere, terminating ones
that still serve count (kube-proxy's fallback), never those that do not; slices of one Service add up, another namespace's or
an unlabelled slice count for nothing; a shared address is allowed only where every Local
Service has a ready endpoint; slimming a slice keeps the answer. Placement: a Local VirtualIP
goes to a node with a ready endpoint; when the holder loses its last one and it is alive, the
move is EndpointsMoved and planned (a Failover when the holder is dead); with no ready endpoint
anywhere no node holds it (NoReadyEndpoint: Assigned False, history Released, a Warning Event);
with endpoints only on ineligible nodes the holder keeps it (NoEligibleNode); a pin to a node
without an endpoint says so.
Proves (hypothesis): never a new holder without a ready endpoint or otherwise ineligible;
placing twice changes nothing; an EndpointsMoved move always leaves a live holder that has no
endpoint and is planned.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from floatip.api import model, status
from floatip_operator import eligibility, endpoints, notices, placement, statuses
from floatip_operator.eligibility import NodeView, VipView
from floatip_operator.placement import Reason
from tests.unit.operator.test_placement import clusters, node, nodes, vip


def service(name: str, policy: str = "Local", namespace: str = "default") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"type": "LoadBalancer", "externalTrafficPolicy": policy},
    }


def endpoint_slice(
    service_name: str, *endpoints_: tuple[str, bool | None], namespace: str = "default"
) -> dict[str, Any]:
    items = []
    for node_name, ready in endpoints_:
        conditions = {} if ready is None else {"ready": ready}
        items.append({"addresses": ["10.1.0.1"], "nodeName": node_name, "conditions": conditions})
    return {
        "metadata": {
            "name": f"{service_name}-x",
            "namespace": namespace,
            "resourceVersion": "7",
            "labels": {"kubernetes.io/service-name": service_name, "other": "dropped"},
            "managedFields": [{"manager": "kube-controller-manager"}],
        },
        "addressType": "IPv4",
        "ports": [{"port": 80}],
        "endpoints": items,
    }


def test_only_local_services_constrain_and_ready_nodes_add_up() -> None:
    found = endpoints.constraints(
        [service("web"), service("open", "Cluster"), service("idle")],
        [
            endpoint_slice("web", ("s1", True), ("s2", None), ("s3", False)),
            endpoint_slice("web", ("s4", True)),
            endpoint_slice("web", ("s5", True), namespace="other"),
            endpoint_slice("open", ("s1", True)),
            {"metadata": {"name": "loose", "namespace": "default"}, "endpoints": []},
        ],
    )
    assert found == {"default/web": frozenset({"s1", "s2", "s4"}), "default/idle": frozenset()}


def test_a_shared_address_is_allowed_where_every_local_service_has_an_endpoint() -> None:
    known = {"default/a": frozenset({"s1", "s2"}), "default/b": frozenset({"s2", "s3"})}
    assert endpoints.allowed_nodes(["default/a", "default/b"], known) == {"s2"}
    assert endpoints.allowed_nodes(["default/a", "default/cluster"], known) == {"s1", "s2"}
    assert endpoints.allowed_nodes(["default/cluster"], known) is None
    assert endpoints.allowed_nodes([], known) is None


def terminating(node_name: str, serving: bool | None) -> dict[str, Any]:
    """An endpoint of a pod being deleted (ready false), still serving or not."""
    conditions: dict[str, Any] = {"ready": False, "terminating": True}
    if serving is not None:
        conditions["serving"] = serving
    return {"addresses": ["10.1.0.9"], "nodeName": node_name, "conditions": conditions}


def test_serving_terminating_endpoints_count_only_when_no_endpoint_is_ready() -> None:
    draining = endpoint_slice("web", ("s3", False))
    draining["endpoints"] += [terminating("s1", True), terminating("s2", False)]
    assert endpoints.constraints([service("web")], [draining]) == {"default/web": {"s1"}}
    started = endpoint_slice("web", ("s4", True))
    assert endpoints.constraints([service("web")], [draining, started]) == {"default/web": {"s4"}}
    gone = endpoint_slice("web")
    gone["endpoints"] = [terminating("s1", False), terminating("s2", None)]
    assert endpoints.constraints([service("web")], [gone]) == {"default/web": frozenset()}
    assert endpoints.constraints([service("web")], [endpoints.slim(dict(draining))]) == {
        "default/web": {"s1"}
    }


def test_slimming_a_slice_keeps_the_answer() -> None:
    whole = endpoint_slice("web", ("s1", True), ("s2", False), ("s3", None))
    slim = endpoints.slim(dict(whole))
    assert slim["metadata"] == {
        "name": "web-x",
        "namespace": "default",
        "resourceVersion": "7",
        "labels": {"kubernetes.io/service-name": "web"},
    }
    assert endpoints.constraints([service("web")], [slim]) == endpoints.constraints(
        [service("web")], [whole]
    )


def local(v: VipView, *allowed: str) -> VipView:
    return dataclasses.replace(v, endpoint_nodes=frozenset(allowed))


def test_a_local_vip_goes_where_its_endpoints_are() -> None:
    ns = nodes(node("s1"), node("s2"), node("s3"))
    d = placement.place([local(vip("a", preferredNodes=["s1"]), "s2")], ns)["a"]
    assert (d.node, d.reason) == ("s2", Reason.ASSIGNED)


def test_endpoints_moving_is_a_planned_move_not_a_failover() -> None:
    ns = nodes(node("s1"), node("s2"), node("s3"))
    d = placement.place([local(vip("a", holder="s2"), "s3")], ns)["a"]
    assert (d.node, d.reason, d.planned) == ("s3", Reason.ENDPOINTS_MOVED, True)
    assert d.move_reason is model.MoveReason.ENDPOINTS_MOVED
    # a dead holder's endpoints elsewhere: that is a failover
    ns = nodes(node("s1"), node("s2", agent_alive=False), node("s3"))
    d = placement.place([local(vip("a", holder="s2"), "s3")], ns)["a"]
    assert (d.node, d.reason, d.planned) == ("s3", Reason.FAILOVER, False)
    # a drained holder that also lost its endpoints: drained is the first reason
    ns = nodes(node("s2", drained=True), node("s3"))
    d = placement.place([local(vip("a", holder="s2"), "s3")], ns)["a"]
    assert (d.node, d.reason, d.planned) == ("s3", Reason.HOLDER_INELIGIBLE, True)


def test_no_ready_endpoint_anywhere_means_no_holder_and_says_why() -> None:
    ns = nodes(node("s1"), node("s2"))
    d = placement.place([local(vip("a", holder="s2"))], ns)["a"]
    assert (d.node, d.reason) == (None, Reason.NO_READY_ENDPOINT)
    before = statuses.build(
        None,
        statuses.Inputs(
            generation=1, now="t0", decision=placement.Decision("a", "s2", None, Reason.ASSIGNED)
        ),
    )
    after = statuses.build(before, statuses.Inputs(generation=1, now="t1", decision=d))
    assigned = status.condition(after, model.ConditionType.ASSIGNED)
    assert (assigned["status"], assigned["reason"]) == ("False", "NoReadyEndpoint")
    assert "no node has a ready endpoint" in assigned["message"]
    assert status.holder(after) is None
    assert status.history(after)[-1]["reason"] == "Released"
    found = {(n.type.value, n.reason.value) for n in notices.notices(before, after)}
    assert ("Warning", "NoReadyEndpoint") in found and ("Normal", "Released") in found


def test_endpoints_only_on_ineligible_nodes_keep_the_holder() -> None:
    ns = nodes(node("s1"), node("s2", ready=False))
    d = placement.place([local(vip("a", holder="s1"), "s2")], ns)["a"]
    assert (d.node, d.reason) == ("s1", Reason.NO_ELIGIBLE_NODE)
    assert "1 NoLocalEndpoint" in d.detail and "1 NodeNotReady" in d.detail


def test_a_pin_to_a_node_without_an_endpoint_says_so() -> None:
    ns = nodes(node("s1"), node("s2"))
    d = placement.place([local(vip("a", node="s1"), "s2")], ns)["a"]
    assert d.node == "s2" and "NoLocalEndpoint" in d.detail


def test_unconstrained_vips_are_placed_as_before() -> None:
    ns = nodes(node("s1"), node("s2"), node("s3"))
    plain = [vip(f"v{i}", address=f"192.0.2.{100 + i}") for i in range(6)]
    mixed = [*plain, local(vip("z", address="192.0.2.99"), "s1")]
    before = placement.place(plain, ns)
    after = placement.place(mixed, ns)
    assert after["z"].node == "s1"
    assert {d.node for d in before.values()} == {"s1", "s2", "s3"}
    assert all(after[name].node is not None for name in before)


@st.composite
def constrained(
    draw: st.DrawFn,
) -> tuple[list[VipView], dict[str, NodeView], dict[str, dict[str, bool]]]:
    vips, ns, health = draw(clusters())
    names = sorted(ns)
    out = []
    for v in vips:
        if draw(st.booleans()):
            allowed = draw(st.frozensets(st.sampled_from([*names, "ghost"])))
            out.append(dataclasses.replace(v, endpoint_nodes=allowed))
        else:
            out.append(v)
    return out, ns, health


@settings(max_examples=300, deadline=None)
@given(constrained())
def test_never_a_new_holder_without_an_endpoint(
    cluster: tuple[list[VipView], dict[str, NodeView], dict[str, dict[str, bool]]],
) -> None:
    vips, ns, health = cluster
    result = placement.place(vips, ns, health)
    by_name = {v.name: v for v in vips}
    for d in result.values():
        v = by_name[d.vip]
        if d.reason is Reason.NO_READY_ENDPOINT:
            assert d.node is None and v.endpoint_nodes == frozenset()
        elif d.reason in (Reason.NO_ELIGIBLE_NODE, Reason.DUPLICATE_ADDRESS):
            assert d.node in (None, v.holder)
        else:
            assert d.node is not None
            assert eligibility.why_ineligible(v, ns[d.node], health) is None
            assert v.endpoint_nodes is None or d.node in v.endpoint_nodes
        if d.reason is Reason.ENDPOINTS_MOVED:
            assert v.holder is not None and v.endpoint_nodes is not None
            assert v.holder not in v.endpoint_nodes and ns[v.holder].reachable and d.planned


@settings(max_examples=200, deadline=None)
@given(constrained())
def test_placing_twice_changes_nothing_under_endpoints(
    cluster: tuple[list[VipView], dict[str, NodeView], dict[str, dict[str, bool]]],
) -> None:
    vips, ns, health = cluster
    first = placement.place(vips, ns, health)
    again = [dataclasses.replace(v, holder=first[v.name].node) for v in vips]
    for name, d in placement.place(again, ns, health).items():
        assert d.node == first[name].node and not d.moved
