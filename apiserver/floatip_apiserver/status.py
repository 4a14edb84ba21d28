"""API errors as the real server sends them: a ``Status`` object with code, reason and details.

Clients branch on ``reason`` and ``code`` (kopf retries on 5xx, treats 422 as a permanent patch
failure; the kubernetes client raises ApiException with the body), so every error the server
returns goes through :class:`ApiError` and comes out as a ``v1 Status``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from floatip_apiserver import fielderrors
from floatip_apiserver.fielderrors import FieldError


class ApiError(Exception):
    """An error answer: HTTP code, Status reason, message, optional details."""

    def __init__(
        self, code: int, reason: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def _details(name: str, group: str, plural: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": plural}
    if group:
        details["group"] = group
    return details


def not_found(plural_q: str, name: str, group: str, plural: str) -> ApiError:
    return ApiError(
        404, "NotFound", f'{plural_q} "{name}" not found', _details(name, group, plural)
    )


def already_exists(plural_q: str, name: str, group: str, plural: str) -> ApiError:
    return ApiError(
        409,
        "AlreadyExists",
        f'{plural_q} "{name}" already exists',
        _details(name, group, plural),
    )


def conflict(plural_q: str, name: str, group: str, plural: str) -> ApiError:
    """The optimistic-concurrency failure every controller retries on."""
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {plural_q} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        _details(name, group, plural),
    )


def invalid(
    kind_q: str, name: str, group: str, kind: str, errors: Sequence[FieldError]
) -> ApiError:
    """422 Invalid: ``VirtualIP.floatip.io "x" is invalid: spec.address: Invalid value: ...``."""
    details: dict[str, Any] = {"name": name, "kind": kind, "causes": [e.as_cause() for e in errors]}
    if group:
        details["group"] = group
    return ApiError(
        422, "Invalid", f'{kind_q} "{name}" is invalid: {fielderrors.aggregate(errors)}', details
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def forbidden(user: str, verb: str, plural: str, group: str, namespace: str, name: str) -> ApiError:  # noqa: PLR0917
    """403 worded like the RBAC authorizer's denial."""
    where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    subject = f'"{name}" ' if name else ""
    return ApiError(
        403,
        "Forbidden",
        f'{plural}{"." + group if group else ""} {subject}is forbidden: User "{user}" cannot '
        f'{verb} resource "{plural}" in API group "{group}"{where}',
        {"name": name, "group": group, "kind": plural}
        if name
        else {"group": group, "kind": plural},
    )


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def success(name: str, group: str, plural: str, uid: str) -> dict[str, Any]:
    """The Status a DELETE returns when the object is gone at once."""
    details = _details(name, group, plural)
    details["uid"] = uid
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    }
