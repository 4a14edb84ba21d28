"""Turn a planned CEL tree into Python closures once, as cel-go plans a program into evaluators.

celpy's interpreter finds the method for every node of the tree by name, on every evaluation,
through lark's visitor (``getattr``, a list of the children's values, a level counter). cel-go
does that work once: its planner turns the checked expression into a tree of ``Interpretable``
values whose ``Eval`` calls its operands directly. :func:`plan` does the same for the node kinds
that make up nearly all of a policy or a CRD rule: ``||``, ``&&``, ``?:``, comparisons, ``!``
and ``-``, field selection, indexing, identifiers, literals, parentheses and ``has()``. A literal
is evaluated once, when planned (CEL's values are immutable), unless it is an error. Each closure is
the interpreter's own method for that node, with the same function lookups, the same values and
the same errors and texts; it only calls its children's closures instead of visiting them,
and finds its operator's function once, when planned, where the interpreter looked it up in
the activation's ChainMap at every node. Function and method calls are planned the same way
(`celcalls`). Any other node (macros, list and map literals, ...) is handed to the
interpreter as it is (``evaluator.visit``), so what it means cannot change either.

Where cel-go's evaluators work on native values, a few steps answer without celpy's
Python-coded operators for the operands JSON gives, with the values those give: ``&&``, ``||``
and ``!`` on two BoolTypes, ``==`` and ``!=`` on two scalars of one type or the same maps and
lists (`celequal`), ``has(m.f)`` and ``m.f`` on a map, and a variable read from the
evaluation's context (`celbinding`). Any other operand takes the general way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import celpy
import lark
from celpy.evaluation import Activation, CELEvalError, Evaluator, NameContainer

from floatip_apiserver import celbinding, celcalls, celequal

Step = Callable[[Evaluator], Any]
Functions = Mapping[str, Any]
Builder = Callable[[lark.Tree[Any], Functions], Step | None]


_RELATIONS = {
    "relation_lt": "_<_",
    "relation_le": "_<=_",
    "relation_ge": "_>=_",
    "relation_gt": "_>_",
    "relation_eq": "_==_",
    "relation_ne": "_!=_",
    "relation_in": "_in_",
}
_UNARY = {"unary_not": "!_", "unary_neg": "-_"}
_BoolType, _MapType = celpy.celtypes.BoolType, celpy.celtypes.MapType
_item: Callable[[Any, str], Any] = dict.__getitem__
_get: Callable[[Any, str, Any], Any] = dict.get
_ABSENT = object()
#: CEL's booleans, made once (a BoolType is immutable, and equal to any other of its value)
TRUE, FALSE = _BoolType(True), _BoolType(False)
#: celpy's own ``&&``, ``||`` and ``!``: for BoolType operands each step answers as they do
_LOGIC = {
    "_&&_": celpy.celtypes.logical_and,
    "_||_": celpy.celtypes.logical_or,
    "!_": celpy.celtypes.logical_not,
}


def plan(tree: lark.Tree[Any], functions: Functions) -> Step:
    """The closure that evaluates ``tree`` with an evaluator's activation; ``functions`` are
    the program's (its base activation's), which an evaluation binds no others over."""
    build = _BUILDERS.get(str(tree.data))
    step = build(tree, functions) if build is not None else None
    if step is None:
        return lambda evaluator: evaluator.visit(tree)  # the interpreter, as before
    return step


def _trees(tree: lark.Tree[Any]) -> list[lark.Tree[Any]] | None:
    """The children if all are trees (else None: the interpreter takes the node)."""
    children = list(tree.children)
    return children if all(isinstance(c, lark.Tree) for c in children) else None


def _binary_logic(operator: str) -> Builder:
    """Evaluator.conditionalor / conditionaland with two operands.

    A left operand that decides alone (``false &&``, ``true ||``) is the answer without the
    right one, as cel-go evaluates: celpy's ``logical_and`` / ``logical_or`` give that answer
    whatever the right operand is, error values included."""

    def build(tree: lark.Tree[Any], functions: Functions) -> Step | None:
        children = _trees(tree)
        if children is None or len(children) != 2:
            return None
        func = functions.get(operator)
        if func is None:
            return None
        steps = plan(children[0], functions), plan(children[1], functions)
        if func is not _LOGIC.get(operator):
            return _binary(steps, func, operator, tree)
        left_step, right_step = steps
        apply = _applied(func, operator, tree)
        both = operator == "_&&_"

        def step(evaluator: Evaluator) -> Any:
            left = left_step(evaluator)
            if type(left) is _BoolType and bool(left) is not both:
                return TRUE if left else FALSE  # false && ..., true || ...
            right = right_step(evaluator)
            if type(left) is _BoolType and type(right) is _BoolType:  # celpy's answer, at once
                return TRUE if (left and right if both else left or right) else FALSE
            return apply(left, right)

        return step

    return build


def _conditional(tree: lark.Tree[Any], functions: Functions) -> Step | None:
    """Evaluator.expr with ``cond ? left : right``."""
    children = _trees(tree)
    if children is None or len(children) != 3:
        return None
    cond_step, left_step, right_step = (plan(c, functions) for c in children)
    func = functions.get("_?_:_")
    if func is None:
        return None

    def step(evaluator: Evaluator) -> Any:
        cond_value = cond_step(evaluator)
        left = right = celpy.celtypes.BoolType(False)
        try:
            if cond_value:
                left = left_step(evaluator)
            else:
                right = right_step(evaluator)
            return func(cond_value, left, right)
        except TypeError as ex:
            text = "found no matching overload for _?_:_ applied to "
            kinds = f"'({type(cond_value)}, {type(left)}, {type(right)})'"
            return celcalls.raised(text + kinds, ex, tree=tree)

    return step


def _relation(tree: lark.Tree[Any], functions: Functions) -> Step | None:
    """Evaluator.relation with an operator: ``relation_eq(left) right`` and the like."""
    children = _trees(tree)
    if children is None or len(children) != 2:
        return None
    op_tree, right_tree = children
    operands = _trees(op_tree)
    if op_tree.data not in _RELATIONS or operands is None or len(operands) != 1:
        return None
    name = _RELATIONS[str(op_tree.data)]
    func = functions.get(name)
    if func is None:
        return None
    steps = plan(operands[0], functions), plan(right_tree, functions)
    if name in ("_==_", "_!=_"):
        func = celequal.equality(func, equal=name == "_==_")
    return _binary(steps, func, repr(op_tree.data), tree)  # as the interpreter words it


def _binary(steps: tuple[Step, Step], func: Any, label: str, tree: lark.Tree[Any]) -> Step:
    """Both operands evaluated, then ``func`` (:func:`_applied`)."""
    left_step, right_step = steps
    apply = _applied(func, label, tree)

    def step(evaluator: Evaluator) -> Any:
        return apply(left_step(evaluator), right_step(evaluator))

    return step


def _applied(func: Any, label: str, tree: lark.Tree[Any]) -> Callable[[Any, Any], Any]:
    """``func`` on two operands; a TypeError is celpy's no-overload error naming ``label``
    (as the interpreter's method for the node words it)."""

    def apply(left: Any, right: Any) -> Any:
        try:
            return func(left, right)
        except TypeError as ex:
            text = f"found no matching overload for {label} applied to "
            return celcalls.raised(f"{text}'({type(left)}, {type(right)})'", ex, tree=tree)

    return apply


def _unary(tree: lark.Tree[Any], functions: Functions) -> Step | None:
    """Evaluator.unary with ``!`` or ``-``."""
    children = _trees(tree)
    if children is None or len(children) != 2 or children[0].data not in _UNARY:
        return None
    kind = children[0].data  # a Token where the parser made it: its repr names the rule
    name, right_step = _UNARY[str(kind)], plan(children[1], functions)
    func = functions.get(name)
    if func is None:
        return None

    negate = func is _LOGIC.get(name)

    def step(evaluator: Evaluator) -> Any:
        right = right_step(evaluator)
        if negate and type(right) is _BoolType:  # celpy's logical_not, at once
            return FALSE if right else TRUE
        try:
            return func(right)
        except TypeError as ex:
            text = f"found no matching overload for {kind!r} applied to '({type(right)})'"
            return celcalls.raised(text, ex, tree=tree)
        except ValueError as ex:
            return celcalls.raised("return error for overflow", ex, tree=tree)

    return step


def _member_dot(tree: lark.Tree[Any], functions: Functions) -> Step | None:
    """Evaluator.member_dot: ``member.name`` on a map, a message or a name container."""
    if len(tree.children) != 2:
        return None
    member_tree, token = tree.children
    if not isinstance(member_tree, lark.Tree) or not isinstance(token, lark.Token):
        return None
    member_step, name = plan(member_tree, functions), token.value

    def step(evaluator: Evaluator) -> Any:
        return _select(member_step(evaluator), name, tree)

    return step


def _select(member: Any, name: str, tree: lark.Tree[Any]) -> Any:
    """The field ``name`` of ``member``, or celpy's error value for ``tree``."""
    if type(member) is _MapType:  # MapType.__getitem__ less its key check (a name is a str)
        try:
            return _item(member, name)
        except KeyError:
            return _no_member(name, tree)
    if isinstance(member, CELEvalError):
        return member
    if isinstance(member, NameContainer):
        if name in member:
            return member[name].value
        text = f"No {name!r} in bindings {sorted(member.keys())}"
        return CELEvalError(text, KeyError, None, tree=tree)
    if isinstance(member, celpy.celtypes.MessageType):
        return member.get(name)
    if isinstance(member, _MapType):
        try:
            return member[name]
        except KeyError:
            return _no_member(name, tree)
    text = f"{member!r} with type: '{type(member)}' does not support field selection"
    return CELEvalError(text, TypeError, None, tree=tree)


def _no_member(name: str, tree: lark.Tree[Any]) -> CELEvalError:
    """celpy's error value for a map without the field selected."""
    return CELEvalError(f"no such member in mapping: {name!r}", KeyError, None, tree=tree)


def _member_index(tree: lark.Tree[Any], functions: Functions) -> Step | None:
    """Evaluator.member_index: ``member[index]`` on a map or a list."""
    children = _trees(tree)
    if children is None or len(children) != 2:
        return None
    member_step, index_step = plan(children[0], functions), plan(children[1], functions)
    func = functions.get("_[_]")
    if func is None:
        return None

    def step(evaluator: Evaluator) -> Any:
        member, index = member_step(evaluator), index_step(evaluator)
        try:
            return func(member, index)
        except TypeError as ex:
            text = "found no matching overload for _[_] applied to "
            return celcalls.raised(f"{text}'({type(member)}, {type(index)})'", ex, tree=tree)
        except KeyError as ex:
            return celcalls.raised("no such key", ex, tree=tree)
        except IndexError as ex:
            return celcalls.raised("invalid_argument", ex, tree=tree)

    return step


def _primary(tree: lark.Tree[Any], functions: Functions) -> Step | None:
    """Evaluator.primary for a literal, an identifier, a parenthesis or ``has()``."""
    children = _trees(tree)
    if children is None or len(children) != 1:
        return None
    child = children[0]
    if child.data == "literal":
        try:
            value = Evaluator(ast=tree, activation=Activation()).visit(tree)
        except Exception:  # the interpreter raises it on each evaluation, as before
            return None
        if isinstance(value, CELEvalError):
            return None  # the interpreter makes it anew each time
        return lambda evaluator: value
    if child.data == "paren_expr":
        inner = _trees(child)
        return plan(inner[0], functions) if inner is not None and len(inner) == 1 else None
    if child.data == "ident" and len(child.children) == 1:
        return _ident(tree, child.children[0])
    if child.data == "ident_arg" and len(child.children) == 2:
        name, exprlist = child.children
        if isinstance(name, lark.Token) and name.value == "has" and isinstance(exprlist, lark.Tree):
            return _has(exprlist, functions)
    if child.data == "ident_arg" and child.children and isinstance(child.children[0], lark.Token):
        return celcalls.function(child.children[0], child.children[1:], functions, plan)
    return None


def _ident(tree: lark.Tree[Any], token: Any) -> Step:
    name = token.value

    def step(evaluator: Evaluator) -> Any:
        direct = evaluator.direct if isinstance(evaluator, celbinding.Evaluation) else {}
        if name in direct:
            return direct[name]
        try:
            return evaluator.ident_value(token.value)
        except KeyError as ex:
            text = f"undeclared reference to '{token}' (in activation '{evaluator.activation}')"
            return CELEvalError(text, ex.__class__, ex.args, tree=tree)

    return step


def _has(exprlist: lark.Tree[Any], functions: Functions) -> Step | None:
    """Evaluator.macro_has_eval: whether the first argument evaluates without an error."""
    arguments = _trees(exprlist)
    if not arguments:
        return None
    field = arguments[0]
    if len(arguments) == 1 and field.data == "member_dot" and len(field.children) == 2:
        member_tree, token = field.children  # what _member_dot plans
        if isinstance(member_tree, lark.Tree) and isinstance(token, lark.Token):
            return _has_field(plan(member_tree, functions), token.value, field)
    steps = [plan(argument, functions) for argument in arguments]

    def step(evaluator: Evaluator) -> Any:
        values = [each(evaluator) for each in steps]
        return celpy.celtypes.BoolType(not isinstance(values[0], CELEvalError))

    return step


def _has_field(member_step: Step, name: str, tree: lark.Tree[Any]) -> Step:
    """``has(member.name)``: on a map, whether it holds ``name`` with a value that is no error
    (where selecting it would make the error value that the general step only looks at); else
    as the general step."""

    def step(evaluator: Evaluator) -> Any:
        member = member_step(evaluator)
        if type(member) is _MapType:  # a map literal may hold an error value: not there
            value = _get(member, name, _ABSENT)
        else:
            value = _select(member, name, tree)
        return FALSE if value is _ABSENT or isinstance(value, CELEvalError) else TRUE

    return step


_BUILDERS: dict[str, Builder] = {
    "conditionalor": _binary_logic("_||_"),
    "conditionaland": _binary_logic("_&&_"),
    "expr": _conditional,
    "relation": _relation,
    "unary": _unary,
    "member_dot": _member_dot,
    "member_index": _member_index,
    "member_dot_arg": lambda tree, functions: celcalls.method(tree, functions, plan),
    "primary": _primary,
}
