"""Server-side printing: ``Accept: application/json;as=Table`` answers with a meta.k8s.io Table.

``kubectl get`` asks for tables and prints the server's columns, so a CRD's
``additionalPrinterColumns`` (ADDRESS NODE READY AGE for VirtualIPs, EPOCH with -o wide) only
appear if the server renders them. Columns are evaluated with the small JSONPath subset CRDs
use: ``.a.b``, ``[0]``, ``['k']``, ``[*]`` and ``[?(@.type=="Ready")]`` filters.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from floatip_apiserver.resources import Resource

_TOKEN = re.compile(
    r"\.([A-Za-z0-9_-]+)|\[(\d+)\]|\['([^']*)'\]|\[\*\]|\[\?\(@\.([A-Za-z0-9_.-]+)\s*==\s*"
    r"(?:\"([^\"]*)\"|'([^']*)')\)\]"
)


@functools.lru_cache(maxsize=1024)
def _steps(path: str) -> tuple[tuple[str | None, ...], ...]:
    """A JSONPath parsed once (the real server compiles a CRD's printer columns once too)."""
    text = path.strip().removeprefix("{").removesuffix("}").removeprefix("$")
    return tuple(match.groups() for match in _TOKEN.finditer(text))


def jsonpath(obj: Any, path: str) -> list[Any]:
    """Evaluate a CRD printer-column JSONPath; returns every match."""
    current = [obj]
    for field, idx, quoted, filter_key, fv1, fv2 in _steps(path):
        nxt: list[Any] = []
        for value in current:
            if field is not None or quoted is not None:
                name = field if field is not None else quoted
                if isinstance(value, Mapping) and name in value:
                    nxt.append(value[name])
            elif idx is not None:
                if isinstance(value, list) and int(idx) < len(value):
                    nxt.append(value[int(idx)])
            elif filter_key is not None:
                want = fv1 if fv1 is not None else fv2
                for item in value if isinstance(value, list) else []:
                    got = jsonpath(item, "." + filter_key)
                    if got and str(got[0]) == want:
                        nxt.append(item)
            elif isinstance(value, list):
                nxt.extend(value)
            elif isinstance(value, Mapping):
                nxt.extend(value.values())
        current = nxt
    return current


def human_age(timestamp: str | None, now: datetime.datetime | None = None) -> str:
    """``duration.HumanDuration`` as kubectl prints ages: 45s, 3m, 2d."""
    if not timestamp:
        return "<unknown>"
    then = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    seconds = int(((now or datetime.datetime.now(datetime.UTC)) - then).total_seconds())
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h"
    return f"{hours // 24}d"


@dataclasses.dataclass(frozen=True)
class Printer:
    """How one built-in kind prints, as kube-apiserver's ``pkg/printers`` prints it.

    Built-in kinds compute their cells in code (PORT(S) of a Service, READY of a Pod), so they
    cannot be JSONPath columns. ``columns`` are whole column definitions, Name included where
    the kind has one (Events put it last, at priority 1); ``cells`` gives a row's cells.
    """

    columns: tuple[Mapping[str, Any], ...]
    cells: Callable[[Mapping[str, Any]], list[Any]]


#: (group, plural) -> Printer; filled by :mod:`floatip_apiserver.kinds` when it is imported.
PRINTERS: dict[tuple[str, str], Printer] = {}


def _printer(res: Resource) -> Printer | None:
    return PRINTERS.get((res.group, res.plural)) if res.crd is None else None


def _columns(res: Resource) -> list[Mapping[str, Any]]:
    if res.columns:
        return list(res.columns)
    return [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]


def _cell(obj: Mapping[str, Any], column: Mapping[str, Any]) -> Any:
    values = jsonpath(obj, str(column.get("jsonPath", "")))
    if not values:
        return None
    value = values[0]
    if column.get("type") == "date":
        return human_age(str(value))
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, separators=(",", ":"))
    return value


def column_definitions(res: Resource) -> list[dict[str, Any]]:
    if (printer := _printer(res)) is not None:
        return [dict(column) for column in printer.columns]
    defs = [
        {
            "name": "Name",
            "type": "string",
            "format": "name",
            "priority": 0,
            "description": "Name must be unique within a namespace.",
        }
    ]
    for column in _columns(res):
        defs.append(
            {
                "name": column["name"],
                "type": "string" if column.get("type") == "date" else column.get("type", "string"),
                "format": column.get("format", ""),
                "description": column.get("description", ""),
                "priority": int(column.get("priority", 0)),
            }
        )
    return defs


def row(res: Resource, obj: Mapping[str, Any], include: str) -> dict[str, Any]:
    printer = _printer(res)
    if printer is not None:
        cells = printer.cells(obj)
    else:
        cells = [obj["metadata"]["name"], *(_cell(obj, c) for c in _columns(res))]
    if include == "None":
        embedded: Any = None
    elif include == "Object":
        embedded = obj
    else:
        embedded = {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj["metadata"],
        }
    return {"cells": cells, "object": embedded}


def table(
    res: Resource,
    objects: Sequence[Mapping[str, Any]],
    include: str,
    list_meta: dict[str, Any],
    with_columns: bool = True,
) -> dict[str, Any]:
    """A meta.k8s.io/v1 Table of ``objects``."""
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": column_definitions(res) if with_columns else [],
        "rows": [row(res, obj, include) for obj in objects],
    }


def wants_table(accept: str) -> bool:
    """True when the first acceptable media type asks ``as=Table``."""
    first = accept.split(",", maxsplit=1)[0]
    return "as=Table" in first
