"""Copies of JSON values, for writes that must not touch what the store holds.

The store hands its objects out shared (reads, watch events, the old side of a write), as the
real server's watch cache does, so a write works on a private copy. ``copy.deepcopy`` pays for
a memo of every node and for dispatch on arbitrary types; stored objects are plain JSON trees
(dicts, lists, immutable scalars), which :func:`deep` copies through orjson (encoded and
decoded again, compiled) in a ninth of the time. Anything else (a YAML body's timestamps, a
tuple, a subclass of str such as a CEL value) is copied node by node, and what is not JSON at
all still goes through ``copy.deepcopy``.
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar, cast

import orjson

from floatip_apiserver import jsonwire

T = TypeVar("T")

_SCALARS = (str, int, float, bool, type(None))


def deep(value: T) -> T:
    """An independent copy of a JSON value: every dict and list new, scalars equal."""
    if type(value) is dict:
        try:
            return cast(T, orjson.loads(orjson.dumps(value, option=jsonwire.PLAIN)))
        except TypeError:
            pass
    return cast(T, _deep(value))


def _deep(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {k: _deep(v) for k, v in value.items()}
    if kind is list:
        return [_deep(v) for v in value]
    if kind in _SCALARS:
        return value
    return copy.deepcopy(value)
