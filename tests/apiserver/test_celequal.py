"""CEL's ``==`` and ``!=`` answered at once for the same maps or lists (celequal), and variables
read without binding celpy's name containers (celsteps.Evaluation), change no answer.

Proves: on many pairs of JSON values (bools, ints, doubles, 1 and 1.0, NaN, nulls, strings,
nested lists and maps, keys in another order, a value against a copy of itself or an edited
copy) the planned ``a == b`` and ``a != b`` give the value, or the error text, of celpy's
interpreter; whatever ``same`` calls the same is equal for celpy; and variables whose names
celpy would resolve otherwise (``google``, a package; a dotted name) answer as the
interpreter's do.
"""

from __future__ import annotations

import copy
from typing import Any

import celpy
import hypothesis
import pytest
from celpy.evaluation import CELEvalError
from hypothesis import strategies as st

from floatip_apiserver import cel, celequal

SCALARS = (
    st.none()
    | st.booleans()
    | st.sampled_from([0, 1, -1, 2**63 - 1, 0.0, -0.0, 1.0, float("nan"), float("inf")])
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats()
    | st.sampled_from(["", "a", "True", "1"])
)
JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["a", "b", "c", "type"]), children, max_size=4)
    ),
    max_leaves=16,
)


def _edited(value: Any, data: st.DataObject) -> Any:
    """A copy of ``value`` with one change a plain == might not see: 1 for 1.0 or true, keys
    reordered, a member replaced or dropped."""
    if isinstance(value, dict) and value:
        items = list(value.items())
        how = data.draw(st.sampled_from(["reorder", "replace", "drop", "deep"]))
        if how == "reorder":
            return dict(reversed(items))
        key = data.draw(st.sampled_from([k for k, _ in items]))
        if how == "drop":
            return {k: v for k, v in items if k != key}
        member = data.draw(JSON) if how == "replace" else _edited(value[key], data)
        return {**value, key: member}
    if isinstance(value, list) and value:
        index = data.draw(st.integers(min_value=0, max_value=len(value) - 1))
        return [*value[:index], _edited(value[index], data), *value[index + 1 :]]
    if type(value) in (bool, int, float) and value in (0, 1):  # equal in Python, not in CEL
        return data.draw(st.sampled_from([True, 1, 1.0] if value else [False, 0, 0.0, -0.0]))
    return data.draw(SCALARS)


def _outcome(program: Any, context: dict[str, Any]) -> Any:
    result = cel.run(program, context)
    if isinstance(result, CELEvalError):
        return ("error", cel.eval_error_text(result))
    return ("value", type(result).__name__, result)


def _interpreted(expression: str) -> Any:
    return celpy.InterpretedRunner(cel._ENV, cel._ENV.compile(expression), cel._FUNCTIONS)


EQUALITIES = ["a == b", "a != b", "b == a", "[a] == [b]", "{'k': a} != {'k': b}"]
INTERPRETED = {expression: _interpreted(expression) for expression in EQUALITIES}


def _check_pair(left: Any, right: Any) -> None:
    context = {"a": cel.to_cel(left), "b": cel.to_cel(right)}
    for expression in EQUALITIES:
        planned = cel.compile_rule(expression).program
        expected = _outcome(INTERPRETED[expression], context)
        assert _outcome(planned, context) == expected, (expression, left, right)
    if celequal.same(context["a"], context["b"]):
        assert _outcome(INTERPRETED["a == b"], context) == ("value", "BoolType", True)


@hypothesis.settings(max_examples=400, deadline=None)
@hypothesis.given(JSON, st.data())
def test_equality_of_a_value_and_an_edited_copy_answers_as_the_interpreter(
    value: Any, data: st.DataObject
) -> None:
    _check_pair(value, copy.deepcopy(value))
    _check_pair(value, _edited(value, data))


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(JSON, JSON)
def test_equality_of_two_values_answers_as_the_interpreter(left: Any, right: Any) -> None:
    _check_pair(left, right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ([1], [1.0]),
        ([True], [1]),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),
        ([float("nan")], [float("nan")]),
        ({"a": None}, {"a": None}),
        ({"a": [None, {}]}, {"a": [None, {}]}),
        ([[]], [{}]),
        ({"a": 1}, {"a": "1"}),
        ([0.0], [-0.0]),
    ],
)
def test_equality_of_values_alike_in_python_answers_as_the_interpreter(
    left: Any, right: Any
) -> None:
    _check_pair(left, right)


def test_same_calls_only_values_of_one_type_all_through_the_same() -> None:
    def same(left: Any, right: Any) -> bool:
        return celequal.same(cel.to_cel(left), cel.to_cel(right))

    assert same({"a": [1, "x", None, 2.5, True]}, {"a": [1, "x", None, 2.5, True]})
    assert not same([1], [1.0]) and not same([True], [1]) and not same([1], [True])
    assert not same({"a": 1, "b": 2}, {"b": 2, "a": 1})  # left to celpy, which says equal
    assert not same([float("nan")], [float("nan")])
    nan = cel.to_cel([float("nan")])
    assert not celequal.same(nan, nan)  # the same object, still unequal in CEL
    assert not celequal.same(cel.to_cel([1]), celpy.celtypes.ListType([celpy.celtypes.UintType(1)]))


@pytest.mark.parametrize(
    ("expression", "context"),
    [
        ("google == 1", {"google": 1}),  # celpy resolves the package, not the variable
        ("google.protobuf == 1", {"google": 1}),
        ("a.b == 1", {"a.b": 1}),  # a dotted variable: bound in name containers
        ("a == 1", {"a.b": 1, "a": 2}),
        ("x + y", {"x": 1, "y": 2}),
        ("x + nope", {"x": 1}),  # an undeclared identifier names the bound activation
        ("int == int", {"int": 1}),  # a variable named as a type
    ],
)
def test_variables_celpy_binds_otherwise_answer_as_the_interpreter(
    expression: str, context: dict[str, Any]
) -> None:
    converted = {name: cel.to_cel(value) for name, value in context.items()}
    planned = cel.compile_rule(expression).program
    assert _outcome(planned, converted) == _outcome(_interpreted(expression), converted)
