"""The default RBAC policy a fresh real cluster has, as far as this server's features need it.

kube-apiserver's bootstrap policy binds ``system:basic-user`` (ask the access reviews and
``whoami`` about yourself), ``system:discovery`` and ``system:public-info-viewer`` to every
authenticated user. Without them, ``kubectl auth can-i`` run by a ServiceAccount would be
refused before it could ask. Names, rules and labels are the real ones.
"""

from __future__ import annotations

from typing import Any

_RBAC = "rbac.authorization.k8s.io/v1"
_META = {
    "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
    "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
}
_DISCOVERY = ["/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*"]
_PUBLIC = ["/healthz", "/livez", "/readyz", "/version", "/version/"]
_DISCOVERY += _PUBLIC

ROLES: dict[str, list[dict[str, Any]]] = {
    "system:basic-user": [
        {
            "apiGroups": ["authorization.k8s.io"],
            "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
            "verbs": ["create"],
        },
        {
            "apiGroups": ["authentication.k8s.io"],
            "resources": ["selfsubjectreviews"],
            "verbs": ["create"],
        },
    ],
    "system:discovery": [{"nonResourceURLs": _DISCOVERY, "verbs": ["get"]}],
    "system:public-info-viewer": [{"nonResourceURLs": _PUBLIC, "verbs": ["get"]}],
}
_GROUPS = {"system:public-info-viewer": ["system:authenticated", "system:unauthenticated"]}


def policy() -> list[tuple[str, dict[str, Any]]]:
    """(plural, object) of each ClusterRole and its ClusterRoleBinding, in creation order."""
    objects: list[tuple[str, dict[str, Any]]] = []
    for name, rules in ROLES.items():
        meta = {"name": name, **_META}
        objects.append(
            (
                "clusterroles",
                {"apiVersion": _RBAC, "kind": "ClusterRole", "metadata": meta, "rules": rules},
            )
        )
        subjects = [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}
            for group in _GROUPS.get(name, ["system:authenticated"])
        ]
        binding = {
            "apiVersion": _RBAC,
            "kind": "ClusterRoleBinding",
            "metadata": meta,
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": name,
            },
            "subjects": subjects,
        }
        objects.append(("clusterrolebindings", binding))
    return objects
