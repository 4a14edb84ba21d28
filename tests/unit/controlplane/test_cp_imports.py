"""What the control-plane agent loads without ``--kubeconfig``: no API client at all.

Proves, in a fresh interpreter that imports ``floatip_agent.controlplane.main`` and builds a
node's heartbeat, election and status view inputs, that neither floatip's Kubernetes client
(``floatip.kube``), the ``kubernetes`` package, kopf, aiohttp, scapy nor the VirtualIP API
model (pydantic, a second of start-up) was imported: the program that must run before the
API exists does not even load a client. Nothing is timed: a module in ``sys.modules`` is a fact.
"""

from __future__ import annotations

import json
import subprocess
import sys

LEFT_BEHIND = (
    "floatip.kube", "kubernetes", "kopf", "aiohttp", "scapy", "pydantic", "floatip.api.model",
    "floatip_agent.controlplane.publishing",
)  # fmt: skip

START = """
import ipaddress, json, sys
from click.testing import CliRunner
from floatip_agent.controlplane import election, heartbeat, main, settings

CliRunner().invoke(main.cli, ["--help"])
beat = heartbeat.Beat("c", "cp1", True, False, 0, True, False, "02:00:00:00:00:01")
heartbeat.decode(heartbeat.encode(beat))
election.decide(election.Me("cp1", True, False, 0, True, True), [beat], known_term=0)
settings.default_cluster_id(ipaddress.ip_address("192.0.2.10"), 6443)
print(json.dumps(sorted(sys.modules)))
"""


def test_no_api_client_is_loaded() -> None:
    out = subprocess.run(
        [sys.executable, "-c", START], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    loaded = set(json.loads(out.splitlines()[-1]))
    assert "floatip_agent.controlplane.node" in loaded
    found = [m for m in loaded if any(m == x or m.startswith(x + ".") for x in LEFT_BEHIND)]
    assert not found
