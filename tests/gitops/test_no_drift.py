"""GitOps sees no drift: floatip writes status only, so re-applying the same manifests is a no-op.

Proves, with the real kubectl and the real operator (fake agents, as in tests/operator) against
floatip's API server, for client-side and server-side apply (Argo CD's ServerSideApply=true):
once floatip has taken the applied VirtualIPs over and made them Ready (its finalizer
``floatip.io/release`` on each object, and no annotation: kopf watches no VirtualIP; holder,
epoch, conditions, history and announcement in status), `kubectl diff` of the
same manifests reports nothing, and a re-apply writes nothing: no object's resourceVersion or
generation moves, and floatip's finalizer, annotations and status stay as they were. A real
spec change does show (the check can fail).
"""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import subprocess
from typing import Any

import pytest

from floatip.api import names
from floatip_apiserver.runtime import RunningServer
from floatip_apiserver.testing import apiserver, kubectl_path
from tests.operator import harness

__all__ = ["apiserver"]

REPO = pathlib.Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "examples" / "virtualip.yaml"
VIPS = ("web", "control-plane", "web-v6")
ANNOTATION_PREFIX = "operator.floatip.io/"


async def kubectl(server: RunningServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(server.kubeconfig)}
    return await asyncio.to_thread(
        subprocess.run, [kubectl_path(), *args],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


async def objects(server: RunningServer) -> dict[str, dict[str, Any]]:
    result = await kubectl(server, "get", "vip", "-o", "json")
    assert result.returncode == 0, result.stderr
    return {item["metadata"]["name"]: item for item in json.loads(result.stdout)["items"]}


def state(item: dict[str, Any]) -> dict[str, object]:
    """What a no-op re-apply must leave alone: the write count, the spec, floatip's part."""
    meta = item["metadata"]
    annotations = meta.get("annotations") or {}
    status = item.get("status") or {}
    return {
        "resourceVersion": meta["resourceVersion"],
        "generation": meta["generation"],
        "spec": item["spec"],
        "finalizers": meta.get("finalizers"),
        "floatip annotations": {
            k: v for k, v in annotations.items() if k.startswith(ANNOTATION_PREFIX)
        },
        "status": {k: status.get(k) for k in ("holder", "epoch", "history", "announcement")},
    }


async def taken_over(cluster: harness.Cluster) -> dict[str, dict[str, Any]]:
    """Run the operator on the applied VirtualIPs until each is Ready and carries floatip's
    finalizer (and no annotation of floatip's: kopf watches no VirtualIP); the (fake) agents
    report the health checks and announce, as real ones would."""
    for node in ("cp-1", "cp-2"):
        agent = await cluster.add_node(
            node,
            labels={"node-role.kubernetes.io/control-plane": ""},
            interfaces="eth0=192.0.2.{n}/24,2001:db8:f1::{n}/64",
        )
        assert agent is not None
        agent.health = {"control-plane": True, "web-v6": True}  # the specs' health checks
    await cluster.run_operator("op-a")
    for name in VIPS:
        await cluster.placed_and_announced(name)

    seen: dict[str, dict[str, Any]] = {}

    async def finalized() -> dict[str, dict[str, Any]] | None:
        seen.update(await objects(cluster.server))
        done = all(names.FINALIZER in (seen[n]["metadata"].get("finalizers") or []) for n in VIPS)
        return seen if done else None

    async def metadata() -> str:
        return "\n".join(
            f"{n}: finalizers {seen[n]['metadata'].get('finalizers')}, "
            f"annotations {seen[n]['metadata'].get('annotations')}"
            for n in VIPS
            if n in seen
        )

    return await harness.eventually(
        f"floatip's finalizer {names.FINALIZER} on {VIPS}",
        finalized,
        describe=metadata,
    )


@pytest.mark.parametrize("mode", ["client-side", "server-side"])
async def test_floatip_at_work_is_no_drift(
    apiserver: RunningServer, mode: str, tmp_path: pathlib.Path
) -> None:
    side = ["--server-side"] if mode == "server-side" else []
    result = await kubectl(apiserver, "apply", "-f", str(MANIFESTS), *side)
    assert result.returncode == 0, result.stderr
    async with harness.Cluster.start(apiserver, tmp_path) as cluster:
        found = await taken_over(cluster)
        for name in VIPS:
            status = found[name]["status"]
            assert harness.ready(status), (name, status)
            assert status["announcement"]["epoch"] == status["epoch"] == 1, (name, status)
        before = {n: state(item) for n, item in found.items()}
        assert all(not before[n]["floatip annotations"] for n in VIPS), before

        result = await kubectl(apiserver, "diff", "-f", str(MANIFESTS), *side)
        assert result.returncode == 0, f"kubectl diff saw drift:\n{result.stdout}{result.stderr}"
        assert result.stdout == ""
        result = await kubectl(apiserver, "apply", "-f", str(MANIFESTS), *side)
        assert result.returncode == 0, result.stderr
        after = {n: state(item) for n, item in (await objects(apiserver)).items()}
        changed = {
            n: {k: (v, after[n][k]) for k, v in before[n].items() if after[n][k] != v} for n in VIPS
        }
        assert after == before, f"the re-apply wrote (before, after): {changed}\n{result.stdout}"

        edited = tmp_path / "changed.yaml"
        edited.write_text(MANIFESTS.read_text().replace("192.0.2.100/24", "192.0.2.101/24"))
        result = await kubectl(apiserver, "diff", "-f", str(edited), *side)
        assert result.returncode == 1, result.stderr
        assert "192.0.2.101/24" in result.stdout
