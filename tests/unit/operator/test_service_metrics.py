"""The operator's gauges of Services and VirtualIPPools (floatip_operator.metrics, Plan.tally).

Proves: each pool's status counts become its gauges per family (IPv4, IPv6) and the number of
addresses in use on the wire; a family a pool no longer has, a pool gone and a replica that is
no longer the leader (``{}``) leave no series behind; other pools' series are untouched. A plan
tallies its Services as allocated (every required family has an address: one of two for
PreferDualStack), failed (by reason) or pending; every failure reason is reported, at 0 when
none fails so; a standby reports 0 everywhere.
"""

from __future__ import annotations

from typing import Any

import prometheus_client

from floatip.api import addresses, services
from floatip.api.servicerequests import Request
from floatip_operator import holdings, metrics


def value(name: str, **labels: str) -> float | None:
    return prometheus_client.REGISTRY.get_sample_value(name, labels)


def counts(total: int, allocated: int, available: int) -> dict[str, int]:
    return {"total": total, "allocated": allocated, "available": available}


BLUE: dict[str, Any] = {
    "ipv4": counts(14, 3, 10),
    "ipv6": counts(255, 0, 255),
    "inUseOnWire": [{"address": "192.0.2.5", "mac": "02:00:00:00:00:01", "node": "a"}],
}
GREEN: dict[str, Any] = {"ipv4": counts(5, 5, 0)}


def test_each_pool_family_gets_its_counts_and_gone_ones_leave() -> None:
    metrics.set_pools({"blue": BLUE, "green": GREEN})
    assert value("floatip_operator_pool_addresses", pool="blue", family="IPv4") == 14
    assert value("floatip_operator_pool_allocated_addresses", pool="blue", family="IPv4") == 3
    assert value("floatip_operator_pool_available_addresses", pool="blue", family="IPv4") == 10
    assert value("floatip_operator_pool_addresses", pool="blue", family="IPv6") == 255
    assert value("floatip_operator_pool_in_use_on_wire_addresses", pool="blue") == 1
    assert value("floatip_operator_pool_available_addresses", pool="green", family="IPv4") == 0
    assert value("floatip_operator_pool_in_use_on_wire_addresses", pool="green") == 0
    assert value("floatip_operator_pool_addresses", pool="green", family="IPv6") is None

    # blue loses its IPv6 block and green is deleted: their series go, blue's IPv4 stays
    metrics.set_pools({"blue": {"ipv4": counts(14, 4, 9)}})
    assert value("floatip_operator_pool_allocated_addresses", pool="blue", family="IPv4") == 4
    assert value("floatip_operator_pool_addresses", pool="blue", family="IPv6") is None
    assert value("floatip_operator_pool_addresses", pool="green", family="IPv4") is None
    assert value("floatip_operator_pool_in_use_on_wire_addresses", pool="green") is None
    assert value("floatip_operator_pool_in_use_on_wire_addresses", pool="blue") == 0

    # an invalid spec has no counts: no series for it; a standby reports no pool at all
    metrics.set_pools({"blue": {"conditions": []}})
    assert value("floatip_operator_pool_addresses", pool="blue", family="IPv4") is None
    metrics.set_pools({})
    assert value("floatip_operator_pool_in_use_on_wire_addresses", pool="blue") is None


def held(vip: str, address: str) -> holdings.Held:
    return holdings.Held(vip, addresses.parse_host(address), "blue")


def test_a_plan_tallies_its_services_and_the_gauges_show_them() -> None:
    requests = {
        "ns/one": Request("ns", "one"),
        "ns/dual": Request("ns", "dual", families=(4, 6), required=1),
        "ns/both": Request("ns", "both", families=(4, 6), required=2),
        "ns/full": Request("ns", "full"),
        "ns/bad": Request("ns", "bad", problems="a typo"),
    }
    exhausted = holdings.Failure(services.Reason.POOL_EXHAUSTED, "no address left")
    invalid = holdings.Failure(services.Reason.INVALID_REQUEST, "a typo")
    plan = holdings.Plan(
        results={
            "ns/one": holdings.Result((held("v1", "192.0.2.1"),)),
            "ns/dual": holdings.Result((held("v2", "192.0.2.2"),)),
            "ns/both": holdings.Result((held("v3", "192.0.2.3"),), waiting=True),
            "ns/full": holdings.Result((), exhausted),
            "ns/bad": holdings.Result((), invalid),
        }
    )
    tally = plan.tally(requests)
    assert tally.states == {"allocated": 2, "pending": 1, "failed": 2}
    assert tally.failures == {services.Reason.POOL_EXHAUSTED: 1, services.Reason.INVALID_REQUEST: 1}

    metrics.set_services(tally)
    assert value("floatip_operator_services", state="allocated") == 2
    assert value("floatip_operator_services", state="pending") == 1
    assert value("floatip_operator_services_failed", reason="PoolExhausted") == 1
    assert value("floatip_operator_services_failed", reason="NoPool") == 0
    assert value("floatip_operator_services_failed", reason="Allocated") is None

    metrics.set_services(None)  # no longer the leader
    assert value("floatip_operator_services", state="allocated") == 0
    assert value("floatip_operator_services_failed", reason="PoolExhausted") == 0
