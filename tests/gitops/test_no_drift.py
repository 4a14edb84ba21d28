"""GitOps sees no drift: floatip writes status only, so re-applying the same manifests is a no-op.

Proves, with the real kubectl against floatip's API server, for client-side and server-side
apply (Argo CD's ServerSideApply=true): after floatip's status writes (holder, epoch,
conditions, history, announcement), `kubectl diff` of the same manifests reports nothing and a
re-apply changes neither generation nor spec; a real spec change does show (the check can fail).
"""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import subprocess

import pytest

from floatip_apiserver.runtime import RunningServer
from floatip_apiserver.testing import apiserver, kubectl_path

__all__ = ["apiserver"]

REPO = pathlib.Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "examples" / "virtualip.yaml"
STATUS = {
    "status": {
        "holder": "server1",
        "epoch": 1,
        "observedGeneration": 1,
        "conditions": [
            {"type": "Ready", "status": "True", "reason": "Announced", "message": "",
             "lastTransitionTime": "2026-11-26T12:00:00Z"},
        ],
        "history": [{"time": "2026-11-26T12:00:00Z", "to": "server1", "reason": "Assigned", "epoch": 1}],
        "announcement": {"node": "server1", "epoch": 1, "mac": "02:f1:00:00:00:01",
                         "time": "2026-11-26T12:00:00Z"},
    }
}  # fmt: skip


async def kubectl(server: RunningServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(server.kubeconfig)}
    return await asyncio.to_thread(
        subprocess.run, [kubectl_path(), *args],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


async def generations(server: RunningServer) -> dict[str, tuple[int, str]]:
    result = await kubectl(server, "get", "vip", "-o", "json")
    assert result.returncode == 0, result.stderr
    return {
        item["metadata"]["name"]: (
            item["metadata"]["generation"],
            json.dumps(item["spec"], sort_keys=True),
        )
        for item in json.loads(result.stdout)["items"]
    }


@pytest.mark.parametrize("mode", ["client-side", "server-side"])
async def test_status_writes_are_no_drift(
    apiserver: RunningServer, mode: str, tmp_path: pathlib.Path
) -> None:
    apply = ["apply", "-f", str(MANIFESTS)] + (["--server-side"] if mode == "server-side" else [])
    diff = ["diff", "-f", str(MANIFESTS)] + (["--server-side"] if mode == "server-side" else [])
    result = await kubectl(apiserver, *apply)
    assert result.returncode == 0, result.stderr
    for name in ("web", "control-plane", "web-v6"):
        result = await kubectl(
            apiserver,
            "patch",
            "vip",
            name,
            "--subresource=status",
            "--type=merge",
            "-p",
            json.dumps(STATUS),
        )
        assert result.returncode == 0, result.stderr
    before = await generations(apiserver)

    result = await kubectl(apiserver, *diff)
    assert result.returncode == 0, f"kubectl diff saw drift:\n{result.stdout}{result.stderr}"
    assert result.stdout == ""
    result = await kubectl(apiserver, *apply)
    assert result.returncode == 0, result.stderr
    assert await generations(apiserver) == before

    changed = tmp_path / "changed.yaml"
    changed.write_text(MANIFESTS.read_text().replace("192.0.2.100/24", "192.0.2.101/24"))
    result = await kubectl(
        apiserver, "diff", "-f", str(changed), *(["--server-side"] if mode == "server-side" else [])
    )
    assert result.returncode == 1, result.stderr
    assert "192.0.2.101/24" in result.stdout
