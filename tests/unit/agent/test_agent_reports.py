"""What the agent writes and publishes (floatip_agent.leasing, conflicts, healthchecks,
settings). Proves: Lease annotations in protocol.md's format and peer MACs and addresses read
back from other agents' Leases only; the conflict record's report (a ConflictReport of the
API model) and quiet period; rise/fall hysteresis; which health checks a node runs; --listen
parsing. (Patches and Events are the API contract's: tests/unit/api/test_api_contract.py.)
"""

from __future__ import annotations

import datetime
import ipaddress

import pytest

from floatip.api import model, names
from floatip_agent import addressing, assignments, conflicts, healthchecks, leasing, settings

NOW = datetime.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.UTC)


def snapshot() -> addressing.Snapshot:
    iface = ipaddress.ip_interface
    return addressing.Snapshot(
        links=(
            addressing.Link(1, "lo", True, "00:00:00:00:00:00"),
            addressing.Link(2, "eth0", True, "02:F1:00:00:00:01"),
            addressing.Link(3, "eth1", True, "02:f1:00:00:01:01"),
        ),
        addresses=(
            addressing.KernelAddress(1, iface("127.0.0.1/8"), 2),
            addressing.KernelAddress(2, iface("192.0.2.11/24"), 0),
            addressing.KernelAddress(2, iface("2001:db8:f1::11/64"), 0),
            addressing.KernelAddress(2, iface("fe80::1/64"), 3),
            addressing.KernelAddress(2, iface("192.0.2.100/32"), 99),
            addressing.KernelAddress(3, iface("198.51.100.11/24"), 0),
        ),
    )


def test_lease_annotations() -> None:
    assert leasing.published(snapshot(), endpoint="http://198.51.100.11:9720") == {
        names.ENDPOINT_ANNOTATION: "http://198.51.100.11:9720",
        names.INTERFACES_ANNOTATION: "eth0=192.0.2.11/24,2001:db8:f1::11/64;eth1=198.51.100.11/24",
        names.MACS_ANNOTATION: "eth0=02:f1:00:00:00:01;eth1=02:f1:00:00:01:01",
    }


def test_peers_from_other_agents_leases() -> None:
    def lease(name: str, macs: str, interfaces: str = "") -> dict[str, object]:
        published = {names.MACS_ANNOTATION: macs, names.INTERFACES_ANNOTATION: interfaces}
        return {"metadata": {"name": name, "annotations": published}}

    leases = [
        lease("floatip-agent-me", "eth0=02:00:00:00:00:01", "eth0=192.0.2.1/24"),
        lease("floatip-agent-b", "eth0=02:00:00:00:00:0B;eth1=junk;=;x", "eth0=192.0.2.2/24"),
        lease("floatip-operator", "eth0=02:00:00:00:00:0c", "eth0=192.0.2.3/24"),
        {"metadata": {"name": "floatip-agent-c"}},
    ]
    assert leasing.peers(leases, node="me") == leasing.Peers(
        frozenset({"02:00:00:00:00:0b"}), {"b": "eth0=192.0.2.2/24"}
    )


def test_lease_body_and_renewal() -> None:
    body = leasing.lease_body(node="n1", namespace="floatip", annotations={"a": "b"}, now=NOW)
    assert body["metadata"]["name"] == "floatip-agent-n1"
    assert body["spec"]["renewTime"] == "2026-01-02T03:04:05.678901Z"
    assert body["spec"]["leaseDurationSeconds"] == 45
    patch = leasing.renewal_patch(node="n1", annotations=None, now=NOW, duration=60)
    assert "metadata" not in patch and patch["spec"]["holderIdentity"] == "n1"
    assert patch["spec"]["leaseDurationSeconds"] == 60


def test_restart_is_announced_and_the_next_renewal_clears_it() -> None:
    until = datetime.datetime(2026, 1, 2, 3, 5, 0, tzinfo=datetime.UTC)
    assert leasing.restarting_patch(until) == {
        "metadata": {"annotations": {"floatip.io/restarting-until": "2026-01-02T03:05:00.000000Z"}}
    }
    patch = leasing.renewal_patch(node="n1", annotations={"a": "b"}, now=NOW)
    assert patch["metadata"]["annotations"] == {"a": "b", "floatip.io/restarting-until": None}
    kept = leasing.renewal_patch(
        node="n1", annotations={"a": "b"}, now=NOW, clear_restart_mark=False
    )
    assert kept["metadata"]["annotations"] == {"a": "b"}


def test_lease_outlives_two_missed_renewals() -> None:
    assert leasing.duration_for(15) == 45
    assert leasing.duration_for(20) == 60
    assert leasing.duration_for(2) == 30


def test_conflict_record_report_and_quiet() -> None:
    now = [0.0]
    record = conflicts.record(None, mac="02:00:00:00:00:0f", now=0, wall=NOW, clock=lambda: now[0])
    record = conflicts.record(
        record, mac="02:00:00:00:00:0f", now=5, wall=NOW, clock=lambda: now[0]
    )
    assert record.count == 2
    taken = [record.bucket.try_take() for _ in range(conflicts.REASSERT_BURST + 2)]
    assert taken == [True] * conflicts.REASSERT_BURST + [False, False]  # the burst, then the rate
    now[0] = 1 / conflicts.REASSERT_RATE
    assert record.bucket.try_take()
    report = record.to_report(node="n1")
    assert isinstance(report, model.ConflictReport)
    assert report.count == 2 and report.since == "2026-01-02T03:04:05Z"
    quiet = conflicts.quiet(1.0)
    assert quiet == 3.0 and conflicts.quiet(10.0) == 30.0  # three rounds of verification
    assert not conflicts.over(record, now=5 + quiet - 0.5, quiet_for=quiet)
    assert conflicts.over(record, now=5 + quiet, quiet_for=quiet)


def test_rise_fall() -> None:
    verdict = healthchecks.Verdict(rise=2, fall=3)
    seen = []
    for ok in [True, False, True, True, False, False, True, False, False, False]:
        verdict.record(ok)
        seen.append(verdict.healthy)
    assert seen == [False, False, False, True, True, True, True, True, True, False]


def test_health_checks_follow_the_node_selector() -> None:
    check = model.HealthCheck(type=model.HealthCheckType.TCP, port=80)

    def assigned(name: str, **fields: object) -> assignments.Assignment:
        parsed = assignments.parse({"metadata": {"name": name}, "spec": fields})
        assert isinstance(parsed, assignments.Assignment)
        return parsed

    found = {
        "web": assigned("web", address="192.0.2.1", healthCheck=check.to_json()),
        "db": assigned(
            "db", address="192.0.2.2", healthCheck=check.to_json(),
            nodeSelector={"matchLabels": {"role": "db"}},
        ),
        "plain": assigned("plain", address="192.0.2.3"),
    }  # fmt: skip
    assert healthchecks.wanted(found, {"role": "web"}) == {"web": check}
    assert healthchecks.wanted(found, {"role": "db"}) == {"web": check, "db": check}


@pytest.mark.parametrize(
    ("value", "parsed"),
    [(":9720", ("0.0.0.0", 9720)), ("10.0.0.1:80", ("10.0.0.1", 80)), ("[::1]:9", ("::1", 9))],
)
def test_parse_listen(value: str, parsed: tuple[str, int]) -> None:
    assert settings.parse_listen(value) == parsed


@pytest.mark.parametrize("value", ["9720", "host:", "h:0", "h:70000"])
def test_parse_listen_refuses(value: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        settings.parse_listen(value)
