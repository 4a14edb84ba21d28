"""The control-plane VIP's static Pod and systemd unit, rendered from a few choices (pure).

``floatip control-plane manifest|unit`` prints them (`floatip.cli.controlplane`); both run the
same command line, ``floatip-control-plane-agent --address VIP/PFX ...``, so the docs and the
tests describe one program whichever way it is started. Neither needs a kubeconfig: the agent
elects over the LAN, before the API exists and while it is gone (docs/control-plane.md).

The Pod runs on the host network as root with NET_ADMIN and NET_RAW only (add and remove the
address, send and read ARP/NDP), not privileged, with a read-only root file system, in
kube-system like kubeadm's own static Pods; its liveness probe is the agent's ``/healthz``.
"""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Sequence
from typing import Any, NamedTuple

import yaml

#: The image of floatip's Helm chart (values.yaml ``image.repository``).
IMAGE_REPOSITORY = "ghcr.io/floatip/floatip"
COMMAND = "floatip-control-plane-agent"
#: Where kubeadm's kubelet looks for static Pods.
STATIC_POD_DIR = "/etc/kubernetes/manifests"
#: The agent's /healthz, /metrics and /state (its ``--listen`` default).
STATE_PORT = 9732
PROFILES = ("default", "fast")
#: A heartbeat key goes here on every control-plane node (mounted read-only into the Pod).
KEY_DIR = "/etc/kubernetes/floatip"
#: kubeadm's cluster-admin kubeconfigs, never the agent's.
FORBIDDEN_KUBECONFIGS = ("admin.conf", "super-admin.conf")
#: The user of the agent's own client certificate, and what its Role allows.
STATUS_USER = "floatip:control-plane"
STATUS_LEASE = "floatip-control-plane"
STATUS_NAMESPACE = "kube-system"


class Choices(NamedTuple):
    """What the person chose; the rest is the agent's defaults."""

    address: str  # VIP/PFX
    interface: str | None = None
    port: int = 6443
    profile: str = "default"
    cluster_id: str | None = None
    peers: tuple[str, ...] = ()
    key_file: str | None = None
    kubeconfig: str | None = None  # the agent's own credentials for its status report


def check(choices: Choices) -> Choices:
    """`choices` if the agent would accept them; else ValueError saying what is wrong."""
    try:
        interface = ipaddress.ip_interface(choices.address)
    except ValueError:
        raise ValueError(
            f"--address {choices.address!r} is not VIP/PREFIX (e.g. 192.0.2.10/24)"
        ) from None
    if "/" not in choices.address:
        raise ValueError(f"--address {choices.address!r} needs its prefix, e.g. {interface.ip}/24")
    if choices.kubeconfig and choices.kubeconfig.rsplit("/", 1)[-1] in FORBIDDEN_KUBECONFIGS:
        raise ValueError(
            f"--kubeconfig {choices.kubeconfig} is a cluster-admin credential; make the agent "
            f"its own: kubeadm kubeconfig user --client-name {STATUS_USER} (docs/control-plane.md)"
        )
    if choices.profile not in PROFILES:
        raise ValueError(f"--profile {choices.profile!r} is not one of {', '.join(PROFILES)}")
    for peer in choices.peers:
        try:
            ipaddress.ip_address(peer)
        except ValueError:
            raise ValueError(f"--peer {peer!r} is not an IP address") from None
    return choices


def arguments(choices: Choices) -> list[str]:
    """The agent's command-line flags for `choices` (defaults left out)."""
    args = [f"--address={choices.address}"]
    if choices.interface:
        args.append(f"--interface={choices.interface}")
    if choices.port != 6443:
        args.append(f"--port={choices.port}")
    if choices.profile != "default":
        args.append(f"--profile={choices.profile}")
    if choices.cluster_id:
        args.append(f"--cluster-id={choices.cluster_id}")
    args.extend(f"--peer={peer}" for peer in choices.peers)
    if choices.key_file:
        args.append(f"--key-file={choices.key_file}")
    if choices.kubeconfig:
        args.append(f"--kubeconfig={choices.kubeconfig}")
    return args


def static_pod(choices: Choices, *, image: str) -> dict[str, Any]:
    """The static Pod (a dict; `render_pod` gives the YAML)."""
    container: dict[str, Any] = {
        "name": "control-plane-vip",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": [COMMAND],
        "args": arguments(choices),
        "ports": [{"name": "state", "containerPort": STATE_PORT, "protocol": "TCP"}],
        "livenessProbe": {
            "httpGet": {"host": "127.0.0.1", "path": "/healthz", "port": STATE_PORT},
            "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3,
        },
        "resources": {"requests": {"cpu": "20m", "memory": "48Mi"}, "limits": {"memory": "128Mi"}},
        "securityContext": {
            "privileged": False, "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True, "runAsUser": 0, "runAsNonRoot": False,
            "capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN", "NET_RAW"]},
        },
    }  # fmt: skip
    spec: dict[str, Any] = {
        "hostNetwork": True,
        "priorityClassName": "system-node-critical",
        "priority": 2000001000,
        "terminationGracePeriodSeconds": 10,
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
    }
    files = [("heartbeat-key", choices.key_file), ("status-kubeconfig", choices.kubeconfig)]
    for name, path in files:
        if path:
            container.setdefault("volumeMounts", []).append(
                {"name": name, "mountPath": path, "readOnly": True}
            )
            spec.setdefault("volumes", []).append(
                {"name": name, "hostPath": {"path": path, "type": "File"}}
            )
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "floatip-control-plane",
            "namespace": "kube-system",
            "labels": {
                "app.kubernetes.io/name": "floatip",
                "app.kubernetes.io/component": "control-plane-vip",
            },
        },
        "spec": spec,
    }


def render_pod(choices: Choices, *, image: str) -> str:
    header = (
        f"# floatip control-plane VIP {choices.address}: save as\n"
        f"# {STATIC_POD_DIR}/floatip-control-plane.yaml on every control-plane node, before\n"
        "# `kubeadm init` / `kubeadm join --control-plane` (docs/control-plane.md).\n"
    )
    return header + yaml.safe_dump(static_pod(choices, image=image), sort_keys=False)


def render_unit(choices: Choices, *, binary: str) -> str:
    """The systemd unit: the same command line, root with two capabilities only."""
    exec_start = shlex.join([binary, *arguments(choices)])
    return f"""\
# floatip control-plane VIP {choices.address}: save as
# /etc/systemd/system/floatip-control-plane.service on every control-plane node, then
# systemctl daemon-reload && systemctl enable --now floatip-control-plane (docs/control-plane.md)
[Unit]
Description=floatip control-plane VIP {choices.address} (kube-apiserver endpoint)
Documentation=https://github.com/floatip/floatip/blob/main/docs/control-plane.md
Wants=network-online.target
After=network-online.target
Before=kubelet.service

[Service]
ExecStart={exec_start}
Restart=always
RestartSec=1
# SIGTERM hands the VIP to a healthy peer if there is one, else keeps it (a restart must not
# drop the apiserver's endpoint).
KillSignal=SIGTERM
TimeoutStopSec=10
CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW
AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_NETLINK AF_PACKET AF_UNIX

[Install]
WantedBy=multi-user.target
"""


def exec_start(unit: str) -> Sequence[str]:
    """The ExecStart command of a unit `render_unit` wrote, split as systemd would."""
    for line in unit.splitlines():
        if line.startswith("ExecStart="):
            return shlex.split(line.removeprefix("ExecStart="))
    raise ValueError("no ExecStart= line in the unit")


def status_objects() -> list[dict[str, Any]]:
    """The Lease the holder reports into, and a Role that lets `STATUS_USER` read and write
    that one Lease and nothing else (no create: the Lease is created here, by an admin)."""
    meta = {"name": STATUS_LEASE, "namespace": STATUS_NAMESPACE,
            "labels": {"app.kubernetes.io/name": "floatip",
                       "app.kubernetes.io/component": "control-plane-vip"}}  # fmt: skip
    return [
        {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta, "spec": {}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta,
            "rules": [{
                "apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                "resourceNames": [STATUS_LEASE], "verbs": ["get", "update", "patch"],
            }],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                        "name": STATUS_LEASE},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                          "name": STATUS_USER}],
        },
    ]  # fmt: skip


def render_status_objects() -> str:
    header = (
        "# The control-plane VIP's status report: kubectl apply -f this, once the API is up;\n"
        f"# the agents' credentials: kubeadm kubeconfig user --client-name {STATUS_USER}\n"
        "#   --config kubeadm.yaml > /etc/kubernetes/floatip-control-plane.conf\n"
        "# (docs/control-plane.md, Status)\n"
    )
    return header + yaml.safe_dump_all(status_objects(), sort_keys=False)
