"""RBAC authorization, a pure function of the stored Roles, ClusterRoles and bindings.

The lab runs the operator and the agents under exactly the rules the Helm chart ships; a
permission the chart forgets (or grants in excess) must show up as a 403 here as it would in
a real cluster. Rules match verbs x apiGroups x resources(/subresources) x resourceNames, a
RoleBinding grants only inside its namespace, a ClusterRoleBinding everywhere, and members of
``system:masters`` bypass RBAC as on a real server. Discovery URLs are open to every
authenticated user (the ``system:discovery`` ClusterRole of a real cluster). Non-resource URL
rules and the grants' reasons serve the access reviews (:mod:`reviews`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"


@dataclasses.dataclass(frozen=True)
class User:
    """An authenticated identity, as k8s.io/apiserver's ``user.Info``.

    RBAC reads only the name and groups; ``uid`` and ``extra`` (a pod-bound ServiceAccount
    token's ``authentication.kubernetes.io/node-name``, say) reach ``kubectl auth whoami`` and
    the admission policies' ``request.userInfo``.
    """

    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict, hash=False)

    @property
    def all_groups(self) -> tuple[str, ...]:
        return (*self.groups, AUTHENTICATED)

    @classmethod
    def service_account(
        cls,
        namespace: str,
        name: str,
        uid: str = "",
        extra: Mapping[str, tuple[str, ...]] | None = None,
    ) -> User:
        return cls(
            f"system:serviceaccount:{namespace}:{name}",
            ("system:serviceaccounts", f"system:serviceaccounts:{namespace}"),
            uid,
            dict(extra or {}),
        )


@dataclasses.dataclass(frozen=True)
class Request:
    """What is asked: ``resource`` may carry a subresource (``virtualips/status``)."""

    verb: str
    group: str
    resource: str
    namespace: str = ""
    name: str = ""


# Lists stored objects of one rbac kind: (plural) -> objects.
Lister = Callable[[str], Iterable[Mapping[str, Any]]]


def _subject_matches(subject: Mapping[str, Any], user: User) -> bool:
    kind = subject.get("kind")
    if kind == "User":
        return subject.get("name") == user.name
    if kind == "Group":
        return subject.get("name") in user.all_groups
    if kind == "ServiceAccount":
        sa = f"system:serviceaccount:{subject.get('namespace', '')}:{subject.get('name')}"
        return sa == user.name
    return False


def _has(values: Iterable[str] | None, wanted: str) -> bool:
    values = list(values or [])
    return "*" in values or wanted in values


def _resource_matches(resources: Iterable[str] | None, wanted: str) -> bool:
    values = list(resources or [])
    if "*" in values or wanted in values:
        return True
    if "/" in wanted:
        return f"*/{wanted.split('/', 1)[1]}" in values
    return False


def rule_allows(rule: Mapping[str, Any], request: Request) -> bool:
    """One PolicyRule against one request."""
    if not _has(rule.get("verbs"), request.verb):
        return False
    if not _has(rule.get("apiGroups"), request.group):
        return False
    if not _resource_matches(rule.get("resources"), request.resource):
        return False
    names = rule.get("resourceNames") or []
    return not names or request.name in names


def _role_rules(lister: Lister, ref: Mapping[str, Any], namespace: str) -> list[Any]:
    plural = "clusterroles" if ref.get("kind") == "ClusterRole" else "roles"
    for role in lister(plural):
        meta = role.get("metadata") or {}
        if meta.get("name") != ref.get("name"):
            continue
        if plural == "roles" and meta.get("namespace") != namespace:
            continue
        return list(role.get("rules") or [])
    return []


def authorize(user: User, request: Request, lister: Lister) -> bool:
    """True when some binding of ``user`` grants ``request``."""
    return MASTERS in user.groups or next(grants(user, request, lister), None) is not None


def _bindings(user: User, namespace: str, lister: Lister) -> Iterator[tuple[Any, list[Any]]]:
    """(binding, rules of its role) for each binding of ``user`` that applies in ``namespace``.

    ClusterRoleBindings apply everywhere; RoleBindings only in their namespace (and only when
    a namespace is asked about).
    """
    for binding in lister("clusterrolebindings"):
        if any(_subject_matches(s, user) for s in binding.get("subjects") or []):
            yield binding, _role_rules(lister, binding.get("roleRef") or {}, "")
    if not namespace:
        return
    for binding in lister("rolebindings"):
        meta = binding.get("metadata") or {}
        if meta.get("namespace") != namespace:
            continue
        if any(_subject_matches(s, user) for s in binding.get("subjects") or []):
            yield binding, _role_rules(lister, binding.get("roleRef") or {}, namespace)


def _describe(binding: Mapping[str, Any], user: User) -> str:
    """How the RBAC authorizer names a grant: ``ClusterRoleBinding "b" of ClusterRole "r"``."""
    meta = binding.get("metadata") or {}
    ref = binding.get("roleRef") or {}
    kind = "RoleBinding" if meta.get("namespace") else "ClusterRoleBinding"
    where = f"{meta.get('namespace')}/" if meta.get("namespace") else ""
    return (
        f'RBAC: allowed by {kind} "{where}{meta.get("name")}" of {ref.get("kind")} '
        f'"{ref.get("name")}" to User "{user.name}"'
    )


def grants(user: User, request: Request, lister: Lister) -> Iterator[str]:
    """The reason of each binding that grants ``request`` (as SubjectAccessReviews report)."""
    for binding, rules in _bindings(user, request.namespace, lister):
        if any(rule_allows(r, request) for r in rules):
            yield _describe(binding, user)


def _path_matches(patterns: Iterable[str] | None, path: str) -> bool:
    return any(
        pattern == path or (pattern.endswith("*") and path.startswith(pattern[:-1]))
        for pattern in patterns or []
    )


def authorize_path(user: User, verb: str, path: str, lister: Lister) -> bool:
    """A non-resource URL (``/healthz``): ClusterRole rules with nonResourceURLs, cluster-wide."""
    if MASTERS in user.groups:
        return True
    return any(
        _has(rule.get("verbs"), verb) and _path_matches(rule.get("nonResourceURLs"), path)
        for binding, rules in _bindings(user, "", lister)
        if not (binding.get("metadata") or {}).get("namespace")
        for rule in rules
    )


def rules(user: User, namespace: str, lister: Lister) -> list[Mapping[str, Any]]:
    """Every rule that applies to ``user`` in ``namespace`` (SelfSubjectRulesReview)."""
    if MASTERS in user.groups:  # what the cluster-admin binding of system:masters grants
        return [
            {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
            {"verbs": ["*"], "nonResourceURLs": ["*"]},
        ]
    return [rule for _, found in _bindings(user, namespace, lister) for rule in found]
