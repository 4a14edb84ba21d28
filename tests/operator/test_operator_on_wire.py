"""The real operator leaves an auto-assigned address a foreign host answers for, and remembers it.

Proves, with the operator running as the chart's ServiceAccount against the test API server and
the test playing the node's agent (its take's probe drew a foreign answer: ``status.conflict``
on the VirtualIP, nothing announced): the pool's ``status.inUseOnWire`` lists the address with
that MAC and node, ``available`` leaves it out, the Service's VirtualIP is deleted and created
again with the next address, which is handed out once announced; the Service gets one
``AddressInUseOnWire`` Warning and no AllocationFailed; and after an operator restart the record
still keeps the address from the next Service.
"""

from __future__ import annotations

from typing import Any

from floatip.api import services
from floatip_lab import rbac as lab_rbac
from tests.operator import harness

POOLS = "/apis/floatip.io/v1alpha1/virtualippools"
SERVICES = "/api/v1/namespaces/default/services"
MERGE = "application/merge-patch+json"
MAC = "02:99:00:00:00:07"


async def _operator(cluster: harness.Cluster) -> None:
    if not cluster.operators:
        for obj in lab_rbac.build_objects(lab_rbac.load_rules()):
            await cluster.call("POST", lab_rbac.collection(obj), obj)
    identity = f"op-{len(cluster.operators)}"
    op = harness.Operator(cluster, identity, [])
    op.kubeconfig = cluster.server.kubeconfig_for_service_account_at(
        "floatip", lab_rbac.ACCOUNTS["operator"], cluster.tmp / f"{identity}.kubeconfig"
    )
    await op.start()
    cluster.operators.append(op)


async def _service(cluster: harness.Cluster, name: str) -> None:
    spec = {"type": "LoadBalancer", "loadBalancerClass": services.CLASS, "selector": {"app": name},
            "ports": [{"port": 80, "protocol": "TCP"}]}  # fmt: skip
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}
    await cluster.call("POST", SERVICES, body)


async def _vip_at(cluster: harness.Cluster, name: str, address: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        vip = await cluster.vip(name)
        found = vip is not None and vip["spec"]["address"] == address
        return vip if found and not vip["metadata"].get("deletionTimestamp") else None

    return await harness.eventually(
        f"VirtualIP {name} at {address}", probe, describe=cluster.describe(name)
    )


async def test_an_address_in_use_on_the_wire_is_left_remembered_and_survives_a_restart(
    cluster: harness.Cluster,
) -> None:
    await cluster.add_node("server1")
    pool = {"apiVersion": "floatip.io/v1alpha1", "kind": "VirtualIPPool",
            "metadata": {"name": "wire"}, "spec": {"addresses": ["192.0.2.100-192.0.2.103"]}}  # fmt: skip
    await cluster.call("POST", POOLS, pool)
    await _operator(cluster)
    await _service(cluster, "web")
    vip = "svc-default.web-v4"
    first = await _vip_at(cluster, vip, "192.0.2.100")
    status = await cluster.wait_status(vip, lambda s: bool(s.get("holder")), "a holder")

    # The holder's agent probed before taking it, and a foreign host answered.
    seen = harness.now()
    conflict = {"node": status["holder"], "mac": MAC, "since": seen, "lastSeen": seen,
                "count": 1, "reasserted": 0}  # fmt: skip
    await cluster.call(
        "PATCH", f"{harness.VIPS}/{vip}/status", {"status": {"conflict": conflict}},
        content_type=MERGE,
    )  # fmt: skip

    again = await _vip_at(cluster, vip, "192.0.2.101")
    assert again["metadata"]["uid"] != first["metadata"]["uid"]

    async def counted() -> dict[str, Any] | None:
        current = (await cluster.call("GET", f"{POOLS}/wire")).get("status") or {}
        return current if current.get("ipv4", {}).get("allocated") == 1 else None

    listed = await harness.eventually("pool wire counting the new VirtualIP", counted)
    assert [(e["address"], e["mac"], e["node"]) for e in listed["inUseOnWire"]] == [
        ("192.0.2.100", MAC, "server1")
    ], listed
    assert listed["ipv4"] == {"total": 4, "allocated": 1, "available": 2}, listed
    await cluster.placed_and_announced(vip)

    async def handed_out() -> dict[str, Any] | None:
        body = await cluster.call("GET", f"{SERVICES}/web")
        ingress = (body.get("status") or {}).get("loadBalancer", {}).get("ingress") or []
        return body if [p["ip"] for p in ingress] == ["192.0.2.101"] else None

    await harness.eventually("web handed 192.0.2.101", handed_out, describe=cluster.describe(vip))

    async def warned() -> bool:
        return services.EventReason.IN_USE_ON_WIRE.value in await cluster.service_event_reasons(
            "web"
        )

    await harness.eventually("an AddressInUseOnWire Event regarding web", warned)
    reasons = await cluster.service_event_reasons("web")
    assert reasons.count(services.EventReason.IN_USE_ON_WIRE.value) == 1, reasons
    assert services.EventReason.ALLOCATION_FAILED.value not in reasons, reasons

    # Another leader reads the same record: the next Service does not get the used address.
    await cluster.operators[0].stop()
    await _operator(cluster)
    await _service(cluster, "next")
    await _vip_at(cluster, "svc-default.next-v4", "192.0.2.102")
