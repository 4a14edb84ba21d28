"""Turning VirtualIP objects into the plugin's tables: pure, so every column is unit-tested."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

CONDITION_ORDER = ("Ready", "Assigned", "Announced", "Conflict", "HealthCheck")


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Left-aligned columns separated by three spaces, like kubectl's own tables."""
    rows = [list(headers), *(list(r) for r in rows)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]
    return "\n".join(
        "   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _conditions(status: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {c.get("type", ""): c for c in status.get("conditions") or () if isinstance(c, Mapping)}


def condition_summary(status: Mapping[str, Any]) -> str:
    """``Assigned=True Announced=False(NotYet) ...`` in a fixed order, reasons where not True."""
    conditions = _conditions(status)
    parts = []
    for kind in CONDITION_ORDER:
        condition = conditions.get(kind)
        if condition is None:
            continue
        value = str(condition.get("status", "Unknown"))
        healthy = value == "False" if kind == "Conflict" else value == "True"
        reason = "" if healthy else f"({condition.get('reason', '')})"
        parts.append(f"{kind}={value}{reason}")
    return " ".join(parts) or "-"


def last_move(status: Mapping[str, Any]) -> str:
    history = status.get("history") or []
    if not history:
        return "-"
    move = history[-1]
    route = f"{move.get('from') or '-'}->{move.get('to') or '-'}"
    return f"{route} {move.get('reason', '')} {move.get('time', '')}"


def status_rows(objects: Iterable[Mapping[str, Any]]) -> list[list[str]]:
    rows = []
    for obj in sorted(objects, key=lambda o: o["metadata"]["name"]):
        status = obj.get("status") or {}
        ready = _conditions(status).get("Ready", {}).get("status", "Unknown")
        rows.append(
            [
                obj["metadata"]["name"],
                str(obj.get("spec", {}).get("address", "")),
                str(status.get("holder") or "-"),
                str(ready),
                str(status.get("epoch", 0)),
                condition_summary(status),
                last_move(status),
            ]
        )
    return rows


STATUS_HEADERS = ("NAME", "ADDRESS", "NODE", "READY", "EPOCH", "CONDITIONS", "LAST MOVE")
HISTORY_HEADERS = ("TIME", "FROM", "TO", "REASON", "EPOCH")


def history_rows(obj: Mapping[str, Any]) -> list[list[str]]:
    history = (obj.get("status") or {}).get("history") or []
    return [
        [
            str(m.get("time", "")),
            str(m.get("from") or "-"),
            str(m.get("to") or "-"),
            str(m.get("reason", "")),
            str(m.get("epoch", "")),
        ]
        for m in history
    ]
