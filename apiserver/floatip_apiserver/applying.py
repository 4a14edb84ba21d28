"""Server-side apply and field ownership (``metadata.managedFields``), as structured-merge-diff.

GitOps tools (Argo CD, Flux, ``kubectl apply --server-side``) send the fields they want with a
``fieldManager``. As k8s.io/apimachinery's fieldmanager does (Updater.Apply and Update):

* The applied configuration is merged into the live object (:func:`fieldsets.merge`) and the
  applier then owns exactly the fields it sent.
* Fields it applied last time and no longer sends are removed, unless another manager owns
  them too: two managers applying the same value share the field (each has it in its entry),
  so when one drops it, it stays, owned by the other.
* A manager owning a field the apply changes (or adds) is a conflict: 409 naming each manager
  and field, in the real message, unless ``force``, which takes those fields (only those) from
  them. Fields removed from the object are removed from every entry.
* Any other write (an Update) takes the fields it changed from everyone, without conflicts.

Entries are keyed by manager, operation and subresource. With a status subresource, main-
resource writes own no status field and ``/status`` writes only status fields. Lists are
atomic unless the schema says ``x-kubernetes-list-type: map`` or ``set`` (kinds without a
schema: always atomic); see :mod:`fieldsets`.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from floatip_apiserver import fieldsets
from floatip_apiserver.fieldsets import Path
from floatip_apiserver.resources import Resource
from floatip_apiserver.status import ApiError


def _view(obj: dict[str, Any] | None, res: Resource, subresource: str) -> dict[str, Any]:
    """The part of an object ownership is about (identity and server fields left out)."""
    out: dict[str, Any] = {}
    for key, value in (obj or {}).items():
        if key in ("apiVersion", "kind"):
            continue
        if key == "metadata":
            owned = fieldsets.METADATA["properties"]
            meta = {k: v for k, v in (value or {}).items() if k in owned}
            if meta:
                out["metadata"] = meta
            continue
        if res.status and (key == "status") != (subresource == "status"):
            continue  # the status subresource splits who may own what
        out[key] = value
    return out


def _schema(res: Resource, view: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = (
        dict(res.schema.get("properties") or {}) if res.schema else dict.fromkeys(view)
    )
    props["metadata"] = fieldsets.METADATA
    return {"type": "object", "properties": props}


def _members(obj: dict[str, Any] | None, res: Resource, subresource: str) -> set[Path]:
    view = _view(obj, res, subresource)
    return {path for path, _, _ in fieldsets.members(view, _schema(res, view))}


def _entries(obj: dict[str, Any] | None) -> list[dict[str, Any]]:
    return list(((obj or {}).get("metadata") or {}).get("managedFields") or [])


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


def _store(  # noqa: PLR0917
    obj: dict[str, Any],
    before: dict[str, Any] | None,
    owners: Mapping[int, AbstractSet[Path]],
    manager: str,
    operation: str,
    api_version: str,
    subresource: str,
    paths: AbstractSet[Path],
    decoded: tuple[AbstractSet[Path], Mapping[int, AbstractSet[Path]]] | None = None,
) -> None:
    """Write the entries back in their order: ``owners`` (index -> fields) for the old ones,
    ``paths`` for the writer's. Emptied entries go; an entry keeps its time unless its fields
    changed (so writing the same again changes nothing), as the real fieldmanager does.

    ``decoded``: (the writer's, everyone else's) fields as the entries of ``before`` hold them;
    an entry whose fields did not change is kept as it is instead of encoded again (entries are
    only ever written by :func:`fieldsets.encode`, so encoding the same fields gives the same)."""
    entries = []
    mine_written = False
    mine_before, others_before = decoded if decoded is not None else (None, {})
    for index, entry in enumerate(_entries(before)):
        if _same_owner(entry, manager, operation, subresource):
            mine_written = True
            if paths and paths == mine_before:
                entries.append(entry)
            elif paths:
                entries.append(_entry(entry, manager, operation, api_version, subresource, paths))
        elif owners[index] and owners[index] == others_before.get(index):
            entries.append(entry)
        elif owners[index]:
            entries.append(dict(entry, fieldsV1=fieldsets.encode(owners[index])))
    if not mine_written and paths:
        entries.append(_entry(None, manager, operation, api_version, subresource, paths))
    obj.setdefault("metadata", {})["managedFields"] = entries


def _entry(  # noqa: PLR0917
    previous: dict[str, Any] | None,
    manager: str,
    operation: str,
    api_version: str,
    subresource: str,
    paths: AbstractSet[Path],
) -> dict[str, Any]:
    fields = fieldsets.encode(paths)
    if previous is not None and previous.get("fieldsV1") == fields:
        return previous
    entry = {
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    }
    if subresource:
        entry["subresource"] = subresource
    return entry


def _split(
    obj: dict[str, Any] | None, manager: str, operation: str, subresource: str
) -> tuple[AbstractSet[Path], dict[int, AbstractSet[Path]], list[dict[str, Any]]]:
    """(the writer's own fields, {index: fields} of everyone else's entries, the entries)."""
    mine: AbstractSet[Path] = frozenset()
    others: dict[int, AbstractSet[Path]] = {}
    entries = _entries(obj)
    for index, entry in enumerate(entries):
        paths = fieldsets.decode(entry.get("fieldsV1"))
        if _same_owner(entry, manager, operation, subresource):
            mine = paths
        else:
            others[index] = paths
    return mine, others, entries


def record_update(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    manager: str,
    res: Resource,
    subresource: str = "",
) -> None:
    """A write that is not an apply: ``manager`` takes every field it added or changed."""
    view_old, view_new = _view(old, res, subresource), _view(new, res, subresource)
    added, modified, removed = fieldsets.compare(view_old, view_new, _schema(res, view_new))
    mine, others, _ = _split(old, manager, "Update", subresource)
    changed = added | modified | removed
    taken = {i: p - changed if p & changed else p for i, p in others.items()}
    owned = (mine - removed) | added | modified
    decoded = (mine, others)
    _store(new, old, taken, manager, "Update", res.api_version, subresource, owned, decoded)


def _who(entry: dict[str, Any]) -> str:
    """How the real conflict message names a manager (printManager)."""
    name = json.dumps(entry["manager"])
    if entry.get("subresource"):
        name += f" with subresource {json.dumps(entry['subresource'])}"
    if entry["operation"] == "Update":
        name += f" using {entry.get('apiVersion')}"
        if entry.get("time"):
            name += f" at {entry['time']}"
    return name


def _path_string(path: Path) -> str:
    """fieldpath.Path.String: ``.spec.address``, ``.status.conditions[type="Ready"]``."""
    parts = []
    for element in path:
        kind, body = element[:2], element[2:]
        if kind == "f:":
            parts.append(f".{body}")
        elif kind == "k:":
            keys = json.loads(body)
            parts.append("[" + ",".join(f"{k}={json.dumps(v)}" for k, v in keys.items()) + "]")
        elif kind == "v:":
            parts.append(f"[={json.dumps(json.loads(body))}]")
        else:
            parts.append(f"[{body}]")
    return "".join(parts)


def conflict_error(conflicts: list[tuple[dict[str, Any], Path]]) -> ApiError:
    """409 Conflict worded as fieldmanager's NewConflictError."""
    causes = [
        {
            "reason": "FieldManagerConflict",
            "message": f"conflict with {_who(e)}",
            "field": _path_string(p),
        }
        for e, p in conflicts
    ]
    if len(conflicts) == 1:
        entry, path = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {_who(entry)}: {_path_string(path)}"
    else:
        by_manager: dict[str, list[str]] = {}
        for entry, path in conflicts:
            by_manager.setdefault(_who(entry), []).append(_path_string(path))
        lines = []
        for who in sorted(by_manager):
            lines.append(f"conflicts with {who}:")
            lines += [f"- {p}" for p in by_manager[who]]
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return ApiError(409, "Conflict", message, {"causes": causes})


def server_side_apply(
    current: dict[str, Any] | None,
    applied: dict[str, Any],
    *,
    manager: str,
    force: bool,
    res: Resource,
    subresource: str = "",
) -> dict[str, Any]:
    """``applied`` merged into ``current`` for ``manager``, with managedFields; 409 on conflicts."""
    live = _view(current, res, subresource)
    config = _view(applied, res, subresource)
    schema = _schema(res, {**live, **config})
    wanted = {path for path, _, _ in fieldsets.members(config, schema)}
    last, others, entries = _split(current, manager, "Apply", subresource)
    merged = fieldsets.merge(live, config, schema)
    kept = wanted.union(*others.values())
    for path in sorted(last - kept, key=len, reverse=True):  # no longer applied, nobody's
        if not any(owned[: len(path)] == path for owned in kept):
            fieldsets.remove(merged, path)
    added, modified, removed = fieldsets.compare(live, merged, schema)
    changed = added | modified
    conflicts = [(entries[i], p) for i, paths in others.items() for p in sorted(paths & changed)]
    if conflicts and not force:
        raise conflict_error(conflicts)
    result = dict(current or {})
    result.update({k: v for k, v in merged.items() if k != "metadata"})
    for key in [k for k in live if k not in merged and k != "metadata"]:
        result.pop(key, None)
    meta = {**(result.get("metadata") or {})}
    for key in fieldsets.METADATA["properties"]:
        meta.pop(key, None)
    meta.update(merged.get("metadata") or {})
    for key in ("name", "namespace", "generateName"):
        if key in (applied.get("metadata") or {}):
            meta[key] = applied["metadata"][key]
    result["metadata"] = meta
    result["apiVersion"], result["kind"] = applied.get("apiVersion"), applied.get("kind")
    taken = {i: p - changed - removed for i, p in others.items()}
    _store(result, current, taken, manager, "Apply", res.api_version, subresource, wanted)
    return result
