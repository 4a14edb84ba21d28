"""The chart's admission policies, enforced in the lab: each agent bound to its own node.

The policies live once, in ``charts/floatip/files/admission.yaml``: the chart renders them
(templates/admission.yaml) and the lab builds the same objects from it here and applies them to
its API server, which evaluates ValidatingAdmissionPolicies as kube-apiserver does. Each agent
then runs with a token bound to its own Pod on its own node (`floatip_lab.agentpods`), so an
agent that writes what another node reports, or what the operator owns, is refused in the lab
as it would be in a cluster. Pure ``build_objects``; ``apply_objects`` sends.
"""

from __future__ import annotations

import pathlib
from typing import Any

import yaml

from floatip_lab import chartfiles, kubeapi, rbac

#: the objects' name prefix for a release called "floatip" (the chart's fullname)
NAME = "floatip"
API = "/apis/admissionregistration.k8s.io/v1"


def policy_file() -> pathlib.Path:
    return chartfiles.find("admission.yaml", "admission policies")


def build_objects(
    text: str,
    *,
    name: str = NAME,
    namespace: str = rbac.NAMESPACE,
    agent: str = rbac.ACCOUNTS["agent"],
    operator: str = rbac.ACCOUNTS["operator"],
) -> list[dict[str, Any]]:
    """The policies and their bindings, with the placeholders the chart replaces replaced."""
    for placeholder, value in (
        ("__NAMESPACE__", namespace),
        ("__AGENT__", agent),
        ("__OPERATOR__", operator),
        ("__NAME__", name),
    ):
        text = text.replace(placeholder, value)
    objects: list[dict[str, Any]] = yaml.safe_load(text)
    return objects


def collection(obj: dict[str, Any]) -> str:
    """Where ``obj`` is created."""
    plural = {
        "ValidatingAdmissionPolicy": "validatingadmissionpolicies",
        "ValidatingAdmissionPolicyBinding": "validatingadmissionpolicybindings",
    }[obj["kind"]]
    return f"{API}/{plural}"


def apply_objects(client: kubeapi.Client, objects: list[dict[str, Any]]) -> None:
    """Create each policy before its binding (the file's order)."""
    for obj in objects:
        client.request("POST", collection(obj), obj)
