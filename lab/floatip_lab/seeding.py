"""What the lab's API server must hold before floatip starts: Node objects and its Namespace.

In a real cluster the kubelets register Nodes and an installer creates the ``floatip``
namespace. The lab has neither, so it creates them: a Node per server with the ``Ready``
condition, the usual labels and its management address as InternalIP (the address the
operator uses to reach the agent), then the ``floatip`` Namespace. Objects are built by
pure ``build_*`` functions; ``apply_*`` sends them.
"""

from __future__ import annotations

import datetime
import platform
from typing import Any

from floatip.api import times
from floatip_lab import kubeapi

FLOATIP_NAMESPACE = "floatip"
LAB_LABEL = "floatip.io/lab"


def build_node(name: str, *, internal_ip: str, data_ip: str | None) -> dict[str, Any]:
    """A Node object as a kubelet registers it (metadata and spec; status is separate)."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                LAB_LABEL: "true",
            },
            "annotations": {"floatip.io/lab-data-ip": data_ip or ""},
        },
        "spec": {},
    }


def build_node_status(name: str, *, internal_ip: str, now: datetime.datetime) -> dict[str, Any]:
    """The Node's status: Ready, with its InternalIP and Hostname addresses."""
    stamp = times.timestamp(now)
    return {
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "floatip lab node is ready",
                    "lastHeartbeatTime": stamp,
                    "lastTransitionTime": stamp,
                }
            ],
            "addresses": [
                {"type": "InternalIP", "address": internal_ip},
                {"type": "Hostname", "address": name},
            ],
            # Every field a kubelet reports: clients that parse Nodes strictly need them all.
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": "",
                "containerRuntimeVersion": "none://floatip-lab",
                "kernelVersion": platform.release(),
                "kubeProxyVersion": "",
                "kubeletVersion": "v1.32.0-floatip-lab",
                "machineID": "",
                "operatingSystem": "linux",
                "osImage": "floatip lab (network namespace)",
                "systemUUID": "",
            },
        }
    }


def apply_nodes(client: kubeapi.Client, nodes: dict[str, tuple[str, str | None]]) -> None:
    """Create one Ready Node per entry ``name -> (mgmt_ip, data_ip)``."""
    now = datetime.datetime.now(datetime.UTC)
    for name, (mgmt_ip, data_ip) in nodes.items():
        client.request(
            "POST", "/api/v1/nodes", build_node(name, internal_ip=mgmt_ip, data_ip=data_ip)
        )
        client.request(
            "PATCH",
            f"/api/v1/nodes/{name}/status",
            build_node_status(name, internal_ip=mgmt_ip, now=now),
            content_type="application/merge-patch+json",
        )


def apply_namespace(client: kubeapi.Client, name: str = FLOATIP_NAMESPACE) -> None:
    """Create the namespace floatip's Leases and Events live in."""
    client.request(
        "POST",
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
    )
