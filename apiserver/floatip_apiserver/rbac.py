"""RBAC authorization, a pure function of the stored Roles, ClusterRoles and bindings.

The lab runs the operator and the agents under exactly the rules the Helm chart ships; a
permission the chart forgets (or grants in excess) must show up as a 403 here as it would in
a real cluster. Rules match verbs x apiGroups x resources(/subresources) x resourceNames, a
RoleBinding grants only inside its namespace, a ClusterRoleBinding everywhere, and members of
``system:masters`` bypass RBAC as on a real server. Discovery URLs are open to every
authenticated user (the ``system:discovery`` ClusterRole of a real cluster).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"


@dataclasses.dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()

    @property
    def all_groups(self) -> tuple[str, ...]:
        return (*self.groups, AUTHENTICATED)

    @classmethod
    def service_account(cls, namespace: str, name: str) -> User:
        return cls(
            f"system:serviceaccount:{namespace}:{name}",
            ("system:serviceaccounts", f"system:serviceaccounts:{namespace}"),
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
    if MASTERS in user.groups:
        return True
    for binding in lister("clusterrolebindings"):
        if any(_subject_matches(s, user) for s in binding.get("subjects") or []):
            rules = _role_rules(lister, binding.get("roleRef") or {}, "")
            if any(rule_allows(r, request) for r in rules):
                return True
    if not request.namespace:
        return False
    for binding in lister("rolebindings"):
        meta = binding.get("metadata") or {}
        if meta.get("namespace") != request.namespace:
            continue
        if any(_subject_matches(s, user) for s in binding.get("subjects") or []):
            rules = _role_rules(lister, binding.get("roleRef") or {}, request.namespace)
            if any(rule_allows(r, request) for r in rules):
                return True
    return False
