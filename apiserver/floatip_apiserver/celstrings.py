"""The Kubernetes CEL string and list extensions that cel-python lacks.

kube-apiserver enables cel-go's ``ext.Strings`` and its own list library for CRD rules, so
rules like ``self.name.lowerAscii() == self.name`` or ``self.ports.isSorted()`` are legal in a
CRD. These are the common ones; each follows the cel-go documentation.
"""

from __future__ import annotations

import itertools
from typing import Any

from celpy import celtypes


def _s(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"no such overload: expected string, got {type(value).__name__}")
    return str(value)


def lower_ascii(value: Any) -> celtypes.StringType:
    return celtypes.StringType("".join(c.lower() if c.isascii() else c for c in _s(value)))


def upper_ascii(value: Any) -> celtypes.StringType:
    return celtypes.StringType("".join(c.upper() if c.isascii() else c for c in _s(value)))


def trim(value: Any) -> celtypes.StringType:
    return celtypes.StringType(_s(value).strip())


def index_of(value: Any, item: Any, start: Any = 0) -> celtypes.IntType:
    if isinstance(value, list):
        return celtypes.IntType(value.index(item) if item in value else -1)
    return celtypes.IntType(_s(value).find(_s(item), int(start)))


def last_index_of(value: Any, item: Any) -> celtypes.IntType:
    if isinstance(value, list):
        hits = [i for i, v in enumerate(value) if v == item]
        return celtypes.IntType(hits[-1] if hits else -1)
    return celtypes.IntType(_s(value).rfind(_s(item)))


def substring(value: Any, start: Any, end: Any = None) -> celtypes.StringType:
    text = _s(value)
    stop = len(text) if end is None else int(end)
    if not 0 <= int(start) <= stop <= len(text):
        raise ValueError(f"index out of range: substring({start}, {stop}) of {len(text)} chars")
    return celtypes.StringType(text[int(start) : stop])


def replace(value: Any, old: Any, new: Any, count: Any = -1) -> celtypes.StringType:
    return celtypes.StringType(_s(value).replace(_s(old), _s(new), int(count)))


def split(value: Any, sep: Any) -> celtypes.ListType:
    return celtypes.ListType([celtypes.StringType(p) for p in _s(value).split(_s(sep))])


def join(value: Any, sep: Any = "") -> celtypes.StringType:
    return celtypes.StringType(_s(sep).join(_s(v) for v in value))


def is_sorted(value: Any) -> celtypes.BoolType:
    items = list(value)
    return celtypes.BoolType(all(a <= b for a, b in itertools.pairwise(items)))


def list_sum(value: Any) -> Any:
    items = list(value)
    return sum(items[1:], items[0]) if items else celtypes.IntType(0)


def list_min(value: Any) -> Any:
    if not value:
        raise ValueError("min called on an empty list")
    return min(value)


def list_max(value: Any) -> Any:
    if not value:
        raise ValueError("max called on an empty list")
    return max(value)


FUNCTIONS: dict[str, Any] = {
    "lowerAscii": lower_ascii,
    "upperAscii": upper_ascii,
    "trim": trim,
    "indexOf": index_of,
    "lastIndexOf": last_index_of,
    "substring": substring,
    "replace": replace,
    "split": split,
    "join": join,
    "isSorted": is_sorted,
    "sum": list_sum,
    "min": list_min,
    "max": list_max,
}
