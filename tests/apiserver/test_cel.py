"""CEL validation rules behave like kube-apiserver's x-kubernetes-validations.

Proves: the IP/CIDR library follows Go netip semantics (leading zeros, zones and IPv4-mapped
IPv6 refused; private ranges are global unicast; host bits kept in a CIDR); rules run at every
schema node with the real server's field paths; absent optional fields are not evaluated;
transition rules only run on update; message / messageExpression / reason / fieldPath are
honoured; runtime errors become field errors, not crashes; rules compile once.
"""

from __future__ import annotations

from typing import Any

import pytest

from floatip_apiserver import cel
from floatip_apiserver.fielderrors import FieldError


def check(rule: str, value: Any = None) -> bool:
    """Evaluate one rule on ``self=value``; True when it holds."""
    schema = {"type": "object", "x-kubernetes-validations": [{"rule": rule}]}
    errors = cel.evaluate_validations(schema, value if value is not None else {})
    assert all(e.detail.startswith("failed rule") for e in errors), errors
    return not errors


def error_of(rule: str) -> str:
    schema = {"type": "object", "x-kubernetes-validations": [{"rule": rule}]}
    errors = cel.evaluate_validations(schema, {})
    assert len(errors) == 1
    return errors[0].detail


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("10.0.0.1", True),
        ("255.255.255.255", True),
        ("::1", True),
        ("2001:db8::1", True),
        ("fe80::1", True),
        ("010.0.0.1", False),  # leading zeros are ambiguous (octal) and refused
        ("10.0.0.01", False),
        ("::ffff:10.0.0.1", False),  # IPv4-mapped IPv6 refused by Kubernetes
        ("fe80::1%eth0", False),  # zones refused
        ("10.0.0.1/24", False),
        ("10.0.0", False),
        ("", False),
        ("2001:db8::g", False),
        (" 10.0.0.1", False),
    ],
)
def test_isIP_matches_kubernetes_ip_library(text: str, valid: bool) -> None:
    assert check(f"isIP({text!r})") is valid


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("10.0.0.0/8", True),
        ("10.0.0.1/24", True),  # host bits allowed, like netip.ParsePrefix
        ("::/0", True),
        ("2001:db8::1/64", True),
        ("10.0.0.0/33", False),
        ("10.0.0.0/08", False),  # leading zero in the prefix length
        ("10.0.0.0/+8", False),
        ("10.0.0.0", False),
        ("::ffff:10.0.0.0/104", False),
        ("fe80::%eth0/64", False),
        ("2001:db8::/129", False),
    ],
)
def test_isCIDR_matches_netip_ParsePrefix(text: str, valid: bool) -> None:
    assert check(f"isCIDR({text!r})") is valid


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("0.0.0.0", (True, False, False, False, False)),
        ("::", (True, False, False, False, False)),
        ("127.0.0.1", (False, True, False, False, False)),
        ("127.255.0.9", (False, True, False, False, False)),
        ("::1", (False, True, False, False, False)),
        ("224.0.0.251", (False, False, True, False, False)),
        ("239.1.1.1", (False, False, False, False, False)),
        ("ff02::1", (False, False, True, False, False)),
        ("ff12::1", (False, False, True, False, False)),  # flags nibble ignored, like Go
        ("ff05::1", (False, False, False, False, False)),
        ("169.254.1.1", (False, False, False, True, False)),
        ("fe80::1", (False, False, False, True, False)),
        ("febf::1", (False, False, False, True, False)),
        ("255.255.255.255", (False, False, False, False, False)),
        ("10.0.0.1", (False, False, False, False, True)),  # private ranges are global (Go)
        ("192.168.1.1", (False, False, False, False, True)),
        ("8.8.8.8", (False, False, False, False, True)),
        ("fd00::1", (False, False, False, False, True)),  # ULA too
        ("2001:db8::1", (False, False, False, False, True)),
    ],
)
def test_ip_predicates_follow_go_netip(address: str, expected: tuple[bool, ...]) -> None:
    """expected: isUnspecified, isLoopback, isLinkLocalMulticast, isLinkLocalUnicast, isGlobal."""
    methods = (
        "isUnspecified",
        "isLoopback",
        "isLinkLocalMulticast",
        "isLinkLocalUnicast",
        "isGlobalUnicast",
    )
    got = tuple(check(f"ip({address!r}).{m}()") for m in methods)
    assert got == expected


@pytest.mark.parametrize(
    "rule",
    [
        "ip('10.0.0.1').family() == 4",
        "ip('2001:db8::1').family() == 6",
        "ip('10.0.0.1') == ip('10.0.0.1')",
        "ip('2001:db8:0::1') == ip('2001:db8::1')",
        "ip('10.0.0.1') != ip('10.0.0.2')",
        "string(ip('2001:DB8:0:0::1')) == '2001:db8::1'",
        "string(ip('10.0.0.1')) == '10.0.0.1'",
        "cidr('10.0.0.1/24').ip() == ip('10.0.0.1')",
        "cidr('10.0.0.1/24').masked() == cidr('10.0.0.0/24')",
        "string(cidr('10.0.0.1/24').masked()) == '10.0.0.0/24'",
        "cidr('10.0.0.1/24') != cidr('10.0.0.0/24')",
        "cidr('2001:db8::1/64').prefixLength() == 64",
        "cidr('10.0.0.0/8').containsIP(ip('10.200.0.1'))",
        "cidr('10.0.0.0/8').containsIP('10.200.0.1')",
        "!cidr('10.0.0.0/8').containsIP('11.0.0.1')",
        "!cidr('::/0').containsIP('10.0.0.1')",
        "cidr('10.0.0.0/8').containsCIDR(cidr('10.1.0.0/16'))",
        "cidr('10.0.0.0/8').containsCIDR('10.0.0.0/8')",
        "!cidr('10.1.0.0/16').containsCIDR('10.0.0.0/8')",
        "!cidr('10.0.0.0/8').containsCIDR('2001:db8::/64')",
        "cidr('10.0.0.5/8').ip().family() == 4",
        "string(cidr('2001:db8::1/64')) == '2001:db8::1/64'",
    ],
)
def test_ip_and_cidr_values_and_methods(rule: str) -> None:
    assert check(rule), rule


@pytest.mark.parametrize(
    "rule",
    [
        "'abc'.startsWith('a') && 'abc'.endsWith('c') && 'abc'.contains('b')",
        "'abc'.matches('^a.c$')",
        "size('abc') == 3 && size([1, 2]) == 2",
        "[1, 2, 3].all(x, x > 0) && [1, 2].exists(x, x == 2) && [1, 2].exists_one(x, x == 1)",
        "[1, 2].map(x, x * 2) == [2, 4] && [1, 2, 3].filter(x, x > 1) == [2, 3]",
        "'AbC'.lowerAscii() == 'abc' && 'abc'.upperAscii() == 'ABC'",
        "'a,b'.split(',') == ['a', 'b'] && ['a', 'b'].join('-') == 'a-b'",
        "'hello'.indexOf('l') == 2 && 'hello'.substring(1, 3) == 'el'",
        "[1, 2, 3].isSorted() && ![2, 1].isSorted()",
    ],
)
def test_standard_macros_and_kubernetes_string_extensions(rule: str) -> None:
    assert check(rule), rule


def test_ip_parse_errors_become_field_errors_like_the_real_server() -> None:
    detail = error_of("ip('10.0.0.01').family() == 4")
    assert detail.endswith("evaluating rule: ip('10.0.0.01').family() == 4")
    assert "10.0.0.01" in detail
    assert "IPv4-mapped" in error_of("ip('::ffff:1.2.3.4').family() == 6")
    assert "zone" in error_of("ip('fe80::1%eth0').family() == 6")


VIP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.node) || self.node in self.preferredNodes",
                    "message": "node must be one of preferredNodes",
                    "fieldPath": ".node",
                },
                {
                    "rule": "self.address == oldSelf.address",
                    "message": "address is immutable",
                },
            ],
            "properties": {
                "address": {
                    "type": "string",
                    "x-kubernetes-validations": [
                        {"rule": "isIP(self) || isCIDR(self)", "message": "must be an IP or CIDR"}
                    ],
                },
                "node": {"type": "string"},
                "preferredNodes": {
                    "type": "array",
                    "items": {
                        "type": "string",
                        "x-kubernetes-validations": [
                            {
                                "rule": "self.lowerAscii() == self",
                                "messageExpression": "'node ' + self + ' must be lowercase'",
                            }
                        ],
                    },
                },
                "labels": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "string",
                        "x-kubernetes-validations": [
                            {"rule": "size(self) < 4", "reason": "FieldValueForbidden"}
                        ],
                    },
                },
                "weight": {
                    "type": "number",
                    "x-kubernetes-validations": [{"rule": "self >= 0.5"}],
                },
            },
        }
    },
}


def test_rule_errors_carry_the_real_servers_field_paths() -> None:
    obj = {
        "spec": {
            "address": "10.0.0.256",
            "preferredNodes": ["a", "B"],
            "labels": {"x": "long-value"},
            "node": "c",
        }
    }
    errors = cel.evaluate_validations(VIP_SCHEMA, obj)
    assert [str(e) for e in errors] == [
        'spec.node: Invalid value: "object": node must be one of preferredNodes',
        'spec.address: Invalid value: "string": must be an IP or CIDR',
        'spec.preferredNodes[1]: Invalid value: "string": node B must be lowercase',
        "spec.labels[x]: Forbidden: failed rule: size(self) < 4",
    ]
    assert errors[3].as_cause() == {
        "reason": "FieldValueForbidden",
        "message": "Forbidden: failed rule: size(self) < 4",
        "field": "spec.labels[x]",
    }


def test_absent_optional_fields_are_not_evaluated() -> None:
    assert cel.evaluate_validations(VIP_SCHEMA, {"spec": {"address": "10.0.0.1"}}) == []
    assert cel.evaluate_validations(VIP_SCHEMA, {}) == []


def test_number_fields_are_doubles_in_cel_like_the_real_server() -> None:
    ok = {"spec": {"address": "10.0.0.1", "weight": 1}}
    assert cel.evaluate_validations(VIP_SCHEMA, ok) == []
    low = {"spec": {"address": "10.0.0.1", "weight": 0}}
    assert [e.field for e in cel.evaluate_validations(VIP_SCHEMA, low)] == ["spec.weight"]


def test_transition_rules_skip_create_and_run_on_update() -> None:
    new = {"spec": {"address": "10.0.0.2"}}
    assert cel.evaluate_validations(VIP_SCHEMA, new) == []
    old = {"spec": {"address": "10.0.0.1"}}
    assert cel.evaluate_validations(VIP_SCHEMA, new, old) == [
        FieldError("spec", "FieldValueInvalid", "address is immutable", "object")
    ]


def test_unchanged_invalid_values_are_ratcheted_on_update() -> None:
    bad = {"spec": {"address": "not-an-ip"}}
    assert len(cel.evaluate_validations(VIP_SCHEMA, bad)) == 1
    assert cel.evaluate_validations(VIP_SCHEMA, bad, bad) == []


def test_message_expression_falls_back_to_message_on_error() -> None:
    schema = {
        "type": "object",
        "x-kubernetes-validations": [
            {"rule": "false", "message": "plain", "messageExpression": "self.missing + 'x'"}
        ],
    }
    assert [e.detail for e in cel.evaluate_validations(schema, {})] == ["plain"]


def test_root_rules_report_nil_path_and_default_message() -> None:
    errors = cel.evaluate_validations(
        {"type": "object", "x-kubernetes-validations": [{"rule": "has(self.a)"}]}, {}
    )
    assert [str(e) for e in errors] == ['<nil>: Invalid value: "object": failed rule: has(self.a)']


def test_duplicate_and_required_reasons_render_like_field_errors() -> None:
    schema = {
        "type": "object",
        "x-kubernetes-validations": [
            {"rule": "false", "reason": "FieldValueDuplicate", "fieldPath": ".a"},
            {
                "rule": "false",
                "reason": "FieldValueRequired",
                "message": "need b",
                "fieldPath": "['b']",
            },
        ],
    }
    assert [str(e) for e in cel.evaluate_validations(schema, {})] == [
        'a: Duplicate value: "object"',
        "b: Required value: need b",
    ]


def test_map_lists_correlate_old_items_by_key_for_transition_rules() -> None:
    schema = {
        "type": "object",
        "properties": {
            "ports": {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
                "items": {
                    "type": "object",
                    "x-kubernetes-validations": [
                        {"rule": "self.port >= oldSelf.port", "message": "may not shrink"}
                    ],
                },
            }
        },
    }
    old = {"ports": [{"name": "a", "port": 5}]}
    new = {"ports": [{"name": "b", "port": 1}, {"name": "a", "port": 4}]}
    assert [e.field for e in cel.evaluate_validations(schema, new, old)] == ["ports[1]"]


def test_each_distinct_rule_compiles_once() -> None:
    cel.compile_rule.cache_clear()
    for _ in range(3):
        cel.evaluate_validations(VIP_SCHEMA, {"spec": {"address": "10.0.0.1"}})
    info = cel.compile_rule.cache_info()
    assert info.misses == 3  # three distinct rules apply to this object
    assert info.hits == 6


def test_a_rule_that_does_not_compile_is_reported_not_raised() -> None:
    errors = cel.evaluate_validations(
        {"type": "object", "x-kubernetes-validations": [{"rule": "self.("}]}, {}
    )
    assert len(errors) == 1
    assert "compilation failed" in errors[0].detail


@pytest.mark.parametrize(
    "rule",
    [
        "self != null",
        "null != self",
        "!(self == null)",
        "self.spec != null && self.spec.ports != null && self.spec.ports[0] != null",
        "self.missing == null || true",
        "self.spec.nothing == null",
    ],
)
def test_comparing_with_null_is_heterogeneous_equality_like_cel_go(rule: str) -> None:
    assert check(rule, {"spec": {"ports": [80], "nothing": None}})


def test_an_unchanged_value_is_not_walked_unless_a_transition_rule_is_below() -> None:
    """Ratcheting skips an unchanged subtree whole; a rule reading oldSelf still runs."""
    items = {"type": "object", "x-kubernetes-validations": [{"rule": "self.n > 0"}]}
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"plain": {"type": "array", "items": items}, "other": {"type": "string"}},
    }
    bad = {"plain": [{"n": 0}], "other": "a"}
    assert [e.field for e in cel.evaluate_validations(schema, bad)] == ["plain[0]"]
    # the atomic list is unchanged: its items are ratcheted with it, as the real server
    # ratchets a node whose nearest correlatable ancestor is unchanged
    assert cel.evaluate_validations(schema, {**bad, "other": "b"}, bad) == []
    assert [e.field for e in cel.evaluate_validations(schema, {"plain": [{"n": -1}]}, bad)] == [
        "plain[0]"
    ]
    strict = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "n": {
                        "type": "integer",
                        "x-kubernetes-validations": [{"rule": "self > oldSelf"}],
                    }
                },
            }
        },
    }
    same = {"spec": {"n": 1}}
    assert [e.field for e in cel.evaluate_validations(strict, same, same)] == ["spec.n"]
