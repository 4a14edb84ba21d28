"""``kubectl vip`` against floatip's API server: status, move, history, drain, undrain, errors.

Proves: status prints holder, conditions and last move, and last the Service(s) of a
Service-backed VirtualIP (- for others); move pins spec.node (and refuses an
unknown node or VirtualIP with advice and exit 1); history lists the moves; drain and undrain
set and remove the floatip.io/drain label; the real kubectl finds the plugin on PATH; status
shows the control-plane VIP's report above the table when its holder has published one.
"""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import subprocess
import sys
from typing import Any

import kubernetes
from click.testing import CliRunner, Result

from floatip.kubectl import main
from floatip_apiserver.runtime import RunningServer
from floatip_apiserver.testing import apiserver, kubectl_path

__all__ = ["apiserver"]


def _seed(server: RunningServer) -> None:
    client = kubernetes.config.new_client_from_config(config_file=str(server.kubeconfig))
    core = kubernetes.client.CoreV1Api(client)
    custom = kubernetes.client.CustomObjectsApi(client)
    for node in ("s1", "s2"):
        core.create_node({"apiVersion": "v1", "kind": "Node", "metadata": {"name": node}})
        # A nodeInfo with fields missing (as some servers and test tools send): the plugin
        # must not need to parse a Node strictly to move a VIP to it or drain it.
        core.patch_node_status(
            node, {"status": {"nodeInfo": {"kubeletVersion": "v1.32.0"}}}, _preload_content=False
        )
    custom.create_cluster_custom_object(
        "floatip.io", "v1alpha1", "virtualips",
        {"apiVersion": "floatip.io/v1alpha1", "kind": "VirtualIP", "metadata": {"name": "web"},
         "spec": {"address": "192.0.2.100/24"}},
    )  # fmt: skip
    custom.patch_cluster_custom_object_status(
        "floatip.io", "v1alpha1", "virtualips", "web",
        {"status": {
            "holder": "s1", "epoch": 1,
            "conditions": [{"type": "Ready", "status": "True", "reason": "Announced",
                            "lastTransitionTime": "2026-11-26T12:00:00Z", "message": ""}],
            "history": [{"time": "2026-11-26T12:00:00Z", "to": "s1", "reason": "Assigned", "epoch": 1}],
        }},
    )  # fmt: skip


def _read(server: RunningServer, kind: str, name: str) -> dict[str, Any]:
    client = kubernetes.config.new_client_from_config(config_file=str(server.kubeconfig))
    if kind == "node":
        answer = kubernetes.client.CoreV1Api(client).read_node(name, _preload_content=False)
        result: dict[str, Any] = json.loads(answer.data)
        return result
    obj: dict[str, Any] = kubernetes.client.CustomObjectsApi(client).get_cluster_custom_object(
        "floatip.io", "v1alpha1", "virtualips", name
    )
    return obj


async def _plugin(server: RunningServer, *args: str) -> Result:
    return await asyncio.to_thread(
        CliRunner().invoke, main.cli, ["--kubeconfig", str(server.kubeconfig), *args]
    )


async def test_status_move_history_drain(apiserver: RunningServer) -> None:
    await asyncio.to_thread(_seed, apiserver)

    result = await _plugin(apiserver, "status")
    assert result.exit_code == 0, result.output
    header, row = result.output.splitlines()
    assert header.split()[:5] == ["NAME", "ADDRESS", "NODE", "READY", "EPOCH"]
    assert row.split()[:6] == ["web", "192.0.2.100/24", "s1", "True", "1", "Ready=True"]
    assert "->s1 Assigned" in row
    assert header.split()[-1] == "SERVICE" and row.split()[-1] == "-"

    result = await _plugin(apiserver, "move", "web", "s2")
    assert result.exit_code == 0, result.output
    vip = await asyncio.to_thread(_read, apiserver, "vip", "web")
    assert vip["spec"]["node"] == "s2"

    result = await _plugin(apiserver, "history", "web")
    assert result.exit_code == 0
    assert result.output.splitlines()[1].split() == [
        "2026-11-26T12:00:00Z",
        "-",
        "s1",
        "Assigned",
        "1",
    ]

    result = await _plugin(apiserver, "drain", "s1")
    assert result.exit_code == 0
    node = await asyncio.to_thread(_read, apiserver, "node", "s1")
    assert node["metadata"]["labels"]["floatip.io/drain"] == "true"
    result = await _plugin(apiserver, "undrain", "s1")
    assert result.exit_code == 0
    node = await asyncio.to_thread(_read, apiserver, "node", "s1")
    assert "floatip.io/drain" not in (node["metadata"].get("labels") or {})


async def test_status_names_the_service_of_a_service_backed_vip(apiserver: RunningServer) -> None:
    await asyncio.to_thread(_seed, apiserver)
    client = kubernetes.config.new_client_from_config(config_file=str(apiserver.kubeconfig))
    await asyncio.to_thread(
        kubernetes.client.CustomObjectsApi(client).create_cluster_custom_object,
        "floatip.io", "v1alpha1", "virtualips",
        {"apiVersion": "floatip.io/v1alpha1", "kind": "VirtualIP",
         "metadata": {"name": "svc-default.dns-v4",
                      "annotations": {"floatip.io/services": "default/dns,default/dns-udp"}},
         "spec": {"address": "192.0.2.101/24"}},
    )  # fmt: skip
    result = await _plugin(apiserver, "status")
    assert result.exit_code == 0, result.output
    header, svc_row, web_row = result.output.splitlines()
    assert header.split()[:5] == ["NAME", "ADDRESS", "NODE", "READY", "EPOCH"]
    assert header.split()[-1] == "SERVICE"
    assert svc_row.split()[:2] == ["svc-default.dns-v4", "192.0.2.101/24"]
    assert svc_row.split()[-1] == "default/dns,default/dns-udp"
    assert web_row.split()[-1] == "-"


async def test_errors_say_what_to_do(apiserver: RunningServer) -> None:
    await asyncio.to_thread(_seed, apiserver)
    result = await _plugin(apiserver, "move", "web", "ghost")
    assert result.exit_code == 1
    assert "get node 'ghost' (kubectl get nodes lists them) not found" in result.output
    result = await _plugin(apiserver, "history", "nope")
    assert result.exit_code == 1
    assert "get VirtualIP 'nope' (kubectl get vip lists them) not found" in result.output
    result = await _plugin(apiserver, "drain", "ghost")
    assert result.exit_code == 1


async def test_real_kubectl_finds_the_plugin(apiserver: RunningServer) -> None:
    await asyncio.to_thread(_seed, apiserver)
    bin_dir = pathlib.Path(sys.executable).parent
    assert (bin_dir / "kubectl-vip").is_file(), "kubectl-vip is not installed: pip install -e ."
    env = {
        **os.environ,
        "KUBECONFIG": str(apiserver.kubeconfig),
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
    }
    result = await asyncio.to_thread(
        subprocess.run, [kubectl_path(), "vip", "status", "web"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].split()[:3] == ["web", "192.0.2.100/24", "s1"]


async def test_status_shows_the_control_plane_vip_when_published(apiserver: RunningServer) -> None:
    """The Lease the control-plane holder writes (floatip.api.controlplane) becomes one line
    above the table; without it (or with no VirtualIPs) status answers as before."""
    from floatip.api import controlplane, times
    from floatip_agent.controlplane import publishing

    result = await _plugin(apiserver, "status")
    assert result.output.startswith("No VirtualIPs found"), result.output
    summary = {
        "holder": "cp1", "term": 2, "address": "192.0.2.10", "cluster": "192.0.2.10:6443",
        "nodes": {"cp1": {"role": "holder", "healthy": True},
                  "cp2": {"role": "backup", "healthy": None}},
    }  # fmt: skip
    publisher = publishing.Publisher.from_kubeconfig(str(apiserver.kubeconfig), state=dict)
    try:
        assert await publisher.publish(summary)
    finally:
        await publisher.api.close()
    result = await _plugin(apiserver, "status")
    assert result.exit_code == 0, result.output
    first, second = result.output.splitlines()
    assert first.startswith("control-plane VIP 192.0.2.10: held by cp1 (term 2, reported ")
    assert first.endswith("apiservers: cp1 ready, cp2 unknown")
    assert second.startswith("No VirtualIPs found")
    assert controlplane.describe({}, now=times.now()).startswith("control-plane VIP ?")
