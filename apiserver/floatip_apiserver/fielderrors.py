"""Field errors shaped like the real API server's ``field.Error``.

Clients (kubectl, kopf, the kubernetes client) show the ``message`` of a 422 Invalid Status and
its ``details.causes``; tests compare them with what kube-apiserver prints. This module keeps the
exact wording of ``k8s.io/apimachinery/pkg/util/validation/field`` in one place so schema
validation and CEL rules report alike: ``spec.address: Invalid value: "string": <detail>``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

# Reason names as the real server puts them into Status.details.causes[].reason.
INVALID = "FieldValueInvalid"
REQUIRED = "FieldValueRequired"
FORBIDDEN = "FieldValueForbidden"
DUPLICATE = "FieldValueDuplicate"
NOT_SUPPORTED = "FieldValueNotSupported"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"
TYPE_INVALID = "FieldValueTypeInvalid"
UNKNOWN = "FieldValueUnknown"  # unknown fields under fieldValidation=Strict

_TITLES = {
    INVALID: "Invalid value",
    REQUIRED: "Required value",
    FORBIDDEN: "Forbidden",
    DUPLICATE: "Duplicate value",
    NOT_SUPPORTED: "Unsupported value",
    TOO_LONG: "Too long",
    TOO_MANY: "Too many",
    TYPE_INVALID: "Invalid value",
    UNKNOWN: "Unknown field",
}

_NO_VALUE = object()


@dataclasses.dataclass(frozen=True)
class FieldError:
    """One rejected field: where (``field``), why (``reason``), and the human detail."""

    field: str
    reason: str
    detail: str = ""
    value: Any = _NO_VALUE

    @property
    def body(self) -> str:
        """The part after ``<field>: `` — what the real server puts into ``causes[].message``."""
        title = _TITLES.get(self.reason, "Invalid value")
        parts = [title]
        if self.reason in (INVALID, TYPE_INVALID, DUPLICATE, NOT_SUPPORTED) and (
            self.value is not _NO_VALUE
        ):
            parts.append(format_value(self.value))
        if self.reason == DUPLICATE:
            return ": ".join(parts)
        if self.detail:
            parts.append(self.detail)
        return ": ".join(parts)

    def __str__(self) -> str:
        return f"{self.field or '<nil>'}: {self.body}"

    def as_cause(self) -> dict[str, str]:
        """The entry of ``Status.details.causes`` the real server would send."""
        return {"reason": self.reason, "message": self.body, "field": self.field}


def format_value(value: Any) -> str:
    """Render a bad value as Go's ``%#v``-ish field error formatting does for JSON values."""
    if isinstance(value, str):
        return json.dumps(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def aggregate(errors: Sequence[FieldError]) -> str:
    """Join errors like ``utilerrors.NewAggregate``: one bare, several in brackets."""
    if len(errors) == 1:
        return str(errors[0])
    return "[" + ", ".join(str(e) for e in errors) + "]"


def child(path: str, name: str) -> str:
    """``field.Path.Child``: ``spec`` + ``address`` -> ``spec.address``."""
    return f"{path}.{name}" if path else name


def index(path: str, i: int) -> str:
    """``field.Path.Index``: ``spec.nodes`` + 1 -> ``spec.nodes[1]``."""
    return f"{path}[{i}]"


def key(path: str, k: str) -> str:
    """``field.Path.Key``: ``spec.labels`` + ``a`` -> ``spec.labels[a]``."""
    return f"{path}[{k}]"
