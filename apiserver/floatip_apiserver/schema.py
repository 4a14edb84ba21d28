"""Structural schema handling for custom resources: pruning, defaulting, validation.

The real server, for every write of a custom resource, drops fields the schema does not know
(reporting them under ``fieldValidation=Strict|Warn``), applies ``default`` values, and checks
types, formats, enums, ranges, lengths, patterns and ``required``, answering 422 Invalid with
field paths and wording from ``k8s.io/kube-openapi``'s validator. This module does those
steps in that order, in pure functions, on plain JSON values.

Like the real server, which builds its structural schema, pruner, defaulter and validator once
per CRD version, a schema is compiled once (:func:`compile_schema`, kept by the
:class:`~floatip_apiserver.resources.Resource` of that CRD generation) into a tree of
:class:`Validator` nodes holding what each write needs (child nodes, compiled patterns, format
checks, defaults, which subtrees have defaults at all), so a write no longer looks keys up in
the schema dict. Validating less is not allowed: every check of the walk remains.
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

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
}
_EXACT_TYPES: dict[type, str] = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}


def _json_type(value: Any) -> str:
    exact = _EXACT_TYPES.get(type(value))
    if exact is not None:
        return exact
    for name in ("boolean", "integer", "number", "string", "array", "object"):
        if isinstance(value, _JSON_TYPES[name]) and not (
            name in ("integer", "number") and isinstance(value, bool)
        ):
            return name
    return "null"


_FORMATS: dict[str, Callable[[str], object]] = {
    "ipv4": ipaddress.IPv4Address,
    "ipv6": ipaddress.IPv6Address,
    "cidr": lambda v: ipaddress.ip_network(v, strict=False),
    "uuid": uuid.UUID,
    "date": datetime.date.fromisoformat,
    "date-time": lambda v: datetime.datetime.fromisoformat(v.replace("Z", "+00:00")),
}


def _format_ok(check: Callable[[str], object], value: str) -> bool:
    try:
        check(value)
    except ValueError:
        return False
    return True


def _any(schema: Mapping[str, Any], key: str) -> Any:
    """A schema keyword's value, typed as loosely as the schema is."""
    return schema.get(key)


class Validator:
    """One schema node, compiled: prune, default and validate values against it."""

    has_defaults: bool

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        props: Mapping[str, Any] = schema.get("properties") or {}
        self.props = {name: Validator(sub) for name, sub in props.items()}
        extra = schema.get("additionalProperties")
        self.extra = Validator(extra) if isinstance(extra, Mapping) else None
        self.extra_any = extra is True
        items = schema.get("items")
        self.items = Validator(items) if isinstance(items, Mapping) else None
        self.defaults = [(name, sub["default"]) for name, sub in props.items() if "default" in sub]
        self.defaulted = [(n, v) for n, v in self.props.items() if v.has_defaults]
        self.has_defaults = bool(
            self.defaults
            or self.defaulted
            or (self.extra is not None and self.extra.has_defaults)
            or (self.items is not None and self.items.has_defaults)
        )
        self.nullable = bool(schema.get("nullable"))
        self.type = schema.get("type")
        self.int_or_string = bool(schema.get("x-kubernetes-int-or-string"))
        self.enum: list[Any] | None = list(schema["enum"]) if "enum" in schema else None
        self.supported = ", ".join(json.dumps(v) for v in self.enum or [])
        self.maximum, self.minimum = _any(schema, "maximum"), _any(schema, "minimum")
        self.has_maximum, self.has_minimum = "maximum" in schema, "minimum" in schema
        checks = ("maxLength", "minLength", "pattern", "format")
        self.string_checks = [k for k in checks if k in schema]
        self.max_length, self.min_length = _any(schema, "maxLength"), _any(schema, "minLength")
        self.pattern_text = _any(schema, "pattern")
        self.pattern = re.compile(self.pattern_text) if "pattern" in schema else None
        self.format = schema.get("format")
        self.format_check = _FORMATS.get(str(self.format)) if "format" in schema else None
        self.max_items, self.min_items = _any(schema, "maxItems"), _any(schema, "minItems")
        self.has_max_items, self.has_min_items = "maxItems" in schema, "minItems" in schema
        list_type = schema.get("x-kubernetes-list-type")
        self.unique = list_type == "set" or bool(schema.get("uniqueItems"))
        self.map_keys = (
            list(schema.get("x-kubernetes-list-map-keys") or []) if list_type == "map" else None
        )
        self.required = list(schema.get("required") or [])
        self.max_properties = _any(schema, "maxProperties")
        self.has_max_properties = "maxProperties" in schema

    def prune(self, value: Any, path: str = "") -> list[str]:
        """Remove unknown fields in place; return their paths (for Strict/Warn validation)."""
        unknown: list[str] = []
        self._prune(value, path, unknown)
        return unknown

    def _prune(self, value: Any, path: str, unknown: list[str]) -> None:
        if self.preserve:
            return
        if isinstance(value, dict):
            props, extra = self.props, self.extra
            for name in list(value):
                if not path and name in _ROOT_SKIP:
                    continue
                if name in props:
                    item = value[name]
                    if isinstance(item, dict | list):  # other values: nothing to prune
                        props[name]._prune(item, fielderrors.child(path, name), unknown)
                elif extra is not None:
                    extra._prune(value[name], fielderrors.key(path, name), unknown)
                elif not self.extra_any:
                    del value[name]
                    unknown.append(fielderrors.child(path, name))
        elif isinstance(value, list) and self.items is not None:
            for i, item in enumerate(value):
                self.items._prune(item, fielderrors.index(path, i), unknown)

    def apply_defaults(self, value: Any) -> None:
        """Fill in ``default`` for absent properties, recursively, in place."""
        if not self.has_defaults:
            return
        if isinstance(value, dict):
            for name, default in self.defaults:
                if name not in value:
                    value[name] = copy.deepcopy(default)
            for name, sub in self.defaulted:
                if name in value:
                    sub.apply_defaults(value[name])
            extra = self.extra
            if extra is not None and extra.has_defaults:
                for name in value:
                    if name not in self.props:
                        extra.apply_defaults(value[name])
        elif isinstance(value, list) and self.items is not None:
            for item in value:
                self.items.apply_defaults(item)

    def validate(self, value: Any, path: str = "") -> list[FieldError]:
        """Every structural violation of ``value``, real-server worded."""
        name = path or "body"
        if value is None:
            if self.nullable or not self.type:
                return []
            message = f'{name} in body must be of type {self.type}: "null"'
            return [FieldError(path, fielderrors.TYPE_INVALID, message, None)]
        want = self.type
        got = _json_type(value)
        if self.int_or_string:
            if got not in ("integer", "string"):
                message = f'{name} in body must be of type int-or-string: "{got}"'
                return [FieldError(path, fielderrors.TYPE_INVALID, message, value)]
            want = None
        if want and not (want == got or (want == "number" and got == "integer")):
            message = f'{name} in body must be of type {want}: "{got}"'
            return [FieldError(path, fielderrors.TYPE_INVALID, message, value)]
        errors: list[FieldError] = []
        if self.enum is not None and value not in self.enum:
            detail = f"supported values: {self.supported}"
            errors.append(FieldError(path, fielderrors.NOT_SUPPORTED, detail, value))
        if got == "object":
            errors += self._objects(value, path)
        elif got == "string":
            if self.string_checks:
                errors += self._strings(value, path, name)
        elif got == "array":
            errors += self._arrays(value, path, name)
        elif got in ("integer", "number") and (self.has_maximum or self.has_minimum):
            errors += self._numbers(value, path, name)
        return errors

    def _numbers(self, value: float, path: str, name: str) -> list[FieldError]:
        errors = []
        if self.has_maximum and value > self.maximum:
            detail = f"{name} in body should be less than or equal to {self.maximum}"
            errors.append(FieldError(path, fielderrors.INVALID, detail, value))
        if self.has_minimum and value < self.minimum:
            detail = f"{name} in body should be greater than or equal to {self.minimum}"
            errors.append(FieldError(path, fielderrors.INVALID, detail, value))
        return errors

    def _strings(self, value: str, path: str, name: str) -> list[FieldError]:
        errors = []
        if self.max_length is not None and len(value) > self.max_length:
            detail = f"may not be more than {self.max_length} bytes"
            errors.append(FieldError(path, fielderrors.TOO_LONG, detail))
        if self.min_length is not None and len(value) < self.min_length:
            detail = f"{name} in body should be at least {self.min_length} chars long"
            errors.append(FieldError(path, fielderrors.INVALID, detail, value))
        if self.pattern is not None and not self.pattern.search(value):
            detail = f"{name} in body should match '{self.pattern_text}'"
            errors.append(FieldError(path, fielderrors.INVALID, detail, value))
        if self.format_check is not None and not _format_ok(self.format_check, value):
            detail = f"{name} in body must be of type {self.format}: {json.dumps(value)}"
            errors.append(FieldError(path, fielderrors.INVALID, detail, value))
        return errors

    def _arrays(self, value: list[Any], path: str, name: str) -> list[FieldError]:
        errors = []
        if self.has_max_items and len(value) > self.max_items:
            detail = f"{len(value)}: must have at most {self.max_items} items"
            errors.append(FieldError(path, fielderrors.TOO_MANY, detail))
        if self.has_min_items and len(value) < self.min_items:
            detail = f"{name} in body should have at least {self.min_items} items"
            errors.append(FieldError(path, fielderrors.INVALID, detail, value))
        if self.unique:
            seen: list[Any] = []
            for i, item in enumerate(value):
                if item in seen:
                    where = fielderrors.index(path, i)
                    errors.append(FieldError(where, fielderrors.DUPLICATE, "", item))
                seen.append(item)
        if self.map_keys is not None:
            keys = self.map_keys
            seen_keys: list[Any] = []
            for i, item in enumerate(value):
                ident = [item.get(k) for k in keys] if isinstance(item, dict) else item
                if ident in seen_keys:
                    where = fielderrors.index(path, i)
                    dup = {k: item.get(k) for k in keys}
                    errors.append(FieldError(where, fielderrors.DUPLICATE, "", dup))
                seen_keys.append(ident)
        if self.items is not None:
            for i, item in enumerate(value):
                errors += self.items.validate(item, fielderrors.index(path, i))
        return errors

    def _objects(self, value: dict[str, Any], path: str) -> list[FieldError]:
        errors = []
        for required in self.required:
            if required not in value:
                where = fielderrors.child(path, required)
                errors.append(FieldError(where, fielderrors.REQUIRED))
        props, extra = self.props, self.extra
        for key, item in value.items():
            if not path and key in _ROOT_SKIP and key != "metadata":
                continue
            if key in props:
                if not path and key == "metadata":
                    continue  # metadata is validated by the object-meta rules, not the schema
                errors += props[key].validate(item, fielderrors.child(path, key))
            elif extra is not None:
                errors += extra.validate(item, fielderrors.key(path, key))
        if self.has_max_properties and len(value) > self.max_properties:
            detail = f"{len(value)}: must have at most {self.max_properties} items"
            errors.append(FieldError(path, fielderrors.TOO_MANY, detail))
        return errors


def compile_schema(schema: Mapping[str, Any]) -> Validator:
    """The validator of ``schema``; build it once per CRD version and keep it."""
    return Validator(schema)


def prune(schema: Mapping[str, Any], value: Any, path: str = "") -> list[str]:
    """Remove unknown fields in place; return their paths (for Strict/Warn field validation)."""
    return Validator(schema).prune(value, path)


def apply_defaults(schema: Mapping[str, Any], value: Any) -> None:
    """Fill in ``default`` for absent properties, recursively, in place."""
    Validator(schema).apply_defaults(value)


def validate(schema: Mapping[str, Any], value: Any, path: str = "") -> list[FieldError]:
    """Every structural violation of ``value`` against ``schema``, real-server worded."""
    return Validator(schema).validate(value, path)
