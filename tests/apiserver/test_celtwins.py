"""An update's object converted like its old object (celtwins) is the object cel.to_cel makes.

Proves: for many pairs of JSON objects (one an edited copy of the other: a member replaced,
dropped, added, 1 for 1.0 or true, keys reordered, NaN, integers beyond 64 bits) the shared
conversion has the values, the CEL types and the key order of a conversion of its own, all
through, or fails as it fails; members the same as the other side's are the other side's
converted members; and a NaN shared by both sides is still unequal to itself in CEL.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import hypothesis
import pytest
from celpy.evaluation import CELEvalError
from hypothesis import strategies as st

from floatip_apiserver import cel, celtwins

KEYS = st.sampled_from(["a", "b", "status", "conditions", "1"])
SCALARS = (
    st.none()
    | st.booleans()
    | st.sampled_from([0, 1, 1.0, 0.0, -0.0, float("nan"), float("inf"), 2**63, "1", ""])
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats()
    | st.text(max_size=4)
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=14,
)
OBJECTS = st.dictionaries(KEYS, JSON, max_size=4)


def _typed(value: Any) -> Any:
    """Every type spelled out, and the key order kept, so that equal-but-different differs."""
    if isinstance(value, dict):
        return (type(value), [(type(k), k, _typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return (type(value), [_typed(v) for v in value])
    if isinstance(value, float) and math.isnan(value):
        return (type(value), "nan")
    return (type(value), value)


def _converted(convert: Any) -> Any:
    try:
        return ("value", _typed(convert()))
    except ValueError as exc:  # an integer beyond 64 bits, in both
        return ("raised", str(exc))


def _edit(value: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    edited = copy.deepcopy(value)
    for _ in range(data.draw(st.integers(min_value=0, max_value=3))):
        how = data.draw(st.sampled_from(["replace", "drop", "reorder", "deep"]))
        keys = list(edited)
        if how == "reorder":
            edited = dict(reversed(list(edited.items())))
        elif how == "drop" and keys:
            edited.pop(data.draw(st.sampled_from(keys)))
        elif how == "deep" and keys and isinstance(edited[keys[0]], dict):
            edited[keys[0]] = _edit(edited[keys[0]], data)
        else:
            edited[data.draw(KEYS)] = data.draw(JSON)
    return edited


def _check(value: dict[str, Any], other: dict[str, Any]) -> None:
    try:
        converted_other = cel.to_cel(other)
    except ValueError:
        return  # the other side fails to convert: the request fails before any sharing
    shared = _converted(lambda: celtwins.like(value, other, converted_other))
    assert shared == _converted(lambda: cel.to_cel(value)), (value, other)


@hypothesis.settings(max_examples=400, deadline=None)
@hypothesis.given(OBJECTS, st.data())
def test_an_object_converted_like_an_edited_twin_is_its_own_conversion(
    value: dict[str, Any], data: st.DataObject
) -> None:
    other = _edit(value, data)
    _check(value, other)
    _check(other, value)


@hypothesis.settings(max_examples=200, deadline=None)
@hypothesis.given(OBJECTS, OBJECTS)
def test_an_object_converted_like_any_other_is_its_own_conversion(
    value: dict[str, Any], other: dict[str, Any]
) -> None:
    _check(value, other)


@pytest.mark.parametrize(
    ("value", "other"),
    [
        ({"a": [1]}, {"a": [1.0]}),
        ({"a": {"x": True}}, {"a": {"x": 1}}),
        ({"a": {"x": 1, "y": 2}}, {"a": {"y": 2, "x": 1}}),
        ({"a": [float("nan")]}, {"a": [float("nan")]}),
        ({"a": float("inf")}, {"a": float("-inf")}),
        ({"a": None}, {"a": float("nan")}),
        ({"a": 2**64}, {"a": 2**64}),
        ({"a": {"b": {"c": [1, "x"]}, "d": 1}}, {"a": {"b": {"c": [1, "x"]}, "d": 2}}),
    ],
)
def test_values_alike_in_python_or_in_json_are_converted_as_their_own(
    value: dict[str, Any], other: dict[str, Any]
) -> None:
    _check(value, other)


def test_unchanged_members_are_the_other_sides_converted_members() -> None:
    old = {"status": {"conditions": [{"type": "Ready"}], "holder": "a", "history": []}}
    new = copy.deepcopy(old)
    new["status"]["holder"] = "b"
    converted_old = cel.to_cel(old)
    converted = celtwins.like(new, old, converted_old)
    for field in ("conditions", "history"):
        assert converted["status"][field] is converted_old["status"][field]
    assert converted["status"]["holder"] == "b"


def test_a_nan_shared_by_both_sides_is_unequal_to_itself() -> None:
    nan = float("nan")
    old = {"a": [nan]}
    new = {"a": old["a"]}  # the very same list
    converted_old = cel.to_cel(old)
    converted = celtwins.like(new, old, converted_old)
    assert converted["a"] is converted_old["a"]
    program = cel.compile_rule("object.a == oldObject.a").program
    result = cel.run(program, {"object": converted, "oldObject": converted_old})
    assert not isinstance(result, CELEvalError) and result is not True and not result
