"""Validation of specs and whole manifests: every problem, its field path, an actionable message.

Proves: defaults are filled in; each rule of the model (address, interface, selectors,
preferred nodes, preempt, pin, announce and health-check timings, unknown fields, JSON types)
rejects what it must with the path kubectl would print; all problems of one spec are reported
together; manifests need the right apiVersion, kind, metadata.name and a spec.
"""

from __future__ import annotations

from typing import Any

import pytest

from floatip.api import model, validation


def test_minimal_spec_gets_the_defaults() -> None:
    spec = validation.parse_spec({"address": "192.0.2.10/24"})
    assert spec.interface is None
    assert spec.node_selector is None
    assert spec.preferred_nodes == ()
    assert spec.preempt is False
    assert spec.node is None
    assert spec.announce == model.Announce(
        burst_count=3,
        burst_interval_milliseconds=100,
        second_burst_delay_seconds=5,
        refresh_interval_seconds=60,
    )
    assert spec.health_check is None
    assert str(spec.interface_address.network) == "192.0.2.0/24"


def test_health_check_defaults() -> None:
    spec = validation.parse_spec(
        {"address": "192.0.2.10", "healthCheck": {"type": "tcp", "port": 80}}
    )
    assert spec.health_check == model.HealthCheck(
        type=model.HealthCheckType.TCP,
        port=80,
        interval_seconds=2,
        timeout_seconds=1,
        rise=2,
        fall=3,
    )


GOOD = {"address": "192.0.2.10/24"}

BAD_SPECS: list[tuple[dict[str, Any], str, str]] = [
    ({}, "spec.address", "is required"),
    ({"address": 10}, "spec.address", "must be a string"),
    ({"address": "192.0.2.0/24"}, "spec.address", "network address"),
    ({"address": "192.0.2.255/24"}, "spec.address", "broadcast address"),
    ({"address": "10.0.0.1/40"}, "spec.address", "out of range"),
    ({"address": "ff02::1"}, "spec.address", "multicast"),
    ({**GOOD, "interface": "a-very-long-interface"}, "spec.interface", "at most 15"),
    ({**GOOD, "interface": "eth0:1"}, "spec.interface", "not a valid Linux interface name"),
    ({**GOOD, "interface": "eth 0"}, "spec.interface", "not a valid Linux interface name"),
    ({**GOOD, "interface": "a/b"}, "spec.interface", "not a valid Linux interface name"),
    ({**GOOD, "interface": ".."}, "spec.interface", "not a valid Linux interface name"),
    ({**GOOD, "interface": ""}, "spec.interface", "must not be empty"),
    ({**GOOD, "preferredNodes": ["a", "b", "a"]}, "spec.preferredNodes", "listed twice"),
    ({**GOOD, "preferredNodes": ["Node_1"]}, "spec.preferredNodes[0]", "not a valid node name"),
    ({**GOOD, "preferredNodes": "a"}, "spec.preferredNodes", "must be a list"),
    ({**GOOD, "preempt": True}, "spec.preempt", "preempt needs preferredNodes"),
    ({**GOOD, "preempt": True, "preferredNodes": []}, "spec.preempt", "needs preferredNodes"),
    ({**GOOD, "preempt": "yes"}, "spec.preempt", "true or false"),
    ({**GOOD, "node": "UPPER"}, "spec.node", "not a valid node name"),
    ({**GOOD, "group": "Router"}, "spec.group", "not a valid group name"),
    ({**GOOD, "group": "a.b"}, "spec.group", "not a valid group name"),
    ({**GOOD, "group": "-edge"}, "spec.group", "not a valid group name"),
    ({**GOOD, "group": "x" * 64}, "spec.group", "at most 63"),
    ({**GOOD, "group": ""}, "spec.group", "must not be empty"),
    ({**GOOD, "group": 7}, "spec.group", "must be a string"),
    (
        {**GOOD, "nodeSelector": {"matchLabels": {"-bad": "x"}}},
        "spec.nodeSelector.matchLabels",
        "label key",
    ),
    (
        {**GOOD, "nodeSelector": {"matchLabels": {"ok": "-bad"}}},
        "spec.nodeSelector.matchLabels.ok",
        "label value",
    ),
    (
        {**GOOD, "nodeSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}},
        "spec.nodeSelector.matchExpressions[0]",
        "needs at least one value",
    ),
    (
        {
            **GOOD,
            "nodeSelector": {
                "matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]
            },
        },
        "spec.nodeSelector.matchExpressions[0]",
        "takes no values",
    ),
    (
        {
            **GOOD,
            "nodeSelector": {"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]},
        },
        "spec.nodeSelector.matchExpressions[0].operator",
        "must be one of",
    ),
    ({**GOOD, "nodeSelector": {"matchLabel": {}}}, "spec.nodeSelector.matchLabel", "not a field"),
    ({**GOOD, "announce": {"burstCount": 0}}, "spec.announce.burstCount", "at least 1"),
    ({**GOOD, "announce": {"burstCount": 11}}, "spec.announce.burstCount", "at most 10"),
    ({**GOOD, "announce": {"burstCount": "3"}}, "spec.announce.burstCount", "must be an integer"),
    (
        {**GOOD, "announce": {"burstIntervalMilliseconds": 5}},
        "spec.announce.burstIntervalMilliseconds",
        "at least 10",
    ),
    (
        {**GOOD, "announce": {"secondBurstDelaySeconds": -1}},
        "spec.announce.secondBurstDelaySeconds",
        "at least 0",
    ),
    (
        {**GOOD, "announce": {"refreshIntervalSeconds": 86400}},
        "spec.announce.refreshIntervalSeconds",
        "at most 3600",
    ),
    ({**GOOD, "healthCheck": {"port": 80}}, "spec.healthCheck.type", "is required"),
    (
        {**GOOD, "healthCheck": {"type": "udp", "port": 80}},
        "spec.healthCheck.type",
        "must be one of",
    ),
    (
        {**GOOD, "healthCheck": {"type": "tcp", "port": 70000}},
        "spec.healthCheck.port",
        "at most 65535",
    ),
    (
        {**GOOD, "healthCheck": {"type": "tcp", "port": 80, "path": "/"}},
        "spec.healthCheck.path",
        "http health checks only",
    ),
    (
        {**GOOD, "healthCheck": {"type": "http", "port": 80, "path": "x"}},
        "spec.healthCheck.path",
        "must match",
    ),
    (
        {
            **GOOD,
            "healthCheck": {"type": "tcp", "port": 80, "intervalSeconds": 2, "timeoutSeconds": 3},
        },
        "spec.healthCheck.timeoutSeconds",
        "must not exceed intervalSeconds",
    ),
    (
        {**GOOD, "healthCheck": {"type": "tcp", "port": 80, "fall": 0}},
        "spec.healthCheck.fall",
        "at least 1",
    ),
    (
        {**GOOD, "healthCheck": {"type": "tcp", "port": 80, "rise": 11}},
        "spec.healthCheck.rise",
        "at most 10",
    ),
    ({**GOOD, "adress": "192.0.2.1"}, "spec.adress", "not a field"),
]


@pytest.mark.parametrize(("spec", "path", "message"), BAD_SPECS)
def test_each_rule_reports_its_path_and_reason(
    spec: dict[str, Any], path: str, message: str
) -> None:
    problems = validation.validate_spec(spec)
    assert any(p.path == path and message in p.message for p in problems), problems
    with pytest.raises(validation.InvalidSpecError) as caught:
        validation.parse_spec(spec)
    assert caught.value.problems == tuple(problems)


def test_every_problem_is_reported_at_once() -> None:
    spec = {
        "address": "127.0.0.1",
        "interface": "bad/name",
        "preferredNodes": ["a", "a"],
        "announce": {"burstCount": 0},
        "healthCheck": {
            "type": "tcp",
            "port": 80,
            "path": "/x",
            "intervalSeconds": 1,
            "timeoutSeconds": 2,
        },
        "extra": True,
    }
    paths = {p.path for p in validation.validate_spec(spec)}
    assert paths == {
        "spec.address",
        "spec.interface",
        "spec.preferredNodes",
        "spec.announce.burstCount",
        "spec.healthCheck.path",
        "spec.healthCheck.timeoutSeconds",
        "spec.extra",
    }


@pytest.mark.parametrize("raw", [None, "x", 1, [], True])
def test_a_spec_that_is_not_an_object(raw: object) -> None:
    [problem] = validation.validate_spec(raw)
    assert problem.path == "spec"
    assert "must be an object" in problem.message


def _manifest(**changes: Any) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "apiVersion": "floatip.io/v1alpha1",
        "kind": "VirtualIP",
        "metadata": {"name": "web"},
        "spec": {"address": "192.0.2.10"},
    }
    manifest.update(changes)
    return {k: v for k, v in manifest.items() if v is not None}


def test_a_valid_manifest() -> None:
    assert validation.validate_manifest(_manifest()) == []
    assert validation.is_virtualip(_manifest())


@pytest.mark.parametrize(
    ("manifest", "path"),
    [
        (_manifest(apiVersion="floatip.io/v1"), "apiVersion"),
        (_manifest(kind="VirtualIp"), "kind"),
        (_manifest(metadata=None), "metadata"),
        (_manifest(metadata={}), "metadata.name"),
        (_manifest(metadata={"name": "Web"}), "metadata.name"),
        (_manifest(spec=None), "spec"),
        (_manifest(spec={"address": "x"}), "spec.address"),
    ],
)
def test_manifest_problems(manifest: dict[str, Any], path: str) -> None:
    assert path in {p.path for p in validation.validate_manifest(manifest)}


def test_problem_reads_as_path_and_message() -> None:
    assert str(validation.Problem("spec.address", "is required")) == "spec.address: is required"
