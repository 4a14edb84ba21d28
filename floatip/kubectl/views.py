"""Turning VirtualIP objects into the plugin's tables: pure, so every column is unit-tested.

Statuses are read typed and leniently through `floatip.api.status`, the same reader the
operator's and the agent's code use: a field or list item that does not fit the schema is
left out of the table, never a crash.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from floatip.api import model, services, status

CONDITION_ORDER = tuple(model.ConditionType)


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Left-aligned columns separated by three spaces, like kubectl's own tables."""
    rows = [list(headers), *(list(r) for r in rows)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]
    return "\n".join(
        "   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def condition_summary(current: model.VirtualIPStatus) -> str:
    """``Ready=True Announced=False(Pending) ...`` in a fixed order, reasons where unhealthy;
    a conflict names the foreign MAC and since when it claims the address."""
    found = {c.type: c for c in current.conditions}
    parts = []
    for kind in CONDITION_ORDER:
        condition = found.get(kind.value)
        if condition is None:
            continue
        value = condition.status
        if kind is model.ConditionType.CONFLICT:
            healthy = value is model.ConditionStatus.FALSE
        else:
            healthy = value is model.ConditionStatus.TRUE
        reason = "" if healthy else f"({condition.reason})"
        if kind is model.ConditionType.CONFLICT and current.conflict and not healthy:
            reason = (
                f"({condition.reason} by {current.conflict.mac} since {current.conflict.since})"
            )
        parts.append(f"{kind.value}={value.value}{reason}")
    return " ".join(parts) or "-"


def last_move(current: model.VirtualIPStatus) -> str:
    if not current.history:
        return "-"
    move = current.history[-1]
    return f"{move.from_ or '-'}->{move.to or '-'} {move.reason} {move.time}"


def ready(current: model.VirtualIPStatus) -> str:
    found = {c.type: c for c in current.conditions}
    condition = found.get(model.ConditionType.READY.value)
    return condition.status.value if condition else model.ConditionStatus.UNKNOWN.value


def service_of(obj: Mapping[str, Any]) -> str:
    """The Service(s) whose address a VirtualIP is (``namespace/name``, comma-separated), or -."""
    return ",".join(services.listed((obj.get("metadata") or {}).get("annotations"))) or "-"


def group_of(obj: Mapping[str, Any]) -> str | None:
    """A VirtualIP's ``spec.group``, if it names one."""
    group = (obj.get("spec") or {}).get("group")
    return group if isinstance(group, str) and group else None


def status_rows(objects: Iterable[Mapping[str, Any]]) -> list[list[str]]:
    """One row per VirtualIP, by name; when any names a ``spec.group``, the members of each
    group follow one another (at the place of the group's name) and a GROUP column ends each
    row (`status_headers`)."""
    objects = list(objects)
    grouped = any(group_of(obj) for obj in objects)

    def order(obj: Mapping[str, Any]) -> tuple[str, str]:
        name = str(obj["metadata"]["name"])
        return (group_of(obj) or name, name) if grouped else (name, "")

    rows = []
    for obj in sorted(objects, key=order):
        current = status.read(status.of(obj))
        row = [
            str(obj["metadata"]["name"]),
            str((obj.get("spec") or {}).get("address", "")),
            current.holder or "-",
            ready(current),
            str(current.epoch),
            condition_summary(current),
            last_move(current),
            service_of(obj),
        ]
        if grouped:
            row.append(group_of(obj) or "-")
        rows.append(row)
    return rows


#: SERVICE comes last: the columns before it keep their places for scripts that read them.
STATUS_HEADERS = (
    "NAME", "ADDRESS", "NODE", "READY", "EPOCH", "CONDITIONS", "LAST MOVE", "SERVICE",
)  # fmt: skip
#: ... and GROUP after it, only when a VirtualIP listed names a spec.group.
GROUPED_STATUS_HEADERS = (*STATUS_HEADERS, "GROUP")


def status_headers(objects: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """The headers of `status_rows` for the same objects."""
    return GROUPED_STATUS_HEADERS if any(group_of(o) for o in objects) else STATUS_HEADERS


HISTORY_HEADERS = ("TIME", "FROM", "TO", "REASON", "EPOCH")


def history_rows(obj: Mapping[str, Any]) -> list[list[str]]:
    current = status.read(status.of(obj))
    return [[m.time, m.from_ or "-", m.to or "-", m.reason, str(m.epoch)] for m in current.history]
