"""User impersonation (``Impersonate-User``/``-Group``/``-Uid`` headers), as kube-apiserver does.

``kubectl --as bob --as-group team`` sends these headers; ``kubectl auth can-i ... --as`` is
how administrators check someone else's access. The requester must be allowed the
``impersonate`` verb on each thing it claims: ``users`` (or the ServiceAccount itself for a
``system:serviceaccount:NS:NAME`` user), ``groups``, and ``uids`` and ``userextras/KEY`` in
authentication.k8s.io. Then the request runs as the impersonated user, whose groups are the
ones asked for (a ServiceAccount's own groups when none are) plus ``system:authenticated``,
and the uid and extras asked for (``Impersonate-Extra-KEY``, the key percent-encoded, repeated
for several values), which admission policies see in ``request.userInfo``.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterable, Mapping

from floatip_apiserver import rbac, status
from floatip_apiserver.status import ApiError

_SA_PREFIX = "system:serviceaccount:"
_EXTRA = "impersonate-extra-"

Allowed = Callable[[rbac.Request], bool]


def _checks(
    name: str, groups: list[str], uid: str, extras: Mapping[str, list[str]]
) -> list[rbac.Request]:
    checks = []
    if name.startswith(_SA_PREFIX) and name.count(":") == 3:
        namespace, sa = name.removeprefix(_SA_PREFIX).split(":")
        checks.append(rbac.Request("impersonate", "", "serviceaccounts", namespace, sa))
    else:
        checks.append(rbac.Request("impersonate", "", "users", "", name))
    checks += [rbac.Request("impersonate", "", "groups", "", g) for g in groups]
    if uid:
        checks.append(rbac.Request("impersonate", "authentication.k8s.io", "uids", "", uid))
    checks += [
        rbac.Request("impersonate", "authentication.k8s.io", f"userextras/{key}", "", value)
        for key, values in extras.items()
        for value in values
    ]
    return checks


def effective_user(
    user: rbac.User, headers: Iterable[tuple[str, str]], allowed: Allowed
) -> rbac.User:
    """Who the request acts as: ``user``, or whom it impersonates if ``user`` may (else 403).

    ``headers`` are the request's (name, value) pairs, repeated names included.
    """
    name, uid, groups = "", "", []
    extras: dict[str, list[str]] = {}
    for key, value in headers:
        lower = key.lower()
        if lower == "impersonate-user":
            name = value
        elif lower == "impersonate-group":
            groups.append(value)
        elif lower == "impersonate-uid":
            uid = value
        elif lower.startswith(_EXTRA):
            extras.setdefault(urllib.parse.unquote(lower[len(_EXTRA) :]), []).append(value)
    if not name:
        if groups or uid or extras:
            raise status.bad_request(
                "requested impersonation of groups, a uid or extras without impersonating a "
                "user: add Impersonate-User (kubectl --as)"
            )
        return user
    for check in _checks(name, groups, uid, extras):
        if not allowed(check):
            raise ApiError(
                403,
                "Forbidden",
                f"{check.resource.split('/')[0]}{'.' + check.group if check.group else ''} "
                f'"{check.name}" is forbidden: User "{user.name}" cannot impersonate resource '
                f'"{check.resource}" in API group "{check.group}"'
                + (
                    f' in the namespace "{check.namespace}"'
                    if check.namespace
                    else " at the cluster scope"
                ),
                {"name": check.name, "group": check.group, "kind": check.resource},
            )
    if not groups and name.startswith(_SA_PREFIX) and name.count(":") == 3:
        namespace = name.split(":")[2]
        groups = ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"]
    return rbac.User(name, tuple(groups), uid, {k: tuple(v) for k, v in extras.items()})
