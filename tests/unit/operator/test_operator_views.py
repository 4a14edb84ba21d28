"""API objects to decision views (pure): Nodes, agent Leases, probe verdicts and reports.

Proves: Ready comes from the Node's Ready condition; the drain label or annotation drains; an
agent Lease is fresh until renewTime + leaseDurationSeconds, and after an API outage an old
renewTime is not believed until the operator has had contact for a full Lease duration; the
interfaces annotation gives interfaces and own addresses (bad entries skipped); a Node without
an agent Lease or a live probe is not alive; health verdicts come only from live agents; spec
problems are reported, not raised.
"""

from __future__ import annotations

import datetime
import ipaddress
from typing import Any

import pytest

from floatip.api import names
from floatip_operator import eligibility, views

NOW = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.UTC)
LONG_AGO = NOW - datetime.timedelta(hours=1)


def _node(
    name: str = "n1",
    *,
    ready: str = "True",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": labels or {}, "annotations": annotations or {}},
        "status": {"conditions": [{"type": "Ready", "status": ready}]},
    }


def _lease(
    renewed: datetime.datetime, duration: int = 30, interfaces: str = "eth0=192.0.2.11/24"
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "floatip-agent-n1",
            "annotations": {
                "floatip.io/interfaces": interfaces,
                "floatip.io/endpoint": "http://1.2.3.4:9720/",
            },
        },
        "spec": {
            "renewTime": renewed.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "leaseDurationSeconds": duration,
        },
    }


@pytest.mark.parametrize(
    ("age_s", "contact_age_s", "fresh"),
    [
        (10, 3600, True),
        (29.9, 3600, True),
        (30, 3600, False),  # expired, and the operator has had contact all along
        (300, 10, True),  # expired, but the API was back only 10 s ago: not believed yet
        (300, 31, False),
    ],
)
def test_lease_freshness_with_grace_after_an_outage(
    age_s: float, contact_age_s: float, fresh: bool
) -> None:
    lease = _lease(NOW - datetime.timedelta(seconds=age_s))
    since = NOW - datetime.timedelta(seconds=contact_age_s)
    assert views.lease_fresh(lease, now=NOW, contact_since=since) is fresh


def test_no_lease_or_no_renew_time_is_not_fresh() -> None:
    assert not views.lease_fresh(None, now=NOW, contact_since=NOW)
    assert not views.lease_fresh({"spec": {"leaseDurationSeconds": 30}}, now=NOW, contact_since=NOW)


def test_node_views_combine_node_lease_and_probe() -> None:
    nodes = {
        "n1": _node("n1", labels={"zone": "a"}),
        "n2": _node("n2", ready="False"),
        "n3": _node("n3", labels={"floatip.io/drain": ""}),
        "n4": _node("n4", annotations={"floatip.io/drain": "maintenance"}),
        "n5": _node("n5"),  # no agent Lease
    }
    lease = _lease(NOW)
    leases = {name: lease for name in ("n1", "n2", "n3", "n4")}
    agents = {name: views.AgentState(alive=name != "n2") for name in nodes}
    found = views.node_views(nodes, leases, agents, now=NOW, contact_since=LONG_AGO)
    assert found["n1"].alive and found["n1"].labels == {"zone": "a"}
    assert found["n1"].interfaces[0].network == ipaddress.ip_network("192.0.2.0/24")
    assert found["n1"].own_addresses == {ipaddress.ip_address("192.0.2.11")}
    assert not found["n2"].ready and not found["n2"].agent_alive
    assert found["n3"].drained and found["n4"].drained
    assert not found["n5"].lease_fresh and not found["n5"].alive


def test_interfaces_annotation_parsing_skips_bad_entries() -> None:
    interfaces, own = views.parse_interfaces(
        "eth0=192.0.2.11/24,2001:db8::11/64;eth1=nonsense,198.51.100.11/24; ;=1.2.3.4/8"
    )
    assert [(i.name, str(i.network)) for i in interfaces] == [
        ("eth0", "192.0.2.0/24"),
        ("eth0", "2001:db8::/64"),
        ("eth1", "198.51.100.0/24"),
    ]
    assert len(own) == 3


def test_health_results_only_from_live_agents() -> None:
    agents = {
        "a": views.AgentState(True, {"health": {"web": True, "db": False, "odd": "yes"}}),
        "b": views.AgentState(False, {"health": {"web": True}}),
        "c": views.AgentState(True, None),
    }
    assert views.health_results(agents) == {"web": {"a": True}, "db": {"a": False}}


def test_parse_spec_reports_problems_instead_of_raising() -> None:
    good = views.parse_spec({"metadata": {"generation": 3}, "spec": {"address": "192.0.2.10/24"}})
    assert good.generation == 3 and good.spec is not None and good.problems == ""
    bad = views.parse_spec({"metadata": {"generation": 1}, "spec": {"address": "192.0.2.255/24"}})
    assert bad.spec is None and "spec.address" in bad.problems and "broadcast" in bad.problems


def test_interfaces_without_carrier_cannot_hold_addresses() -> None:
    eth0 = eligibility.Interface("eth0", ipaddress.ip_network("192.0.2.0/24"))
    eth1 = eligibility.Interface("eth1", ipaddress.ip_network("198.51.100.0/24"))
    report = {"links": {"eth0": False, "eth1": True}}
    assert views.with_carrier((eth0, eth1), views.AgentState(True, report)) == (eth1,)
    assert views.with_carrier((eth0, eth1), views.AgentState(True, {})) == (eth0, eth1)
    assert views.with_carrier((eth0,), None) == (eth0,)
    unknown = views.AgentState(True, {"links": {"eth1": False}})
    assert views.with_carrier((eth0, eth1), unknown) == (eth0,)


def test_an_agent_restarting_within_its_grace_counts_alive() -> None:
    now = datetime.datetime(2026, 11, 26, 12, 0, 0, tzinfo=datetime.UTC)
    marked = {
        "metadata": {"annotations": {names.RESTARTING_ANNOTATION: "2026-11-26T12:00:30.000000Z"}}
    }
    expired = {
        "metadata": {"annotations": {names.RESTARTING_ANNOTATION: "2026-11-26T11:59:59.000000Z"}}
    }
    assert views.restarting(marked, now=now)
    assert not views.restarting(expired, now=now)
    assert not views.restarting({"metadata": {}}, now=now)
    assert not views.restarting(None, now=now)
    agents = {"a": views.AgentState(False, {"held": {"web": 1}}), "b": views.AgentState(False)}
    adjusted = views.with_restart_grace(agents, {"a": marked, "b": expired}, now=now)
    assert adjusted["a"] == views.AgentState(True, {"held": {"web": 1}})
    assert adjusted["b"] == views.AgentState(False)
