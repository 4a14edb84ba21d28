"""JSON on the wire: request bodies decoded, answers and watch events encoded, with orjson.

The real server's encoders are compiled; Python's ``json`` module spent a twentieth of this
server's CPU encoding answers and watch events while a thousand VirtualIPs were created, and
orjson does the same work in a tenth of the time. What orjson refuses to encode (a YAML
body's timestamps, subclasses of str or int such as CEL values, integers beyond 64 bits) goes
through ``json`` as before, and so does a body orjson will not decode (then ``json``'s own
error, or its answer for a number orjson refuses, is what the client gets). Where the two
differ otherwise, ``json`` did not write JSON (a NaN) or failed (an enum, a UUID).
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from aiohttp import web

#: orjson refuses (TypeError) rather than re-shape what is not a plain JSON tree.
PLAIN = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


def dumps(value: Any) -> bytes:
    """``value`` as compact JSON."""
    try:
        return orjson.dumps(value, option=PLAIN)
    except TypeError:
        return json.dumps(value, separators=(",", ":")).encode()


def loads(raw: bytes | str) -> Any:
    """The JSON value in ``raw``; ``ValueError`` when it is not JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def identical(left: Any, right: Any) -> bool:
    """Whether two JSON values are the same: the same bytes (so the same types, int or
    double or bool, and key order) and equal (so no NaN or infinity, which orjson writes as
    null). Python's ``==`` alone says ``False == 0`` and ``1 == 1.0``, which JSON, field paths
    and CEL tell apart. What orjson refuses (a subclass, an integer beyond 64 bits) is not
    shown to be."""
    try:
        same = orjson.dumps(left, option=PLAIN) == orjson.dumps(right, option=PLAIN)
        return same and bool(left == right)
    except (TypeError, ValueError):  # not JSON, or an == that is no answer (an array's)
        return False


def response(data: Any, *, status: int = 200) -> web.Response:
    """An answer whose body is ``data`` as JSON."""
    return web.Response(body=dumps(data), status=status, content_type="application/json")
