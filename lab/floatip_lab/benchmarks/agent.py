"""``floatip bench agent``: how fast the agent applies VIPs and how much memory it needs.

Prints figures and ends with one JSON line (``--json`` prints only that line):

- ``apply_one_ms_p50`` / ``apply_one_ms_p99``: netlink add (marked) + first gratuitous ARP,
  per VIP, over ``--count`` VIPs (default 1,000; at least 200) — `agent_apply.add_and_announce` in a
  lab namespace (DESIGN.md target: ≤ 5 ms);
- ``apply_1000_s``: the same run's total for 1,000 VIPs (target: ≤ 2 s);
- ``rss_mib``: resident memory of a real ``floatip-agent`` process holding 1,000 VIPs, assigned
  through floatip's API server (which runs in this process, its socket in a lab ``api`` host on
  the management network), measured once ``/healthz`` lists all of them; ``take_1000_s`` is
  how long that agent took from start to holding them all (probe, add, announce each).

It builds and removes its own lab namespaces; it needs root. Nothing is asserted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

import click
from aiohttp import web

from floatip_agent import namespaces
from floatip_apiserver import runtime
from floatip_apiserver.objects import WriteOptions
from floatip_apiserver.server import ApiServer
from floatip_lab import netns
from floatip_lab.benchmarks import agent_apply

MIN_VIPS = 200


def _rss_mib(pid: int) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status; is the process gone?")


async def _healthz(netns: str, host: str, port: int) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    with namespaces.entered(netns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await asyncio.wait_for(loop.sock_connect(sock, (host, port)), 2)
        reader, writer = await asyncio.open_connection(sock=sock)
        writer.write(b"GET /healthz HTTP/1.0\r\n\r\n")
        raw = await asyncio.wait_for(reader.read(), 5)
        writer.close()
    finally:
        sock.close()
    return dict(json.loads(raw.split(b"\r\n\r\n", 1)[1]))


async def _agent_rss(count: int, say: Any) -> dict[str, float]:
    """Run a real agent holding `count` VIPs; return its RSS and time to take them all."""
    crds = runtime.default_crds_dir()
    spec = netns.LanSpec.of(
        "agentbench",
        netns.HostSpec("node", mgmt=True),
        netns.HostSpec("api", data=False, mgmt=True),
    )
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="floatip-agent-bench-"))
    with netns.build(spec) as topo:
        node, api_host = topo["node"], topo["api"]
        api = ApiServer(history=100_000, bookmark_interval=5.0)
        runtime.seed(api, runtime.load_crds(crds))
        host = str(api_host.mgmt_ip)
        server = runtime.RunningServer(api, workdir, host, 6443, tls=True)
        api.address = f"{host}:6443"
        runner = web.AppRunner(api.app(), handle_signals=False)
        await runner.setup()
        assert server.credentials is not None
        with namespaces.entered(api_host.netns):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, 6443))
        sock.listen(128)
        sock.setblocking(False)
        await web.SockSite(
            runner, sock, ssl_context=server.credentials.server_context(workdir)
        ).start()
        try:
            opts = WriteOptions(manager="bench")
            res = api.registry.get("floatip.io", "v1alpha1", "virtualips")
            namespaces_res = api.registry.get("", "v1", "namespaces")
            assert res is not None and namespaces_res is not None
            api.objects.create(namespaces_res, "", {"metadata": {"name": "floatip"}}, opts)
            say(f"creating {count} VirtualIPs assigned to the node ...")
            quiet = {"secondBurstDelaySeconds": 0, "refreshIntervalSeconds": 0}
            hosts = list(agent_apply.BENCH_NETWORK.hosts())[:count]
            node.run(["ip", "addr", "add", "198.19.255.254/15", "dev", "eth0"])  # picks eth0
            for index, address in enumerate(hosts):
                name = f"bench-{index}"
                api.objects.create(
                    res, "",
                    {"metadata": {"name": name},
                     "spec": {"address": f"{address}/15", "announce": quiet}},
                    opts,
                )  # fmt: skip
                api.objects.patch(
                    res, "", name, "application/merge-patch+json",
                    {"status": {"holder": "node", "epoch": 1}}, opts, subresource="status",
                )  # fmt: skip
            log = (workdir / "agent.log").open("w")
            started = time.monotonic()
            agent = node.popen(
                [sys.executable, "-m", "floatip_agent.main", "--node", "node",
                 "--kubeconfig", str(server.kubeconfig), "--listen", f"{node.mgmt_ip}:9720",
                 "--log-level", "warning", "--log-format", "json"],
                stdout=log.fileno(), stderr=subprocess.STDOUT,
            )  # fmt: skip
            deadline = started + 300
            held = 0
            while time.monotonic() < deadline:
                with contextlib.suppress(OSError, TimeoutError, ValueError):
                    held = len((await _healthz(node.netns, str(node.mgmt_ip), 9720))["held"])
                    if held >= count:
                        break
                await asyncio.sleep(0.2)
            taken = time.monotonic() - started
            if held < count:
                raise RuntimeError(f"the agent held {held} of {count} VIPs after 300 s")
            await asyncio.sleep(1.0)  # let the status writes settle
            rss = _rss_mib(agent.pid)
            agent.kill()
            agent.wait()
            return {"rss_mib": round(rss, 1), "take_1000_s": round(taken, 3)}
        finally:
            await runner.cleanup()


async def _run(count: int, say: Any) -> dict[str, Any]:
    with netns.build(netns.LanSpec.of("agentapply", "node", "peer")) as topo:
        result = await agent_apply.add_and_announce(
            count=count, ifname="eth0", netns=topo["node"].netns
        )
    say(result.describe())
    figures: dict[str, Any] = {
        "vips": count,
        "apply_one_ms_p50": round(result.p50_ms, 3),
        "apply_one_ms_p99": round(result.p99_ms, 3),
        "apply_one_ms_max": round(result.max_ms, 3),
        "apply_1000_s": round(result.total_s * 1000 / count, 3),
    }
    figures.update(await _agent_rss(1000, say))
    say(f"agent holding 1000 VIPs: RSS {figures['rss_mib']} MiB, took {figures['take_1000_s']} s")
    return figures


@click.command("agent")
@click.option("--count", type=click.IntRange(min=MIN_VIPS), default=1000, show_default=True,
              help="VIPs for the apply latency figures.")  # fmt: skip
@click.option("--json", "json_only", is_flag=True, help="Print only the JSON line.")
def agent_command(count: int, json_only: bool) -> None:
    """Agent figures: add+announce latency per VIP, 1,000 VIPs, RSS holding 1,000."""
    if os.geteuid() != 0:
        raise click.ClickException("floatip bench agent builds network namespaces: run it as root")

    def say(text: str) -> None:
        if not json_only:
            click.echo(text)

    figures = asyncio.run(_run(count, say))
    click.echo(json.dumps(figures))
