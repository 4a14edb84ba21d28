"""The API objects the agent writes, built as plain dicts (pure).

protocol.md: the holder's agent writes `status.announcement` and `status.conflict` with a JSON
merge patch on the `/status` subresource naming only that key, so it can never touch the
operator's fields; Events are `events.k8s.io/v1`, in namespace ``default`` for the
cluster-scoped VirtualIP, `regarding` it. `floatip_agent.kube` sends what this module builds.
"""

from __future__ import annotations

import datetime
import enum
from typing import Any

from floatip.api import names

EVENT_NAMESPACE = "default"
REPORTING_CONTROLLER = "floatip.io/agent"


class Reason(enum.StrEnum):
    """Event reasons the agent emits (CamelCase words for machines)."""

    ANNOUNCED = "Announced"
    RELEASED = "Released"
    CONFLICT = "Conflict"
    PROBE_CONFLICT = "ProbeConflict"
    NODE_ADDRESS = "NodeAddress"
    NO_INTERFACE = "NoInterface"
    APPLY_FAILED = "ApplyFailed"
    FENCED = "Fenced"


WARNINGS = frozenset(
    {Reason.CONFLICT, Reason.PROBE_CONFLICT, Reason.NODE_ADDRESS, Reason.NO_INTERFACE,
     Reason.APPLY_FAILED, Reason.FENCED}
)  # fmt: skip


def announcement_patch(*, node: str, epoch: int, mac: str, time: str) -> dict[str, Any]:
    """Merge patch for /status: this node announced the address at `epoch` from `mac`."""
    return {"status": {"announcement": {"node": node, "epoch": epoch, "mac": mac, "time": time}}}


def conflict_patch(report: dict[str, object] | None) -> dict[str, Any]:
    """Merge patch for /status: the conflict record, or null to clear it."""
    return {"status": {"conflict": report}}


def micro_time(moment: datetime.datetime) -> str:
    """A metav1.MicroTime: RFC 3339 with microseconds, UTC."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event(
    *,
    vip: str,
    uid: str,
    node: str,
    reason: Reason,
    note: str,
    action: str,
    now: datetime.datetime,
) -> dict[str, Any]:
    """An `events.k8s.io/v1` Event about VirtualIP `vip`, reported by this node's agent."""
    return {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"generateName": f"{vip}.", "namespace": EVENT_NAMESPACE},
        "eventTime": micro_time(now),
        "reportingController": REPORTING_CONTROLLER,
        "reportingInstance": f"{REPORTING_CONTROLLER}-{node}"[:128],
        "action": action,
        "reason": reason.value,
        "note": note[:1024],
        "type": "Warning" if reason in WARNINGS else "Normal",
        "regarding": {
            "apiVersion": names.API_VERSION,
            "kind": names.KIND,
            "name": vip,
            **({"uid": uid} if uid else {}),
        },
    }
