"""Field sets: `fieldsets.compare` walks only what differs, and entries are built once.

The reference is the plain definition: every member of both sides (`fieldsets.member_map`),
then the paths only one side has and those whose leaf value or kind changed.
"""

from __future__ import annotations

import json
from typing import Any

import hypothesis
import pytest
from hypothesis import strategies as st

from floatip_apiserver import fieldsets

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "address": {"type": "string"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "atomic": {"type": "object", "x-kubernetes-map-type": "atomic"},
                "nodes": {"type": "array", "x-kubernetes-list-type": "set"},
                "plain": {"type": "array"},
            },
        },
        "status": {
            "type": "object",
            "properties": {
                "holder": {"type": "string"},
                "epoch": {"type": "integer"},
                "conditions": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["type"],
                    "items": {
                        "type": "object",
                        "properties": {"type": {"type": "string"}, "status": {"type": "string"}},
                    },
                },
            },
        },
    },
}

KEYS = st.sampled_from(
    ["spec", "status", "address", "labels", "atomic", "nodes", "plain", "holder", "epoch",
     "conditions", "type", "status", "x", "y"]
)  # fmt: skip
SCALARS = st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from([1.0, "a", "b", ""])
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)
CONDITION = st.fixed_dictionaries(
    {"type": st.sampled_from(["Ready", "Assigned", "Announced"])},
    optional={"status": st.sampled_from(["True", "False"])},
)
OBJECT = st.fixed_dictionaries(
    {},
    optional={
        "spec": st.fixed_dictionaries(
            {},
            optional={
                "address": SCALARS,
                "labels": st.dictionaries(KEYS, SCALARS, max_size=3),
                "atomic": JSON,
                "nodes": st.lists(SCALARS, max_size=3),
                "plain": JSON,
                "x": JSON,
            },
        ),
        "status": st.fixed_dictionaries(
            {},
            optional={
                "holder": SCALARS,
                "epoch": SCALARS,
                "conditions": st.lists(CONDITION | SCALARS, max_size=4),
            },
        ),
        "y": JSON,
    },
)


def _reference(old: Any, new: Any, schema: Any) -> tuple[set[Any], set[Any], set[Any]]:
    before, after = fieldsets.member_map(old, schema), fieldsets.member_map(new, schema)
    modified = {
        path
        for path in set(after) & set(before)
        if (after[path][0] and before[path][0] and after[path][1] != before[path][1])
        or after[path][0] != before[path][0]
    }
    return set(after) - set(before), modified, set(before) - set(after)


@hypothesis.settings(max_examples=400, deadline=None)
@hypothesis.given(OBJECT, OBJECT)
def test_compare_is_the_member_diff_with_a_schema(old: Any, new: Any) -> None:
    assert fieldsets.compare(old, new, SCHEMA) == _reference(old, new, SCHEMA)


@hypothesis.settings(max_examples=400, deadline=None)
@hypothesis.given(st.dictionaries(KEYS, JSON, max_size=4), st.dictionaries(KEYS, JSON, max_size=4))
def test_compare_is_the_member_diff_without_a_schema(old: Any, new: Any) -> None:
    assert fieldsets.compare(old, new, None) == _reference(old, new, None)


@hypothesis.settings(max_examples=200, deadline=None)
@hypothesis.given(OBJECT, st.data())
def test_compare_of_a_small_change_is_the_member_diff(old: Any, data: st.DataObject) -> None:
    """Most writes change one field of an object: the rest is equal and skipped."""
    new = {**old, "status": {**old.get("status", {}), "holder": data.draw(SCALARS)}}
    assert fieldsets.compare(old, new, SCHEMA) == _reference(old, new, SCHEMA)


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(st.lists(CONDITION, max_size=4), st.data())
def test_compare_of_keyed_list_items_is_the_member_diff(
    conditions: list[Any], data: st.DataObject
) -> None:
    """A status write changes one condition of a keyed list: the others are equal items."""
    changed = [dict(c) for c in conditions]
    if changed:
        index = data.draw(st.integers(0, len(changed) - 1))
        changed[index]["status"] = data.draw(st.sampled_from(["True", "False", "Unknown"]))
    old, new = {"status": {"conditions": conditions}}, {"status": {"conditions": changed}}
    assert fieldsets.compare(old, new, SCHEMA) == _reference(old, new, SCHEMA)


def test_an_equal_subtree_is_skipped_and_a_changed_one_walked() -> None:
    old = {"spec": {"address": "a", "labels": {"x": "1"}}, "status": {"holder": "n1"}}
    new = {"spec": {"address": "a", "labels": {"x": "1"}}, "status": {"holder": "n2"}}
    assert fieldsets.compare(old, new, SCHEMA) == (set(), {("f:status", "f:holder")}, set())


@pytest.mark.parametrize(("was", "now"), [(False, 0), (1, 1.0), (True, 1)])
def test_values_python_calls_equal_but_json_does_not_are_compared(was: Any, now: Any) -> None:
    """A set item's path is its JSON: ``false`` and ``0`` are two items, though False == 0."""
    old, new = {"spec": {"nodes": [was]}}, {"spec": {"nodes": [now]}}
    assert fieldsets.compare(old, new, SCHEMA) == _reference(old, new, SCHEMA)
    assert fieldsets.compare(old, new, SCHEMA)[0] == {("f:spec", "f:nodes", f"v:{json.dumps(now)}")}


def test_entries_are_built_once_and_decoded_by_identity() -> None:
    paths = {("f:status", "f:holder"), ("f:status", "f:epoch")}
    first = fieldsets.encode(paths)
    assert first == {"f:status": {"f:epoch": {}, "f:holder": {}}}
    assert fieldsets.encode(set(paths)) is first
    assert fieldsets.decode(first) == paths
    copy = {"f:status": {"f:epoch": {}, "f:holder": {}}}  # an entry this server did not build
    assert fieldsets.decode(copy) == paths
    assert fieldsets.decode({"f:spec": {".": {}, "f:x": {}}}) == {("f:spec",), ("f:spec", "f:x")}
