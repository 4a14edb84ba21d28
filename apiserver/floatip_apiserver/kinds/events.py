"""Events: one store behind core/v1 and events.k8s.io/v1, converted as kube-apiserver converts.

floatip writes ``events.k8s.io/v1`` Events (``regarding`` a VirtualIP); ``kubectl describe``
reads ``core/v1`` Events by ``involvedObject.*`` field selectors, and kopf writes ``core/v1``.
The real server stores one internal Event and converts (k8s.io/kubernetes
``pkg/apis/events/v1/conversion.go``): ``regarding``/``involvedObject``, ``note``/``message``,
``reportingController``/``reportingComponent``, ``deprecatedSource``/``source``,
``deprecatedFirstTimestamp``/``firstTimestamp``, ``deprecatedLastTimestamp``/
``lastTimestamp``, ``deprecatedCount``/``count``; ``eventTime``, ``series``, ``action``,
``reason``, ``type``, ``related`` and ``reportingInstance`` keep their names. Nothing else is
mapped: a ``series`` does not become a ``count`` (kubectl reads either). Objects come back as
Go's JSON encoder writes them (zero times as ``null``, an empty ``source`` as ``{}``).
Validation is :mod:`eventchecks`.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from floatip_apiserver.kinds import checks, eventchecks
from floatip_apiserver.kinds.base import Admission, Getter, Kind, getter, text
from floatip_apiserver.resources import Resource

CORE, EVENTS = "v1", "events.k8s.io/v1"
_REF = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")

# internal (core) name, events.k8s.io name, type; in core/v1's field order
_FIELDS = (
    ("involvedObject", "regarding", "ref"),
    ("reason", "reason", "str"),
    ("message", "note", "str"),
    ("source", "deprecatedSource", "source"),
    ("firstTimestamp", "deprecatedFirstTimestamp", "time"),
    ("lastTimestamp", "deprecatedLastTimestamp", "time"),
    ("count", "deprecatedCount", "int"),
    ("type", "type", "str"),
    ("eventTime", "eventTime", "micro"),
    ("series", "series", "series"),
    ("action", "action", "str"),
    ("related", "related", "ref?"),
    ("reportingComponent", "reportingController", "str"),
    ("reportingInstance", "reportingInstance", "str"),
)
_EVENTS_ORDER = (
    "eventTime",
    "series",
    "reportingController",
    "reportingInstance",
    "action",
    "reason",
    "regarding",
    "related",
    "note",
    "type",
    "deprecatedSource",
    "deprecatedFirstTimestamp",
    "deprecatedLastTimestamp",
    "deprecatedCount",
)
# fields Go always writes: zero times as null, structs as {}, core's two reporting strings
_ALWAYS = {
    CORE: {
        "involvedObject",
        "source",
        "firstTimestamp",
        "lastTimestamp",
        "eventTime",
        "reportingComponent",
        "reportingInstance",
    },
    EVENTS: {
        "eventTime",
        "regarding",
        "deprecatedSource",
        "deprecatedFirstTimestamp",
        "deprecatedLastTimestamp",
    },
}


class UndecodableError(ValueError):
    """A field of the wrong JSON type or an unparseable time: the decoder's 400."""


def _time(value: Any, name: str, micro: bool) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and "T" in value:
        try:
            when = datetime.datetime.fromisoformat(value)
        except ValueError:
            when = None
        if when is not None and when.tzinfo is not None:
            when = when.astimezone(datetime.UTC)
            layout = "%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ"
            return when.strftime(layout)
    raise UndecodableError(
        f'parsing time "{value}" of {name}: use RFC 3339 (2006-01-02T15:04:05Z'
        + (", with up to 9 fractional digits)" if micro else ")")
    )


def _string(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise UndecodableError(
            f"json: cannot unmarshal {type(value).__name__} into Go struct field Event.{name} "
            "of type string"
        )
    return value


def _integer(value: Any, name: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise UndecodableError(
            f"json: cannot unmarshal {type(value).__name__} into Go struct field Event.{name} "
            "of type int32"
        )
    return value


def _object(value: Any, name: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise UndecodableError(
            f"json: cannot unmarshal {type(value).__name__} into Go struct field Event.{name} "
            "of type object"
        )
    return value


def _decode_value(kind: str, value: Any, name: str) -> Any:
    if kind == "str":
        return _string(value, name)
    if kind == "int":
        return _integer(value, name)
    if kind in ("time", "micro"):
        return _time(value, name, micro=kind == "micro")
    if kind == "source":
        raw = _object(value, name)
        return {k: _string(raw.get(k), f"{name}.{k}") for k in ("component", "host") if raw.get(k)}
    if kind == "series":
        if value is None:
            return None
        raw = _object(value, name)
        return {
            "count": _integer(raw.get("count"), f"{name}.count"),
            "lastObservedTime": _time(
                raw.get("lastObservedTime"), f"{name}.lastObservedTime", True
            ),
        }
    if kind == "ref?" and value is None:
        return None
    raw = _object(value, name)
    return {k: _string(raw[k], f"{name}.{k}") for k in _REF if raw.get(k)}


def decode(obj: Mapping[str, Any], version: str) -> dict[str, Any]:
    """The internal Event (core names, normalized values) from either served shape."""
    column = 0 if version == CORE else 1
    result: dict[str, Any] = {}
    for field in _FIELDS:
        name, kind = field[column], field[2]
        result[field[0]] = _decode_value(kind, obj.get(name), name)
    return result


def encode(internal: Mapping[str, Any], meta: Mapping[str, Any], version: str) -> dict[str, Any]:
    """The Event in one served shape, with the fields Go's encoder would write."""
    column = 0 if version == CORE else 1
    fields: dict[str, Any] = {}
    for field in _FIELDS:
        name, value = field[column], internal[field[0]]
        if name in _ALWAYS[version] or value not in (None, "", 0):
            fields[name] = value
    order = [f[0] for f in _FIELDS] if version == CORE else list(_EVENTS_ORDER)
    return {
        "kind": "Event",
        "apiVersion": version,
        "metadata": meta,
        **{name: fields[name] for name in order if name in fields},
    }


def _ref_getters(prefix: str) -> dict[str, Getter]:
    return {f"{prefix}.{k}": getter("involvedObject", k) for k in _REF}


def _source(obj: Mapping[str, Any]) -> str:
    """``source`` selects source.component, else reportingComponent (``ToSelectableFields``)."""
    return text(obj, "source", "component") or text(obj, "reportingComponent")


class Events(Kind):
    """core/v1 Events (``served`` = "v1") or events.k8s.io/v1 Events, both stored as core/v1."""

    def __init__(self, served: str) -> None:
        self.served = served
        common: dict[str, Getter] = {
            "reason": getter("reason"),
            "type": getter("type"),
            "source": _source,
        }
        if served == CORE:
            self.fields = {
                **_ref_getters("involvedObject"),
                **common,
                "reportingComponent": getter("reportingComponent"),
            }
        else:  # events.k8s.io's labels, mapped onto the same stored fields
            self.fields = {
                **_ref_getters("regarding"),
                **common,
                "reportingController": getter("reportingComponent"),
            }

    def to_storage(self, res: Resource, obj: dict[str, Any]) -> dict[str, Any]:
        try:
            internal = decode(obj, self.served)
        except UndecodableError as exc:
            raise checks.undecodable(res, str(exc)) from None
        return encode(internal, obj["metadata"], CORE)

    def to_served(self, res: Resource, obj: dict[str, Any]) -> dict[str, Any]:
        if self.served == CORE:
            return obj
        return encode(decode(obj, CORE), obj["metadata"], EVENTS)

    def admit(self, adm: Admission) -> None:
        new = decode(adm.obj, CORE)
        old = decode(adm.old, CORE) if adm.old is not None else None
        errors = eventchecks.validate(new, adm.obj["metadata"], old, strict=self.served != CORE)
        checks.raise_invalid(adm.res, adm.obj, errors)
