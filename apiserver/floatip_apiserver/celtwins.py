"""Convert an update's object to CEL sharing what it has in common with the old one.

An update's ``object`` and ``oldObject`` are two JSON trees that mostly hold the same values:
an agent's status write changes its announcement, and its conditions and history stay as they
were. cel-go wraps both lazily and never converts what an expression only compares; this
server converts each to celpy's values, member by member, which was a third of the time of a
ValidatingAdmissionPolicy on such writes. :func:`like` converts the one the way
:func:`cel.to_cel` does, except that a member that is the same JSON value as the other's (same
key, same types, same key order: :func:`jsonwire.identical`) is the other's converted member itself.
CEL values are immutable, and the two conversions would be equal value for value and type for
type, so no expression can tell the difference (``==`` between them is still decided on their
members: a NaN stays unequal to itself).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celpy import celtypes

from floatip_apiserver import cel, jsonwire

_MapType = celtypes.MapType
_item: Callable[[Any, str], Any] = dict.__getitem__


def like(value: Any, other: Any, converted: Any) -> Any:
    """``cel.to_cel(value)``, sharing the members of ``converted`` (``cel.to_cel(other)``)
    whose raw values in ``other`` are identical to ``value``'s."""
    if type(value) is not dict or type(other) is not dict or type(converted) is not _MapType:
        return cel.to_cel(value)
    if not all(type(key) is str for key in value):
        return cel.to_cel(value)  # not JSON: the general rules
    items = {}
    for key, member in value.items():
        if key not in other:
            items[key] = cel.to_cel(member)
            continue
        twin, shared = other[key], _item(converted, key)
        if member is twin or jsonwire.identical(member, twin):
            items[key] = shared
        else:
            items[key] = like(member, twin, shared)
    return _map(items)


def _map(items: dict[str, Any]) -> celtypes.MapType:
    """The MapType ``cel.to_cel`` builds for these (already converted) members."""
    result = _MapType()
    dict.update(result, {celtypes.StringType(k): v for k, v in items.items()})
    return result
