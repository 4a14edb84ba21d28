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
activation (the environment's type names and the functions), which an evaluation clones to
bind its own variables only when the interpreter needs them (its identifier steps read a
variable from the evaluation's context, as cel-go's activation does); and the program's
closures (:mod:`celsteps`), built once.

:func:`fields_read` tells which top-level fields of a variable a program can see at all, so
that admission converts only those to CEL, as cel-go reads an object's fields lazily instead of
converting all of it (a VirtualIP's managedFields, which no policy names, were most of it).
"""

from __future__ import annotations

import re
from typing import Any

import celpy
import lark
from celpy.evaluation import Activation, CELEvalError, Context

from floatip_apiserver import celbinding, celsteps

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
#: a variable's name that celpy binds as itself (no dotted path into name containers)
_PLAIN_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
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


def fields_read(asts: list[lark.Tree[Any]], name: str) -> frozenset[str] | None:
    """The fields ``f`` of variable ``name`` that ``asts`` select as ``name.f``; None when
    ``name`` appears in any other way (alone, indexed, called, compared, ``.name``, a field
    that happens to share its name), so that only the whole value will do."""
    fields: set[str] = set()
    seen = selected = 0
    for ast in asts:
        for node in ast.iter_subtrees():
            seen += sum(1 for c in node.children if isinstance(c, lark.Token) and c.value == name)
            if node.data == "member_dot" and _is_ident(node.children[0], name):
                selected += 1
                fields.add(str(node.children[1]))
    return frozenset(fields) if seen == selected else None


def _is_ident(tree: Any, name: str) -> bool:
    """Whether ``tree`` is the bare identifier ``name`` (``primary(ident(name))``)."""
    while isinstance(tree, lark.Tree) and tree.data == "member" and len(tree.children) == 1:
        tree = tree.children[0]
    if not (isinstance(tree, lark.Tree) and tree.data == "primary" and len(tree.children) == 1):
        return False
    ident = tree.children[0]
    return (
        isinstance(ident, lark.Tree)
        and ident.data == "ident"
        and len(ident.children) == 1
        and ident.children[0] == name
    )


class Runner(celpy.InterpretedRunner):
    """celpy's interpreter with its base activation and its closures built once per program."""

    def __init__(self, environment: celpy.Environment, ast: lark.Tree[Any], functions: Any = None):
        super().__init__(environment, ast, functions)
        self._base = super().new_activation()
        self._step = celsteps.plan(ast, self._base.functions)
        #: names that celpy resolves to a package rather than to a variable bound under them
        self._packages = frozenset(
            name for name, ref in self._base.identifiers.items() if ref.container is not None
        )
        #: per set of variable names bound, whether the steps may read them directly
        self._direct: dict[frozenset[str], bool] = {}

    def new_activation(self) -> Activation:
        return self._base

    def evaluate(self, context: Context) -> Any:
        """As InterpretedRunner.evaluate, the variables bound in a clone of the base
        (set_activation) when the interpreter or a name celpy resolves otherwise needs them
        (:class:`celbinding.Evaluation`), so that the shared base is never written to."""
        context = context or {}
        names = frozenset(context)
        direct = self._direct.get(names)
        if direct is None:
            direct = self._direct[names] = self._base.package is None and not any(
                name in self._packages or not _PLAIN_NAME.fullmatch(name) for name in names
            )
        evaluator = celbinding.Evaluation(self.ast, self._base, context, direct)
        if not direct:
            evaluator.bind()  # as before, also raising what set_activation raises
        value = self._step(evaluator)
        if isinstance(value, CELEvalError):
            raise value
        return value
