"""The chart's RBAC, enforced in the lab: the operator and the agents run as ServiceAccounts.

The rules live once, in ``charts/floatip/files/rbac.yaml``: the chart renders its ClusterRoles
and Roles from that file (a chart test proves it), and the lab builds the same objects from it
here and applies them to its API server, which enforces RBAC. A permission the code needs but
the chart lacks then fails in the lab, and one it grants but the code never uses stands out.
Pure ``build_*`` functions; ``apply_*`` sends.
"""

from __future__ import annotations

import pathlib
from typing import Any

import yaml

from floatip_lab import chartfiles, kubeapi

NAMESPACE = "floatip"
#: The names the chart gives these objects for a release called "floatip".
ACCOUNTS = {"operator": "floatip-operator", "agent": "floatip-agent"}


def rules_file() -> pathlib.Path:
    return chartfiles.find("rbac.yaml", "RBAC rules")


def load_rules() -> dict[str, Any]:
    rules: dict[str, Any] = yaml.safe_load(rules_file().read_text())
    return rules


def build_objects(rules: dict[str, Any], namespace: str = NAMESPACE) -> list[dict[str, Any]]:
    """ServiceAccount, ClusterRole(+Binding) and Role(+Binding) for each component."""
    objects: list[dict[str, Any]] = []
    for component, name in ACCOUNTS.items():
        subject = [{"kind": "ServiceAccount", "name": name, "namespace": namespace}]
        rbac = "rbac.authorization.k8s.io/v1"
        cluster_ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name}
        role_ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}
        objects += [
            {"apiVersion": "v1", "kind": "ServiceAccount",
             "metadata": {"name": name, "namespace": namespace}},
            {"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": name},
             "rules": rules[component]["cluster"]},
            {"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": {"name": name},
             "roleRef": cluster_ref, "subjects": subject},
            {"apiVersion": rbac, "kind": "Role", "metadata": {"name": name, "namespace": namespace},
             "rules": rules[component]["namespace"]},
            {"apiVersion": rbac, "kind": "RoleBinding",
             "metadata": {"name": name, "namespace": namespace},
             "roleRef": role_ref, "subjects": subject},
        ]  # fmt: skip
    return objects


def collection(obj: dict[str, Any]) -> str:
    """Where ``obj`` is created."""
    kind, namespace = obj["kind"], obj["metadata"].get("namespace")
    if kind == "ServiceAccount":
        return f"/api/v1/namespaces/{namespace}/serviceaccounts"
    plural = {"ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings",
              "Role": "roles", "RoleBinding": "rolebindings"}[kind]  # fmt: skip
    base = "/apis/rbac.authorization.k8s.io/v1"
    return f"{base}/namespaces/{namespace}/{plural}" if namespace else f"{base}/{plural}"


def apply_objects(client: kubeapi.Client, objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        client.request("POST", collection(obj), obj)
