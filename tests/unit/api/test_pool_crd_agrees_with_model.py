"""The VirtualIPPool CRD and the model accept and refuse the same pools, but for listed rules.

The CRD side is evaluated as kube-apiserver does (see test_crd_agrees_with_model: the schema
with jsonschema, ``x-kubernetes-list-type: set`` as uniqueness, unknown fields refused, then the
CEL rules with the Kubernetes IP and CIDR libraries). MODEL_ONLY lists what CEL cannot say
(it has no order on addresses): a range's ends in order, a range across special addresses,
and entries that share addresses without being equal. For those the test asserts the CRD
accepts and the model refuses, so the divergence is explicit and cannot grow silently.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from floatip.api import crd, names, validation

from .strategies import health_checks, node_names, selectors
from .test_crd_agrees_with_model import problems_under
from .test_pool_validation import BAD_POOLS

SPEC_SCHEMA = crd.openapi_schema(names.POOL_KIND)["properties"]["spec"]
crd_problems = problems_under(SPEC_SCHEMA)


GOOD_POOLS: list[dict[str, Any]] = [
    {"addresses": ["192.0.2.0/28"]},
    {"addresses": ["192.0.2.7/32", "192.0.2.8/31", "2001:db8::5/128", "2001:db8::/127"]},
    {"addresses": ["192.0.2.10-192.0.2.20", "2001:db8::a-2001:db8::ff"]},
    {"addresses": ["192.0.2.9-192.0.2.9"]},
    {"addresses": ["10.0.0.0/8", "2001:db8::/32"]},
    {"addresses": ["240.0.0.0/24"]},  # Go's IsGlobalUnicast: class E is unicast
    {"addresses": ["192.0.2.0/28"], "autoAssign": False, "priority": 0},
    {"addresses": ["192.0.2.0/28"], "priority": 2**31 - 1},
    {
        "addresses": ["192.0.2.0/28"],
        "serviceSelector": {"matchLabels": {"app.kubernetes.io/name": "web"}},
        "namespaceSelector": {
            "matchExpressions": [{"key": "team", "operator": "NotIn", "values": ["x"]}]
        },
    },
    {
        "addresses": ["192.0.2.0/28"],
        "template": {
            "interface": "eth1",
            "nodeSelector": {"matchExpressions": [{"key": "edge", "operator": "Exists"}]},
            "preferredNodes": ["a", "b"],
            "announce": {"burstCount": 5},
            "healthCheck": {"type": "http", "port": 80, "path": "/healthz"},
        },
    },
]

EXTRA_BAD: list[dict[str, Any]] = [
    {"addresses": ["0.0.0.0/0"]},
    {"addresses": ["::/0"]},
    {"addresses": ["128.0.0.0/1"]},  # holds the multicast and limited-broadcast blocks
    {"addresses": ["255.255.255.0/24"]},  # holds the limited broadcast address
    {"addresses": ["fc00::/6"]},  # holds fe80::/10
    {"addresses": ["192.0.2.1-"]},
    {"addresses": ["-192.0.2.1"]},
    {"addresses": ["192.0.2.1-192.0.2.2-192.0.2.3"]},
    {"addresses": ["192.0.2.0/24 "]},
    {"addresses": ["fe80::1%eth0-fe80::5%eth0"]},
    {"addresses": ["::ffff:192.0.2.0/120"]},
    {"addresses": ["192.0.2.0/024"]},
    {"addresses": ["192.0.2.0/28"], "template": {"interface": ".."}},
    {"addresses": ["192.0.2.0/28"], "template": {"nodeSelector": {"matchLabels": {"a/b/c": ""}}}},
]

# Refused by the model only (see the module docstring); the CRD accepts these.
MODEL_ONLY: list[dict[str, Any]] = [
    {"addresses": ["192.0.2.9-192.0.2.1"]},
    {"addresses": ["2001:db8::ff-2001:db8::1"]},
    {"addresses": ["223.255.255.0-240.0.0.1"]},  # both ends unicast, multicast between
    {"addresses": ["126.255.255.255-128.0.0.1"]},
    {"addresses": ["fe7f::1-fec0::1"]},
    {"addresses": ["::fffe:0:0/95"]},  # holds the IPv4-mapped block
    {"addresses": ["192.0.2.0/28", "192.0.2.5-192.0.2.20"]},
    {"addresses": ["192.0.2.0/24", "192.0.2.0/25"]},
]


def _bad_pools() -> list[dict[str, Any]]:
    return [spec for spec, _, _ in BAD_POOLS if spec not in MODEL_ONLY] + EXTRA_BAD


@pytest.mark.parametrize("spec", GOOD_POOLS)
def test_good_pools_pass_both(spec: dict[str, Any]) -> None:
    assert validation.validate_pool_spec(spec) == []
    assert crd_problems(spec) == []


@pytest.mark.parametrize("spec", _bad_pools())
def test_bad_pools_fail_both(spec: dict[str, Any]) -> None:
    assert validation.validate_pool_spec(spec), "the model accepted it"
    assert crd_problems(spec), "the CRD accepted it"


@pytest.mark.parametrize("spec", MODEL_ONLY)
def test_model_only_rules_are_the_documented_ones(spec: dict[str, Any]) -> None:
    assert crd_problems(spec) == []
    [problem] = validation.validate_pool_spec(spec)
    assert any(
        words in problem.message for words in ("write the lower address first", "includes", "share")
    ), problem


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("192.0.2.10", "must be a CIDR or a range FIRST-LAST"),
        ("192.0.2.1-2001:db8::1", "both ends of a range must be of one family"),
        ("224.0.0.0/24", "must hold only unicast addresses"),
        ("192.0.2.1-224.0.0.1", "must hold only unicast addresses"),
        ("192.0.2.5/28", "without host bits"),
    ],
)
def test_each_cel_rule_says_what_is_wrong(entry: str, message: str) -> None:
    [problem] = crd_problems({"addresses": [entry]})
    assert "addresses[0]" in problem and message in problem


@st.composite
def valid_pools(draw: st.DrawFn) -> dict[str, Any]:
    """Pools of disjoint entries: distinct /24s of 10.0.0.0/8, each as a CIDR or a range."""
    blocks = draw(st.lists(st.integers(0, 255), min_size=1, max_size=6, unique=True))
    entries = []
    for index, block in enumerate(blocks):
        if index % 2:
            first = draw(st.integers(0, 255))
            last = draw(st.integers(first, 255))
            entries.append(f"10.1.{block}.{first}-10.1.{block}.{last}")
        else:
            bits = draw(st.integers(24, 32))
            step = 2 ** (32 - bits)
            start = draw(st.integers(0, 256 // step - 1)) * step
            entries.append(f"10.1.{block}.{start}/{bits}")
    spec: dict[str, Any] = {"addresses": entries}
    if draw(st.booleans()):
        spec["priority"] = draw(st.integers(0, 2**31 - 1))
    if draw(st.booleans()):
        spec["serviceSelector"] = draw(selectors())
    template: dict[str, Any] = {}
    if draw(st.booleans()):
        template["preferredNodes"] = draw(st.lists(node_names, max_size=3, unique=True))
    if draw(st.booleans()):
        template["healthCheck"] = draw(health_checks())
    if template:
        spec["template"] = template
    return spec


@settings(max_examples=100, deadline=None)
@given(valid_pools())
def test_generated_valid_pools_pass_both(spec: dict[str, Any]) -> None:
    assert validation.validate_pool_spec(spec) == []
    assert crd_problems(spec) == []
