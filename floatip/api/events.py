"""Kubernetes Events about a VirtualIP or a VirtualIPPool: the one builder every side uses.

docs/design/protocol.md: Events are ``events.k8s.io/v1``, in namespace ``default`` (both kinds
are cluster-scoped, an Event is namespaced), ``regarding`` the object, so that
``kubectl describe vip NAME`` (or ``vippool NAME``) lists them. The reporter names itself the
way the real controllers do (``reportingController`` a domain-qualified name,
``reportingInstance`` the replica or node). Reasons and actions are the callers' enums: never
free text.
"""

from __future__ import annotations

import datetime
import enum
from typing import Any, NamedTuple

from floatip.api import names, times

#: Where Events about the cluster-scoped VirtualIP live.
NAMESPACE = "default"
OPERATOR = "floatip.io/operator"
AGENT = "floatip.io/agent"
#: The API server's limits (events.k8s.io/v1 validation).
NOTE_LIMIT = 1024
INSTANCE_LIMIT = 128


class Type(enum.StrEnum):
    NORMAL = "Normal"
    WARNING = "Warning"


class Regarding(NamedTuple):
    """The object an Event is about (uid and resourceVersion when known; a VirtualIP unless
    ``kind`` says otherwise). ``namespace`` is set for a namespaced object (a Service): its
    Event then lives in that namespace, where ``kubectl describe`` looks for it."""

    name: str
    uid: str = ""
    resource_version: str = ""
    kind: str = names.KIND
    namespace: str = ""
    api_version: str = names.API_VERSION


def build(
    *,
    regarding: Regarding,
    type: Type,
    reason: str,
    action: str,
    note: str,
    controller: str,
    instance: str,
    now: datetime.datetime,
) -> dict[str, Any]:
    """An ``events.k8s.io/v1`` Event body, ready to POST to the `NAMESPACE`'s events."""
    target: dict[str, Any] = {
        "apiVersion": regarding.api_version,
        "kind": regarding.kind,
        "name": regarding.name,
    }
    if regarding.namespace:
        target["namespace"] = regarding.namespace
    if regarding.uid:
        target["uid"] = regarding.uid
    if regarding.resource_version:
        target["resourceVersion"] = regarding.resource_version
    return {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {
            "generateName": f"{regarding.name}.",
            "namespace": regarding.namespace or NAMESPACE,
        },
        "eventTime": times.micro_time(now),
        "reportingController": controller,
        "reportingInstance": instance[:INSTANCE_LIMIT],
        "action": str(action),
        "reason": str(reason),
        "note": note[:NOTE_LIMIT],
        "type": type.value,
        "regarding": target,
    }


def path(namespace: str = NAMESPACE) -> str:
    """Where Events are created (POST)."""
    return f"/apis/events.k8s.io/v1/namespaces/{namespace}/events"
