"""The agents' Pods and their node-bound tokens, as a DaemonSet and each node's kubelet make them.

In a cluster the DaemonSet controller creates one agent Pod per node, the scheduler binds it
(``spec.nodeName``), and the kubelet asks the API server for a ServiceAccount token bound to
that Pod (a TokenRequest with ``boundObjectRef``), which Kubernetes 1.30+ stamps with the
node's name (user extra ``authentication.kubernetes.io/node-name``). The chart's admission
policies key on that name. The lab has no controllers or kubelets, so it does their part: a
Pod per node, marked Running, and a kubeconfig per node carrying its Pod-bound token, with
which that node's agent runs. Pure ``build_*``; the rest sends.
"""

from __future__ import annotations

import pathlib
from typing import Any

import yaml

from floatip_lab import kubeapi, rbac

#: what the kubelet asks for (3607 s); the lab asks for a week instead, because it does not
#: rotate the token as a kubelet does at 80 % of its life, and a lab may stay up for days
TOKEN_SECONDS = 7 * 24 * 3600


def pod_name(node: str) -> str:
    return f"floatip-agent-{node}"


def build_pod(node: str, *, namespace: str = rbac.NAMESPACE) -> dict[str, Any]:
    """The agent's Pod on ``node``, as the DaemonSet creates and the scheduler binds it."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod_name(node),
            "namespace": namespace,
            "labels": {"app.kubernetes.io/name": "floatip", "app.kubernetes.io/component": "agent"},
        },
        "spec": {
            "nodeName": node,
            "serviceAccountName": rbac.ACCOUNTS["agent"],
            "hostNetwork": True,
            "containers": [{"name": "agent", "image": "floatip:lab"}],
        },
    }


def build_pod_status(host_ip: str) -> dict[str, Any]:
    """Running and ready, as the kubelet reports it (host network: the Pod has the node's IP)."""
    return {
        "status": {
            "phase": "Running",
            "hostIP": host_ip,
            "podIP": host_ip,
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [
                {
                    "name": "agent",
                    "image": "floatip:lab",
                    "imageID": "",
                    "ready": True,
                    "restartCount": 0,
                    "started": True,
                    "state": {"running": {}},
                }
            ],
        }
    }


def build_token_request(pod: dict[str, Any]) -> dict[str, Any]:
    """A TokenRequest bound to ``pod`` (its name and uid), as the kubelet sends it."""
    return {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {
            "audiences": [],
            "expirationSeconds": TOKEN_SECONDS,
            "boundObjectRef": {
                "apiVersion": "v1",
                "kind": "Pod",
                "name": pod["metadata"]["name"],
                "uid": pod["metadata"]["uid"],
            },
        },
    }


def with_token(kubeconfig: str, token: str) -> str:
    """The kubeconfig ``kubeconfig`` (text) with its current user's token replaced."""
    config = yaml.safe_load(kubeconfig)
    context = kubeapi.named(config["contexts"], config["current-context"])["context"]
    kubeapi.named(config["users"], context["user"])["user"] = {"token": token}
    return yaml.safe_dump(config, sort_keys=False)


def start_pod(client: kubeapi.Client, node: str, host_ip: str) -> dict[str, Any]:
    """Create the agent's Pod on ``node`` and report it Running; the created Pod."""
    pod = build_pod(node)
    namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    created = client.request("POST", f"/api/v1/namespaces/{namespace}/pods", pod)
    client.request(
        "PATCH",
        f"/api/v1/namespaces/{namespace}/pods/{name}/status",
        build_pod_status(host_ip),
        content_type="application/merge-patch+json",
    )
    return created


def write_kubeconfigs(
    client: kubeapi.Client, pod: dict[str, Any], targets: dict[pathlib.Path, pathlib.Path]
) -> None:
    """Ask for ``pod``'s token; write each target kubeconfig (mode 0600) from its template."""
    namespace = pod["metadata"]["namespace"]
    account = pod["spec"]["serviceAccountName"]
    answer = client.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token",
        build_token_request(pod),
    )
    for target, template in targets.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(with_token(template.read_text(), answer["status"]["token"]))
        target.chmod(0o600)
