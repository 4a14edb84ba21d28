"""Services of type LoadBalancer end to end: the operator's allocation, the lab's web Pods,
EndpointSlices and kube-proxy, and the peers' failures floatip must not repeat, judged by the
client.

On one three-node lab with a VirtualIPPool, proves:
- `floatip lab up` reports a web Pod per server (app=web, on its node, the server's data IP,
  Ready), and the lab's endpoints controller gives a Service selecting them one EndpointSlice
  listing the three with nodeName, owned by the Service; `stop-pod server2` makes that
  endpoint not ready (and not serving), `start-pod` ready again;
- a Service gets the pool's address from the operator (``ingress [{ip, ipMode: VIP}]``, its
  VirtualIP ``svc-default.NAME-v4`` Ready on one node); externalTrafficPolicy Cluster: the
  client's requests to it are answered through the lab's kube-proxy by every ready pod in
  turn, those on other nodes included; after `stop-pod server2` never by server2;
- externalTrafficPolicy Local: only the holder's own pod answers; after `stop-pod` on the
  holder the operator itself (no pin, no move asked for) moves the address to a node with a
  ready endpoint, a planned ``EndpointsMoved`` move, that node alone carries it, and the
  client is answered again, by that node's own pod only;
- deleting the Service removes its slices, every node's rules for its address, and its
  VirtualIP (the address is released);
- MetalLB #2443/#2479/#1774: every operator replica restarted: the Service keeps its address,
  not one of the client's requests fails, and a Service created after the restart gets
  another address;
- MetalLB #2723: deleting one Service leaves another's address, VirtualIP and holder as they
  were, without one failed request;
- MetalLB #2449 / Cilium #40358: a pool edited so a Service's address is outside keeps it
  (the same VirtualIP), the Service says ``AddressOutsidePool``, the client is never refused,
  and the next Service gets an address of the edited pool;
- Cilium #28752/#26586: creating 50 Services (all allocated) adds no Lease anywhere;
- Cilium #48626: after kill-node of a Service's holder the client is answered through another
  node, and its neighbour entry for the address names that node's MAC (the new holder
  announced);
- an address is probed on the wire before it is handed out: with a quiet intruder holding the
  requested pool address, no server takes it, the Service gets no EXTERNAL-IP, its Allocated
  condition is False ``AddressInUseOnWire`` naming the intruder's MAC and one AllocationFailed
  Event says so; once the intruder lets go, the Service gets the address and answers;
- the same for an address the Service did not ask for (the first of a pool of its own): it is
  released and the next one chosen, which the client is answered at; the pool's
  ``status.inUseOnWire`` lists the used address with the intruder's MAC, one
  ``AddressInUseOnWire`` Warning Event names both addresses, the MAC and the probing node, and
  no server carries the used address;
- MetalLB #968 / kube-vip #879: two Services sharing one address by ``floatip.io/sharing-key``
  (ports 80 and 8080) are one VirtualIP carried by exactly one node, every ARP reply the
  client's port sees for the address (broadcast requests, so any second announcer would
  answer) comes from that node's MAC, the client's neighbour entry names it, and both
  Services answer through it.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from floatip.api import model, times
from floatip.api import services as svcapi
from floatip.api import status as vipstatus
from floatip_lab import kubeapi, proxyrules, session, timeline, webpods
from tests.e2e.conftest import (
    MAC,
    events_about,
    holders,
    running_lab,
    wait_events,
    wait_holders,
)

NODES = ["server1", "server2", "server3"]
SLICES = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
LEASES = "/apis/coordination.k8s.io/v1/leases"
POOL = "e2e"
POOL_RANGE = "192.0.2.110-192.0.2.189"
MERGE = "application/merge-patch+json"


@pytest.fixture(scope="module")
def module_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[session.Session]:
    with running_lab(tmp_path_factory, nodes=3) as lab:
        lab.apply_pool(POOL, {"addresses": [POOL_RANGE]})
        yield lab


@pytest.fixture
def services(lab: session.Session) -> Iterator[list[str]]:
    """Names of the Services a test creates; deleted afterwards (their VirtualIPs with them)."""
    created: list[str] = []
    yield created
    for name in created:
        lab.delete_service(name)
    lab.wait(
        lambda: not any(_exists(lab, session.VIPS + "/" + vip_of(n)) for n in created),
        what=f"the VirtualIPs of {created} to be gone",
        timeout=60,
    )


def _exists(lab: session.Session, path: str) -> bool:
    try:
        lab.api.request("GET", path)
    except kubeapi.ApiError as exc:
        if exc.status == 404:
            return False
        raise
    return True


def vip_of(name: str) -> str:
    return svcapi.vip_name("default", name, 4)


def make_service(
    lab: session.Session, services: list[str], name: str, *, policy: str = "Cluster"
) -> dict[str, Any]:
    services.append(name)
    return lab.create_service(name, externalTrafficPolicy=policy)


def allocated(lab: session.Session, name: str) -> tuple[str, str]:
    """Until the Service has an address and its VirtualIP is Ready on exactly one node:
    (the address, that node)."""
    address = lab.wait_ingress(name, timeout=60)
    lab.wait_condition(vip_of(name), "Ready", timeout=60)
    holder = lab.holder(vip_of(name))
    assert holder is not None
    wait_holders(lab, address, [holder])
    return address, holder


def service_condition(lab: session.Session, name: str, kind: str) -> dict[str, Any]:
    for condition in (lab.service(name).get("status") or {}).get("conditions") or ():
        if condition.get("type") == kind:
            found: dict[str, Any] = condition
            return found
    return {}


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
    """Whether ``node``'s kube-proxy table has a verdict for ``address`` (an element of its
    service-ips or no-endpoint-services map: ``ADDRESS . tcp . PORT : ...``)."""
    done = lab.run(node, ["nft", "list", "table", "ip", proxyrules.TABLE], check=False)
    return f"{address} . " in done.stdout


def wait_programmed(lab: session.Session, address: str, on: bool = True) -> None:
    """Until every node's kube-proxy has (or, ``on=False``, no longer has) rules for it."""
    lab.wait(
        lambda: all(programmed(lab, node, address) == on for node in NODES),
        what=f"every kube-proxy {'with' if on else 'without'} rules for {address}",
        timeout=15,
        describe=lambda: f"programmed: {[programmed(lab, n, address) for n in NODES]}",
    )


def serving(lab: session.Session, services: list[str], name: str) -> tuple[str, str]:
    """A Cluster Service allocated, programmed and answered: (its address, its holder)."""
    make_service(lab, services, name)
    address, holder = allocated(lab, name)
    wait_programmed(lab, address)
    lab.wait(lambda: lab.ask(address)[0], what=f"the client answered at {address}", timeout=15)
    return address, holder


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


def test_cluster_service_gets_a_pool_address_answered_by_every_ready_pod(
    lab: session.Session, services: list[str]
) -> None:
    address, holder = serving(lab, services, "web-cluster")
    ingress = (lab.service("web-cluster").get("status") or {})["loadBalancer"]["ingress"]
    assert ingress == [{"ip": address, "ipMode": "VIP"}]
    vip = lab.vip(vip_of("web-cluster"))
    assert vip["metadata"]["labels"][svcapi.names.POOL_LABEL] == POOL
    assert vip["spec"]["address"].split("/")[0] == address
    allocated_ = service_condition(lab, "web-cluster", svcapi.ConditionType.ALLOCATED)
    assert (allocated_.get("status"), allocated_.get("reason")) == ("True", "Allocated")
    wait_ready_nodes(lab, "web-cluster", NODES)
    seen = answers(lab, address, 6)
    assert all(ok for ok, _ in seen), seen
    assert {body for _, body in seen} == set(NODES), f"round robin over the three pods ({holder})"
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


def test_local_service_follows_its_pod_to_a_node_with_a_ready_endpoint(
    lab: session.Session, services: list[str]
) -> None:
    make_service(lab, services, "web-local", policy="Local")
    address, holder = allocated(lab, "web-local")
    wait_ready_nodes(lab, "web-local", NODES)
    wait_programmed(lab, address)
    lab.wait_answer(address, holder, timeout=15)
    assert answers(lab, address, 5) == [(True, holder)] * 5
    vip = vip_of("web-local")
    with lab.prober(address, duration=60) as prober:
        fault = lab.fault("stop-pod", holder)
        lab.wait(
            lambda: (lab.holder(vip) or holder) != holder,
            what=f"the operator to move web-local's VirtualIP off {holder} (its pod stopped)",
            timeout=30,
            describe=lambda: f"status: {lab.vip(vip).get('status')}",
        )
        new = lab.holder(vip)
        assert new is not None
        lab.wait_answer(address, new, timeout=15)
    assert new in ready_nodes(lab, "web-local") and holder not in ready_nodes(lab, "web-local")
    last = vipstatus.history(lab.vip(vip)["status"])[-1]
    assert (last.get("from"), last.get("to"), last.get("reason")) == (
        holder, new, model.MoveReason.ENDPOINTS_MOVED
    )  # fmt: skip
    wait_holders(lab, address, [new])
    assert (lab.condition(vip, "Ready") or {}).get("status") == "True"
    after = [r for r in prober.requests() if r.start >= fault and r.ok]
    assert after and {r.answer for r in after} <= {holder, new}, after  # the old pod, then new
    assert answers(lab, address, 5) == [(True, new)] * 5


def test_deleting_the_service_removes_its_slices_rules_and_virtualip(
    lab: session.Session, services: list[str]
) -> None:
    address, _ = serving(lab, services, "web-gone")
    lab.delete_service("web-gone")
    lab.wait(lambda: slices(lab, "web-gone") == [], what="web-gone's slices removed", timeout=15)
    wait_programmed(lab, address, on=False)
    lab.wait(
        lambda: not _exists(lab, f"{session.VIPS}/{vip_of('web-gone')}"),
        what="web-gone's VirtualIP deleted",
        timeout=30,
    )
    wait_holders(lab, address, [])


def test_operator_restart_rehands_no_address(lab: session.Session, services: list[str]) -> None:
    """MetalLB #2443, #2479, #1774: an address in use handed out again after a restart."""
    address, holder = serving(lab, services, "web-kept")
    uid = lab.vip(vip_of("web-kept"))["metadata"]["uid"]
    with lab.prober(address, duration=90) as prober:
        lab.fault("restart-operator")
        make_service(lab, services, "web-after-restart")
        other = lab.wait_ingress("web-after-restart", timeout=60)
        lab.wait_condition(vip_of("web-after-restart"), "Ready", timeout=60)
    requests = prober.requests()
    assert other != address
    assert session.ingress_ips(lab.service("web-kept")) == [address]
    vip = lab.vip(vip_of("web-kept"))
    assert (vip["metadata"]["uid"], vip["status"]["holder"]) == (uid, holder)
    assert holders(lab, address) == [holder]
    failed = [(r.start, r.answer) for r in requests if not r.ok]
    assert requests and not failed, f"{len(requests)} requests, failed: {failed}"


def test_deleting_one_service_leaves_another_untouched(
    lab: session.Session, services: list[str]
) -> None:
    """MetalLB #2723: deleting one Service changed another's address."""
    first, _ = serving(lab, services, "web-first")
    kept, holder = serving(lab, services, "web-second")
    uid = lab.vip(vip_of("web-second"))["metadata"]["uid"]
    with lab.prober(kept, duration=60) as prober:
        lab.delete_service("web-first")
        lab.wait(
            lambda: not _exists(lab, f"{session.VIPS}/{vip_of('web-first')}"),
            what="web-first's VirtualIP deleted",
            timeout=30,
        )
        wait_holders(lab, first, [])
    requests = prober.requests()
    assert session.ingress_ips(lab.service("web-second")) == [kept]
    vip = lab.vip(vip_of("web-second"))
    assert (vip["metadata"]["uid"], vip["status"]["holder"]) == (uid, holder)
    failed = [(r.start, r.answer) for r in requests if not r.ok]
    assert requests and not failed, f"{len(requests)} requests, failed: {failed}"


def test_pool_edit_keeps_allocated_addresses(lab: session.Session, services: list[str]) -> None:
    """MetalLB #2449, Cilium #40358: editing a pool silently reallocated addresses."""
    lab.apply_pool("e2e-edit", {"addresses": ["192.0.2.200-192.0.2.209"], "priority": 1})
    try:
        address, holder = serving(lab, services, "web-edited")
        assert address == "192.0.2.200"
        uid = lab.vip(vip_of("web-edited"))["metadata"]["uid"]
        with lab.prober(address, duration=60) as prober:
            lab.apply_pool("e2e-edit", {"addresses": ["192.0.2.205-192.0.2.209"], "priority": 1})
            lab.wait(
                lambda: (
                    service_condition(lab, "web-edited", svcapi.ConditionType.ALLOCATED).get(
                        "reason"
                    )
                    == svcapi.Reason.OUTSIDE_POOL
                ),
                what="web-edited's Allocated condition to say AddressOutsidePool",
                timeout=30,
                describe=lambda: str(lab.service("web-edited").get("status")),
            )
            make_service(lab, services, "web-after-edit")
            assert lab.wait_ingress("web-after-edit", timeout=60) == "192.0.2.205"
        requests = prober.requests()
        condition = service_condition(lab, "web-edited", svcapi.ConditionType.ALLOCATED)
        assert condition["status"] == "True", condition
        assert session.ingress_ips(lab.service("web-edited")) == [address]
        vip = lab.vip(vip_of("web-edited"))
        assert (vip["metadata"]["uid"], vip["status"]["holder"]) == (uid, holder)
        failed = [(r.start, r.answer) for r in requests if not r.ok]
        assert requests and not failed, f"{len(requests)} requests, failed: {failed}"
    finally:
        for name in ("web-edited", "web-after-edit"):
            lab.delete_service(name)
        lab.wait(
            lambda: (
                not any(
                    _exists(lab, f"{session.VIPS}/{vip_of(n)}")
                    for n in ("web-edited", "web-after-edit")
                )
            ),
            what="the edited pool's VirtualIPs gone",
            timeout=60,
        )
        with contextlib.suppress(kubeapi.ApiError):
            lab.api.request("DELETE", f"{session.POOLS}/e2e-edit")


def test_no_lease_per_service(lab: session.Session, services: list[str]) -> None:
    """Cilium #28752, #26586: a Lease per Service throttled announcing."""

    def leases() -> list[str]:
        items = lab.api.request("GET", LEASES).get("items") or []
        return sorted(f"{i['metadata']['namespace']}/{i['metadata']['name']}" for i in items)

    before = leases()
    names = [f"web-many-{i:02d}" for i in range(50)]
    for name in names:
        make_service(lab, services, name)
    lab.wait(
        lambda: all(session.ingress_ips(lab.service(n)) for n in names),
        what="the 50 Services to have an address",
        timeout=120,
        interval=0.5,
    )
    lab.wait(
        lambda: all((lab.condition(vip_of(n), "Ready") or {}).get("status") == "True"
                    for n in names),
        what="the 50 Services' VirtualIPs Ready",
        timeout=120,
        interval=0.5,
    )  # fmt: skip
    assert leases() == before


def test_new_holder_announces_after_kill_node(lab: session.Session, services: list[str]) -> None:
    """Cilium #48626: the new holder never announced."""
    address, holder = serving(lab, services, "web-moved")
    with lab.prober(address, duration=90) as prober:
        fault = lab.fault("kill-node", holder)
        lab.wait(
            lambda: (lab.holder(vip_of("web-moved")) or holder) != holder,
            what=f"web-moved's VirtualIP to leave {holder}",
            timeout=30,
        )
        lab.wait(
            lambda: any(r.ok and r.start > fault for r in prober.requests()),
            what="the client answered again after the kill-node",
            timeout=30,
        )
    new = lab.holder(vip_of("web-moved"))
    assert new is not None and new != holder
    assert session.neighbour(lab, "client", address) == MAC[new]
    after = [r.answer for r in prober.requests() if r.ok and r.start > fault]
    assert after and holder not in after, after


def ask_port(lab: session.Session, address: str, port: int) -> tuple[bool, str]:
    """One request from the client to ``address:port``: (answered, body or error)."""
    out = lab.place.path("ask-port.jsonl")
    out.unlink(missing_ok=True)
    lab.run("client", [sys.executable, "-m", "floatip_lab.httpclient",
                       f"http://{address}:{port}/", "--out", str(out), "--count", "1",
                       "--timeout", "0.3"])  # fmt: skip
    [request] = [timeline.Request.from_json(x) for x in out.read_text().splitlines()]
    return request.ok, request.answer


def test_shared_address_is_announced_from_one_node(
    lab: session.Session, services: list[str]
) -> None:
    """MetalLB #968, kube-vip #879: Services sharing an address announced from two nodes."""
    shared = {svcapi.SHARING_KEY_ANNOTATION: "web"}
    services.extend(["web-share-a", "web-share-b"])
    lab.create_service("web-share-a", annotations=shared)
    address = lab.wait_ingress("web-share-a", timeout=60)
    lab.create_service(
        "web-share-b",
        annotations=shared,
        ports=[{"name": "alt", "port": 8080, "targetPort": "http", "protocol": "TCP"}],
    )
    assert lab.wait_ingress("web-share-b", timeout=60) == address
    vip = vip_of("web-share-a")
    lab.wait(
        lambda: (
            lab.vip(vip)["metadata"].get("annotations", {}).get(svcapi.SERVICES_ANNOTATION)
            == "default/web-share-a,default/web-share-b"
        ),
        what=f"VirtualIP {vip} to list both sharing Services",
        timeout=30,
        describe=lambda: str(lab.vip(vip)["metadata"].get("annotations")),
    )
    assert not _exists(lab, f"{session.VIPS}/{vip_of('web-share-b')}")
    lab.wait_condition(vip, "Ready", timeout=60)
    holder = lab.holder(vip)
    assert holder is not None
    wait_holders(lab, address, [holder])
    wait_programmed(lab, address)
    lab.wait(lambda: ask_port(lab, address, 80)[0] and ask_port(lab, address, 8080)[0],
             what=f"both Services answered at {address} (ports 80 and 8080)",
             timeout=15)  # fmt: skip
    with lab.arp_log(address, duration=30) as log, session.arp_asker(lab, address, duration=5):
        time.sleep(3)
        lab.run("client", ["ip", "neigh", "flush", "to", address])
        seen = [ask_port(lab, address, port) for port in (80, 8080) * 3]
        time.sleep(1)
    replies = session.answers(log.frames(), address)
    assert replies, "no ARP reply for the shared address"
    assert {f.sender_mac.lower() for f in replies} == {MAC[holder]}, replies
    assert session.neighbour(lab, "client", address) == MAC[holder]
    assert all(ok for ok, _ in seen) and {b for _, b in seen} <= set(NODES), seen
    assert holders(lab, address) == [holder]


def test_an_address_in_use_on_the_wire_is_not_handed_out(
    lab: session.Session, services: list[str]
) -> None:
    address = "192.0.2.185"  # in the pool, requested, so the test knows which one to squat
    intruder = lab.lab.host("intruder").mac
    lab.squat(address)
    try:
        services.append("web-squatted")
        lab.create_service("web-squatted", annotations={svcapi.ADDRESSES_ANNOTATION: address})

        def refused() -> bool:
            found = service_condition(lab, "web-squatted", svcapi.ConditionType.ALLOCATED)
            return found.get("reason") == svcapi.Reason.IN_USE_ON_WIRE.value

        lab.wait(
            refused,
            what=f"web-squatted's Allocated condition to say {address} is in use on the wire",
            timeout=30,
            describe=lambda: f"service status: {lab.service('web-squatted').get('status')}",
        )
        condition = service_condition(lab, "web-squatted", svcapi.ConditionType.ALLOCATED)
        assert condition["status"] == "False" and intruder in condition["message"]
        assert session.ingress_ips(lab.service("web-squatted")) == []
        assert holders(lab, address) == [], "a server took an address a foreign host answers for"
        failed = wait_events(lab, "web-squatted", svcapi.EventReason.ALLOCATION_FAILED.value)
        assert len(failed) == 1 and "AddressInUseOnWire" in failed[0]["note"], failed
    finally:
        lab.give_back(address)
    assert lab.wait_ingress("web-squatted", timeout=60) == address
    lab.wait(lambda: lab.ask(address)[0], what=f"the client answered at {address}", timeout=30)


def test_an_auto_assigned_address_in_use_on_the_wire_is_chosen_anew(
    lab: session.Session, services: list[str]
) -> None:
    """The intruder squats the address a pool of its own hands out first: the Service, asking
    for no address, gets the next one, and the pool remembers the used one."""
    pool, squatted, chosen = "e2e-wire", "192.0.2.230", "192.0.2.231"
    intruder = lab.lab.host("intruder").mac
    lab.apply_pool(pool, {"addresses": ["192.0.2.230-192.0.2.233"], "autoAssign": False})
    lab.squat(squatted)
    try:
        services.append("web-rechosen")
        lab.create_service("web-rechosen", annotations={svcapi.POOL_ANNOTATION: pool})
        assert lab.wait_ingress("web-rechosen", timeout=30) == chosen
        lab.wait(lambda: lab.ask(chosen)[0], what=f"the client answered at {chosen}", timeout=30)
        status = lab.pool(pool).get("status") or {}
        listed = status.get("inUseOnWire") or []
        assert [(e["address"], e["mac"]) for e in listed] == [(squatted, intruder)], status
        assert listed[0]["node"] in NODES and times.parse(listed[0]["since"]), listed
        # The pool loop counts the new VirtualIP in its next pass (debounced, beside the
        # announcement the client was just answered through): its status may still show the
        # count of the moment between the old VirtualIP's deletion and the new one's creation.
        counts = {"total": 4, "allocated": 1, "available": 2}
        lab.wait(
            lambda: (lab.pool(pool).get("status") or {}).get("ipv4") == counts,
            what=f"pool {pool}'s IPv4 counts to be {counts}",
            timeout=10,
            describe=lambda: f"pool status: {lab.pool(pool).get('status')}",
        )
        (event,) = wait_events(lab, "web-rechosen", svcapi.EventReason.IN_USE_ON_WIRE.value)
        assert event["type"] == "Warning", event
        reasons = [e.get("reason") for e in events_about(lab, "web-rechosen")]
        assert svcapi.EventReason.ALLOCATION_FAILED.value not in reasons, reasons
        for word in (squatted, intruder, listed[0]["node"], chosen):
            assert word in event["note"], (word, event["note"])
        assert holders(lab, squatted) == [], "a server took an address a foreign host answers for"
        assert session.ingress_ips(lab.service("web-rechosen")) == [chosen]
    finally:
        lab.give_back(squatted)
        lab.delete_service("web-rechosen")
        lab.wait(
            lambda: not _exists(lab, f"{session.VIPS}/{vip_of('web-rechosen')}"),
            what="web-rechosen's VirtualIP gone",
            timeout=60,
        )
        with contextlib.suppress(kubeapi.ApiError):
            lab.api.request("DELETE", f"{session.POOLS}/{pool}")
