"""What the agent writes and publishes (floatip_agent.leasing, reporting, conflicts,
healthchecks.Verdict, settings). Proves: Lease annotations in protocol.md's format and peer
MACs read back from other agents' Leases only; merge patches naming only the agent's keys;
Events regarding the VirtualIP with Warning types for problems; the conflict record's report
and quiet period; rise/fall hysteresis; --listen parsing.
"""

from __future__ import annotations

import datetime
import ipaddress

import pytest

from floatip.api import names
from floatip_agent import addressing, conflicts, healthchecks, leasing, reporting, settings

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
    assert leasing.interfaces_annotation(snapshot()) == (
        "eth0=192.0.2.11/24,2001:db8:f1::11/64;eth1=198.51.100.11/24"
    )
    assert leasing.macs_annotation(snapshot()) == "eth0=02:f1:00:00:00:01;eth1=02:f1:00:00:01:01"


def test_peer_macs_from_other_agents_leases() -> None:
    def lease(name: str, macs: str) -> dict[str, object]:
        return {"metadata": {"name": name, "annotations": {names.MACS_ANNOTATION: macs}}}

    leases = [
        lease("floatip-agent-me", "eth0=02:00:00:00:00:01"),
        lease("floatip-agent-b", "eth0=02:00:00:00:00:0B;eth1=junk;=;x"),
        lease("floatip-operator", "eth0=02:00:00:00:00:0c"),
        {"metadata": {"name": "floatip-agent-c"}},
    ]
    assert leasing.peer_macs(leases, node="me") == {"02:00:00:00:00:0b"}


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


def test_patches_name_only_the_agents_keys() -> None:
    patch = reporting.announcement_patch(node="n1", epoch=3, mac="m", time="t")
    assert patch == {
        "status": {"announcement": {"node": "n1", "epoch": 3, "mac": "m", "time": "t"}}
    }
    assert reporting.conflict_patch(None) == {"status": {"conflict": None}}


def test_event() -> None:
    event = reporting.event(
        vip="web", uid="u", node="n1", reason=reporting.Reason.CONFLICT, note="x" * 2000,
        action="Reassert", now=NOW,
    )  # fmt: skip
    assert event["type"] == "Warning"
    assert event["regarding"] == {"apiVersion": "floatip.io/v1alpha1", "kind": "VirtualIP",
                                  "name": "web", "uid": "u"}  # fmt: skip
    assert event["metadata"]["namespace"] == "default"
    assert len(event["note"]) == 1024
    normal = reporting.event(vip="web", uid="", node="n1", reason=reporting.Reason.ANNOUNCED,
                             note="", action="Announce", now=NOW)  # fmt: skip
    assert normal["type"] == "Normal" and "uid" not in normal["regarding"]


def test_conflict_record_report_and_quiet() -> None:
    now = [0.0]
    record = conflicts.record(None, mac="02:00:00:00:00:0f", now=0, wall=NOW, clock=lambda: now[0])
    record = conflicts.record(
        record, mac="02:00:00:00:00:0f", now=5, wall=NOW, clock=lambda: now[0]
    )
    assert record.count == 2
    taken = [record.bucket.try_take() for _ in range(5)]
    assert taken == [True, True, True, False, False]  # the burst, then the rate
    now[0] = 2.0
    assert record.bucket.try_take()
    report = record.to_report(node="n1")
    assert report["count"] == 2 and report["since"] == "2026-01-02T03:04:05Z"
    assert not conflicts.over(record, now=5 + conflicts.QUIET - 1)
    assert conflicts.over(record, now=5 + conflicts.QUIET)


def test_rise_fall() -> None:
    verdict = healthchecks.Verdict(rise=2, fall=3)
    assert [verdict.record(ok) for ok in [True, False, True, True, False, False, True, False,
                                          False, False]] == [
        False, False, False, True, True, True, True, True, True, False,
    ]  # fmt: skip


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
