"""CEL's ``==`` and ``!=`` on two maps or lists that hold the same JSON value, answered at once.

A ValidatingAdmissionPolicy that keeps fields unchanged compares them whole:
``object.status.conditions == oldObject.status.conditions``. cel-go compares the two converted
objects natively; celpy's ``MapType.__eq__`` and ``ListType.__eq__`` are Python code that
builds a BoolType and folds ``logical_and`` over every member, nested, which was most of the
time of such a policy. :func:`same` walks both values once and says whether they are the same
JSON value of the same CEL types all through; then ``==`` is true and ``!=`` false under both
celpy and CEL, and :func:`equality` answers so. Whatever it cannot show to be the same (1 and
1.0, ``true`` and 1, a NaN, a key order that differs, a value of any other type) goes to the
comparison itself, which decides between false and an error as before, so no answer, error or
message changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celpy import celtypes

_MapType, _ListType, _StringType = celtypes.MapType, celtypes.ListType, celtypes.StringType


def _nulls(left: Any, right: Any) -> bool:
    return True


#: the scalar types a JSON value converts to, each with the comparison of its Python base
#: (celpy's own ``__eq__`` is Python code and, for two values of the one type, says the same;
#: a double NaN is unequal to itself in both)
_SCALARS: dict[type, Callable[[Any, Any], Any]] = {
    _StringType: str.__eq__,
    celtypes.IntType: int.__eq__,
    celtypes.UintType: int.__eq__,
    celtypes.BoolType: int.__eq__,
    celtypes.DoubleType: float.__eq__,
    type(None): _nulls,
}


def equality(func: Callable[[Any, Any], Any], *, equal: bool) -> Callable[[Any, Any], Any]:
    """``func``, CEL's ``==`` (``equal``) or ``!=``, answering at once for two scalars of one
    JSON type and two maps or lists that are :func:`same`; any other operands, its own answer
    or error."""
    known, other = celtypes.BoolType(equal), celtypes.BoolType(not equal)

    def compare(left: Any, right: Any) -> Any:
        kind = type(left)
        if kind is type(right):
            scalar = _SCALARS.get(kind)
            if scalar is not None:  # two strings, ints, ...: Python's answer is CEL's
                return known if scalar(left, right) is True else other
            if (kind is _MapType or kind is _ListType) and same(left, right):
                return known
        return func(left, right)

    return compare


def same(left: Any, right: Any) -> bool:
    """Whether two CEL values are the same JSON value, of the same CEL types all through:
    maps with string keys in the same order, lists, strings, ints, uints, doubles, bools and
    nulls. False means only "not shown to be the same"."""
    kind = type(left)
    if kind is not type(right):
        return False
    if kind is _MapType:
        if len(left) != len(right):
            return False
        pairs = zip(dict.items(left), dict.items(right), strict=True)
        for (key, value), (other_key, other) in pairs:
            if not (
                type(key) is _StringType
                and type(other_key) is _StringType
                and str.__eq__(key, other_key)
                and same(value, other)
            ):
                return False
        return True
    if kind is _ListType:
        return len(left) == len(right) and all(map(same, left, right))
    equal = _SCALARS.get(kind)
    return equal is not None and equal(left, right) is True
