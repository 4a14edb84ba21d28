"""Random expressions answer as celpy's interpreter answers them, planned steps and all.

Proves: for random expressions built of ``==``, ``!=``, ``&&``, ``||``, ``!``, ``?:``, field
selection, ``has()``, ``in``, indexing, ``size()``, ``<`` and ``-`` over literals (numbers of
both kinds, strings, bools, null, lists, maps, maps holding an error, a division by zero) and
variables bound to JSON values (NaN, 1 and 1.0, nested maps, null members), the program as the
server runs it (collapsed, planned, its fast paths for booleans, equal values and maps) gives
the value, or the error text, of celpy's interpreter on the parsed tree.
"""

from __future__ import annotations

from typing import Any

import celpy
import hypothesis
from celpy.evaluation import CELEvalError
from hypothesis import strategies as st

from floatip_apiserver import cel

ATOMS = st.sampled_from(
    [
        "1", "1.0", "0", "'a'", "''", "true", "false", "null", "1 / 0", "[]", "{}", "[1, 'a']",
        "{'a': 1}", "{'f': 1 / 0}", "{'f': {'g': true}}", "a", "b", "m", "m.f", "m.g", "l",
    ]
)  # fmt: skip
FORMS = [
    "({} == {})",
    "({} != {})",
    "({} && {})",
    "({} || {})",
    "!{}",
    "has(({}).f)",
    "({}).f",
    "({} ? {} : {})",
    "[{}, {}] == [{}, {}]",
    "({} in {})",
    "({})[{}]",
    "size({})",
    "({} < {})",
    "-{}",
]


def _expressions(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(FORMS).flatmap(
        lambda form: st.lists(children, min_size=form.count("{}"), max_size=form.count("{}")).map(
            lambda parts: form.format(*parts)
        )
    )


EXPRESSIONS = st.recursive(ATOMS, _expressions, max_leaves=8)
VALUES = st.sampled_from(
    [1, 1.0, True, None, "a", [1], {"f": 1}, {"f": {"g": True}}, {"f": None}, [], {}, float("nan")]
)


def _outcome(program: Any, context: dict[str, Any]) -> Any:
    try:
        result = cel.run(program, context)
    except Exception as exc:  # what one raises, the other must raise too
        return ("raised", type(exc).__name__, str(exc))
    if isinstance(result, CELEvalError):
        return ("error", cel.eval_error_text(result))
    return ("value", type(result).__name__, repr(result))  # a NaN's repr equals itself


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(EXPRESSIONS, VALUES, VALUES, VALUES, VALUES)
def test_a_random_expression_answers_as_the_interpreter(
    expression: str, a: Any, b: Any, m: Any, item: Any
) -> None:
    compiled = cel.compile_rule(expression).program
    assert compiled is not None, expression
    interpreted = celpy.InterpretedRunner(cel._ENV, cel._ENV.compile(expression), cel._FUNCTIONS)
    context = {name: cel.to_cel(value) for name, value in (("a", a), ("b", b), ("m", m))}
    context["l"] = cel.to_cel([item])
    expected = _outcome(interpreted, context)
    assert _outcome(compiled, context) == expected, expression
