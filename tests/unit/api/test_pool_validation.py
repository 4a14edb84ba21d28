"""VirtualIPPool specs and manifests: defaults, every rule's path and message, the shared template.

Proves: a minimal pool gets autoAssign true, no priority and the VirtualIP's announce defaults
in its template; each rule (addresses: syntax, family, order, host bits, special addresses,
duplicates and overlaps within the pool, at least one and at most 64; priority bounds; the
selectors; unknown fields; JSON types) rejects what it must with the path kubectl would
print and a message saying what to write; the template's fields are the VirtualIP's own, so
they refuse the same values with the same messages, health-check rules across fields
included; every problem is reported at once; manifests need the right apiVersion, kind,
metadata.name and a spec; the parsed spec's pool counts its addresses.
"""

from __future__ import annotations

from typing import Any

import pytest

from floatip.api import model, names, pools, validation

GOOD: dict[str, Any] = {"addresses": ["192.0.2.0/28"]}


def test_minimal_pool_gets_the_defaults() -> None:
    spec = validation.parse_pool_spec(GOOD)
    assert spec.auto_assign is True
    assert spec.priority is None
    assert spec.service_selector is None and spec.namespace_selector is None
    assert spec.template == model.VirtualIPTemplate()
    assert spec.template.announce == validation.parse_spec({"address": "192.0.2.1"}).announce
    assert spec.pool.total(4) == 14 and spec.pool.total(6) == 0
    assert spec.to_json()["template"]["announce"]["burstCount"] == 3


def test_a_full_pool_parses() -> None:
    spec = validation.parse_pool_spec(
        {
            "addresses": ["192.0.2.64/27", "192.0.2.200-192.0.2.210", "2001:db8::/120"],
            "autoAssign": False,
            "priority": 0,
            "serviceSelector": {"matchLabels": {"tier": "public"}},
            "namespaceSelector": {
                "matchExpressions": [{"key": "team", "operator": "In", "values": ["a", "b"]}]
            },
            "template": {
                "interface": "eth1",
                "nodeSelector": {"matchLabels": {"edge": ""}},
                "preferredNodes": ["edge-1", "edge-2"],
                "announce": {"refreshIntervalSeconds": 30},
                "healthCheck": {"type": "http", "port": 8080, "path": "/healthz"},
            },
        }
    )
    assert (spec.pool.total(4), spec.pool.total(6)) == (30 + 11, 255)
    assert spec.service_selector is not None
    assert spec.service_selector.matches({"tier": "public", "x": "y"})
    assert spec.namespace_selector is not None
    assert not spec.namespace_selector.matches({"team": "c"})
    assert spec.template.health_check is not None
    assert spec.template.health_check.path == "/healthz"


def test_the_template_reuses_the_virtualip_types() -> None:
    """One definition each: the template's fields are the VirtualIP spec's own annotations."""
    template = model.VirtualIPTemplate.model_fields
    spec = model.VirtualIPSpec.model_fields
    assert set(template) == {
        "interface",
        "node_selector",
        "preferred_nodes",
        "announce",
        "health_check",
    }
    for name, field in template.items():
        assert field.annotation == spec[name].annotation, name
        assert field.description == spec[name].description, name
        assert field.metadata == spec[name].metadata, name


BAD_POOLS: list[tuple[dict[str, Any], str, str]] = [
    ({}, "spec.addresses", "is required"),
    ({"addresses": []}, "spec.addresses", "at least 1 item"),
    ({"addresses": "192.0.2.0/28"}, "spec.addresses", "must be a list"),
    ({"addresses": [f"10.0.{i}.0/24" for i in range(65)]}, "spec.addresses", "at most 64"),
    ({"addresses": [1]}, "spec.addresses[0]", "must be a string"),
    ({"addresses": [""]}, "spec.addresses[0]", "must not be empty"),
    ({"addresses": ["192.0.2.10"]}, "spec.addresses[0]", "write 192.0.2.10/32"),
    ({"addresses": ["192.0.2.5/28"]}, "spec.addresses[0]", "write its network, 192.0.2.0/28"),
    ({"addresses": ["192.0.2.9-192.0.2.1"]}, "spec.addresses[0]", "192.0.2.1-192.0.2.9"),
    ({"addresses": ["192.0.2.1-2001:db8::1"]}, "spec.addresses[0]", "mixes IPv4 and IPv6"),
    ({"addresses": ["224.0.0.0/24"]}, "spec.addresses[0]", "multicast"),
    ({"addresses": ["223.255.255.0-224.0.0.1"]}, "spec.addresses[0]", "includes multicast"),
    ({"addresses": ["127.0.0.0/30"]}, "spec.addresses[0]", "loopback"),
    ({"addresses": ["fe80::/64"]}, "spec.addresses[0]", "link-local"),
    ({"addresses": ["192.0.2.0/28", "nope"]}, "spec.addresses[1]", "not a CIDR or a range"),
    ({"addresses": ["192.0.2.0/28", "192.0.2.0/28"]}, "spec.addresses", "are both"),
    (
        {"addresses": ["192.0.2.0/28", "192.0.2.5-192.0.2.20"]},
        "spec.addresses",
        "items 0 and 1 share 192.0.2.5-192.0.2.14",
    ),
    ({**GOOD, "autoAssign": "yes"}, "spec.autoAssign", "true or false"),
    ({**GOOD, "priority": -1}, "spec.priority", "at least 0"),
    ({**GOOD, "priority": 2**31}, "spec.priority", "at most 2147483647"),
    ({**GOOD, "priority": "1"}, "spec.priority", "must be an integer"),
    ({**GOOD, "priority": 1.5}, "spec.priority", "must be an integer"),
    (
        {**GOOD, "serviceSelector": {"matchLabels": {"-bad": "x"}}},
        "spec.serviceSelector.matchLabels",
        "label key",
    ),
    (
        {**GOOD, "namespaceSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}},
        "spec.namespaceSelector.matchExpressions[0]",
        "needs at least one value",
    ),
    ({**GOOD, "serviceSelectors": {}}, "spec.serviceSelectors", "not a field of VirtualIPPool"),
    ({**GOOD, "template": {"address": "192.0.2.1"}}, "spec.template.address", "not a field"),
    ({**GOOD, "template": {"preempt": True}}, "spec.template.preempt", "not a field"),
    ({**GOOD, "template": {"node": "a"}}, "spec.template.node", "not a field"),
    ({**GOOD, "template": []}, "spec.template", "must be an object"),
    # The template's fields refuse what a VirtualIP's do, with the same messages.
    ({**GOOD, "template": {"interface": "eth0:1"}}, "spec.template.interface", "interface name"),
    ({**GOOD, "template": {"interface": ""}}, "spec.template.interface", "must not be empty"),
    (
        {**GOOD, "template": {"preferredNodes": ["a", "a"]}},
        "spec.template.preferredNodes",
        "listed twice",
    ),
    (
        {**GOOD, "template": {"preferredNodes": ["A"]}},
        "spec.template.preferredNodes[0]",
        "not a valid node name",
    ),
    (
        {**GOOD, "template": {"announce": {"burstCount": 50}}},
        "spec.template.announce.burstCount",
        "at most 10",
    ),
    (
        {**GOOD, "template": {"healthCheck": {"type": "tcp", "port": 80, "path": "/"}}},
        "spec.template.healthCheck.path",
        "http health checks only",
    ),
    (
        {
            **GOOD,
            "template": {
                "healthCheck": {
                    "type": "tcp",
                    "port": 80,
                    "intervalSeconds": 1,
                    "timeoutSeconds": 5,
                }
            },
        },
        "spec.template.healthCheck.timeoutSeconds",
        "must not exceed intervalSeconds",
    ),
    (
        {**GOOD, "template": {"healthCheck": {"type": "udp", "port": 80}}},
        "spec.template.healthCheck.type",
        "must be one of",
    ),
]


@pytest.mark.parametrize(("spec", "path", "reason"), BAD_POOLS)
def test_each_rule_reports_its_path_and_reason(
    spec: dict[str, Any], path: str, reason: str
) -> None:
    problems = validation.validate_pool_spec(spec)
    assert any(p.path == path and reason in p.message for p in problems), problems
    with pytest.raises(validation.InvalidSpecError):
        validation.parse_pool_spec(spec)


def test_template_problems_match_the_virtualips() -> None:
    """The same bad value gets the same message in a VirtualIP and in a pool's template."""
    for field, value in [
        ("interface", "a/b"),
        ("preferredNodes", ["x", "x"]),
        ("healthCheck", {"type": "tcp", "port": 80, "path": "/"}),
        ("announce", {"refreshIntervalSeconds": -1}),
    ]:
        vip = validation.validate_spec({"address": "192.0.2.1", field: value})
        pool = validation.validate_pool_spec({**GOOD, "template": {field: value}})
        assert [p.message for p in vip] == [p.message for p in pool], field
        assert [p.path.replace("spec.", "spec.template.", 1) for p in vip] == [p.path for p in pool]


def test_every_problem_is_reported_at_once() -> None:
    problems = validation.validate_pool_spec(
        {
            "addresses": ["192.0.2.10", "192.0.2.5/28"],
            "priority": -1,
            "extra": 1,
            "template": {
                "interface": "a b",
                "healthCheck": {"type": "tcp", "port": 1, "path": "/"},
            },
        }
    )
    assert {p.path for p in problems} == {
        "spec.addresses[0]",
        "spec.addresses[1]",
        "spec.priority",
        "spec.extra",
        "spec.template.interface",
        "spec.template.healthCheck.path",
    }


@pytest.mark.parametrize("raw", [None, "x", 1, [], True])
def test_a_spec_that_is_not_an_object(raw: object) -> None:
    [problem] = validation.validate_pool_spec(raw)
    assert (problem.path, "must be an object with at least 'addresses'" in problem.message) == (
        "spec",
        True,
    )


def _manifest(**changes: Any) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "apiVersion": "floatip.io/v1alpha1",
        "kind": "VirtualIPPool",
        "metadata": {"name": "general"},
        "spec": dict(GOOD),
    }
    manifest.update(changes)
    return {k: v for k, v in manifest.items() if v is not None}


def test_a_valid_manifest() -> None:
    assert validation.validate_pool_manifest(_manifest()) == []
    assert validation.is_virtualippool(_manifest())
    assert not validation.is_virtualip(_manifest())
    assert validation.floatip_kind(_manifest()) == names.POOL_KIND
    assert validation.floatip_kind(_manifest(apiVersion="metallb.io/v1beta1")) is None
    assert validation.MANIFEST_VALIDATORS[names.POOL_KIND] is validation.validate_pool_manifest
    assert model.VirtualIPPool.model_validate(_manifest()).spec.pool.total(4) == 14


@pytest.mark.parametrize(
    ("manifest", "path", "reason"),
    [
        (_manifest(apiVersion="floatip.io/v1"), "apiVersion", "must be floatip.io/v1alpha1"),
        (_manifest(kind="VirtualIP"), "kind", "must be VirtualIPPool"),
        (_manifest(metadata=None), "metadata", "must be an object"),
        (_manifest(metadata={"name": "Pool_1"}), "metadata.name", "not a valid node name"),
        (_manifest(spec=None), "spec", "a VirtualIPPool needs at least spec.addresses"),
        (_manifest(spec={"addresses": ["x"]}), "spec.addresses[0]", "not a CIDR or a range"),
    ],
)
def test_manifest_problems(manifest: dict[str, Any], path: str, reason: str) -> None:
    problems = validation.validate_pool_manifest(manifest)
    assert any(p.path == path and reason in p.message for p in problems), problems


def test_status_counts_are_int64_and_capped_counts_fit() -> None:
    pool = validation.parse_pool_spec({"addresses": ["2001:db8::/48", "192.0.2.0/28"]}).pool
    taken = [pools.to_address(4, int(pools.parse_entry("192.0.2.1/32").first))]
    status = model.VirtualIPPoolStatus.model_validate(
        {
            "observedGeneration": 3,
            "ipv4": {"total": pool.total(4), "allocated": 1, "available": pool.available(4, taken)},
            "ipv6": {
                "total": pools.capped(pool.total(6)),
                "allocated": 0,
                "available": pools.capped(pool.available(6, taken)),
            },
            "conditions": [
                {
                    "type": "Overlap",
                    "status": "False",
                    "reason": model.PoolConditionReason.NO_OVERLAP,
                    "lastTransitionTime": "2024-01-01T00:00:00Z",
                }
            ],
        }
    )
    assert status.ipv4 == model.AddressCounts(total=14, allocated=1, available=13)
    assert status.ipv6 is not None and status.ipv6.total == 2**63 - 1
    with pytest.raises(ValueError, match="int64"):
        model.AddressCounts(total=2**63, allocated=0, available=0)
