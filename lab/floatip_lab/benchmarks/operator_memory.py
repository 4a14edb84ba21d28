"""The operator process's memory at scale: ``floatip bench placement --operator-vips N``.

Starts floatip's test API server in this process (the lab tool, imported only here and only
when asked), creates ``nodes`` Nodes with agent Leases (all pointing at one fake ``/healthz``
in this process: the prober keys agents by node, so one server answers for all), creates N
VirtualIPs, runs the real operator as a subprocess, waits until every VirtualIP has a holder,
and reads the operator's resident memory from /proc; then restarts it and reads it again once
the new process has listed everything and decided (``rss_restarted_mib``: finalizers and
statuses already in place, the steady state of a cluster that has run before). Costly (the
test server creates about 250 VirtualIPs/s), so off by default.
"""

from __future__ import annotations

import asyncio
import json
import pathlib
import ssl
import subprocess
import sys
import tempfile
import time
from typing import IO, Any

import aiohttp
from aiohttp import web

from floatip.api import names, times

VIPS = "/apis/floatip.io/v1alpha1/virtualips"


def _rss_mib(pid: int) -> tuple[float, float]:
    """Current and peak resident memory of ``pid`` (VmRSS, VmHWM) in MiB."""
    fields = {}
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return (
        round(int(fields["VmRSS"].split()[0]) / 1024, 1),
        round(int(fields["VmHWM"].split()[0]) / 1024, 1),
    )


async def _fake_agent() -> tuple[web.AppRunner, str]:
    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"unsure": False, "held": {}, "health": {}})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


async def _seed(
    session: aiohttp.ClientSession,
    *,
    url: str,
    token: str,
    vips: int,
    nodes: int,
    agent: str,
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    now = times.micro_time(times.now())
    gate = asyncio.Semaphore(32)

    async def post(path: str, body: dict[str, Any]) -> None:
        async with gate, session.post(url + path, json=body, headers=headers) as response:
            if response.status >= 300:
                raise RuntimeError(f"POST {path}: {response.status} {await response.text()}")

    await post("/api/v1/namespaces", {"metadata": {"name": "floatip"}})
    ready = {"conditions": [{"type": "Ready", "status": "True"}]}
    node_bodies = [{"metadata": {"name": f"node-{i:04}"}, "status": ready} for i in range(nodes)]
    await asyncio.gather(*(post("/api/v1/nodes", body) for body in node_bodies))
    for i in range(nodes):
        await session.patch(
            f"{url}/api/v1/nodes/node-{i:04}/status",
            data=json.dumps({"status": ready}),
            headers=headers | {"Content-Type": "application/merge-patch+json"},
        )
    leases = [
        {
            "metadata": {
                "name": f"{names.AGENT_LEASE_PREFIX}node-{i:04}",
                "namespace": "floatip",
                "annotations": {
                    names.ENDPOINT_ANNOTATION: agent,
                    names.INTERFACES_ANNOTATION: f"eth0=10.{i // 250}.{i % 250}.1/8",
                },
            },
            "spec": {
                "holderIdentity": f"node-{i:04}",
                "leaseDurationSeconds": 3600,
                "renewTime": now,
            },
        }
        for i in range(nodes)
    ]
    lease_path = "/apis/coordination.k8s.io/v1/namespaces/floatip/leases"
    await asyncio.gather(*(post(lease_path, body) for body in leases))
    bodies = [
        {
            "apiVersion": "floatip.io/v1alpha1",
            "kind": "VirtualIP",
            "metadata": {"name": f"vip-{i:06}"},
            "spec": {"address": f"10.200.{i // 250}.{i % 250 + 1}/8"},
        }
        for i in range(vips)
    ]
    await asyncio.gather(*(post(VIPS, body) for body in bodies))


async def _held(session: aiohttp.ClientSession, url: str, token: str) -> int:
    """How many VirtualIPs have a holder, from the NODE column of a Table list (what
    ``kubectl get vip`` asks for): the full objects of 10,000, listed every second, kept the
    test server in this process too busy to answer the operator."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io",
    }
    async with session.get(
        url + VIPS, headers=headers, params={"includeObject": "None"}
    ) as response:
        table = await response.json()
    column = [c["name"] for c in table["columnDefinitions"]].index("Node")
    return sum(1 for row in table["rows"] if row["cells"][column])


async def measure_operator(
    *, vips: int, nodes: int, settle_s: float = 15.0, timeout_s: float = 900
) -> dict[str, Any]:
    """Seed, run the operator until every VirtualIP is placed; its RSS and the time it took."""
    from floatip_apiserver import runtime

    runner, agent = await _fake_agent()
    try:
        async with runtime.serve(crds=runtime.default_crds_dir()) as server:
            context = ssl.create_default_context(cadata=(server.ca_pem or b"").decode())
            connector = aiohttp.TCPConnector(ssl=context)
            async with aiohttp.ClientSession(connector=connector) as session:
                await _seed(
                    session,
                    url=server.url,
                    token=server.admin_token,
                    vips=vips,
                    nodes=nodes,
                    agent=agent,
                )
                log = pathlib.Path(tempfile.mkdtemp(prefix="floatip-op-bench-")) / "operator.log"
                with log.open("wb") as out:
                    return await _run_operator(
                        session,
                        server=server,
                        vips=vips,
                        out=out,
                        timeout_s=timeout_s,
                        settle_s=settle_s,
                    )
    finally:
        await runner.cleanup()


def _start(server: Any, out: IO[bytes], identity: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "floatip_operator", "--kubeconfig", str(server.kubeconfig)]
    command += ["--metrics-port", "0", "--log-level", "warning", "--id", identity]
    return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 30 s (kopf may still be busy with a backlog at 10,000)."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def _run_operator(
    session: aiohttp.ClientSession,
    *,
    server: Any,
    vips: int,
    out: IO[bytes],
    timeout_s: float,
    settle_s: float,
) -> dict[str, Any]:
    """First run (places everything), then a restart: the steady state of a warm cluster."""
    started = time.monotonic()
    proc = _start(server, out, "bench-1")
    try:
        while await _held(session, server.url, server.admin_token) < vips:
            if proc.poll() is not None or time.monotonic() - started > timeout_s:
                raise RuntimeError(
                    f"the operator placed only some of {vips} VirtualIPs in {timeout_s:g} s "
                    f"(exit status {proc.returncode}); rerun with a longer timeout or look at "
                    f"its log, {out.name}"
                )
            await asyncio.sleep(1.0)
        converged = time.monotonic() - started
        await asyncio.sleep(2.0)  # settle: caches full, Events posted
        rss, peak = _rss_mib(proc.pid)
    finally:
        _stop(proc)
    # Restarted: finalizers and statuses are in place, so this is the memory of watching.
    proc = _start(server, out, "bench-2")
    try:
        await asyncio.sleep(settle_s)  # lists, watches and one pass done
        restarted, _ = _rss_mib(proc.pid)
    finally:
        _stop(proc)
    return {
        "rss_mib": rss,
        "rss_peak_mib": peak,
        "rss_restarted_mib": restarted,
        "operator_placed_all_s": round(converged, 1),
    }
