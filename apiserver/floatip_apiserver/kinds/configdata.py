"""ConfigMaps and Secrets: key rules, base64, ``stringData``, size, type and ``immutable``.

A Secret's ``data`` is base64 in JSON; the real server's decoder refuses anything else with a
400 (``illegal base64 data at input byte N``) before validation runs, merges the write-only
``stringData`` into ``data`` and never returns it, defaults ``type`` to Opaque and checks the
keys each built-in type needs (``tls.crt``/``tls.key``, ``.dockerconfigjson``, ...). Keys of
both kinds must be valid config keys, the whole must stay under 1 MiB, and once ``immutable``
is true the data and the flag itself are fixed.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

from floatip_apiserver.fielderrors import TOO_LONG, FieldError, key
from floatip_apiserver.kinds import checks
from floatip_apiserver.kinds.base import Admission, Getter, Kind, getter
from floatip_apiserver.kinds.checks import Errors

MAX_SIZE = 1024 * 1024
_BASE64 = re.compile(r"[A-Za-z0-9+/=]")
_IMMUTABLE = "field is immutable when `immutable` is set"
# the data keys each built-in Secret type requires
_REQUIRED_KEYS = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
}


def _illegal_byte(text: str) -> int | None:
    """Where Go's base64.StdEncoding stops on ``text``, or None if it decodes."""
    try:
        base64.b64decode(text.replace("\r", "").replace("\n", ""), validate=True)
    except (binascii.Error, ValueError):
        for i, char in enumerate(text):
            if not _BASE64.match(char) and char not in "\r\n":
                return i
        return max(len(text.rstrip("=")) - len(text.rstrip("=")) % 4, 0)
    return None


def _decoded_size(values: Mapping[str, Any]) -> int:
    return sum(len(base64.b64decode(v)) for v in values.values() if isinstance(v, str))


def _keys(field: str, values: Mapping[str, Any]) -> Errors:
    errors: Errors = []
    for name in values:
        errors += checks.each(key(field, name), name, checks.config_key(name))
    return errors


def _immutable(adm: Admission, fields: tuple[str, ...]) -> Errors:
    if adm.old is None or adm.old.get("immutable") is not True:
        return []
    errors: Errors = []
    if adm.obj.get("immutable") is not True:
        errors.append(checks.forbidden("immutable", _IMMUTABLE))
    for field in fields:
        if (adm.obj.get(field) or {}) != (adm.old.get(field) or {}):
            errors.append(checks.forbidden(field, _IMMUTABLE))
    return errors


def _maps(adm: Admission, *fields: str) -> None:
    """The decoder's type checks: string maps where Go has ``map[string]string``/``[]byte``."""
    for field in fields:
        values = adm.obj.get(field)
        if values is None:
            continue
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            raise checks.undecodable(
                adm.res,
                f"json: cannot unmarshal into Go struct field {adm.res.kind}.{field} of type "
                "map[string]string",
            )


def _base64(adm: Admission, field: str) -> None:
    for name, value in (adm.obj.get(field) or {}).items():
        at = _illegal_byte(value)
        if at is not None:
            raise checks.undecodable(
                adm.res, f"illegal base64 data at input byte {at} ({field}[{name}])"
            )


def _name(obj: Mapping[str, Any]) -> Errors:
    name = str(obj["metadata"].get("name") or "")
    return checks.each("metadata.name", name, checks.dns1123_subdomain(name))


class ConfigMaps(Kind):
    """ConfigMap strategy: keys, binaryData base64, size, immutable."""

    def admit(self, adm: Admission) -> None:
        _maps(adm, "data", "binaryData")
        _base64(adm, "binaryData")
        data, binary = adm.obj.get("data") or {}, adm.obj.get("binaryData") or {}
        errors = _name(adm.obj) + _keys("data", data) + _keys("binaryData", binary)
        for name in data.keys() & binary.keys():
            errors.append(
                checks.invalid(key("data", name), name, "duplicate of key present in binaryData")
            )
        size = sum(len(k) + len(v.encode()) for k, v in data.items())
        size += sum(len(k) for k in binary) + _decoded_size(binary)
        if size > MAX_SIZE:
            errors.append(FieldError("", TOO_LONG, f"may not be more than {MAX_SIZE} bytes"))
        errors += _immutable(adm, ("data", "binaryData"))
        checks.raise_invalid(adm.res, adm.obj, errors)


class Secrets(Kind):
    """Secret strategy: stringData, base64 data, type defaults and type-specific keys."""

    fields: Mapping[str, Getter] = {"type": getter("type")}

    def admit(self, adm: Admission) -> None:
        obj = adm.obj
        _maps(adm, "data", "stringData")
        _base64(adm, "data")
        strings = obj.pop("stringData", None) or {}
        if strings:
            data = obj.setdefault("data", {})
            for name, value in strings.items():
                data[name] = base64.b64encode(value.encode()).decode()
        if not obj.get("type"):
            obj["type"] = "Opaque"
        data = obj.get("data") or {}
        errors = _name(obj) + _keys("data", data)
        if _decoded_size(data) > MAX_SIZE:
            errors.append(FieldError("data", TOO_LONG, f"may not be more than {MAX_SIZE} bytes"))
        errors += self._typed(obj, data)
        if adm.old is not None:
            errors += checks.immutable("type", obj["type"], adm.old.get("type", "Opaque"))
        errors += _immutable(adm, ("data",))
        checks.raise_invalid(adm.res, obj, errors)

    @staticmethod
    def _typed(obj: Mapping[str, Any], data: Mapping[str, str]) -> Errors:
        kind = obj["type"]
        errors = [
            checks.required(key("data", name))
            for name in _REQUIRED_KEYS.get(kind, ())
            if name not in data
        ]
        if kind == "kubernetes.io/service-account-token":
            annotation = "kubernetes.io/service-account.name"
            if not (obj["metadata"].get("annotations") or {}).get(annotation):
                errors.append(checks.required(f"metadata.annotations[{annotation}]"))
        if kind == "kubernetes.io/basic-auth" and not {"username", "password"} & data.keys():
            errors += [checks.required("data[username]"), checks.required("data[password]")]
        if kind == "kubernetes.io/dockerconfigjson" and ".dockerconfigjson" in data:
            try:
                json.loads(base64.b64decode(data[".dockerconfigjson"]))
            except ValueError as exc:
                errors.append(
                    checks.invalid(
                        "data[.dockerconfigjson]", "<secret contents redacted>", str(exc)
                    )
                )
        return errors
