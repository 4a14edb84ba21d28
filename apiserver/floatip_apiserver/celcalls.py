"""Planned function and method calls (`celsteps.plan`): ``size(x)``, ``s.startsWith('a')``.

A CRD's address rules are calls (``isCIDR(self)``, ``cidr(self).ip().family()``), and the
interpreter walked each of them through lark's visitor on every write: a fifth of the API
server's time on the CRD rules when a thousand VirtualIPs were created. Each closure here is
the interpreter's `Evaluator.function_eval` / `Evaluator.method_eval` for one call site: the
receiver and every argument evaluated first, an error among them returned (the receiver's
first), then the function, found once when planned, called with the same error texts for a
refused overload or an overflow. A macro (``all``, ``exists``, ``map``, ...), ``has()``, a
name no function answers to, or a call shaped otherwise is left to the interpreter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import lark
from celpy.evaluation import CELEvalError, Evaluator

Step = Callable[[Evaluator], Any]
Plan = Callable[[lark.Tree[Any], Mapping[str, Any]], Step]

#: method-shaped macros, which bind a variable: the interpreter's
MACROS = frozenset({"map", "filter", "all", "exists", "exists_one", "reduce", "min"})


def method(tree: lark.Tree[Any], functions: Mapping[str, Any], plan: Plan) -> Step | None:
    """``member.name(args)``: Evaluator.member_dot_arg for a method that is no macro."""
    if len(tree.children) not in (2, 3):
        return None
    member_tree, token = tree.children[:2]
    if not isinstance(member_tree, lark.Tree) or not isinstance(token, lark.Token):
        return None
    func = functions.get(token.value)
    if token.value in MACROS or func is None:
        return None
    arguments = _arguments(tree.children[2:])
    if arguments is None:
        return None
    member_step = plan(member_tree, functions)
    steps = [plan(argument, functions) for argument in arguments]

    def step(evaluator: Evaluator) -> Any:
        member = member_step(evaluator)
        values = [each(evaluator) for each in steps]
        if isinstance(member, CELEvalError):
            return member
        return _call(func, token, [member], values)

    return step


def function(
    name: lark.Token, arguments: Sequence[Any], functions: Mapping[str, Any], plan: Plan
) -> Step | None:
    """``name(args)`` (Evaluator.primary's ``ident_arg``): ``dyn`` or an ordinary function."""
    trees = _arguments(arguments)
    if trees is None or name.value == "has":
        return None
    steps = [plan(argument, functions) for argument in trees]
    if name.value == "dyn":
        return steps[0] if steps else None
    func = functions.get(name.value)
    if func is None:
        return None
    return lambda evaluator: _call(func, name, [], [each(evaluator) for each in steps])


def _arguments(rest: Sequence[Any]) -> list[lark.Tree[Any]] | None:
    """The argument trees of a call's optional ``exprlist``; None if shaped otherwise."""
    if not rest:
        return []
    if len(rest) != 1 or not isinstance(rest[0], lark.Tree) or rest[0].data != "exprlist":
        return None
    children = list(rest[0].children)
    return children if all(isinstance(c, lark.Tree) for c in children) else None


def _call(func: Any, token: lark.Token, member: list[Any], values: list[Any]) -> Any:
    for value in values:
        if isinstance(value, CELEvalError):
            return value
    try:
        return func(*member, *values)
    except ValueError as ex:
        return raised("return error for overflow", ex, token=token)
    except (TypeError, AttributeError) as ex:
        return raised("no such overload", ex, token=token)


def raised(text: str, ex: Exception, **where: Any) -> CELEvalError:
    """The error value celpy's interpreter makes of what a function raised (``tree=`` or
    ``token=``: the node it names), with the exception as its cause."""
    error = CELEvalError(text, ex.__class__, ex.args, **where)
    error.__cause__ = ex
    return error
