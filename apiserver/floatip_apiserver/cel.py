"""Evaluate a CRD's ``x-kubernetes-validations`` rules the way kube-apiserver does.

The real server walks the structural schema alongside the object and, at every node that
carries rules, evaluates each rule with ``self`` bound to that node's value (``oldSelf`` to the
previous value for transition rules on update). Absent optional fields are never evaluated;
transition rules are skipped on create and where the old value cannot be correlated; a
failing rule yields a field error at that node's path (or at the rule's ``fieldPath``) with
the rule's ``message``, ``messageExpression`` or ``failed rule: <rule>``. Unchanged values on
update are ratcheted (CRDValidationRatcheting, on by default since Kubernetes 1.30).

cel-python does the expression language; :mod:`celnet` adds the IP and CIDR libraries.
"""

from __future__ import annotations

import dataclasses
import functools
import operator as operators
import re
from collections.abc import Mapping
from typing import Any

import celpy
from celpy import celtypes
from celpy.evaluation import CELEvalError

from floatip_apiserver import celnet, celplan, celstrings, fielderrors, identity
from floatip_apiserver.fielderrors import FieldError

_OLD_SELF = re.compile(r"\boldSelf\b")
_FIELD_PATH_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\['([^']*)'\]")
_ENV = celpy.Environment(runner_class=celplan.Runner)


class _Unchecked:
    """Stands for typing's ``Union``, ``List``, ... in celpy.evaluation's function bodies."""

    def __getitem__(self, item: object) -> type[object]:
        return object


# celpy 0.5's interpreter writes ``cast(Union[Result, NameContainer], value)`` and the like in
# the functions it runs for every node of every expression: each builds a typing alias and
# hashes its members, a third of the time of a CEL evaluation. cast() ignores its first
# argument, so these names stand for nothing here; the module uses them nowhere else at run
# time (signatures were evaluated at import), and no result changes.
for _alias in ("Union", "Tuple", "List", "Optional", "Dict", "Type"):
    setattr(celpy.evaluation, _alias, _Unchecked())


#: celpy 0.5's comparisons (``bool_eq`` and its siblings) build their wrapper,
#: ``boolean(operator.eq)`` with ``functools.wraps``, on every call; these are the same
#: wrappers, built once.
_COMPARISONS: dict[str, Any] = {
    name: celpy.evaluation.boolean(function)
    for name, function in (
        ("_<_", operators.lt),
        ("_<=_", operators.le),
        ("_>_", operators.gt),
        ("_>=_", operators.ge),
        ("_==_", operators.eq),
        ("_!=_", operators.ne),
    )
}


def _null_aware(operator: str) -> Any:
    """``==``/``!=`` with null on either side: cel-go's heterogeneous equality says whether
    both are null; celpy 0.5 errs (no overload) for maps, lists and numbers against null, so
    ``object != null`` would fail instead of answering true."""
    base = _COMPARISONS[operator]

    def compare(left: Any, right: Any) -> Any:
        if left is None or right is None:
            return celtypes.BoolType((left is None and right is None) == (operator == "_==_"))
        return base(left, right)

    return compare


_FUNCTIONS: dict[str, Any] = {
    **celstrings.FUNCTIONS,
    **celnet.FUNCTIONS,
    **_COMPARISONS,
    "_==_": _null_aware("_==_"),
    "_!=_": _null_aware("_!=_"),
}


@dataclasses.dataclass(frozen=True)
class CompiledRule:
    """A rule compiled once; ``error`` is set when the rule does not parse."""

    program: Any | None
    transition: bool
    error: str | None = None


@functools.lru_cache(maxsize=4096)
def compile_rule(text: str) -> CompiledRule:
    """Compile and plan a rule or message expression once per distinct text."""
    transition = bool(_OLD_SELF.search(text))
    try:
        ast = _ENV.compile(text)
    except Exception as exc:  # celpy raises its parser errors and lark's
        return CompiledRule(None, transition, f"compilation failed: {exc}")
    return CompiledRule(_ENV.program(celplan.collapse(ast), functions=_FUNCTIONS), transition)


def to_cel(value: Any, schema: Mapping[str, Any] | None = None) -> Any:
    """Convert a JSON value to CEL, typed by the schema (``type: number`` is a double)."""
    if not schema:
        return _untyped(value)
    if isinstance(value, Mapping):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        extra_schema = extra if isinstance(extra, Mapping) else None
        return _map(
            {
                celtypes.StringType(k): to_cel(v, props.get(k, extra_schema))
                for k, v in value.items()
            }
        )
    if isinstance(value, list):
        return celtypes.ListType([to_cel(v, schema.get("items")) for v in value])
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int | float) and schema.get("type") == "number":
        return celtypes.DoubleType(float(value))
    if type(value) is int:
        return _int(value)
    if isinstance(value, int):
        return celtypes.IntType(value)
    if isinstance(value, float):
        return celtypes.DoubleType(value)
    if type(value) is str:
        return str.__new__(celtypes.StringType, value)
    if isinstance(value, str):
        return celtypes.StringType(value)
    return value


def _int(value: int) -> celtypes.IntType:
    """``celtypes.IntType(value)`` for a plain int, without the range-checking wrapper that
    celpy builds (``functools.wraps``) on every call: the same value, or the same error."""
    if -(2**63) <= value < 2**63:
        return int.__new__(celtypes.IntType, value)
    raise ValueError("overflow")


#: a map key as CEL sees it; an object's keys repeat from write to write, and a StringType is
#: immutable, so one is made per distinct key (of the last few thousand) rather than per use
_key = functools.lru_cache(maxsize=4096)(celtypes.StringType)


def _untyped(value: Any) -> Any:
    """:func:`to_cel` without a schema (admission's ``object``, ``request``, ...): the same
    values, built by the JSON value's exact type rather than by ABC checks at every node,
    which were most of the time of converting an object for its admission policies."""
    kind = type(value)
    if kind is dict:
        return _map({_key(k): _untyped(v) for k, v in value.items()})
    if kind is list:
        return celtypes.ListType([_untyped(v) for v in value])
    if kind is str:
        return str.__new__(celtypes.StringType, value)
    if kind is bool:
        return celtypes.BoolType(value)
    if kind is int:
        return _int(value)
    if kind is float:
        return celtypes.DoubleType(value)
    return to_cel(value, {"type": None})  # any other Mapping or value: the general rules


def _map(items: dict[Any, Any]) -> Any:
    """``MapType(items)``: the same map, filled at once instead of key by key in Python."""
    converted = celtypes.MapType()
    dict.update(converted, items)
    return converted


def _type_name(schema: Mapping[str, Any]) -> str:
    """What the real server prints as the 'value' of a CEL failure: the schema's type."""
    if schema.get("x-kubernetes-int-or-string"):
        return "string"
    return str(schema.get("type") or "object")


def _with_field_path(path: str, field_path: str) -> str:
    """Resolve a rule's relative ``fieldPath`` (``.spec.x``, ``['a.b']``) under ``path``."""
    result = path
    for match in _FIELD_PATH_STEP.finditer(field_path):
        name = match.group(1) if match.group(1) is not None else match.group(2)
        result = fielderrors.child(result, name)
    return result


def _evaluate_rules(  # noqa: PLR0917
    schema: Mapping[str, Any], value: Any, old: Any, has_old: bool, unchanged: bool, path: str
) -> list[FieldError]:
    """The rules at one node; ``unchanged``: ``value`` is the stored one (ratcheted)."""
    errors: list[FieldError] = []
    activation: dict[str, Any] | None = None
    for rule in schema.get("x-kubernetes-validations") or []:
        text = str(rule.get("rule", ""))
        compiled = compile_rule(text)
        if compiled.transition and not has_old:
            continue  # transition rules never run on create or uncorrelatable values
        if not compiled.transition and unchanged:
            continue  # ratcheting: an unchanged value is not re-judged
        type_name = _type_name(schema)
        message = str(rule.get("message") or "").strip()
        rule_string = message or text.strip()
        if compiled.program is None:
            errors.append(
                FieldError(
                    path,
                    fielderrors.INVALID,
                    f"{compiled.error} for rule: {rule_string}",
                    type_name,
                )
            )
            continue
        if activation is None:
            activation = {"self": to_cel(value, schema)}
            if has_old:
                activation["oldSelf"] = to_cel(old, schema)
        result = run(compiled.program, activation)
        if isinstance(result, CELEvalError):
            errors.append(
                FieldError(
                    path,
                    fielderrors.INVALID,
                    f"{eval_error_text(result)} evaluating rule: {rule_string}",
                    type_name,
                )
            )
            continue
        if result is True or (isinstance(result, celtypes.BoolType) and bool(result)):
            continue
        detail = _message(rule, activation) or message or f"failed rule: {rule_string}"
        where = _with_field_path(path, str(rule.get("fieldPath") or ""))
        reason = str(rule.get("reason") or fielderrors.INVALID)
        if reason == fielderrors.DUPLICATE:
            errors.append(FieldError(where, reason, "", type_name))
        elif reason in (fielderrors.FORBIDDEN, fielderrors.REQUIRED):
            errors.append(FieldError(where, reason, detail))
        else:
            errors.append(FieldError(where, fielderrors.INVALID, detail, type_name))
    return errors


def run(program: Any, activation: dict[str, Any]) -> Any:
    """Evaluate, turning celpy's raised errors into returned error values."""
    try:
        return program.evaluate(activation)
    except CELEvalError as exc:
        return exc


def eval_error_text(error: Any) -> str:
    """celpy's CELEvalError args are (summary, exception class, exception args)."""
    args: tuple[Any, ...] = getattr(error, "args", ())
    if len(args) >= 3 and args[2]:
        return str(args[2][0])
    return str(args[0]) if args else str(error)


def _message(rule: Mapping[str, Any], activation: dict[str, Any]) -> str | None:
    """Evaluate ``messageExpression``; on error or a blank result fall back (like the server)."""
    expression = rule.get("messageExpression")
    if not expression:
        return None
    compiled = compile_rule(str(expression))
    if compiled.program is None:
        return None
    result = run(compiled.program, activation)
    if isinstance(result, str) and result.strip():
        return str(result).strip()
    return None


def _walk(
    schema: Mapping[str, Any], value: Any, old: Any, has_old: bool, path: str
) -> list[FieldError]:
    unchanged = has_old and value == old
    if unchanged and not _has_transition_rules(schema):
        return []  # ratcheting: nothing in an unchanged value without oldSelf rules is re-judged
    errors = _evaluate_rules(schema, value, old, has_old, unchanged, path)
    if isinstance(value, Mapping):
        old_map = old if has_old and isinstance(old, Mapping) else {}
        props: Mapping[str, Any] = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            sub = props.get(name)
            if sub is not None:
                where = fielderrors.child(path, name)
            elif isinstance(extra, Mapping):
                sub, where = extra, fielderrors.key(path, name)
            else:
                continue
            errors += _walk(sub, item, old_map.get(name), name in old_map, where)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        items: Mapping[str, Any] = schema["items"]
        olds = _correlate_list(schema, value, old if has_old else None)
        for i, item in enumerate(value):
            prior = olds[i]
            errors += _walk(items, item, prior[1], prior[0], fielderrors.index(path, i))
    return errors


#: schema node -> whether a rule at or below it reads oldSelf
_TRANSITIONS: identity.Cache[Mapping[str, Any], bool] = identity.Cache(4096)


def _has_transition_rules(schema: Mapping[str, Any]) -> bool:
    """Whether a transition rule (one reading ``oldSelf``) sits at or below this node: such a
    rule is evaluated even where nothing changed, as the real server does (it never ratchets
    them); every other rule of an unchanged value is ratcheted."""
    known = _TRANSITIONS.get(schema)
    if known is not None:
        return known
    found = any(
        compile_rule(str(rule.get("rule", ""))).transition
        for rule in schema.get("x-kubernetes-validations") or []
    ) or any(
        isinstance(sub, Mapping) and _has_transition_rules(sub)
        for sub in [
            *(schema.get("properties") or {}).values(),
            schema.get("additionalProperties"),
            schema.get("items"),
        ]
    )
    _TRANSITIONS.put(schema, found)
    return found


def _correlate_list(
    schema: Mapping[str, Any], value: list[Any], old: Any
) -> list[tuple[bool, Any]]:
    """Old items for new ones: only ``x-kubernetes-list-type: map`` lists correlate (by keys)."""
    none: list[tuple[bool, Any]] = [(False, None)] * len(value)
    if not isinstance(old, list) or schema.get("x-kubernetes-list-type") != "map":
        return none
    keys = list(schema.get("x-kubernetes-list-map-keys") or [])

    def ident(item: Any) -> tuple[Any, ...] | None:
        if not isinstance(item, Mapping):
            return None
        return tuple(repr(item.get(k)) for k in keys)

    by_key = {ident(item): item for item in old}
    return [(ident(item) in by_key, by_key.get(ident(item))) for item in value]


def evaluate_validations(
    schema: Mapping[str, Any], obj: Any, old: Any | None = None
) -> list[FieldError]:
    """All CEL rule failures of ``obj`` under an openAPIV3Schema, with real-server paths.

    ``old`` (the stored object on update) enables transition rules and ratcheting.
    """
    return _walk(schema, obj, old, old is not None, "")
