"""The real operator writes VirtualIPPool statuses, under the chart's RBAC and nothing more.

Proves, with the operator running as the chart's ServiceAccount (charts/floatip/files/rbac.yaml
applied to the test API server, which enforces it): two overlapping pools both get counts per
family, Ready False and Overlap True (OverlapsPool) naming each other, and a Warning Event
regarding each pool; a standalone VirtualIP inside a pool is counted and flagged
(OverlapsVirtualIP); an invalid pool (a range written backwards, which the CRD cannot see) is
Ready False InvalidSpec with the model's message; editing a pool to remove the overlap clears
it on both (Normal Events), and labelling the VirtualIP as allocated from its pool clears the
rest. In steady state the operator writes no pool status (resourceVersions stay put while the
VirtualIPs' statuses change) and logs no pool line. The leader's /metrics carries each pool's
counts per family as its status says them, and a deleted pool's series go.
"""

from __future__ import annotations

import asyncio
from typing import Any

from floatip_lab import rbac as lab_rbac
from tests.operator import harness

POOLS = "/apis/floatip.io/v1alpha1/virtualippools"
EVENTS = "/apis/events.k8s.io/v1/namespaces/default/events"


async def _run_operator_as_the_chart(cluster: harness.Cluster, *extra: str) -> harness.Operator:
    for obj in lab_rbac.build_objects(lab_rbac.load_rules()):
        await cluster.call("POST", lab_rbac.collection(obj), obj)
    op = harness.Operator(cluster, "op-a", list(extra))
    op.kubeconfig = cluster.server.kubeconfig_for_service_account_at(
        "floatip", lab_rbac.ACCOUNTS["operator"], cluster.tmp / "operator-sa.kubeconfig"
    )
    await op.start()
    cluster.operators.append(op)
    return op


async def _create_pool(cluster: harness.Cluster, name: str, *addresses: str) -> None:
    body = {
        "apiVersion": "floatip.io/v1alpha1",
        "kind": "VirtualIPPool",
        "metadata": {"name": name},
        "spec": {"addresses": list(addresses)},
    }
    await cluster.call("POST", POOLS, body)


async def _pool(cluster: harness.Cluster, name: str) -> dict[str, Any]:
    return await cluster.call("GET", f"{POOLS}/{name}")


async def _wait_pool(cluster: harness.Cluster, name: str, check: Any, what: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        status = (await _pool(cluster, name)).get("status") or {}
        return status if status and check(status) else None

    async def seen() -> str:
        return f"status of pool {name}: {(await _pool(cluster, name)).get('status')}\n" + (
            await cluster.describe()()
        )

    return await harness.eventually(f"pool {name}: {what}", probe, describe=seen)


def _state(status: dict[str, Any], kind: str) -> tuple[str, str]:
    found = harness.condition(status, kind)
    return found.get("status", ""), found.get("reason", "")


async def _pool_events(cluster: harness.Cluster, name: str) -> list[tuple[str, str]]:
    found = await cluster.call("GET", EVENTS)
    return [
        (e["type"], e["reason"])
        for e in found["items"]
        if e.get("regarding", {}).get("kind") == "VirtualIPPool"
        and e["regarding"].get("name") == name
    ]


async def test_pool_statuses_follow_overlaps_and_stay_put_in_steady_state(
    cluster: harness.Cluster,
) -> None:
    await cluster.add_node("server1")
    await _create_pool(cluster, "a", "192.0.2.0/28", "2001:db8::/120")
    await _create_pool(cluster, "b", "192.0.2.8-192.0.2.20")
    await _create_pool(cluster, "backwards", "198.51.100.20-198.51.100.10")
    await cluster.create_vip("manual", address="192.0.2.3/24")
    op = await _run_operator_as_the_chart(cluster)

    def overlapping(status: dict[str, Any]) -> bool:
        return _state(status, "Overlap") == ("True", "OverlapsPool")

    a = await _wait_pool(cluster, "a", overlapping, "Overlap with pool b")
    b = await _wait_pool(cluster, "b", overlapping, "Overlap with pool a")
    assert a["ipv4"] == {"total": 14, "allocated": 1, "available": 13}
    assert a["ipv6"] == {"total": 255, "allocated": 0, "available": 255}
    assert b["ipv4"] == {"total": 13, "allocated": 0, "available": 13} and "ipv6" not in b
    assert a["observedGeneration"] == 1
    assert _state(a, "Ready") == ("False", "OverlapsPool")
    a_overlap = harness.condition(a, "Overlap")["message"]
    assert "pool b (192.0.2.8-192.0.2.14" in a_overlap and "VirtualIP manual" in a_overlap
    assert "pool a (192.0.2.8-192.0.2.14" in harness.condition(b, "Overlap")["message"]
    bad = await _wait_pool(
        cluster, "backwards", lambda s: _state(s, "Ready")[1] == "InvalidSpec", "InvalidSpec"
    )
    assert "write the lower address first" in harness.condition(bad, "Ready")["message"]

    async def warned() -> bool:
        return ("Warning", "OverlapsPool") in await _pool_events(cluster, "b")

    await harness.eventually("a Warning Event regarding pool b", warned)

    # Steady state: the VirtualIP is placed and announced (its status changes, which pokes the
    # pool loop), yet no pool status is written again.
    versions = {n: (await _pool(cluster, n))["metadata"]["resourceVersion"] for n in ("a", "b")}
    pool_lines = len([e for e in op.log_events() if e.get("event") == "pool"])
    await cluster.placed_and_announced("manual")
    await asyncio.sleep(1.5)
    assert {
        n: (await _pool(cluster, n))["metadata"]["resourceVersion"] for n in ("a", "b")
    } == versions
    assert len([e for e in op.log_events() if e.get("event") == "pool"]) == pool_lines

    # The overlap between the pools ends: both see it; the standalone VirtualIP remains in a.
    await cluster.call(
        "PATCH",
        f"{POOLS}/b",
        {"spec": {"addresses": ["192.0.2.16-192.0.2.20"]}},
        content_type="application/merge-patch+json",
    )
    b = await _wait_pool(cluster, "b", lambda s: _state(s, "Ready") == ("True", "Ready"), "Ready")
    assert _state(b, "Overlap") == ("False", "NoOverlap") and b["observedGeneration"] == 2
    assert b["ipv4"] == {"total": 5, "allocated": 0, "available": 5}
    a = await _wait_pool(
        cluster, "a", lambda s: _state(s, "Overlap")[1] == "OverlapsVirtualIP", "VirtualIP only"
    )
    assert "pool b" not in harness.condition(a, "Overlap")["message"]

    async def cleared() -> bool:
        return {("Normal", "Ready"), ("Normal", "NoOverlap")} <= set(
            await _pool_events(cluster, "b")
        )

    await harness.eventually("Normal Events for pool b's cleared overlap", cleared)

    # Allocation will label its VirtualIPs with the pool: then the address is no overlap.
    await cluster.call(
        "PATCH",
        f"{harness.VIPS}/manual",
        {"metadata": {"labels": {"floatip.io/pool": "a"}}},
        content_type="application/merge-patch+json",
    )
    a = await _wait_pool(cluster, "a", lambda s: _state(s, "Ready") == ("True", "Ready"), "Ready")
    assert _state(a, "Overlap") == ("False", "NoOverlap")
    assert a["ipv4"]["allocated"] == 1


async def test_the_leader_reports_each_pool_in_its_metrics(cluster: harness.Cluster) -> None:
    await cluster.add_node("server1")
    await _create_pool(cluster, "a", "192.0.2.0/28", "2001:db8::/120")
    await cluster.create_vip("manual", address="192.0.2.3/24")
    port = harness.free_port()
    await _run_operator_as_the_chart(
        cluster, "--metrics-port", str(port), "--metrics-host", "127.0.0.1"
    )
    status = await _wait_pool(
        cluster, "a", lambda s: s.get("ipv4", {}).get("allocated") == 1, "the VirtualIP counted"
    )
    assert status["ipv4"] == {"total": 14, "allocated": 1, "available": 13}
    wanted = [
        'floatip_operator_pool_addresses{family="IPv4",pool="a"} 14.0',
        'floatip_operator_pool_allocated_addresses{family="IPv4",pool="a"} 1.0',
        'floatip_operator_pool_available_addresses{family="IPv4",pool="a"} 13.0',
        'floatip_operator_pool_addresses{family="IPv6",pool="a"} 255.0',
        'floatip_operator_pool_available_addresses{family="IPv6",pool="a"} 255.0',
        'floatip_operator_pool_in_use_on_wire_addresses{pool="a"} 0.0',
    ]

    await harness.metrics_showing(port, wanted, "pool a's counts in /metrics", about=["pool"])

    await cluster.call("DELETE", f"{POOLS}/a")

    async def gone() -> bool:
        text = await harness.scrape(port)
        return text is not None and 'pool="a"' not in text

    await harness.eventually("pool a's series gone from /metrics", gone)
