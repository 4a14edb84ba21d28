"""What the agent loads: the libraries it left behind stay out (docs/tuning.md, Resources).

The agent runs on every node, and its resident memory is mostly its imports. Proves, in a
fresh interpreter that imports ``floatip_agent.main``, builds the agent from a kubeconfig as
the lab's agents start (a token and CA data: read without the ``kubernetes`` package), builds
each frame it sends and starts and stops its health server, that none of these was imported:
``kubernetes`` (its generated models), ``scapy`` (the frames are packed by hand and checked
against scapy in test_agent_packets), ``aiohttp`` (the API client and the health server speak
HTTP/1.1 with h11) and ``kopf``. Nothing is timed: a module in ``sys.modules`` is a fact.
"""

from __future__ import annotations

import base64
import json
import pathlib
import subprocess
import sys

import yaml

LEFT_BEHIND = ("kubernetes", "scapy", "aiohttp", "kopf")

START = """
import asyncio, ipaddress, json, sys

from floatip_agent import agent, healththread, main, packets, settings


async def start_and_stop() -> None:
    the_agent = agent.Agent(settings.Settings(node="server1", kubeconfig=sys.argv[1]))
    for address in (ipaddress.ip_address("192.0.2.1"), ipaddress.ip_address("2001:db8::1")):
        packets.probe(address, mac="02:00:00:00:00:01")
        packets.announcement(address, mac="02:00:00:00:00:01")
    health = healththread.Health(healthz=the_agent.healthz, registry=the_agent.counters.registry)
    await health.start(host="127.0.0.1", port=0)
    await health.stop()
    await the_agent.api.close()


asyncio.run(start_and_stop())
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_the_agent_never_imports_what_it_left_behind(tmp_path: pathlib.Path) -> None:
    ca = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "lab",
            "clusters": [{"name": "lab", "cluster": {
                "server": "http://198.51.100.15:6443", "certificate-authority-data": ca.decode()
            }}],
            "users": [{"name": "agent", "user": {"token": "t0ken"}}],
            "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "agent"}}],
        })
    )  # fmt: skip
    command = [sys.executable, "-c", START, str(kubeconfig)]
    run = subprocess.run(command, check=False, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    loaded = set(json.loads(run.stdout.splitlines()[-1]))
    assert {"floatip_agent", "pyroute2", "h11", "prometheus_client"} <= loaded, "it did start"
    assert loaded.isdisjoint(LEFT_BEHIND), sorted(loaded.intersection(LEFT_BEHIND))
