"""Event validation, as k8s.io/kubernetes ``pkg/apis/core/validation/events.go`` does it.

Every Event passes the legacy checks; one with an ``eventTime`` (a "new" Event) must name its
``reportingController``, ``reportingInstance``, ``action`` and ``reason`` within their limits.
Writes through events.k8s.io/v1 are strict: ``eventTime`` is required, ``type`` must be Normal
or Warning, the deprecated core fields must be unset, and on update nearly every field is
immutable. Field paths are the internal (core) names, as the real server reports them, so an
events.k8s.io client sees ``message`` for its ``note``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from floatip_apiserver.kinds import checks
from floatip_apiserver.kinds.checks import Errors

INSTANCE_LIMIT = 128
ACTION_LIMIT = 128
REASON_LIMIT = 128
NOTE_LIMIT = 1024
_IMMUTABLE = (
    "involvedObject",
    "reason",
    "message",
    "source",
    "firstTimestamp",
    "lastTimestamp",
    "count",
    "type",
    "eventTime",
    "action",
    "related",
    "reportingComponent",
    "reportingInstance",
)
# the internal field's name in messages (internal Go names, not core/v1's JSON names)
_PATHS = {"reportingComponent": "reportingController"}


def _legacy(event: Mapping[str, Any], namespace: str) -> Errors:
    errors: Errors = []
    involved_ns = event["involvedObject"].get("namespace", "")
    mismatch = checks.invalid(
        "involvedObject.namespace", involved_ns, "does not match event.namespace"
    )
    if event["eventTime"] is None:
        if not involved_ns:
            if namespace not in ("", "default"):
                errors.append(mismatch)
        elif namespace != involved_ns:
            errors.append(mismatch)
        return errors
    if not involved_ns and namespace not in ("default", "kube-system"):
        errors.append(mismatch)
    controller = event["reportingComponent"]
    if not controller:
        errors.append(checks.required("reportingController"))
    errors += checks.each("reportingController", controller, checks.qualified_name(controller))
    for field, limit in (
        ("reportingInstance", INSTANCE_LIMIT),
        ("action", ACTION_LIMIT),
        ("reason", REASON_LIMIT),
    ):
        if not event[field]:
            errors.append(checks.required(field))
        if len(event[field]) > limit:
            errors.append(checks.invalid(field, "", f"can have at most {limit} characters"))
    if len(event["message"]) > NOTE_LIMIT:
        errors.append(checks.invalid("message", "", f"can have at most {NOTE_LIMIT} characters"))
    return errors


def _series(event: Mapping[str, Any]) -> Errors:
    series = event["series"]
    if series is None:
        return []
    errors: Errors = []
    if series["count"] < 2:
        errors.append(checks.invalid("series.count", "", "should be at least 2"))
    if series["lastObservedTime"] is None:
        errors.append(checks.required("series.lastObservedTime"))
    return errors


def _strict_create(event: Mapping[str, Any], name: str) -> Errors:
    errors = checks.each("metadata.name", name, checks.dns1123_subdomain(name))
    errors += _series(event)
    if event["eventTime"] is None:
        errors.append(checks.required("eventTime"))
    if event["type"] not in ("Normal", "Warning"):
        errors.append(checks.invalid("type", "", f"has invalid value: {event['type']}"))
    for field in ("firstTimestamp", "lastTimestamp"):
        if event[field] is not None:
            errors.append(checks.invalid(field, "", "needs to be unset"))
    if event["count"]:
        errors.append(checks.invalid("count", "", "needs to be unset"))
    if event["source"]:
        errors.append(checks.invalid("source", "", "needs to be unset"))
    return errors


def validate(
    event: Mapping[str, Any],
    meta: Mapping[str, Any],
    old: Mapping[str, Any] | None,
    *,
    strict: bool,
) -> Errors:
    """Problems with an internal Event (``events.decode``); ``strict`` for events.k8s.io."""
    errors = _legacy(event, str(meta.get("namespace") or ""))
    if not strict:
        return errors
    if old is None:
        return errors + _strict_create(event, str(meta.get("name") or ""))
    if event["series"] != old["series"]:
        errors += _series(event)
    for field in _IMMUTABLE:
        errors += checks.immutable(_PATHS.get(field, field), event[field], old[field])
    return errors
