"""Label keys, values, node names and selector matching follow Kubernetes' rules."""

from __future__ import annotations

import pytest

from floatip.api import labels


@pytest.mark.parametrize(
    "key", ["app", "a", "node-role.kubernetes.io/control-plane", "example.com/x_y.z", "A1"]
)
def test_valid_label_keys(key: str) -> None:
    assert labels.label_key_problem(key) is None


@pytest.mark.parametrize(
    "key", ["", "/x", "-app", "app-", "a/b/c", "Example.com/x", "x" * 64, "bad key", "p/"]
)
def test_invalid_label_keys(key: str) -> None:
    assert labels.label_key_problem(key)


@pytest.mark.parametrize("value", ["", "v1", "a.b_c-d", "x" * 63])
def test_valid_label_values(value: str) -> None:
    assert labels.label_value_problem(value) is None


@pytest.mark.parametrize("value", ["-v", "v-", "x" * 64, "a b", "é"])
def test_invalid_label_values(value: str) -> None:
    assert labels.label_value_problem(value)


@pytest.mark.parametrize("name", ["server1", "cp-1.rack2.example", "a"])
def test_valid_node_names(name: str) -> None:
    assert labels.dns_subdomain_problem(name) is None


@pytest.mark.parametrize("name", ["", "Server1", "-a", "a-", "a..b", "a_b", "x" * 254])
def test_invalid_node_names(name: str) -> None:
    assert labels.dns_subdomain_problem(name)


NODE = {"zone": "a", "role": "edge"}


@pytest.mark.parametrize(
    ("match_labels", "expressions", "selected"),
    [
        ({}, [], True),
        ({"zone": "a"}, [], True),
        ({"zone": "b"}, [], False),
        ({"missing": ""}, [], False),
        ({}, [("zone", "In", ["a", "b"])], True),
        ({}, [("zone", "In", ["b"])], False),
        ({}, [("missing", "In", ["a"])], False),
        ({}, [("zone", "NotIn", ["b"])], True),
        ({}, [("zone", "NotIn", ["a"])], False),
        ({}, [("missing", "NotIn", ["a"])], True),
        ({}, [("role", "Exists", [])], True),
        ({}, [("missing", "Exists", [])], False),
        ({}, [("missing", "DoesNotExist", [])], True),
        ({}, [("role", "DoesNotExist", [])], False),
        ({"zone": "a"}, [("role", "In", ["edge"]), ("gpu", "DoesNotExist", [])], True),
        ({"zone": "a"}, [("role", "In", ["core"])], False),
    ],
)
def test_selector_matching(
    match_labels: dict[str, str],
    expressions: list[tuple[str, str, list[str]]],
    selected: bool,
) -> None:
    assert (
        labels.matches(NODE, match_labels=match_labels, match_expressions=expressions) is selected
    )
