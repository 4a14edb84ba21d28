"""`floatip lab` on a running lab: what status reports, and that faults act for real.

Proves, against one lab built with `floatip lab up --no-floatip` (the ground only):
- `status --json` ends with one JSON object with `kubeconfig`, `subnet`, `free_addresses` and
  `hosts` ({netns, ip, mac, role}) naming namespaces that exist and addresses in the subnet;
- the client gets "server1" from server1's nginx (`lab exec`, whose exit status passes through);
- the API server (reached with the real kubectl and the lab kubeconfig) holds Ready Nodes with
  their management InternalIP and the `floatip` Namespace;
- `cut-data` makes the client's request fail and `heal` restores it; so do `freeze-node` and
  `kill-node` (which also kills the node's processes; `heal` starts nginx again);
- `api-down` makes kubectl fail, `api-up` brings it back with every object kept;
- a second `lab up` refuses; agent/operator faults refuse clearly when none runs.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from floatip_apiserver.testing import kubectl_path
from tests.lab.conftest import Lab, make_lab, running


@pytest.fixture(scope="module")
def up_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    handle = make_lab(tmp_path_factory.mktemp("lab") / "state")
    try:
        handle.run("up", "--nodes", "2", "--no-floatip")
        yield handle
    finally:
        handle.run("down", check=False)


def _status(lab: Lab) -> dict[str, Any]:
    last = lab.run("status", "--json").stdout.strip().splitlines()[-1]
    status = json.loads(last)
    assert isinstance(status, dict)
    return status


def _get(lab: Lab, host: str, timeout: float = 1) -> tuple[int, str]:
    url = f"http://{_status(lab)['hosts'][host]['ip']}/"
    done = lab.run(
        "exec", "client", "--", "curl", "-s", "--max-time", str(timeout), url, check=False
    )
    return done.returncode, done.stdout.strip()


def _kubectl(lab: Lab, *args: str) -> tuple[int, str]:
    done = lab.run("status", "--json")
    kubeconfig = json.loads(done.stdout.strip().splitlines()[-1])["kubeconfig"]
    result = subprocess.run(
        [kubectl_path(), "--kubeconfig", kubeconfig, "--request-timeout=3s", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


def test_status_json_names_hosts_addresses_and_kubeconfig(up_lab: Lab) -> None:
    status = _status(up_lab)
    subnet = ipaddress.ip_network(status["subnet"])
    assert str(subnet) == "192.0.2.0/24"
    hosts = status["hosts"]
    assert isinstance(hosts, dict)
    assert {name: h["role"] for name, h in hosts.items()} == {
        "server1": "node",
        "server2": "node",
        "client": "client",
        "intruder": "intruder",
    }
    own = {ipaddress.ip_address(h["ip"]) for h in hosts.values()}
    assert all(a in subnet for a in own)
    assert len({h["mac"] for h in hosts.values()}) == 4
    assert {h["netns"] for h in hosts.values()} <= set(up_lab.namespaces())
    free = [ipaddress.ip_address(a) for a in status["free_addresses"]]
    assert free and all(a in subnet and a not in own for a in free)
    assert status["kubeconfig"] == str(up_lab.place.kubeconfig)
    assert up_lab.place.kubeconfig.is_file()


def test_client_gets_node_name_from_nginx_and_exec_passes_exit_status(up_lab: Lab) -> None:
    assert _get(up_lab, "server1") == (0, "server1")
    assert _get(up_lab, "server2") == (0, "server2")
    assert up_lab.run("exec", "client", "--", "sh", "-c", "exit 7", check=False).returncode == 7


def test_api_holds_ready_nodes_and_floatip_namespace(up_lab: Lab) -> None:
    code, out = _kubectl(up_lab, "get", "nodes", "-o", "json")
    assert code == 0, out
    nodes = {n["metadata"]["name"]: n for n in json.loads(out)["items"]}
    assert sorted(nodes) == ["server1", "server2"]
    server1 = nodes["server1"]
    assert server1["metadata"]["labels"]["kubernetes.io/hostname"] == "server1"
    ready = [c for c in server1["status"]["conditions"] if c["type"] == "Ready"]
    assert [c["status"] for c in ready] == ["True"]
    internal = [a["address"] for a in server1["status"]["addresses"] if a["type"] == "InternalIP"]
    assert internal == [_status(up_lab)["hosts"]["server1"]["mgmt_ip"]]
    assert _kubectl(up_lab, "get", "namespace", "floatip")[0] == 0


def test_cut_data_fails_requests_and_heal_restores(up_lab: Lab) -> None:
    up_lab.run("fault", "cut-data", "server1")
    assert _get(up_lab, "server1")[0] != 0
    assert _get(up_lab, "server2") == (0, "server2")
    up_lab.run("fault", "heal")
    assert _get(up_lab, "server1", timeout=5) == (0, "server1")


def test_freeze_and_kill_node_then_heal(up_lab: Lab) -> None:
    up_lab.run("fault", "freeze-node", "server2")
    assert _get(up_lab, "server2")[0] != 0
    up_lab.run("fault", "heal")
    assert _get(up_lab, "server2", timeout=5) == (0, "server2")
    netns = _status(up_lab)["hosts"]["server2"]["netns"]
    before = {p for p in up_lab.pids() if _in(netns, p)}
    assert before
    up_lab.run("fault", "kill-node", "server2")
    assert running(before) == set()
    assert _get(up_lab, "server2")[0] != 0
    up_lab.run("fault", "heal")
    assert _get(up_lab, "server2", timeout=5) == (0, "server2")


def _in(netns: str, pid: int) -> bool:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(f"/run/netns/{netns}").st_ino
    except OSError:
        return False


def test_api_down_fails_kubectl_and_api_up_restores_with_state(up_lab: Lab) -> None:
    up_lab.run("fault", "api-down")
    code, out = _kubectl(up_lab, "get", "nodes")
    assert code != 0, out
    up_lab.run("fault", "api-up")
    code, out = _kubectl(up_lab, "get", "nodes", "-o", "name")
    assert code == 0, out
    assert out.split() == ["node/server1", "node/server2"]


def test_second_up_refuses(up_lab: Lab) -> None:
    done = up_lab.run("up", "--no-floatip", check=False)
    assert done.returncode != 0
    assert "already up" in done.stderr
    assert _get(up_lab, "server1") == (0, "server1")


@pytest.mark.parametrize("fault", ["restart-agent", "restart-operator", "kill-leader"])
def test_floatip_faults_refuse_without_floatip_processes(up_lab: Lab, fault: str) -> None:
    done = up_lab.run("fault", fault, check=False)
    assert done.returncode != 0
    assert "no floatip" in done.stderr
