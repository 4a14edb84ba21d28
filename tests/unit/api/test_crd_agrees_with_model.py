"""A corpus of good and bad specs is accepted or rejected the same way by the CRD and the model.

The CRD side is evaluated the way kube-apiserver does it: the openAPIV3Schema with a JSON-schema
library (jsonschema, draft 4 as OpenAPI v3 is; ``x-kubernetes-list-type: set`` checked as
uniqueness, unknown fields refused as under kubectl's default fieldValidation=Strict) and the
x-kubernetes-validations CEL rules with cel-python (with the Kubernetes IP and
CIDR libraries, floatip_apiserver.cel). The model side is ``floatip.api.validation``.

One rule is the model's alone and is listed in MODEL_ONLY: the IPv4 subnet-broadcast address
(CEL has no arithmetic on addresses). For those specs the test asserts that the CRD accepts and
the model refuses, so the list of divergences is explicit and cannot grow silently.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings

from floatip.api import crd, validation
from floatip_apiserver import cel

from .strategies import valid_specs
from .test_validation import BAD_SPECS

SPEC_SCHEMA = crd.openapi_schema()["properties"]["spec"]


def _jsonschema_form(node: Any) -> Any:
    if isinstance(node, list):
        return [_jsonschema_form(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _jsonschema_form(v) for k, v in node.items()}
    if out.get("x-kubernetes-list-type") == "set":
        out["uniqueItems"] = True
    if "properties" in out:
        out["additionalProperties"] = False  # kubectl's default fieldValidation=Strict
    return out


def problems_under(schema: Any) -> Callable[[Any], list[str]]:
    """What the API server says of a spec under ``schema``: the schema's errors, else CEL's."""
    validator = jsonschema.Draft4Validator(_jsonschema_form(schema))

    def problems(spec: Any) -> list[str]:
        found = [
            f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(spec)
        ]
        if found:
            return found  # like the real server, CEL runs only on a well-typed object
        return [str(e) for e in cel.evaluate_validations(schema, copy.deepcopy(spec))]

    return problems


crd_problems = problems_under(SPEC_SCHEMA)


GOOD_SPECS: list[dict[str, Any]] = [
    {"address": "192.0.2.10"},
    {"address": "192.0.2.10/24"},
    {"address": "10.0.0.0/31"},
    {"address": "2001:db8::10/64"},
    {"address": "fd00::1"},
    {"address": "192.0.2.10", "interface": "eth0.100"},
    {"address": "192.0.2.10", "interface": "br-lan_1"},
    {"address": "192.0.2.10", "preferredNodes": ["a", "b"], "preempt": True},
    {"address": "192.0.2.10", "preempt": False},
    {"address": "192.0.2.10", "node": "cp-1.rack"},
    {
        "address": "192.0.2.10",
        "nodeSelector": {
            "matchLabels": {"node-role.kubernetes.io/control-plane": "", "zone": "a"},
            "matchExpressions": [
                {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
                {"key": "floatip.io/drain", "operator": "DoesNotExist"},
            ],
        },
    },
    {"address": "192.0.2.10", "announce": {"burstCount": 10, "refreshIntervalSeconds": 0}},
    {"address": "192.0.2.10", "healthCheck": {"type": "http", "port": 80, "path": "/healthz"}},
    {
        "address": "192.0.2.10",
        "healthCheck": {"type": "tcp", "port": 6443, "intervalSeconds": 1, "timeoutSeconds": 1},
    },
]

EXTRA_BAD: list[dict[str, Any]] = [
    {"address": "not-an-ip"},
    {"address": "10.0.0.1/33"},
    {"address": "fe80::1%eth0"},
    {"address": "::ffff:192.0.2.1"},
    {"address": "0.0.0.0"},
    {"address": "::"},
    {"address": "127.0.0.1/8"},
    {"address": "169.254.0.5"},
    {"address": "255.255.255.255"},
    {"address": "192.0.2.10", "nodeSelector": {"matchLabels": {"a/b/c": "x"}}},
    {"address": "192.0.2.10", "nodeSelector": {"matchLabels": {"x": "a b"}}},
    {
        "address": "192.0.2.10",
        "nodeSelector": {"matchExpressions": [{"key": "-x", "operator": "Exists"}]},
    },
    {"address": "192.0.2.10", "announce": {"unknown": 1}},
]

# Refused by the model only (see the module docstring); the CRD accepts these.
MODEL_ONLY: list[dict[str, Any]] = [
    {"address": "192.0.2.255/24"},
    {"address": "10.255.255.255/8"},
    {"address": "172.16.1.127/25"},
]


def _bad_specs() -> Iterator[dict[str, Any]]:
    for spec, _path, _message in BAD_SPECS:
        if spec not in MODEL_ONLY:
            yield spec
    yield from EXTRA_BAD


@pytest.mark.parametrize("spec", GOOD_SPECS)
def test_good_specs_pass_both(spec: dict[str, Any]) -> None:
    assert validation.validate_spec(spec) == []
    assert crd_problems(spec) == []


@pytest.mark.parametrize("spec", list(_bad_specs()))
def test_bad_specs_fail_both(spec: dict[str, Any]) -> None:
    assert validation.validate_spec(spec), "the model accepted it"
    assert crd_problems(spec), "the CRD accepted it"


@pytest.mark.parametrize("spec", MODEL_ONLY)
def test_model_only_rules_are_the_documented_ones(spec: dict[str, Any]) -> None:
    assert crd_problems(spec) == []
    [problem] = validation.validate_spec(spec)
    assert "broadcast address" in problem.message


@settings(max_examples=150, deadline=None)
@given(valid_specs())
def test_generated_valid_specs_pass_the_crd_too(spec: dict[str, Any]) -> None:
    assert crd_problems(spec) == []
