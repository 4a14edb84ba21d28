"""Planning a CEL expression (celplan.collapse, celsteps.plan) changes its speed, never its answer.

Proves: for expressions of every kind the lab and the CRDs use (the chart's admission
policies, macros, ternaries, ``in``, arithmetic, string and IP functions, ``has()``, map and
list literals, errors that ``||``/``&&`` absorb and errors that surface), the planned tree
evaluates to the same value or the same error text as celpy's interpreter on the parsed tree,
collapsed, run by closures, and both (as the server runs it); the planned tree has no
single-child precedence level left (the children of ``member_object`` and ``fieldinits``, which
look at them, aside) and is much smaller; converting an object without a schema (admission's
``object``) by its exact JSON types gives the values, and types, of the general rules; a
program run again (its base activation kept) sees only the variables of that run; a variable is
read field by field (admission converts only those fields) only when every use is `name.field`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import celpy
import hypothesis
import lark
import pytest
from celpy import celtypes
from celpy.evaluation import CELEvalError, Evaluator
from hypothesis import strategies as st

from floatip_apiserver import cel, celplan

STATUS = {"holder": "server1", "epoch": 3, "conditions": [{"type": "Ready", "status": "True"}]}
ACTIVATIONS: list[dict[str, Any]] = [
    {"object": {"status": STATUS}, "oldObject": {"status": STATUS}, "n": 4, "s": "a.b"},
    {"object": {"status": {"holder": "x"}}, "oldObject": {}, "n": 0, "s": ""},
    {"object": {}, "oldObject": {"status": {"epoch": 1}}, "n": -2, "s": "10.0.0.1"},
]
EXPRESSIONS = [
    "0",
    "n",
    "n + 1 * 2 - 3 / 1 % 2",
    "-n < 0 || !(n > 1)",
    "n == 4 ? 'four' : n == 0 ? 'zero' : 'other'",
    "10 / n",  # divide by zero with n == 0
    "has(object.status) && has(object.status.holder)",
    "has(object.status) == has(oldObject.status) && (!has(object.status) || ("
    " has(object.status.holder) == has(oldObject.status.holder)"
    " && (!has(object.status.holder) || object.status.holder == oldObject.status.holder)"
    " && has(object.status.epoch) == has(oldObject.status.epoch)"
    " && (!has(object.status.epoch) || object.status.epoch == oldObject.status.epoch)))",
    "object.status.holder == 'server1'",  # no such key where status is absent
    "true || object.status.missing == 1",
    "object.status.missing == 1 || true",
    "false && object.status.missing == 1",
    "has(object.status) && has(object.status.epoch) ? object.status.epoch : 0",
    "'Ready' in [] || 'holder' in object.status",
    "has(object.status.conditions) && object.status.conditions.exists(c, c.type == 'Ready')",
    "has(object.status.conditions) && object.status.conditions.all(c, c.status == 'True')",
    "[1, 2, 3].map(x, x * n).filter(y, y > 0).size()",
    "[1, 2, 3].exists_one(x, x == n)",
    "{'a': n, 'b': [s]}['b'][0] == s",
    "s.split('.').size() + s.size()",
    "s.startsWith('a') && s.endsWith('b') && s.contains('.')",
    "s.lowerAscii() + s.upperAscii()",
    "isIP(s) ? ip(s).family() : 0",
    "size(s) > 0 && s.matches('^[a-z.]+$')",
    "'the agent on ' + s + ' may not'",
    "int(n) + 1u == 5u",
    "double(n) / 2.0",
    "(((n)))",
    "type(n) == int",
    "n in [0, 4]",
    "object == oldObject",
    "object != null && oldObject != null",
    "google.protobuf.Int32Value{value: n} == 4",
    "nope == 1",  # an undeclared identifier
    "!true || !(n == 4) && -n < -(3)",
    "'a' < 1",  # no overload
    "!'x'",
    "-s",
    "-(-9223372036854775807 - 1)",  # overflow
    "object.missing ? 1 : 2",
    "'x' ? 1 : 2",
    "(object.status).holder",
    "dyn(n) == 4",
    "has(object.status.holder.x)",
    "n.x",  # field selection on an int
    "google.protobuf",
    "{'a': n}['b'] == 1",  # no such key
    "[1, 2][5] == 1",  # invalid_argument
    "n[0] == 1",  # no overload
    "object.status.conditions[0].type + s",
    "b'abc' == b'abc' && 1u < 2u && 2.5 > 1.0 && null == null && \"x\" + '''y''' == 'xy'",
    "-9223372036854775808 < 0",
    "18446744073709551616u == 1u",  # out of range
    "size(1 / 0) == 1",  # an argument's error
    "(1 / 0).startsWith('a')",  # the receiver's error
    "s.startsWith(1 / 0)",
    "(1 / 0).startsWith(nope)",  # the receiver's error comes first
    "s.startsWith(1)",  # no overload
    "size(n)",  # no overload
    "int('x')",
    "int(18446744073709551615u)",  # overflow
    "s.nosuch()",  # a method no function answers to
    "nosuch(s)",
    "size()",
    "dyn(s).size()",
    "isCIDR(s) || isIP(s) && ip(s).family() == 4 && ip(s).isLoopback() == false",
    "s.size() == size(s) && string(n) + s == string(n) + s",
    "timestamp('2026-01-01T00:00:00Z').getFullYear() == 2026",
    "duration('1s') > duration('0s')",
    "[s, s].all(x, x.size() == s.size())",
    "s.matches(s)",  # a bad pattern for some
    "has(google.protobuf) && has(n.x) == false",  # a name container; an int
    "has(object.status.missing) || has(object.missing.x)",  # an absent field; an error
    "has({'a': 1}.a) && !has({'a': 1}.b)",
    "has({'a': 1 / 0}.a) || has([{'a': {'b': 1 / 0}}][0].a.b) || has(dyn({'a': 1 / 0}).a)",
    "{'a': 1 / 0} == {'a': 1 / 0} || [1 / 0] != [1 / 0] || {'a': 1 / 0}.a == 1",
    "true && n || 1 && false",  # && and || on a non-bool
    "!(1 / n == 1) || !object.status",  # two errors: || words both, with their nodes
    "'a' < 1 || 1 / n == 1",
    "s == s && n != n && s != 'x' && 1.5 == 1.5 && null != null",
    "object.status == oldObject.status && object.status != oldObject.status",
]


def _value(program: Any, activation: dict[str, Any]) -> Any:
    context = {k: cel.to_cel(v) for k, v in activation.items()}
    result = cel.run(program, context)
    if isinstance(result, CELEvalError):
        return ("error", cel.eval_error_text(result))
    return ("value", type(result).__name__, result)


def _nodes(tree: Any) -> int:
    return sum(1 for _ in tree.iter_subtrees()) if isinstance(tree, lark.Tree) else 0


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_a_planned_expression_answers_as_the_parsed_one(expression: str) -> None:
    parsed = cel._ENV.compile(expression)
    interpreted = celpy.InterpretedRunner(cel._ENV, parsed, cel._FUNCTIONS)  # celpy as it is
    collapsed = celpy.InterpretedRunner(cel._ENV, celplan.collapse(parsed), cel._FUNCTIONS)
    stepped = celplan.Runner(cel._ENV, parsed, cel._FUNCTIONS)  # closures, tree as parsed
    compiled = cel.compile_rule(expression).program  # both, as the server runs it
    for activation in ACTIVATIONS:
        expected = _value(interpreted, activation)
        for program in (collapsed, stepped, compiled):
            assert _value(program, activation) == expected, (program, activation)


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_no_single_child_precedence_level_is_left(expression: str) -> None:
    planned = celplan.collapse(cel._ENV.compile(expression))
    kept = {
        id(child)
        for node in planned.iter_subtrees()
        if node.data in celplan._INSPECTING
        for child in node.children
    }
    for node in planned.iter_subtrees():
        if id(node) in kept:
            continue
        assert not (
            node.data in celplan._PASS_THROUGH
            and len(node.children) == 1
            and isinstance(node.children[0], lark.Tree)
        ), node


def test_planning_removes_most_nodes_of_a_policy_expression() -> None:
    parsed = cel._ENV.compile(EXPRESSIONS[7])
    assert _nodes(celplan.collapse(parsed)) * 2 < _nodes(parsed)


def test_compiled_rules_are_planned() -> None:
    compiled = cel.compile_rule("self.a == 1 || self.b == 2")
    assert compiled.program is not None
    assert compiled.program.ast.data == "conditionalor"


def _reference(value: Any) -> Any:
    """to_cel as it was written before its fast path: the general rules, no schema."""
    if isinstance(value, Mapping):
        return celtypes.MapType({celtypes.StringType(k): _reference(v) for k, v in value.items()})
    if isinstance(value, list):
        return celtypes.ListType([_reference(v) for v in value])
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int):
        return celtypes.IntType(value)
    if isinstance(value, float):
        return celtypes.DoubleType(value)
    if isinstance(value, str):
        return celtypes.StringType(value)
    return value


def _typed(value: Any) -> Any:
    """A value with every type spelled out, so that equal-but-differently-typed values differ."""
    if isinstance(value, dict):
        return (type(value), [(type(k), k, _typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return (type(value), [_typed(v) for v in value])
    return (type(value), value)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@hypothesis.given(JSON)
def test_converting_without_a_schema_gives_the_general_rules_values(value: Any) -> None:
    assert _typed(cel.to_cel(value)) == _typed(_reference(value))


@pytest.mark.parametrize("number", [2**63, -(2**63) - 1])
def test_an_integer_beyond_int64_is_refused_as_the_general_rules_refuse_it(number: int) -> None:
    with pytest.raises(ValueError, match="overflow"):
        celtypes.IntType(number)
    for convert in (cel.to_cel, lambda v: cel.to_cel(v, {"type": "integer"})):
        with pytest.raises(ValueError, match="overflow"):
            convert(number)


@hypothesis.given(JSON)
def test_converting_with_a_schema_of_no_types_gives_the_general_rules_values(value: Any) -> None:
    assert _typed(cel.to_cel(value, {"x-kubernetes-preserve-unknown-fields": True})) == _typed(
        _reference(value)
    )


def test_a_program_run_again_sees_only_that_runs_variables() -> None:
    program = cel.compile_rule("[1, 2].map(x, x + n)").program
    assert cel.run(program, {"n": celtypes.IntType(1)}) == [2, 3]
    assert cel.run(program, {"n": celtypes.IntType(10)}) == [11, 12]
    assert isinstance(cel.run(program, {}), CELEvalError)  # n from an earlier run is gone
    assert isinstance(cel.run(cel.compile_rule("x == 1").program, {}), CELEvalError)


@pytest.mark.parametrize(
    ("expressions", "fields"),
    [
        (["has(object.status) && object.status.holder == 'a'", "oldObject.x == 1"], {"status"}),
        (["object.status.exists(c, c == 1)", "has(object.spec)"], {"status", "spec"}),
        (["request.userInfo.username == 'a'", "'object' == 'x'"], set()),
        (["object.status.x == 1", "object == oldObject"], None),  # the whole object
        (["object.status.x == 1", "size(object) > 1"], None),
        (["object['status'] == 1"], None),
        (["[1].map(object, object + 1) == [2]"], None),
        (["x.object == 1"], None),  # a field of that name: the whole object, to be safe
        ([".object.status == 1"], None),
        (["object.map(k, k) == []"], None),
    ],
)
def test_only_fields_selected_by_name_are_read(
    expressions: list[str], fields: set[str] | None
) -> None:
    asts = [cel.compile_rule(e).program.ast for e in expressions]
    found = celplan.fields_read(asts, "object")
    assert found == (frozenset(fields) if fields is not None else None)


@pytest.mark.parametrize(
    "expression",
    ["size(s) > 0 && s.startsWith('a')", "isCIDR(s) || isIP(s) && ip(s).family() == 4"],
)
def test_function_and_method_calls_are_planned_not_interpreted(
    expression: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = cel.compile_rule(expression).program
    activation = {"s": celtypes.StringType("10.0.0.1")}
    cel.run(program, activation)  # literals are evaluated once, when planned
    visited: list[str] = []
    visit = Evaluator.visit

    def spy(self: Evaluator, tree: Any) -> Any:
        visited.append(str(tree.data))
        return visit(self, tree)

    monkeypatch.setattr(Evaluator, "visit", spy)
    cel.run(program, activation)
    assert visited == []
    cel.run(cel.compile_rule("[s].all(x, x.size() > 0)").program, activation)
    assert "member_dot_arg" in visited  # a macro is the interpreter's


COMPARED = [
    celtypes.IntType(1),
    celtypes.IntType(2),
    celtypes.DoubleType(1.0),
    celtypes.StringType("a"),
    celtypes.BoolType(True),
    celtypes.ListType([celtypes.IntType(1)]),
    CELEvalError("no such key"),
]


@pytest.mark.parametrize("name", ["_<_", "_<=_", "_>_", "_>=_", "_==_", "_!=_"])
def test_comparisons_built_once_answer_as_celpys(name: str) -> None:
    ours, celpys = cel._COMPARISONS[name], celpy.evaluation.base_functions[name]

    def outcome(function: Any, left: Any, right: Any) -> Any:
        try:
            result = function(left, right)
        except Exception as exc:  # a refused overload raises, in both
            return ("raised", type(exc))
        return ("value", type(result), result) if result is not NotImplemented else "ni"

    for left in COMPARED:
        for right in COMPARED:
            assert outcome(ours, left, right) == outcome(celpys, left, right), (left, right)


@pytest.mark.parametrize(
    ("decided", "undecided", "expected"),
    [("false && probe()", "true && probe()", False), ("true || probe()", "false || probe()", True)],
)
def test_a_left_operand_that_decides_alone_is_the_answer(
    decided: str, undecided: str, expected: bool
) -> None:
    """cel-go's ``&&`` and ``||`` stop at a deciding left operand; so do the planned steps
    (celpy's answer is the same whatever the right operand is)."""
    calls: list[int] = []

    def probe() -> celtypes.BoolType:
        calls.append(1)
        return celtypes.BoolType(True)

    env = celpy.Environment(runner_class=celplan.Runner)

    def run(expression: str) -> Any:
        tree = celplan.collapse(env.compile(expression))
        return env.program(tree, functions={"probe": probe}).evaluate({})

    assert run(decided) == celtypes.BoolType(expected)
    assert calls == []
    run(undecided)
    assert calls == [1]
