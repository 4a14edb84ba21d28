"""The real kubectl (v1.35) drives the test API server unchanged.

Proves: apply (after downloading OpenAPI), get -o wide/yaml/json with the CRD's printer
columns, describe, label, patch --subresource=status, wait --for=condition=Ready, diff
(dryRun=All), apply --server-side, get -w (watch with tables), delete --wait, and a 422 shown
with the CEL rule's message.
"""

from __future__ import annotations

import asyncio
import json
import subprocess

import pytest

from floatip_apiserver.runtime import RunningServer
from floatip_apiserver.testing import kubectl_path

pytestmark = pytest.mark.kubectl

VIP = """apiVersion: floatip.io/v1alpha1
kind: VirtualIP
metadata:
  name: web
spec:
  address: {address}
"""


async def kubectl(server: RunningServer, *args: str, stdin: str | None = None) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        kubectl_path(),
        "--kubeconfig",
        str(server.kubeconfig),
        *args,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    out, _ = await proc.communicate(stdin.encode() if stdin else None)
    return proc.returncode or 0, out.decode()


async def test_kubectl_apply_get_describe_label_status_wait_diff_delete(
    apiserver: RunningServer,
) -> None:
    code, out = await kubectl(apiserver, "apply", "-f", "-", stdin=VIP.format(address="192.0.2.10"))
    assert code == 0, out
    assert "virtualip.floatip.io/web created" in out
    code, out = await kubectl(apiserver, "apply", "-f", "-", stdin=VIP.format(address="127.0.0.1"))
    assert code == 1 and "spec.address: Invalid value" in out and "unicast" in out
    code, out = await kubectl(apiserver, "label", "vip", "web", "team=a")
    assert code == 0, out
    status = {
        "status": {
            "holder": "server1",
            "epoch": 3,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Announced",
                    "message": "ok",
                    "lastTransitionTime": "2024-01-01T00:00:00Z",
                }
            ],
        }
    }
    code, out = await kubectl(
        apiserver,
        "patch",
        "vip",
        "web",
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps(status),
    )
    assert code == 0, out
    code, out = await kubectl(
        apiserver, "wait", "--for=condition=Ready", "vip/web", "--timeout=20s"
    )
    assert code == 0 and "condition met" in out, out
    code, out = await kubectl(apiserver, "get", "vip", "-o", "wide")
    header, row = out.splitlines()[:2]
    assert header.split() == ["NAME", "ADDRESS", "NODE", "READY", "AGE", "EPOCH", "GROUP"]
    assert row.split()[:4] == ["web", "192.0.2.10", "server1", "True"] and row.split()[5] == "3"
    assert len(row.split()) == 6, row  # no spec.group: an empty GROUP cell
    code, out = await kubectl(apiserver, "get", "vip", "web", "-o", "json")
    obj = json.loads(out)
    assert obj["metadata"]["labels"] == {"team": "a"} and obj["status"]["epoch"] == 3
    code, out = await kubectl(apiserver, "get", "virtualips.floatip.io", "-o", "yaml")
    assert "address: 192.0.2.10" in out
    code, out = await kubectl(apiserver, "describe", "vip", "web")
    assert code == 0 and "Address:  192.0.2.10" in out
    code, out = await kubectl(apiserver, "diff", "-f", "-", stdin=VIP.format(address="192.0.2.11"))
    assert code == 1 and "+  address: 192.0.2.11" in out, out  # 1: differences found
    code, out = await kubectl(apiserver, "get", "vip", "web", "-o", "jsonpath={.spec.address}")
    assert out == "192.0.2.10"  # diff changed nothing
    code, out = await kubectl(apiserver, "delete", "vip", "web", "--wait", "--timeout=20s")
    assert code == 0 and 'virtualip.floatip.io "web" deleted' in out, out
    code, out = await kubectl(apiserver, "get", "vip", "web")
    assert code == 1 and "NotFound" in out


async def test_kubectl_server_side_apply_and_get_watch(apiserver: RunningServer) -> None:
    manifest = VIP.format(address="192.0.2.20")
    code, out = await kubectl(apiserver, "apply", "--server-side", "-f", "-", stdin=manifest)
    assert code == 0 and "serverside-applied" in out, out
    code, out = await kubectl(
        apiserver,
        "apply",
        "--server-side",
        "-f",
        "-",
        stdin=manifest.replace("192.0.2.20", "192.0.2.21"),
    )
    assert code == 0, out
    watch = await asyncio.create_subprocess_exec(
        kubectl_path(),
        "--kubeconfig",
        str(apiserver.kubeconfig),
        "get",
        "vip",
        "-w",
        "--request-timeout=20s",
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert watch.stdout is not None
        header = await asyncio.wait_for(watch.stdout.readline(), 20)
        assert header.split()[:2] == [b"NAME", b"ADDRESS"]
        first = await asyncio.wait_for(watch.stdout.readline(), 20)
        assert first.split()[:2] == [b"web", b"192.0.2.21"]
        code, out = await kubectl(
            apiserver,
            "patch",
            "vip",
            "web",
            "--type=merge",
            "-p",
            '{"spec":{"address":"192.0.2.22"}}',
        )
        assert code == 0, out
        changed = await asyncio.wait_for(watch.stdout.readline(), 20)
        assert changed.split()[:2] == [b"web", b"192.0.2.22"]
    finally:
        watch.terminate()
        await watch.wait()


async def test_kubectl_explain_reads_the_crd_schema_from_openapi_v3(
    apiserver: RunningServer,
) -> None:
    code, out = await kubectl(apiserver, "explain", "vip")
    assert code == 0, out
    assert "KIND:       VirtualIP" in out
    assert "answering for spec.address" in out
    code, out = await kubectl(apiserver, "explain", "vip.spec.announce.burstCount")
    assert code == 0, out
    assert "Announcements sent right after taking the address." in out


async def test_kubectl_get_nodes_namespaces_and_leases_print_the_real_columns(
    apiserver: RunningServer,
) -> None:
    """``printNode``, ``printNamespace``, ``printLease``: what ``kubectl get`` shows of them."""
    manifest = """
apiVersion: v1
kind: Node
metadata: {name: cp1, labels: {node-role.kubernetes.io/control-plane: ""}}
spec: {unschedulable: true}
---
apiVersion: v1
kind: Node
metadata: {name: worker1}
---
apiVersion: v1
kind: Namespace
metadata: {name: team}
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: leader, namespace: team}
spec: {holderIdentity: replica-a}
"""
    code, out = await kubectl(apiserver, "apply", "-f", "-", stdin=manifest)
    assert code == 0, out
    status = {
        "status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "addresses": [{"type": "InternalIP", "address": "192.0.2.11"}],
            "nodeInfo": {"kubeletVersion": "v1.35.0", "osImage": "Debian GNU/Linux 12"},
        }
    }
    code, out = await kubectl(
        apiserver, "patch", "node", "cp1", "--subresource=status", "--type=merge",
        "-p", json.dumps(status),
    )  # fmt: skip
    assert code == 0, out

    code, out = await kubectl(apiserver, "get", "nodes", "-o", "wide")
    assert code == 0, out
    rows = [line.split() for line in out.strip().splitlines()]
    assert rows[0] == [
        "NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP",
        "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME",
    ]  # fmt: skip
    assert rows[1][:3] == ["cp1", "Ready,SchedulingDisabled", "control-plane"]
    assert rows[1][4:7] == ["v1.35.0", "192.0.2.11", "<none>"]
    assert rows[2][:3] == ["worker1", "Unknown", "<none>"]

    code, out = await kubectl(apiserver, "get", "namespace", "team")
    assert code == 0, out
    assert [line.split() for line in out.strip().splitlines()] == [
        ["NAME", "STATUS", "AGE"],
        ["team", "Active", out.split()[-1]],
    ]
    code, out = await kubectl(apiserver, "get", "lease", "-n", "team")
    assert code == 0, out
    assert [line.split()[:2] for line in out.strip().splitlines()] == [
        ["NAME", "HOLDER"],
        ["leader", "replica-a"],
    ]
