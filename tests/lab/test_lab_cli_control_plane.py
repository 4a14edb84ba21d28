"""`floatip lab up --control-plane N`: the control-plane hosts through the lab's command line.

Proves:
- `up --control-plane 2` adds cp1 and cp2 (role cp, on the data LAN), records cluster lab-a's
  VIP (status and the human summary show it), runs a stand-in kube-apiserver and the
  control-plane agent on each, and the client's HTTPS GET /readyz through the VIP is answered
  by the lab API server through them (TLS passed through: verified with the lab's CA);
- `fault stop-apiserver cp1` stops cp1's stand-in (status: stopped, its :6443 refuses), a
  node is refused with the hosts it can act on, `start-apiserver` and `heal` bring it back;
- `kill-node` acts on a control-plane host and `heal` powers it on with both its processes;
- `down` leaves no namespace and none of those processes alive, also when `up` was killed
  once the state recorded the first stand-in.
"""

from __future__ import annotations

import json
import signal
import subprocess

from floatip_lab import waiting
from tests.lab.conftest import FLOATIP, Lab, running


def _status(lab: Lab) -> dict[str, object]:
    found: dict[str, object] = json.loads(
        lab.run("status", "--json").stdout.strip().splitlines()[-1]
    )
    return found


def _alive(status: dict[str, object]) -> set[str]:
    processes = status["processes"]
    assert isinstance(processes, dict)
    return {name for name, p in processes.items() if p["alive"]}


def _readyz(lab: Lab, ip: str, ca: str) -> subprocess.CompletedProcess[str]:
    url = f"https://{ip}:6443/readyz"
    return lab.run(
        "exec", "client", "--", "curl", "-s", "--max-time", "3", "--cacert", ca,
        "--resolve", f"localhost:6443:{ip}", url.replace(ip, "localhost"), check=False,
    )  # fmt: skip


def test_control_plane_hosts_serve_readyz_through_the_vip_and_take_faults(lab: Lab) -> None:
    up = lab.run("up", "--nodes", "1", "--no-floatip", "--control-plane", "2")
    assert "control plane lab-a: VIP 192.0.2.245/24" in up.stdout
    status = _status(lab)
    [cluster] = status["control_planes"]  # type: ignore[misc]
    assert cluster == {"cluster_id": "lab-a", "vip": "192.0.2.245/24", "hosts": ["cp1", "cp2"]}
    hosts = status["hosts"]
    assert isinstance(hosts, dict)
    assert {hosts[h]["role"] for h in ("cp1", "cp2")} == {"cp"}
    parts = {"apiserver-cp1", "apiserver-cp2", "cpagent-cp1", "cpagent-cp2"}
    assert parts <= _alive(status)
    ca = str(lab.place.path("cp", "ca.pem"))
    waiting.wait_until(
        lambda: _readyz(lab, "192.0.2.245", ca).stdout == "ok",
        what="the VIP to answer /readyz", timeout=20, interval=0.2,
        describe=lambda: f"{_readyz(lab, '192.0.2.245', ca)}",
    )  # fmt: skip

    lab.run("fault", "stop-apiserver", "cp1")
    status = _status(lab)
    assert status["faults"]["stopped_apiservers"] == ["cp1"]  # type: ignore[index]
    assert "apiserver-cp1" not in _alive(status)
    assert _readyz(lab, hosts["cp1"]["ip"], ca).returncode == 7  # curl: connection refused
    refused = lab.run("fault", "stop-apiserver", "server1", check=False)
    assert refused.returncode != 0
    assert "It can act on: cp1, cp2" in refused.stderr
    lab.run("fault", "start-apiserver", "cp1")
    assert _readyz(lab, hosts["cp1"]["ip"], ca).stdout == "ok"

    lab.run("fault", "kill-node", "cp2")
    assert not {"apiserver-cp2", "cpagent-cp2"} & _alive(_status(lab))
    lab.run("fault", "heal")
    status = _status(lab)
    assert parts <= _alive(status)
    assert status["faults"]["killed"] == []  # type: ignore[index]
    pids = lab.pids()
    lab.run("down")
    assert lab.namespaces() == []
    assert running(pids) == set()


def test_down_cleans_up_after_up_with_control_plane_killed_halfway(lab: Lab) -> None:
    up = subprocess.Popen(
        [str(FLOATIP), "lab", "up", "--nodes", "1", "--no-floatip", "--control-plane", "3"],
        env=lab.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip

    def recorded() -> bool:
        try:
            return "apiserver-cp1" in json.loads(lab.place.state_file.read_text())["processes"]
        except (OSError, ValueError, KeyError):
            return False

    try:
        waiting.wait_until(
            lambda: recorded() or up.poll() is not None,
            what="`lab up` to record cp1's stand-in", timeout=60, interval=0.005,
        )  # fmt: skip
    finally:
        up.send_signal(signal.SIGKILL)
        up.wait()
    pids = lab.pids()
    assert pids
    lab.run("down")
    assert lab.namespaces() == []
    assert running(pids) == set()
    assert not lab.place.directory.exists()
