"""Kubernetes Events for every move, conflict and refusal, so ``kubectl describe vip`` tells why.

``notices`` (pure) compares the old and the new status and names what a person should hear
about; ``build_event`` (pure) makes the ``events.k8s.io/v1`` Event (namespace ``default`` for the
cluster-scoped VirtualIP, ``regarding`` it, per docs/design/protocol.md); ``post_event`` sends it
and never raises: an Event lost to an API hiccup must not stop a failover.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any

from floatip import logs
from floatip.api import names
from floatip_operator import kube, statuses

log = logs.get(__name__)

EVENTS_NAMESPACE = "default"
CONTROLLER = "floatip.io/operator"
#: Assigned reasons worth a Warning when they first appear.
_WARN_ON = {"InvalidSpec", "DuplicateAddress", "NoEligibleNode", "PinnedNodeNotFound"}


@dataclasses.dataclass(frozen=True)
class Notice:
    type: str  # Normal or Warning
    reason: str
    note: str


def notices(previous: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[Notice]:
    """What changed between two statuses that deserves an Event."""
    previous = previous or {}
    found: list[Notice] = []
    if new.get("epoch", 0) != previous.get("epoch", 0) and new.get("history"):
        move = new["history"][-1]
        found.append(
            Notice(
                "Normal",
                str(move["reason"]),
                f"moved from {move.get('from') or 'nowhere'} to {move.get('to') or 'nowhere'} "
                f"at epoch {move['epoch']}",
            )
        )
    old_assigned = statuses.condition(previous, "Assigned") or {}
    assigned = statuses.condition(new, "Assigned") or {}
    if assigned.get("reason") in _WARN_ON and assigned.get("reason") != old_assigned.get("reason"):
        found.append(Notice("Warning", str(assigned["reason"]), str(assigned.get("message", ""))))
    old_conflict = statuses.condition(previous, "Conflict") or {}
    conflict = statuses.condition(new, "Conflict") or {}
    if conflict.get("status") == "True" and old_conflict.get("status") != "True":
        found.append(Notice("Warning", "Conflict", str(conflict.get("message", ""))))
    return found


def build_event(
    vip: Mapping[str, Any], notice: Notice, *, instance: str, now: datetime.datetime
) -> dict[str, Any]:
    meta = vip.get("metadata", {})
    return {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"generateName": f"{meta.get('name')}.", "namespace": EVENTS_NAMESPACE},
        "eventTime": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "reportingController": CONTROLLER,
        "reportingInstance": instance,
        "action": "Reconcile",
        "type": notice.type,
        "reason": notice.reason,
        "note": notice.note[:1024],
        "regarding": {
            "apiVersion": names.API_VERSION,
            "kind": names.KIND,
            "name": meta.get("name"),
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
        },
    }


async def post_event(
    *, api: kube.Api, vip: Mapping[str, Any], notice: Notice, instance: str
) -> None:
    """Post one Event, trying 3 times; log (never raise) when the API refuses or is away."""
    body = build_event(vip, notice, instance=instance, now=datetime.datetime.now(datetime.UTC))
    for attempt in range(3):
        try:
            await api.request(
                "POST", f"/apis/events.k8s.io/v1/namespaces/{EVENTS_NAMESPACE}/events", body=body
            )
        except Exception as exc:  # an Event must never stop a reconcile
            if attempt == 2:
                name = vip.get("metadata", {}).get("name")
                log.warning("event not posted", vip=name, reason=notice.reason, error=repr(exc))
                return
            await asyncio.sleep(0.5 * (attempt + 1))
        else:
            return
