"""Field sets of objects, as structured-merge-diff sees them: what server-side apply owns.

A path is a tuple of serialized path elements, the spelling of ``managedFields.fieldsV1``:
``f:NAME`` for a field, ``k:{"type":"Ready"}`` for an item of a list keyed by
``x-kubernetes-list-map-keys``, ``v:"node1"`` for an item of an ``x-kubernetes-list-type:
set``. Other lists (``atomic``, the default of a CRD, and every list of a kind without a
schema) and ``x-kubernetes-map-type: atomic`` maps are owned whole, as one field. Like
typed.ToFieldSet, an object's set holds its scalars, its atomic values, each keyed or set list
item itself, empty maps, and the keys of maps that are not declared properties.

:func:`merge` is typed.Merge: maps merged key by key, keyed and set lists item by item in
structured-merge-diff's order (the applied order for shared items, live-only items kept in
place), everything else replaced.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from floatip_apiserver import identity, jsoncopy, jsonwire

Path = tuple[str, ...]
Schema = Mapping[str, Any] | None

# metadata fields apply may own, with the list types ObjectMeta declares
METADATA: Mapping[str, Any] = {
    "type": "object",
    "properties": {
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "x-kubernetes-list-type": "set"},
        "ownerReferences": {
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["uid"],
        },
    },
}


def child_schema(schema: Schema, key: str) -> Schema:
    if schema is None:
        return None
    props = schema.get("properties") or {}
    if key in props:
        return props[key]  # type: ignore[no-any-return]
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, Mapping) else None


def _declared(schema: Schema, key: str) -> bool:
    """A struct field (owned through its leaves), not a map key (owned itself too)."""
    return schema is None or key in (schema.get("properties") or {})


def list_type(schema: Schema) -> str:
    return str((schema or {}).get("x-kubernetes-list-type", "atomic"))


def _atomic_map(schema: Schema) -> bool:
    return (schema or {}).get("x-kubernetes-map-type") == "atomic"


def item_element(schema: Schema, item: Any) -> str:
    """The path element of one item of a keyed or set list."""
    if list_type(schema) == "map":
        keys = sorted((schema or {}).get("x-kubernetes-list-map-keys") or [])
        fields = {k: item.get(k) for k in keys if isinstance(item, dict) and k in item}
        return "k:" + json.dumps(fields, separators=(",", ":"))
    return "v:" + json.dumps(item, separators=(",", ":"), sort_keys=True)


def members(obj: Any, schema: Schema, prefix: Path = ()) -> Iterator[tuple[Path, bool, Any]]:
    """(path, is a leaf, value) of each member of ``obj``'s field set."""
    for path, (leaf, value) in member_map(obj, schema, prefix).items():
        yield path, leaf, value


def member_map(obj: Any, schema: Schema, prefix: Path = ()) -> dict[Path, tuple[bool, Any]]:
    """{path: (is a leaf, value)} of each member: one walk filling one dict (what
    :func:`compare` needs twice per write), with each node's schema looked up once."""
    out: dict[Path, tuple[bool, Any]] = {}
    _collect(obj, schema, prefix, out)
    return out


def _collect(obj: Any, schema: Schema, prefix: Path, out: dict[Path, tuple[bool, Any]]) -> None:
    if isinstance(obj, dict) and not _atomic_map(schema):
        props: Mapping[str, Any] = (schema.get("properties") or {}) if schema is not None else {}
        extra = schema.get("additionalProperties") if schema is not None else None
        extra_schema = extra if isinstance(extra, Mapping) else None
        for key, value in obj.items():
            path = (*prefix, f"f:{key}")
            declared = schema is None or key in props
            sub = None if schema is None else props.get(key, extra_schema)
            empty = value is None or value == {}
            if empty or not declared:
                out[path] = (not isinstance(value, dict | list) or empty, value)
            if not empty:
                _collect(value, sub, path, out)
        return
    kind = list_type(schema) if isinstance(obj, list) else ""
    if kind in ("map", "set"):
        items = (schema or {}).get("items")
        seen: set[str] = set()
        for item in obj:
            element = item_element(schema, item)
            if element in seen:
                continue  # a repeated item: the first one counts
            seen.add(element)
            path = (*prefix, element)
            out[path] = (kind == "set", item)
            if kind == "map":
                _collect(item, items, path, out)
        return
    if prefix:
        out[prefix] = (True, obj)


def _differing(  # noqa: PLR0917
    old: Any,
    new: Any,
    schema: Schema,
    prefix: Path,
    before: dict[Path, tuple[bool, Any]],
    after: dict[Path, tuple[bool, Any]],
) -> None:
    """The members of ``old`` and ``new`` (as `member_map` finds them) in the subtrees that are
    not equal: a map's keys are members independently of each other, so equal values are
    skipped and only two non-empty declared maps are compared further, key by key. Equal is
    `jsonwire.identical`: Python's ``False == 0`` would hide a changed set item's path."""
    if old is new or jsonwire.identical(old, new):
        return
    if (
        isinstance(old, list)
        and isinstance(new, list)
        and list_type(schema) == "map"
        and _differing_items(old, new, schema, prefix, before, after)
    ):
        return
    if not (isinstance(old, dict) and isinstance(new, dict)) or _atomic_map(schema):
        _collect(old, schema, prefix, before)
        _collect(new, schema, prefix, after)
        return
    for key in old.keys() | new.keys():
        was, now = old.get(key, _ABSENT), new.get(key, _ABSENT)
        if was is now or (
            was is not _ABSENT and now is not _ABSENT and jsonwire.identical(was, now)
        ):
            continue
        if (
            isinstance(was, dict)
            and isinstance(now, dict)
            and was
            and now
            and _declared(schema, key)
        ):
            path = (*prefix, f"f:{key}")
            _differing(was, now, child_schema(schema, key), path, before, after)
            continue
        if was is not _ABSENT:
            _collect({key: was}, schema, prefix, before)
        if now is not _ABSENT:
            _collect({key: now}, schema, prefix, after)


_ABSENT = object()


def _differing_items(  # noqa: PLR0917
    old: list[Any],
    new: list[Any],
    schema: Schema,
    prefix: Path,
    before: dict[Path, tuple[bool, Any]],
    after: dict[Path, tuple[bool, Any]],
) -> bool:
    """`_differing` for a keyed list (``x-kubernetes-list-type: map``) of maps with distinct
    keys: an item on both sides is a member on both (never a leaf), so only what differs
    inside it counts; the others are collected whole. False (nothing done) for any other list,
    which `_collect` takes as it is."""
    if not all(isinstance(item, dict) for item in (*old, *new)):
        return False
    olds = {item_element(schema, item): item for item in old}
    news = {item_element(schema, item): item for item in new}
    if len(olds) != len(old) or len(news) != len(new):
        return False  # a repeated key: the first item counts, as `_collect` decides
    items = (schema or {}).get("items")
    for element in olds.keys() | news.keys():
        path = (*prefix, element)
        was, now = olds.get(element, _ABSENT), news.get(element, _ABSENT)
        if was is not _ABSENT and now is not _ABSENT:
            _differing(was, now, items, path, before, after)
            continue
        for item, out in ((was, before), (now, after)):
            if item is not _ABSENT:
                out[path] = (False, item)
                _collect(item, items, path, out)
    return True


def encode(paths: AbstractSet[Path]) -> dict[str, Any]:
    """FieldsV1: ``{"f:spec": {"f:address": {}}}``; ``"."`` marks a member with children.

    The same set always encodes to the same entry, so it is built once (`_encoded`) and shared
    by every object that holds it: stored objects are never changed in place (a write copies
    what it changes)."""
    return _encoded(frozenset(paths))


ENTRIES_KEPT = 4096  # sets of paths whose entry is kept, and entries whose paths are

#: each entry `_encoded` built -> its paths (`decode` of an entry this server wrote: a lookup)
_DECODED: identity.Cache[dict[str, Any], frozenset[Path]] = identity.Cache(ENTRIES_KEPT)


@functools.lru_cache(maxsize=ENTRIES_KEPT)
def _encoded(paths: frozenset[Path]) -> dict[str, Any]:
    fields = _build(paths)
    _DECODED.put(fields, paths)
    return fields


def _build(paths: AbstractSet[Path]) -> dict[str, Any]:
    """FieldsV1: ``{"f:spec": {"f:address": {}}}``; ``"."`` marks a member with children."""
    root: dict[str, Any] = {}
    for path in sorted(paths):
        node = root
        for element in path:
            node = node.setdefault(element, {})
        node.setdefault("\x00member", True)
    return _finish(root)


def _finish(node: dict[str, Any]) -> dict[str, Any]:
    member = node.pop("\x00member", False)
    out = {key: _finish(child) for key, child in node.items()}
    if member and out:
        out = {".": {}, **out}
    return out


def decode(fields: Any) -> frozenset[Path]:
    """The paths a FieldsV1 entry holds."""
    known = _DECODED.get(fields)
    return known if known is not None else frozenset(_decode(fields, ()))


def _decode(fields: Any, prefix: Path) -> set[Path]:
    if not isinstance(fields, dict) or not fields:
        return {prefix} if prefix else set()
    result: set[Path] = set()
    for key, value in fields.items():
        if key == ".":
            result.add(prefix)
        elif key[:2] in ("f:", "k:", "v:", "i:"):
            result |= _decode(value, (*prefix, key))
    return result


def _find(node: Any, element: str) -> tuple[bool, Any]:
    """The child of ``node`` at one path element."""
    kind, body = element[:2], element[2:]
    if kind == "f:":
        return (True, node[body]) if isinstance(node, dict) and body in node else (False, None)
    if not isinstance(node, list):
        return False, None
    if kind == "i:":
        index = int(body)
        return (True, node[index]) if index < len(node) else (False, None)
    want = json.loads(body)
    for item in node:
        if kind == "v:" and item == want:
            return True, item
        if (
            kind == "k:"
            and isinstance(item, dict)
            and all(item.get(k) == v for k, v in want.items())
        ):
            return True, item
    return False, None


def lookup(obj: Any, path: Path) -> tuple[bool, Any]:
    for element in path:
        found, obj = _find(obj, element)
        if not found:
            return False, None
    return True, obj


def remove(obj: dict[str, Any], path: Path) -> None:
    """Remove the field or list item at ``path``, and the maps and lists that leaves empty."""
    chain = [obj]
    for element in path[:-1]:
        found, node = _find(chain[-1], element)
        if not found:
            return
        chain.append(node)
    found, target = _find(chain[-1], path[-1])
    if not found:
        return
    parent = chain[-1]
    if isinstance(parent, dict):
        parent.pop(path[-1][2:], None)
    else:
        parent.remove(target)
    for depth in range(len(chain) - 1, 0, -1):  # drop containers the removal emptied
        if chain[depth] in ({}, []):
            holder, element = chain[depth - 1], path[depth - 1]
            if isinstance(holder, dict):
                holder.pop(element[2:], None)
            else:
                holder.remove(chain[depth])


def merge(live: Any, applied: Any, schema: Schema) -> Any:
    """``applied`` merged into ``live`` (neither is changed)."""
    if isinstance(live, dict) and isinstance(applied, dict) and not _atomic_map(schema):
        out = dict(live)
        for key, value in applied.items():
            sub = child_schema(schema, key)
            out[key] = merge(live[key], value, sub) if key in live else jsoncopy.deep(value)
        return out
    if isinstance(live, list) and isinstance(applied, list) and list_type(schema) in ("map", "set"):
        return _merge_items(live, applied, schema)
    return jsoncopy.deep(applied)


def _merge_items(lhs: list[Any], rhs: list[Any], schema: Schema) -> list[Any]:
    """typed/merge.go visitListItems: shared items in applied order, live-only ones in place."""
    items = (schema or {}).get("items")
    lpe = [item_element(schema, x) for x in lhs]
    rpe = [item_element(schema, x) for x in rhs]
    left, right = (
        dict(zip(reversed(lpe), reversed(lhs), strict=True)),
        dict(zip(rpe, rhs, strict=True)),
    )
    shared = [pe for pe in rpe if pe in left]
    upcoming = shared.pop(0) if shared else None
    merged: set[str] = set()
    out: list[Any] = []

    def take(pe: str) -> None:
        merged.add(pe)
        out.append(merge(left[pe], right[pe], items) if pe in left else jsoncopy.deep(right[pe]))

    li = ri = 0
    while li < len(lpe) or ri < len(rpe):
        if li < len(lpe) and ri < len(rpe):
            if lpe[li] == rpe[ri]:
                take(lpe[li])
                li, ri = li + 1, ri + 1
                upcoming = shared.pop(0) if shared else None
                continue
            if lpe[li] in right and upcoming is not None and upcoming != lpe[li]:
                li += 1
                continue
        if li < len(lpe):
            if lpe[li] not in right:
                out.append(jsoncopy.deep(lhs[li]))
                li += 1
                continue
            if lpe[li] in merged:
                li += 1
        if ri < len(rpe):
            take(rpe[ri])
            if upcoming is not None and upcoming == rpe[ri]:
                upcoming = shared.pop(0) if shared else None
            ri += 1
    return out


def compare(old: Any, new: Any, schema: Schema) -> tuple[set[Path], set[Path], set[Path]]:
    """(added, modified, removed) paths from ``old`` to ``new``, as typed.Compare reports.

    Only the parts that differ are walked (`_differing`): an equal subtree has the same
    members with the same values on both sides, so it adds, modifies and removes nothing. A
    status write changes a few fields of an object whose other fields it leaves alone."""
    before: dict[Path, tuple[bool, Any]] = {}
    after: dict[Path, tuple[bool, Any]] = {}
    _differing(old, new, schema, (), before, after)
    added = set(after) - set(before)
    removed = set(before) - set(after)
    modified = {
        path
        for path in set(after) & set(before)
        if (after[path][0] and before[path][0] and after[path][1] != before[path][1])
        or after[path][0] != before[path][0]
    }
    return added, modified, removed
