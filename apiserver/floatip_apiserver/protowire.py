"""Kubernetes protobuf request bodies, read into the JSON the same object would have been.

kubectl's typed commands (``create namespace``, ``create serviceaccount``, ``create
clusterrole``, ``create rolebinding``, ``auth can-i``, ``auth whoami``) send built-in kinds as
``application/vnd.kubernetes.protobuf``. Measured with kubectl 1.35: a 415 does not make it
retry in JSON (client-go falls back only from CBOR, behind a feature gate), so a server that
cannot read protobuf fails those commands. The real server reads them; so does this one.

The body is the ``k8s\\x00`` magic and a ``runtime.Unknown`` (typeMeta, raw); ``raw`` is the
kind's message, decoded by the field tables of :mod:`protokinds` (field numbers from
k8s.io/api's generated.proto). The output follows Go's JSON encoding of the same struct: zero
scalars are omitted (``omitempty``) unless the Go field is a pointer, a message that was sent
is kept even when empty, and a zero ``Time`` is omitted. Unknown field numbers are skipped.
A kind with no table (custom resources have no protobuf at all) is 415, as from the real server.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
from collections.abc import Iterator, Mapping
from typing import Any

from floatip_apiserver.status import ApiError

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5


@dataclasses.dataclass(frozen=True)
class Field:
    """One message field: its JSON name and type.

    ``kind`` is ``string``, ``bool``, ``int``, ``time``, ``intorstr``, ``map`` (string to
    string), ``map:bytes``, ``map:strings`` (to a named []string), ``map:MESSAGE``, or the name
    of a message in the tables.
    """

    name: str
    kind: str = "string"
    repeated: bool = False
    pointer: bool = False  # a Go pointer: an explicit zero is kept, not omitted


Message = Mapping[int, Field]


def unsupported(accepted: str = "application/json, application/yaml") -> ApiError:
    """The real server's 415 for a body in a format the endpoint does not read."""
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: "
        f"{accepted}",
    )


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def fields(data: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of every field on the wire, in order."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == _VARINT:
            value, pos = _varint(data, pos)
        elif wire == _BYTES:
            size, pos = _varint(data, pos)
            value, pos = data[pos : pos + size], pos + size
            if len(value) != size:
                raise ValueError("truncated field")
        elif wire in (_FIXED64, _FIXED32):
            size = 8 if wire == _FIXED64 else 4
            value, pos = int.from_bytes(data[pos : pos + size], "little"), pos + size
        else:
            raise ValueError(f"wire type {wire} is not supported")
        yield number, wire, value


def _time(data: bytes) -> str | None:
    parts = {number: value for number, _, value in fields(data)}
    seconds = _signed(parts.get(1, 0))
    if not seconds and not parts.get(2):
        return None  # Go's zero metav1.Time marshals as null
    stamp = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _scalar(field: Field, value: Any, messages: Mapping[str, Message]) -> Any:
    if field.kind == "string":
        return bytes(value).decode()
    if field.kind == "bool":
        return bool(value)
    if field.kind == "int":
        return _signed(value)
    if field.kind == "time":
        return _time(value)
    if field.kind == "intorstr":  # intstr.IntOrString: {type, intVal, strVal}
        parts = {number: raw for number, _, raw in fields(value)}
        return bytes(parts.get(3, b"")).decode() if parts.get(1) else _signed(parts.get(2, 0))
    return message(value, messages[field.kind], messages)


def _map_value(value_kind: str, raw: bytes, messages: Mapping[str, Message]) -> Any:
    if not value_kind:
        return bytes(raw).decode()
    if value_kind == "bytes":  # Go's []byte is base64 in JSON
        return base64.b64encode(raw).decode()
    if value_kind == "strings":  # a named []string (ExtraValue): a message of repeated items
        return [bytes(item).decode() for number, _, item in fields(raw) if number == 1]
    return message(raw, messages[value_kind], messages)


def _map_entry(field: Field, data: bytes, messages: Mapping[str, Message]) -> tuple[str, Any]:
    key, raw_value = "", b""
    for number, _, raw in fields(data):
        if number == 1:
            key = bytes(raw).decode()
        elif number == 2:
            raw_value = raw
    return key, _map_value(field.kind.partition(":")[2], raw_value, messages)


def _is_zero(value: Any) -> bool:
    return value in ("", 0, None)  # False == 0


def message(data: bytes, schema: Message, messages: Mapping[str, Message]) -> dict[str, Any]:
    """One message as Go's encoding/json would render the same struct."""
    out: dict[str, Any] = {}
    for number, _, raw in fields(data):
        field = schema.get(number)
        if field is None:
            continue
        if field.kind == "map" or field.kind.startswith("map:"):
            key, value = _map_entry(field, raw, messages)
            out.setdefault(field.name, {})[key] = value
            continue
        value = _scalar(field, raw, messages)
        if field.repeated:
            out.setdefault(field.name, []).append(value)
        elif value is not None and (
            not _is_zero(value) or field.pointer or isinstance(value, dict)
        ):
            out[field.name] = value
    return out


def decode(
    body: bytes, kinds: Mapping[tuple[str, str], str], messages: Mapping[str, Message]
) -> Any:
    """A protobuf request body as a JSON object; 415 for kinds with no table, 400 if malformed.

    ``kinds`` maps (apiVersion, kind) to the name of its message in ``messages``.
    """
    if not body.startswith(MAGIC):
        raise unsupported()
    try:
        envelope = {number: value for number, _, value in fields(body[len(MAGIC) :])}
        type_meta = {number: bytes(v).decode() for number, _, v in fields(envelope.get(1, b""))}
        api_version, kind = type_meta.get(1, ""), type_meta.get(2, "")
        name = kinds.get((api_version, kind))
        if name is None:
            raise unsupported()
        obj = message(envelope.get(2, b""), messages[name], messages)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "BadRequest", f"the protobuf body could not be read: {exc}") from None
    return {"apiVersion": api_version, "kind": kind, **obj}
