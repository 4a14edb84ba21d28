"""Structural schema handling for custom resources: pruning, defaulting, validation.

The real server, for every write of a custom resource, drops fields the schema does not know
(reporting them under ``fieldValidation=Strict|Warn``), applies ``default`` values, and checks
types, formats, enums, ranges, lengths, patterns and ``required``, answering 422 Invalid with
field paths and wording from ``k8s.io/kube-openapi``'s validator. This module does those
steps in that order, in pure functions, on plain JSON values.
"""

from __future__ import annotations

import copy
import datetime
import ipaddress
import json
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from floatip_apiserver import fielderrors
from floatip_apiserver.fielderrors import FieldError

_ROOT_SKIP = {"apiVersion", "kind", "metadata"}


def prune(schema: Mapping[str, Any], value: Any, path: str = "") -> list[str]:
    """Remove unknown fields in place; return their paths (for Strict/Warn field validation)."""
    unknown: list[str] = []
    if schema.get("x-kubernetes-preserve-unknown-fields") or not isinstance(schema, Mapping):
        return unknown
    if isinstance(value, dict):
        props: Mapping[str, Any] = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for name in list(value):
            if not path and name in _ROOT_SKIP:
                continue
            where = fielderrors.child(path, name)
            if name in props:
                unknown += prune(props[name], value[name], where)
            elif isinstance(extra, Mapping):
                unknown += prune(extra, value[name], fielderrors.key(path, name))
            elif extra is True:
                continue
            else:
                del value[name]
                unknown.append(where)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for i, item in enumerate(value):
            unknown += prune(schema["items"], item, fielderrors.index(path, i))
    return unknown


def apply_defaults(schema: Mapping[str, Any], value: Any) -> None:
    """Fill in ``default`` for absent properties, recursively, in place."""
    if isinstance(value, dict):
        props: Mapping[str, Any] = schema.get("properties") or {}
        for name, sub in props.items():
            if name not in value and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
            if name in value:
                apply_defaults(sub, value[name])
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping):
            for name in value:
                if name not in props:
                    apply_defaults(extra, value[name])
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for item in value:
            apply_defaults(schema["items"], item)


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
}


def _json_type(value: Any) -> str:
    for name in ("boolean", "integer", "number", "string", "array", "object"):
        if isinstance(value, _JSON_TYPES[name]) and not (
            name in ("integer", "number") and isinstance(value, bool)
        ):
            return name
    return "null"


def _format_ok(fmt: str, value: str) -> bool:
    checks: dict[str, Callable[[str], object]] = {
        "ipv4": ipaddress.IPv4Address,
        "ipv6": ipaddress.IPv6Address,
        "cidr": lambda v: ipaddress.ip_network(v, strict=False),
        "uuid": uuid.UUID,
        "date": datetime.date.fromisoformat,
        "date-time": lambda v: datetime.datetime.fromisoformat(v.replace("Z", "+00:00")),
    }
    check = checks.get(fmt)
    if check is None:
        return True  # formats the real server does not check are ignored, like it does
    try:
        check(value)
    except ValueError:
        return False
    return True


def validate(schema: Mapping[str, Any], value: Any, path: str = "") -> list[FieldError]:
    """Every structural violation of ``value`` against ``schema``, real-server worded."""
    name = path or "body"
    if value is None:
        if schema.get("nullable"):
            return []
        if schema.get("type"):
            return [
                FieldError(
                    path,
                    fielderrors.TYPE_INVALID,
                    f'{name} in body must be of type {schema["type"]}: "null"',
                    None,
                )
            ]
        return []
    want = schema.get("type")
    got = _json_type(value)
    if schema.get("x-kubernetes-int-or-string"):
        if got not in ("integer", "string"):
            return [
                FieldError(
                    path,
                    fielderrors.TYPE_INVALID,
                    f'{name} in body must be of type int-or-string: "{got}"',
                    value,
                )
            ]
        want = None
    if want and not (want == got or (want == "number" and got == "integer")):
        return [
            FieldError(
                path,
                fielderrors.TYPE_INVALID,
                f'{name} in body must be of type {want}: "{got}"',
                value,
            )
        ]
    errors: list[FieldError] = []
    if "enum" in schema and value not in schema["enum"]:
        supported = ", ".join(json.dumps(v) for v in schema["enum"])
        errors.append(
            FieldError(path, fielderrors.NOT_SUPPORTED, f"supported values: {supported}", value)
        )
    if got in ("integer", "number"):
        errors += _numbers(schema, value, path, name)
    elif got == "string":
        errors += _strings(schema, value, path, name)
    elif got == "array":
        errors += _arrays(schema, value, path, name)
    elif got == "object":
        errors += _objects(schema, value, path)
    return errors


def _numbers(schema: Mapping[str, Any], value: float, path: str, name: str) -> list[FieldError]:
    errors = []
    if "maximum" in schema and value > schema["maximum"]:
        errors.append(
            FieldError(
                path,
                fielderrors.INVALID,
                f"{name} in body should be less than or equal to {schema['maximum']}",
                value,
            )
        )
    if "minimum" in schema and value < schema["minimum"]:
        errors.append(
            FieldError(
                path,
                fielderrors.INVALID,
                f"{name} in body should be greater than or equal to {schema['minimum']}",
                value,
            )
        )
    return errors


def _strings(schema: Mapping[str, Any], value: str, path: str, name: str) -> list[FieldError]:
    errors = []
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.append(
            FieldError(
                path, fielderrors.TOO_LONG, f"may not be more than {schema['maxLength']} bytes"
            )
        )
    if "minLength" in schema and len(value) < schema["minLength"]:
        errors.append(
            FieldError(
                path,
                fielderrors.INVALID,
                f"{name} in body should be at least {schema['minLength']} chars long",
                value,
            )
        )
    if "pattern" in schema and not re.search(schema["pattern"], value):
        errors.append(
            FieldError(
                path,
                fielderrors.INVALID,
                f"{name} in body should match '{schema['pattern']}'",
                value,
            )
        )
    if "format" in schema and not _format_ok(str(schema["format"]), value):
        errors.append(
            FieldError(
                path,
                fielderrors.INVALID,
                f"{name} in body must be of type {schema['format']}: {json.dumps(value)}",
                value,
            )
        )
    return errors


def _arrays(schema: Mapping[str, Any], value: list[Any], path: str, name: str) -> list[FieldError]:
    errors = []
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        errors.append(
            FieldError(
                path,
                fielderrors.TOO_MANY,
                f"{len(value)}: must have at most {schema['maxItems']} items",
            )
        )
    if "minItems" in schema and len(value) < schema["minItems"]:
        errors.append(
            FieldError(
                path,
                fielderrors.INVALID,
                f"{name} in body should have at least {schema['minItems']} items",
                value,
            )
        )
    list_type = schema.get("x-kubernetes-list-type")
    if list_type == "set" or schema.get("uniqueItems"):
        seen: list[Any] = []
        for i, item in enumerate(value):
            if item in seen:
                errors.append(
                    FieldError(fielderrors.index(path, i), fielderrors.DUPLICATE, "", item)
                )
            seen.append(item)
    if list_type == "map":
        keys = list(schema.get("x-kubernetes-list-map-keys") or [])
        seen_keys: list[Any] = []
        for i, item in enumerate(value):
            ident = [item.get(k) for k in keys] if isinstance(item, dict) else item
            if ident in seen_keys:
                errors.append(
                    FieldError(
                        fielderrors.index(path, i),
                        fielderrors.DUPLICATE,
                        "",
                        {k: item.get(k) for k in keys},
                    )
                )
            seen_keys.append(ident)
    items = schema.get("items")
    if isinstance(items, Mapping):
        for i, item in enumerate(value):
            errors += validate(items, item, fielderrors.index(path, i))
    return errors


def _objects(schema: Mapping[str, Any], value: dict[str, Any], path: str) -> list[FieldError]:
    errors = []
    props: Mapping[str, Any] = schema.get("properties") or {}
    for required in schema.get("required") or []:
        if required not in value:
            errors.append(FieldError(fielderrors.child(path, required), fielderrors.REQUIRED))
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        if not path and key in _ROOT_SKIP and key != "metadata":
            continue
        if key in props:
            if not path and key == "metadata":
                continue  # metadata is validated by the object-meta rules, not the schema
            errors += validate(props[key], item, fielderrors.child(path, key))
        elif isinstance(extra, Mapping):
            errors += validate(extra, item, fielderrors.key(path, key))
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        errors.append(
            FieldError(
                path,
                fielderrors.TOO_MANY,
                f"{len(value)}: must have at most {schema['maxProperties']} items",
            )
        )
    return errors
