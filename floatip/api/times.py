"""Times on the wire, as Kubernetes writes them: the one formatter and parser of floatip.

Two shapes appear in floatip's objects (Kubernetes API conventions):
- ``metav1.Time``, RFC 3339 in UTC to the second (``2026-11-30T12:00:00Z``): conditions'
  ``lastTransitionTime``, ``status.history[].time``, ``status.announcement.time`` and the
  conflict report's times;
- ``metav1.MicroTime``, to the microsecond (``2026-11-30T12:00:00.123456Z``): a Lease's
  ``renewTime``/``acquireTime``, an Event's ``eventTime`` and the agent's restart mark.
"""

from __future__ import annotations

import datetime


def now() -> datetime.datetime:
    """The current time in UTC (what every writer stamps)."""
    return datetime.datetime.now(datetime.UTC)


def timestamp(moment: datetime.datetime) -> str:
    """A ``metav1.Time``: RFC 3339, UTC, whole seconds, with a Z."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_time(moment: datetime.datetime) -> str:
    """A ``metav1.MicroTime``: RFC 3339, UTC, microseconds, with a Z."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse(text: object) -> datetime.datetime | None:
    """Either shape (or any RFC 3339 time) as an aware datetime; None when it is not one."""
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)
