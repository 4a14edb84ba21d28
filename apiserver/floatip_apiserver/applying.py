"""Server-side apply and field ownership (``metadata.managedFields``).

GitOps tools (Argo CD, Flux, ``kubectl apply --server-side``) send the fields they want with a
``fieldManager``; the server merges them in, removes fields that manager applied before and
no longer sends, and refuses (409 Conflict) to take a field another manager set to a
different value unless ``force=true``. Updates by other writers take ownership of what they
change. Lists are treated as atomic (as are all lists without list-map keys in a real CRD);
this is the subset floatip and its tests rely on.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Iterator
from typing import Any

from floatip_apiserver.status import ApiError

Path = tuple[str, ...]
_META_MANAGED = ("labels", "annotations", "finalizers")


def leaves(obj: Any, prefix: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Owned leaf paths of an object: maps recurse, everything else is one field."""
    if isinstance(obj, dict) and obj:
        for key, value in obj.items():
            if not prefix and key in ("apiVersion", "kind"):
                continue
            if prefix == ("metadata",) and key not in _META_MANAGED:
                continue
            if not prefix and key == "metadata" and isinstance(value, dict):
                yield from leaves({k: value[k] for k in value if k in _META_MANAGED}, ("metadata",))
                continue
            yield from leaves(value, (*prefix, key))
    elif prefix and prefix != ("metadata",):
        yield prefix, obj


def _lookup(obj: Any, path: Path) -> tuple[bool, Any]:
    for part in path:
        if not isinstance(obj, dict) or part not in obj:
            return False, None
        obj = obj[part]
    return True, obj


def _remove(obj: dict[str, Any], path: Path) -> None:
    parents = []
    node: Any = obj
    for part in path[:-1]:
        if not isinstance(node, dict) or part not in node:
            return
        parents.append((node, part))
        node = node[part]
    if isinstance(node, dict):
        node.pop(path[-1], None)
    for parent, part in reversed(parents):  # drop maps the removal emptied
        if parent[part] == {}:
            del parent[part]


def _deep_merge(target: dict[str, Any], applied: dict[str, Any]) -> None:
    for key, value in applied.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _encode(paths: set[Path]) -> dict[str, Any]:
    """FieldsV1: ``{"f:spec": {"f:address": {}}}``."""
    root: dict[str, Any] = {}
    for path in sorted(paths):
        node = root
        for part in path:
            node = node.setdefault(f"f:{part}", {})
    return root


def _decode(fields: Any, prefix: Path = ()) -> set[Path]:
    if not isinstance(fields, dict) or not fields:
        return {prefix} if prefix else set()
    result: set[Path] = set()
    for key, value in fields.items():
        if key.startswith("f:"):
            result |= _decode(value, (*prefix, key[2:]))
    return result


def _owners(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return list((obj.get("metadata") or {}).get("managedFields") or [])


def _entry(manager: str, operation: str, api_version: str, paths: set[Path]) -> dict[str, Any]:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": now,
        "fieldsType": "FieldsV1",
        "fieldsV1": _encode(paths),
    }


def _same_owner(entry: dict[str, Any], manager: str, operation: str, subresource: str) -> bool:
    """kube-apiserver keys managedFields entries by manager, operation and subresource.

    So one manager writing both the main resource and ``/status`` (kopf does, for its
    annotations and then the handler's status patch) gets two entries, not one merged entry.
    """
    return bool(
        entry["manager"] == manager
        and entry["operation"] == operation
        and entry.get("subresource", "") == subresource
    )


def _set_owners(  # noqa: PLR0917
    obj: dict[str, Any],
    entries: list[dict[str, Any]],
    manager: str,
    operation: str,
    api_version: str,
    paths: set[Path],
    subresource: str = "",
) -> None:
    kept = [e for e in entries if e.get("fieldsV1")]
    kept = [e for e in kept if not _same_owner(e, manager, operation, subresource)]
    if paths:
        entry = _entry(manager, operation, api_version, paths)
        if subresource:
            entry["subresource"] = subresource
        kept.append(entry)
    obj.setdefault("metadata", {})["managedFields"] = kept


def record_update(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    manager: str,
    api_version: str,
    subresource: str = "",
) -> None:
    """A non-apply write: ``manager`` takes every field whose value it changed."""
    changed = {
        path for path, value in leaves(new) if old is None or _lookup(old, path) != (True, value)
    }
    entries = _owners(old) if old is not None else []
    others = []
    mine: set[Path] = set()
    for entry in entries:
        paths = _decode(entry.get("fieldsV1"))
        if _same_owner(entry, manager, "Update", subresource):
            mine = paths
            continue
        others.append(dict(entry, fieldsV1=_encode(paths - changed)))
    present = {p for p, _ in leaves(new)}
    _set_owners(
        new, others, manager, "Update", api_version, (mine | changed) & present, subresource
    )


def server_side_apply(
    current: dict[str, Any] | None,
    applied: dict[str, Any],
    manager: str,
    force: bool,
    api_version: str,
) -> dict[str, Any]:
    """Merge an applied configuration into ``current`` for ``manager``; 409 on conflicts."""
    result = copy.deepcopy(current) if current is not None else {}
    entries = _owners(result)
    wanted = {path: value for path, value in leaves(applied)}
    previous: set[Path] = set()
    conflicts: list[tuple[str, Path]] = []
    others = []
    for entry in entries:
        paths = _decode(entry.get("fieldsV1"))
        if _same_owner(entry, manager, "Apply", ""):
            previous = paths
            continue
        for path in paths & set(wanted):
            if _lookup(result, path) != (True, wanted[path]):
                conflicts.append((str(entry["manager"]), path))
        others.append((entry, paths))
    if conflicts and not force:
        lines = [f'conflict with "{owner}": .{".".join(path)}' for owner, path in sorted(conflicts)]
        raise ApiError(
            409,
            "Conflict",
            f"Apply failed with {len(conflicts)} conflict{'s' if len(conflicts) > 1 else ''}: "
            + "; ".join(lines),
            {
                "causes": [
                    {
                        "reason": "FieldManagerConflict",
                        "message": line,
                        "field": "." + ".".join(path),
                    }
                    for line, (_, path) in zip(lines, sorted(conflicts), strict=True)
                ]
            },
        )
    owned_by_others = set().union(*(paths for _, paths in others)) if others else set()
    for path in previous - set(wanted) - owned_by_others:
        _remove(result, path)
    _deep_merge(result, {k: v for k, v in applied.items() if k != "metadata"})
    meta = applied.get("metadata") or {}
    target_meta = result.setdefault("metadata", {})
    for key in ("name", "namespace", "generateName"):
        if key in meta:
            target_meta[key] = meta[key]
    _deep_merge(target_meta, {k: meta[k] for k in _META_MANAGED if k in meta})
    kept = [dict(e, fieldsV1=_encode(p - set(wanted) if force else p)) for e, p in others]
    _set_owners(result, kept, manager, "Apply", api_version, set(wanted))
    return result
