"""Copies of JSON values, for writes that must not touch what the store holds.

The store hands its objects out shared (reads, watch events, the old side of a write), as the
real server's watch cache does, so a write works on a private copy. ``copy.deepcopy`` pays for
a memo of every node and for dispatch on arbitrary types; stored objects are plain JSON trees
(dicts, lists, immutable scalars), which :func:`deep` copies through orjson (encoded and
decoded again, compiled) in a third of the time. What orjson refuses (a YAML body's
timestamps, a subclass of str or int such as a CEL value, an integer beyond 64 bits) is copied
node by node, and what is not JSON at all still goes through ``copy.deepcopy``. The round trip
would turn a tuple into a list, an enum or a UUID into its value and a NaN into null; no
stored object holds one (bodies are decoded JSON or YAML, the server's own fields are built
as JSON), and the answers were always JSON anyway.
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
