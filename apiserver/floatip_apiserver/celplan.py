"""Plan a parsed CEL expression once, so that each evaluation walks fewer nodes.

cel-go compiles a rule once per CRD or policy generation and then plans it into a tree of
evaluators in which a literal or a field selection is one step. celpy's parse tree keeps the
grammar's precedence chain instead: the ``0`` of ``x ? y : 0`` is ``expr > conditionalor >
conditionaland > relation > addition > multiplication > unary > member > primary > literal``,
and its interpreter visits each of those levels, on every evaluation, only to hand the one
child's value up. Most nodes of a rule are such levels, and walking them was most of the time
of a ValidatingAdmissionPolicy or ``x-kubernetes-validations`` evaluation.

:func:`collapse` removes them once, when the rule is compiled: a node of a precedence level
with exactly one child becomes that child. The interpreter's method for such a node only
returns its child's value (``values[0]``), so the value, every error and every message are
those of the full tree. Two parents look at their children's rules rather than dispatch on
them: ``member_object`` asks whether its child is a ``primary``, and ``fieldinits`` evaluates
the children of each ``expr`` it holds. Their children keep their own rule (only what lies
below them is collapsed); every other parent dispatches on the child's own rule.

:class:`Runner` keeps what celpy rebuilt for every evaluation and never changes: the base
activation (the environment's type names and the functions), which each evaluation clones to
bind its own variables, as before; and the program's closures (:mod:`celsteps`), built once.
"""

from __future__ import annotations

from typing import Any

import celpy
import lark
from celpy.evaluation import Activation, CELEvalError, Context, Evaluator

from floatip_apiserver import celsteps

#: precedence levels whose interpreter method, given one child, returns that child's value
_PASS_THROUGH = frozenset(
    {
        "expr",
        "conditionalor",
        "conditionaland",
        "relation",
        "addition",
        "multiplication",
        "unary",
        "member",
    }
)
#: parents that look at their children's rules: each child keeps its own node
_INSPECTING = frozenset({"member_object", "fieldinits"})


def collapse(tree: Any) -> Any:
    """The same expression without single-child precedence levels (a new tree; tokens kept)."""
    if not isinstance(tree, lark.Tree):
        return tree
    node = tree
    while (
        node.data in _PASS_THROUGH
        and len(node.children) == 1
        and isinstance(node.children[0], lark.Tree)
    ):
        node = node.children[0]
    return _below(node)


def _below(node: Any) -> Any:
    """``node`` itself, what lies below it collapsed (a token stays itself)."""
    if not isinstance(node, lark.Tree):
        return node
    step = _below if node.data in _INSPECTING else collapse
    return type(node)(node.data, [step(child) for child in node.children], node._meta)


class Runner(celpy.InterpretedRunner):
    """celpy's interpreter with its base activation and its closures built once per program."""

    def __init__(self, environment: celpy.Environment, ast: lark.Tree[Any], functions: Any = None):
        super().__init__(environment, ast, functions)
        self._base = super().new_activation()
        self._step = celsteps.plan(ast)

    def new_activation(self) -> Activation:
        return self._base

    def evaluate(self, context: Context) -> Any:
        """As InterpretedRunner.evaluate, the variables always bound in a clone of the base
        (set_activation), so that the shared base is never written to."""
        evaluator = Evaluator(ast=self.ast, activation=self._base)
        evaluator.set_activation(context or {})
        value = self._step(evaluator)
        if isinstance(value, CELEvalError):
            raise value
        return value
