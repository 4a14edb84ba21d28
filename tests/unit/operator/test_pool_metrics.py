"""The operator's VirtualIPPool gauges (floatip_operator.metrics.set_pools).

Proves: each pool's status counts become its gauges per family (IPv4, IPv6) and the number of
addresses in use on the wire; a family a pool no longer has, a pool gone and a replica that is
no longer the leader (``{}``) leave no series behind; other pools' series are untouched.
"""

from __future__ import annotations

from typing import Any

import prometheus_client

from floatip_operator import metrics


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
