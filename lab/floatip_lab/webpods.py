"""The web Pods: each server's nginx as a Pod's endpoint (the lab plays the kubelet here).

A Service's backends are Pods: the endpoints controller (`floatip_lab.endpoints`) lists the
Pods a Service selects, and kube-proxy (`floatip_lab.kubeproxy`) sends the Service's traffic to
them. The lab's backends are the nginx each server runs (`floatip_lab.webservers`), so every
server gets a Pod ``web-<node>`` in namespace ``default`` labelled ``app: web``: bound to the
node (``spec.nodeName``), on the host network, its container port 80 named ``http``. The lab
has no kubelet, so it writes what a kubelet reports in ``/status``: Running, the Pod's IP, and
the Ready condition its readiness probe decides. With ``hostNetwork`` a Pod's IP is its node's;
the lab gives the node's data-LAN address (where nginx answers the client) and keeps the
Node's InternalIP, the management address, as ``hostIP``.

`set_ready` is what a kubelet writes when the readiness probe starts failing or passes again
(`floatip lab fault stop-pod` / `start-pod`): the Ready and ContainersReady conditions and the
container's ``ready``, nothing else; nginx keeps running, as a container whose probe fails does.
Other Pods of the same kind (``app`` other than ``web``: ``<app>-<node>``, label ``app: <app>``,
the same nginx behind them) let a benchmark give some Services backends of their own, so that
a readiness change concerns only the Services selecting them (`floatip_lab.benchmarks.services`).
Pure ``build_*``; the rest sends.
"""

from __future__ import annotations

import datetime
from typing import Any

from floatip.api import times
from floatip_lab import kubeapi

NAMESPACE = "default"
APP = "web"
LABELS = {"app": APP}
PORT = 80
IMAGE = "nginx:lab"
_MERGE = "application/merge-patch+json"


def pod_name(node: str, app: str = APP) -> str:
    return f"{app}-{node}"


def pod_path(node: str, app: str = APP) -> str:
    return f"/api/v1/namespaces/{NAMESPACE}/pods/{pod_name(node, app)}"


def build_pod(node: str, app: str = APP) -> dict[str, Any]:
    """The ``app`` Pod of ``node``, as a Deployment creates it and the scheduler binds it."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": pod_name(node, app), "namespace": NAMESPACE, "labels": {"app": app}},
        "spec": {
            "nodeName": node,
            "hostNetwork": True,
            "containers": [
                {
                    "name": "nginx",
                    "image": IMAGE,
                    "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
                    "readinessProbe": {"httpGet": {"path": "/", "port": PORT}},
                }
            ],
        },
    }


def build_status(
    *, pod_ips: list[str], host_ip: str, ready: bool, now: datetime.datetime
) -> dict[str, Any]:
    """The status a kubelet reports for the running Pod, Ready or not (its probe's verdict)."""
    value = "True" if ready else "False"
    stamp = times.timestamp(now)
    reason = {} if ready else {"reason": "ContainersNotReady"}
    return {
        "status": {
            "phase": "Running",
            "hostIP": host_ip,
            "podIP": pod_ips[0],
            "podIPs": [{"ip": ip} for ip in pod_ips],
            "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": stamp},
                {"type": "Initialized", "status": "True", "lastTransitionTime": stamp},
                {"type": "ContainersReady", "status": value, "lastTransitionTime": stamp, **reason},
                {"type": "Ready", "status": value, "lastTransitionTime": stamp, **reason},
            ],
            "containerStatuses": [
                {
                    "name": "nginx",
                    "image": IMAGE,
                    "imageID": "",
                    "ready": ready,
                    "restartCount": 0,
                    "started": True,
                    "state": {"running": {"startedAt": stamp}},
                }
            ],
        }
    }


def create(
    client: kubeapi.Client, node: str, *, pod_ips: list[str], host_ip: str, app: str = APP
) -> None:
    """Create ``node``'s ``app`` Pod and report it Running and Ready."""
    client.request("POST", f"/api/v1/namespaces/{NAMESPACE}/pods", build_pod(node, app))
    _report(client, node, app, pod_ips=pod_ips, host_ip=host_ip, ready=True)


def addresses(client: kubeapi.Client, node: str, app: str = APP) -> tuple[list[str], str]:
    """The IPs and host IP ``node``'s ``app`` Pod reports."""
    status = client.request("GET", pod_path(node, app)).get("status") or {}
    pod_ips = [entry["ip"] for entry in status.get("podIPs") or []] or [status["podIP"]]
    return pod_ips, str(status.get("hostIP"))


def set_ready(client: kubeapi.Client, node: str, *, ready: bool, app: str = APP) -> None:
    """Report ``node``'s ``app`` Pod Ready or not, keeping its addresses."""
    pod_ips, host_ip = addresses(client, node, app)
    _report(client, node, app, pod_ips=pod_ips, host_ip=host_ip, ready=ready)


def _report(
    client: kubeapi.Client, node: str, app: str, *, pod_ips: list[str], host_ip: str, ready: bool
) -> None:
    now = datetime.datetime.now(datetime.UTC)
    body = build_status(pod_ips=pod_ips, host_ip=host_ip, ready=ready, now=now)
    client.request("PATCH", f"{pod_path(node, app)}/status", body, content_type=_MERGE)


def is_ready(pod: dict[str, Any]) -> bool:
    """``podutil.IsPodReady``: the Pod's Ready condition is True."""
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
