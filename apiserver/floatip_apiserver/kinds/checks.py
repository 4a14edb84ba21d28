"""Validation helpers shared by the built-in kinds, worded as k8s.io/apimachinery words them.

kubectl prints a 422's message as it comes, so a user of this server should read the same
``metadata.name: Invalid value: "Web": a lowercase RFC 1123 label must ...`` that a real
cluster prints. The regexes and messages are those of ``k8s.io/apimachinery/pkg/util/
validation`` (names, qualified names, config keys, ports, IPs) and of metav1.Condition
validation; each check returns the problems as text and the callers wrap them into
:class:`FieldError` at their field path.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from floatip_apiserver import fielderrors, status
from floatip_apiserver.fielderrors import FieldError
from floatip_apiserver.resources import Resource

Errors = list[FieldError]

_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_LABEL_RE = re.compile(f"^{_LABEL}$")
_SUBDOMAIN = rf"{_LABEL}(\.{_LABEL})*"
_SUBDOMAIN_RE = re.compile(f"^{_SUBDOMAIN}$")
_DNS1035 = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035_RE = re.compile(f"^{_DNS1035}$")
_QNAME = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QNAME_RE = re.compile(f"^{_QNAME}$")
_CONFIG_KEY = "[-._a-zA-Z0-9]+"
_CONFIG_KEY_RE = re.compile(f"^{_CONFIG_KEY}$")
_REASON = "[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?"
_REASON_RE = re.compile(f"^{_REASON}$")

LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    f"used for validation is '{_LABEL}')"
)
SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    f"for validation is '{_SUBDOMAIN}')"
)
DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    f"'abc-123', regex used for validation is '{_DNS1035}')"
)
_QNAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    f"validation is '{_QNAME}')"
)
CONFIG_KEY_MSG = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
    f"'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '{_CONFIG_KEY}')"
)
PORT_MSG = "must be between 1 and 65535, inclusive"
IP_MSG = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
IMMUTABLE = "field is immutable"


def dns1123_label(value: str) -> list[str]:
    problems = ["must be no more than 63 characters"] if len(value) > 63 else []
    return problems + ([] if _LABEL_RE.match(value) else [LABEL_MSG])


def dns1123_subdomain(value: str) -> list[str]:
    problems = ["must be no more than 253 characters"] if len(value) > 253 else []
    return problems + ([] if _SUBDOMAIN_RE.match(value) else [SUBDOMAIN_MSG])


def dns1035_label(value: str) -> list[str]:
    problems = ["must be no more than 63 characters"] if len(value) > 63 else []
    return problems + ([] if _DNS1035_RE.match(value) else [DNS1035_MSG])


def qualified_name(value: str) -> list[str]:
    """``IsQualifiedName``: ``name`` or ``dns.prefix/name`` (label keys, reportingController)."""
    parts = value.split("/")
    if len(parts) > 2:
        return [
            "a qualified name " + _QNAME_MSG + " with an optional DNS subdomain prefix and '/' "
            "(e.g. 'example.com/MyName')"
        ]
    problems: list[str] = []
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            problems.append("prefix part must be non-empty")
        else:
            problems += ["prefix part " + p for p in dns1123_subdomain(prefix)]
    if not name:
        problems.append("name part must be non-empty")
    elif len(name) > 63:
        problems.append("name part must be no more than 63 characters")
    if not _QNAME_RE.match(name):
        problems.append("name part " + _QNAME_MSG)
    return problems


def config_key(value: str) -> list[str]:
    """``IsConfigMapKey``: keys of ConfigMap and Secret data."""
    problems = ["must be no more than 253 characters"] if len(value) > 253 else []
    if not _CONFIG_KEY_RE.match(value):
        problems.append(CONFIG_KEY_MSG)
    if value == ".":
        problems.append("must not be '.'")
    elif value == "..":
        problems.append("must not be '..'")
    elif value.startswith(".."):
        problems.append("must not start with '..'")
    return problems


def parse_ip(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def family(value: str) -> str:
    """``IPv4`` or ``IPv6`` for an address known to parse."""
    return "IPv6" if ":" in value else "IPv4"


def invalid(field: str, value: Any, detail: str) -> FieldError:
    return FieldError(field, fielderrors.INVALID, detail, value)


def required(field: str, detail: str = "") -> FieldError:
    return FieldError(field, fielderrors.REQUIRED, detail)


def forbidden(field: str, detail: str) -> FieldError:
    return FieldError(field, fielderrors.FORBIDDEN, detail)


def duplicate(field: str, value: Any) -> FieldError:
    return FieldError(field, fielderrors.DUPLICATE, "", value)


def not_supported(field: str, value: Any, supported: Iterable[str]) -> FieldError:
    choices = ", ".join(f'"{s}"' for s in sorted(supported))
    return FieldError(field, fielderrors.NOT_SUPPORTED, f"supported values: {choices}", value)


def each(field: str, value: Any, problems: Iterable[str]) -> Errors:
    """One Invalid error per problem a name check found."""
    return [invalid(field, value, p) for p in problems]


def port(field: str, value: Any) -> Errors:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        return [invalid(field, value, PORT_MSG)]
    return []


def immutable(field: str, new: Any, old: Any) -> Errors:
    return [] if new == old else [invalid(field, new, IMMUTABLE)]


def conditions(path: str, items: Any) -> Errors:
    """metav1.Condition lists (``ValidateConditions``): what a status writer must fill in."""
    errors: Errors = []
    seen: set[str] = set()
    for i, cond in enumerate(items if isinstance(items, list) else []):
        at = fielderrors.index(path, i)
        if not isinstance(cond, Mapping):
            errors.append(invalid(at, cond, "must be an object"))
            continue
        kind = str(cond.get("type") or "")
        if not kind:
            errors.append(required(f"{at}.type", "must be set"))
        else:
            errors += each(f"{at}.type", kind, qualified_name(kind))
            if kind in seen:
                errors.append(duplicate(f"{at}.type", kind))
            seen.add(kind)
        if cond.get("status") not in ("True", "False", "Unknown"):
            errors.append(
                not_supported(f"{at}.status", cond.get("status"), ("True", "False", "Unknown"))
            )
        if not cond.get("lastTransitionTime"):
            errors.append(required(f"{at}.lastTransitionTime", "must be set"))
        reason = str(cond.get("reason") or "")
        if not reason:
            errors.append(required(f"{at}.reason", "must be set"))
        elif not _REASON_RE.match(reason):
            errors.append(
                invalid(
                    f"{at}.reason",
                    reason,
                    "a condition reason must start with alphabetic character, optionally "
                    "followed by a string of alphanumeric characters or '_,:', and must end with "
                    "an alphanumeric character or '_' (e.g. 'my_name',  or 'MY_NAME',  or "
                    f"'MyName', regex used for validation is '{_REASON}')",
                )
            )
    return errors


def raise_invalid(res: Resource, obj: Mapping[str, Any], errors: Sequence[FieldError]) -> None:
    """422 Invalid naming the object, as the real server's registry does; nothing if no errors."""
    if errors:
        meta = obj.get("metadata") or {}
        name = str(meta.get("name") or meta.get("generateName") or "")
        raise status.invalid(res.qualified_kind, name, res.group, res.kind, list(errors))


def undecodable(res: Resource, detail: str) -> status.ApiError:
    """400 for a body the real server's decoder rejects (bad base64, a wrong JSON type)."""
    return status.bad_request(
        f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}: {detail}'
    )
