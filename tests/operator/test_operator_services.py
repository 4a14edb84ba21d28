"""The real operator gives LoadBalancer Services addresses from pools, durably, under the chart's
RBAC and nothing more.

Proves, with the operator running as the chart's ServiceAccount against the test API server:
a Service of class floatip.io/l2 and a class-less one get the pool's lowest free addresses,
each recorded as a VirtualIP named from the Service, labelled with its pool and Service and
annotated with its namespace/name, spec from the pool's template; the Service gets floatip's
finalizer, ``status.loadBalancer.ingress [{ip, ipMode: VIP}]`` once the address was
announced (probed free on the wire and taken), conditions Allocated (from
which pool) and Announced (by which node, once the VirtualIP is Ready), an IPAllocated Event,
no further write in steady state, and the real ``kubectl get svc`` shows the EXTERNAL-IP; a Service of another class is left
alone. Deleting another Service changes nobody's address (MetalLB #2723) and removes its
VirtualIP and finalizer; an operator restart moves nothing (MetalLB #2443/#2479); editing the
pool so an address is outside keeps it, with an AddressOutsidePool condition and Event
(MetalLB #2449); an exhausted pool gives an AllocationFailed Event. An IPv6 Service gets the
address its annotation asks for, a RequireDualStack one an address of each family in its
family order, the deprecated spec.loadBalancerIP is honoured, and an address in no pool is an
AllocationFailed (AddressNotInAnyPool); the pool's template edited reaches its VirtualIPs, whose
addresses stay. A Service that stops being a LoadBalancer loses its
VirtualIP, status and finalizer. With ``--no-services-default-class`` a class-less Service is
not served. externalTrafficPolicy Local (EndpointSlices written by the test, standing in for
the endpoints controller): the VirtualIP goes to the node with the ready endpoint, follows it
to another node as a planned EndpointsMoved move (never a Failover), has no holder and says
NoReadyEndpoint (condition, Warning Event, the Service's Announced) when no endpoint is ready,
and is assigned again when one is. Sharing: two Services with one sharing key and no common
port get one VirtualIP listing both; a third clashing on 53/TCP is refused (SharingRefused,
AllocationFailed) naming the Service it clashes with; deleting the creator keeps the address
for the other (MetalLB #2723), the refused one then joins, and nothing is rewritten after.
The leader's /metrics counts the Services by allocation state and the failed ones by reason,
and its pool's addresses.
"""

from __future__ import annotations

import asyncio
from typing import Any

from floatip_lab import rbac as lab_rbac
from tests.apiserver import kubectl_cli
from tests.operator import harness

POOLS = "/apis/floatip.io/v1alpha1/virtualippools"
SERVICES = "/api/v1/namespaces/default/services"
MERGE = "application/merge-patch+json"


async def _run_operator_as_the_chart(cluster: harness.Cluster, *extra: str) -> harness.Operator:
    if not cluster.operators:
        for obj in lab_rbac.build_objects(lab_rbac.load_rules()):
            await cluster.call("POST", lab_rbac.collection(obj), obj)
    identity = f"op-{len(cluster.operators)}"
    op = harness.Operator(cluster, identity, list(extra))
    op.kubeconfig = cluster.server.kubeconfig_for_service_account_at(
        "floatip", lab_rbac.ACCOUNTS["operator"], cluster.tmp / f"{identity}.kubeconfig"
    )
    await op.start()
    cluster.operators.append(op)
    return op


async def _create_pool(cluster: harness.Cluster, name: str, *addresses: str, **spec: Any) -> None:
    body = {
        "apiVersion": "floatip.io/v1alpha1",
        "kind": "VirtualIPPool",
        "metadata": {"name": name},
        "spec": {"addresses": list(addresses), **spec},
    }
    await cluster.call("POST", POOLS, body)


async def _create_service(
    cluster: harness.Cluster,
    name: str,
    cls: str | None,
    annotations: dict[str, str] | None = None,
    **extra: Any,
) -> None:
    spec: dict[str, Any] = {
        "type": "LoadBalancer",
        "selector": {"app": name},
        "ports": [{"port": 80, "protocol": "TCP"}],
        **extra,
    }
    if cls:
        spec["loadBalancerClass"] = cls
    meta = {"name": name, "annotations": annotations or {}}
    body = {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}
    await cluster.call("POST", SERVICES, body)


async def _service(cluster: harness.Cluster, name: str) -> dict[str, Any] | None:
    answer = await cluster.call("GET", f"{SERVICES}/{name}", ok=(200, 404))
    return None if answer["_code"] == 404 else answer


def _ips(service: dict[str, Any] | None) -> list[str]:
    ingress = ((service or {}).get("status") or {}).get("loadBalancer", {}).get("ingress") or []
    return [point["ip"] for point in ingress]


def _condition(service: dict[str, Any] | None, kind: str) -> tuple[str, str, str]:
    found = harness.condition((service or {}).get("status") or {}, f"floatip.io/{kind}")
    return found.get("status", ""), found.get("reason", ""), found.get("message", "")


async def _wait_service(cluster: harness.Cluster, name: str, check: Any, what: str) -> Any:
    async def probe() -> dict[str, Any] | None:
        service = await _service(cluster, name)
        return (service or {"gone": True}) if check(service) else None

    async def seen() -> str:
        return f"service {name}: {await _service(cluster, name)}\n" + await cluster.describe()()

    return await harness.eventually(f"service {name}: {what}", probe, describe=seen)


async def _handed_out(cluster: harness.Cluster, name: str, what: str, *vips: str) -> Any:
    """Play each VirtualIP's holder agent (it probed the address free, took and announced it),
    then wait for the Service's ingress: floatip hands an address out only after that."""
    for vip in vips:
        await cluster.placed_and_announced(vip)
    return await _wait_service(cluster, name, lambda s: len(_ips(s)) == len(vips), what)


async def _has_event(cluster: harness.Cluster, name: str, reason: str) -> None:
    async def probe() -> bool:
        return reason in await cluster.service_event_reasons(name)

    await harness.eventually(f"a {reason} Event regarding Service {name}", probe)


async def test_services_get_addresses_that_never_move(cluster: harness.Cluster) -> None:
    await cluster.add_node("server1")
    template = {"preferredNodes": ["server1"]}
    await _create_pool(cluster, "blue", "192.0.2.100-192.0.2.103", template=template)
    await _create_service(cluster, "web", "floatip.io/l2")
    await _create_service(cluster, "plain", None)
    await _create_service(cluster, "theirs", "example.com/other")
    await _run_operator_as_the_chart(cluster)

    # Services created together are served by key: default/plain first.
    web = await _handed_out(cluster, "web", "an address", "svc-default.web-v4")
    assert web["status"]["loadBalancer"]["ingress"] == [{"ip": "192.0.2.101", "ipMode": "VIP"}]
    assert "floatip.io/load-balancer" in web["metadata"]["finalizers"]
    assert _condition(web, "Allocated")[:2] == ("True", "Allocated")
    assert "192.0.2.101 from pool blue" in _condition(web, "Allocated")[2]
    plain = await _handed_out(cluster, "plain", "an address (class-less)", "svc-default.plain-v4")
    assert _ips(plain) == ["192.0.2.100"]
    vip = await cluster.vip("svc-default.web-v4")
    assert vip is not None and vip["spec"]["address"] == "192.0.2.101"
    assert vip["spec"]["preferredNodes"] == ["server1"]  # the pool's template
    labels = vip["metadata"]["labels"]
    assert labels["floatip.io/pool"] == "blue" and len(labels["floatip.io/service"]) == 20
    assert vip["metadata"]["annotations"]["floatip.io/services"] == "default/web"
    await _has_event(cluster, "web", "IPAllocated")

    web = await _wait_service(
        cluster, "web", lambda s: _condition(s, "Announced")[0] == "True", "Announced"
    )
    assert _condition(web, "Announced")[2] == "192.0.2.101 by node server1"
    await asyncio.sleep(1.5)  # steady state: the Service is not written again
    assert (await _service(cluster, "web") or {})["metadata"]["resourceVersion"] == web["metadata"][
        "resourceVersion"
    ]
    code, out = await kubectl_cli.run(cluster.server.kubeconfig, "get", "svc", "web")
    assert code == 0 and "192.0.2.101" in out.splitlines()[1], out
    theirs = await _service(cluster, "theirs")
    assert theirs is not None and not _ips(theirs) and not theirs["metadata"].get("finalizers")

    # Deleting another Service moves nobody (MetalLB #2723); its VirtualIP and finalizer go.
    await cluster.call("DELETE", f"{SERVICES}/plain")
    cluster.agents["server1"].held.pop("svc-default.plain-v4")  # its agent removes the address
    await _wait_service(cluster, "plain", lambda s: s is None, "deleted")
    assert await cluster.vip("svc-default.plain-v4") is None
    assert _ips(await _service(cluster, "web")) == ["192.0.2.101"]

    # An operator restart moves nothing and rewrites nothing (MetalLB #2443, #2479).
    before = await cluster.vip("svc-default.web-v4")
    assert before is not None
    await cluster.operators[0].stop()
    await _create_service(cluster, "late", None)
    await _run_operator_as_the_chart(cluster)
    late = await _handed_out(cluster, "late", "an address after the restart", "svc-default.late-v4")
    assert _ips(late) == ["192.0.2.100"]  # the lowest free, never web's
    after = await cluster.vip("svc-default.web-v4")
    assert after is not None and after["metadata"]["uid"] == before["metadata"]["uid"]
    assert after["spec"] == before["spec"] and _ips(await _service(cluster, "web")) == [
        "192.0.2.101"
    ]

    # A pool edit leaves the address where it is, and says so (MetalLB #2449).
    await cluster.call(
        "PATCH", f"{POOLS}/blue", {"spec": {"addresses": ["192.0.2.102-192.0.2.102"]}},
        content_type=MERGE,
    )  # fmt: skip
    web = await _wait_service(
        cluster, "web", lambda s: _condition(s, "Allocated")[1] == "AddressOutsidePool", "flag"
    )
    assert _ips(web) == ["192.0.2.101"] and _condition(web, "Allocated")[0] == "True"
    await _has_event(cluster, "web", "AddressOutsidePool")

    # An exhausted pool: one more Service gets .102, the next an AllocationFailed Event.
    await _create_service(cluster, "third", None)
    third = await _handed_out(cluster, "third", "the last address", "svc-default.third-v4")
    assert _ips(third) == ["192.0.2.102"]
    await _create_service(cluster, "fourth", None)
    fourth = await _wait_service(
        cluster, "fourth", lambda s: _condition(s, "Allocated")[0] == "False", "a failure"
    )
    assert _condition(fourth, "Allocated")[1] == "PoolExhausted" and not _ips(fourth)
    assert "every IPv4 address of pool blue is taken" in _condition(fourth, "Allocated")[2]
    await _has_event(cluster, "fourth", "AllocationFailed")


async def test_ipv6_dual_stack_and_requested_addresses(cluster: harness.Cluster) -> None:
    await cluster.add_node("server1", interfaces="eth0=192.0.2.{n}/24,2001:db8::{n}/64")
    await _create_pool(cluster, "blue", "192.0.2.100-192.0.2.103", "2001:db8::100-2001:db8::103")
    await _create_service(
        cluster, "six", None, {"floatip.io/addresses": "2001:db8::102"}, ipFamilies=["IPv6"]
    )
    await _create_service(
        cluster, "both", None, ipFamilies=["IPv6", "IPv4"], ipFamilyPolicy="RequireDualStack"
    )
    await _create_service(cluster, "old", None, loadBalancerIP="192.0.2.103")
    await _create_service(cluster, "nowhere", None, {"floatip.io/addresses": "198.51.100.1"})
    await _run_operator_as_the_chart(cluster)
    six = await _handed_out(cluster, "six", "its requested IPv6 address", "svc-default.six-v6")
    assert six["status"]["loadBalancer"]["ingress"] == [{"ip": "2001:db8::102", "ipMode": "VIP"}]
    vip = await cluster.vip("svc-default.six-v6")
    assert vip is not None and vip["spec"]["address"] == "2001:db8::102"
    both = await _handed_out(
        cluster, "both", "two addresses", "svc-default.both-v6", "svc-default.both-v4"
    )
    assert _ips(both) == ["2001:db8::100", "192.0.2.100"]
    old = await _handed_out(cluster, "old", "the spec.loadBalancerIP address", "svc-default.old-v4")
    assert _ips(old) == ["192.0.2.103"]
    nowhere = await _wait_service(
        cluster, "nowhere", lambda s: _condition(s, "Allocated")[0] == "False", "a failure"
    )
    assert _condition(nowhere, "Allocated")[1] == "AddressNotInAnyPool"
    await _has_event(cluster, "nowhere", "AllocationFailed")

    # The pool's template edited: its VirtualIPs get it, and keep their addresses.
    template = {"preferredNodes": ["server1"], "announce": {"burstCount": 5}}
    await cluster.call(
        "PATCH", f"{POOLS}/blue", {"spec": {"template": template}}, content_type=MERGE
    )

    async def retemplated() -> bool:
        vips = [await cluster.vip(n) for n in ("svc-default.six-v6", "svc-default.both-v4")]
        return all(
            v is not None and v["spec"].get("preferredNodes") == ["server1"]
            and v["spec"]["announce"]["burstCount"] == 5
            for v in vips
        )  # fmt: skip

    await harness.eventually("the pool's VirtualIPs with its edited template", retemplated)
    six_vip = await cluster.vip("svc-default.six-v6")
    assert six_vip is not None and six_vip["spec"]["address"] == "2001:db8::102"
    assert _ips(await _service(cluster, "six")) == ["2001:db8::102"]


async def test_a_service_that_stops_being_floatips_is_let_go(cluster: harness.Cluster) -> None:
    await cluster.add_node("server1")
    await _create_pool(cluster, "blue", "192.0.2.100-192.0.2.103")
    await _create_service(cluster, "web", "floatip.io/l2")
    await _create_service(cluster, "plain", None)
    await _run_operator_as_the_chart(cluster, "--no-services-default-class")
    await _handed_out(cluster, "web", "an address", "svc-default.web-v4")
    plain = await _service(cluster, "plain")
    assert plain is not None and not _ips(plain) and not plain["metadata"].get("finalizers")
    assert await cluster.vip("svc-default.plain-v4") is None

    await cluster.call(
        "PATCH", f"{SERVICES}/web", {"spec": {"type": "ClusterIP", "loadBalancerClass": None}},
        content_type=MERGE,
    )  # fmt: skip
    cluster.agents["server1"].held.pop("svc-default.web-v4")  # its agent removes the address
    web = await _wait_service(
        cluster, "web", lambda s: not (s or {}).get("metadata", {}).get("finalizers"), "let go"
    )
    assert not _ips(web) and _condition(web, "Allocated") == ("", "", "")
    assert await cluster.vip("svc-default.web-v4") is None


SLICES = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"


async def _set_endpoints(cluster: harness.Cluster, service: str, **ready: bool) -> None:
    """Play the endpoints controller: ``service``'s one EndpointSlice, an endpoint per node."""
    items = [
        {"addresses": [f"10.1.0.{i + 1}"], "nodeName": node, "conditions": {"ready": up}}
        for i, (node, up) in enumerate(sorted(ready.items()))
    ]
    body = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": f"{service}-abcde", "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "ports": [{"name": "", "port": 80, "protocol": "TCP"}],
        "endpoints": items,
    }
    found = await cluster.call("GET", f"{SLICES}/{service}-abcde", ok=(200, 404))
    if found["_code"] == 404:
        await cluster.call("POST", SLICES, body)
    else:
        await cluster.call(
            "PATCH", f"{SLICES}/{service}-abcde", {"endpoints": items}, content_type=MERGE
        )


async def test_a_local_service_follows_its_ready_endpoints(cluster: harness.Cluster) -> None:
    for name in ("server1", "server2", "server3"):
        await cluster.add_node(name)
    await _create_pool(cluster, "blue", "192.0.2.100-192.0.2.103")
    await _create_service(cluster, "local", None, externalTrafficPolicy="Local")
    await _set_endpoints(cluster, "local", server2=True, server1=False)
    await _run_operator_as_the_chart(cluster)
    vip = "svc-default.local-v4"
    placed = await cluster.placed_and_announced(vip)
    assert placed["holder"] == "server2"

    # The endpoint moves to server3: a planned move there, not a failover.
    await _set_endpoints(cluster, "local", server2=False, server3=True)
    moved = await cluster.wait_status(vip, lambda s: s.get("holder") == "server3", "server3")
    assert moved["history"][-1]["reason"] == "EndpointsMoved"
    assert moved["history"][-1]["from"] == "server2"
    assert all(entry["reason"] != "Failover" for entry in moved["history"])
    await cluster.announce(vip, node="server3", epoch=moved["epoch"])
    await _wait_service(
        cluster, "local", lambda s: "by node server3" in _condition(s, "Announced")[2], "server3"
    )

    # No ready endpoint anywhere: no node holds the address, and the VirtualIP says why.
    await _set_endpoints(cluster, "local", server3=False)
    released = await cluster.wait_status(vip, lambda s: not s.get("holder"), "no holder")
    assigned = harness.condition(released, "Assigned")
    assert (assigned["status"], assigned["reason"]) == ("False", "NoReadyEndpoint")
    assert released["history"][-1]["reason"] == "Released"

    async def warned() -> bool:
        return "NoReadyEndpoint" in [e["reason"] for e in await cluster.events(vip)]

    await harness.eventually("a NoReadyEndpoint Event regarding the VirtualIP", warned)
    service = await _wait_service(
        cluster, "local", lambda s: _condition(s, "Announced")[0] == "False", "not announced"
    )
    assert "no node has a ready endpoint" in _condition(service, "Announced")[2]
    assert _ips(service) == ["192.0.2.100"]  # the address stays allocated

    # An endpoint comes back on server1: the address is assigned there.
    await _set_endpoints(cluster, "local", server1=True, server3=False)
    back = await cluster.wait_status(vip, lambda s: s.get("holder") == "server1", "server1")
    assert back["history"][-1]["reason"] == "Assigned"


async def test_services_share_an_address_by_key_when_compatible(cluster: harness.Cluster) -> None:
    await cluster.add_node("server1")
    await _create_pool(cluster, "blue", "192.0.2.100-192.0.2.103")
    key = {"floatip.io/sharing-key": "dns"}
    await _create_service(cluster, "dns-tcp", None, key, ports=[{"port": 53, "protocol": "TCP"}])
    await _run_operator_as_the_chart(cluster)
    tcp = await _handed_out(cluster, "dns-tcp", "an address", "svc-default.dns-tcp-v4")
    await _create_service(cluster, "dns-udp", None, key, ports=[{"port": 53, "protocol": "UDP"}])
    udp = await _wait_service(cluster, "dns-udp", _ips, "the shared address")
    assert _ips(udp) == _ips(tcp) == ["192.0.2.100"]
    vip = await cluster.vip("svc-default.dns-tcp-v4")
    assert vip is not None
    assert (
        vip["metadata"]["annotations"]["floatip.io/services"] == "default/dns-tcp,default/dns-udp"
    )
    assert vip["metadata"]["annotations"]["floatip.io/sharing-key"] == "dns"
    assert await cluster.vip("svc-default.dns-udp-v4") is None

    # 53/TCP again with the same key: refused, naming the Service it clashes with.
    await _create_service(cluster, "clash", None, key, ports=[{"port": 53, "protocol": "TCP"}])
    clash = await _wait_service(
        cluster, "clash", lambda s: _condition(s, "Allocated")[0] == "False", "a refusal"
    )
    _, reason, message = _condition(clash, "Allocated")
    assert reason == "SharingRefused" and not _ips(clash)
    assert "with Service default/dns-tcp: both use 53/TCP" in message
    await _has_event(cluster, "clash", "AllocationFailed")

    # The creator goes: the address stays with dns-udp (MetalLB #2723), and 53/TCP is free for
    # the refused Service, which joins.
    await cluster.call("DELETE", f"{SERVICES}/dns-tcp")
    await _wait_service(cluster, "dns-tcp", lambda s: s is None, "deleted")
    clash = await _wait_service(cluster, "clash", _ips, "the shared address once 53/TCP is free")
    assert _ips(clash) == ["192.0.2.100"] and _ips(await _service(cluster, "dns-udp")) == [
        "192.0.2.100"
    ]
    vip = await cluster.vip("svc-default.dns-tcp-v4")
    assert vip is not None
    listed = vip["metadata"]["annotations"]["floatip.io/services"].split(",")
    assert sorted(listed) == ["default/clash", "default/dns-udp"]

    # Steady state: the members are not rewritten again.
    def rewrites() -> int:
        found = cluster.operators[0].log_events()
        return sum(1 for e in found if e.get("event") == "service address members")

    seen = rewrites()
    await asyncio.sleep(1.5)
    assert rewrites() == seen


async def test_the_leader_counts_services_and_their_pool_in_its_metrics(
    cluster: harness.Cluster,
) -> None:
    await cluster.add_node("server1")
    await _create_pool(cluster, "one", "192.0.2.100-192.0.2.100")
    await _create_service(cluster, "first", "floatip.io/l2")
    await _create_service(cluster, "second", "floatip.io/l2")
    await _create_service(cluster, "typo", "floatip.io/l2", {"floatip.io/addresses": "192.0.2.300"})
    port = harness.free_port()
    await _run_operator_as_the_chart(
        cluster, "--metrics-port", str(port), "--metrics-host", "127.0.0.1"
    )
    wanted = [
        'floatip_operator_services{state="allocated"} 1.0',
        'floatip_operator_services{state="failed"} 2.0',
        'floatip_operator_services{state="pending"} 0.0',
        'floatip_operator_services_failed{reason="PoolExhausted"} 1.0',
        'floatip_operator_services_failed{reason="InvalidRequest"} 1.0',
        'floatip_operator_services_failed{reason="SharingRefused"} 0.0',
        'floatip_operator_pool_available_addresses{family="IPv4",pool="one"} 0.0',
    ]

    await harness.metrics_showing(
        port, wanted, "the Services and the pool in /metrics", about=["services", "pool"],
        cluster=cluster,
    )  # fmt: skip
