"""`floatip lab down` removes everything, also what a crashed `up` or a stray run left.

Proves:
- after `up` then `down`: no namespace with the lab's prefix, none of the lab's processes
  (nginx masters and workers, API server, relay, the endpoints controller and kube-proxy
  stand-ins) alive, the state directory gone; an IPv6 lab serves over IPv6 before that;
- `up` killed with SIGKILL halfway (its API server already started): `up` again refuses and
  says to run `down`; `down` removes the half-built lab and its orphaned processes;
- a stray `fip-lab-<tag>-...` namespace with a process inside and a corrupt state file:
  `down` removes both by prefix scan;
- `up` without nginx on PATH names the program and the `apt-get install` line, builds nothing.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess

from floatip_lab import commands, prereqs, waiting
from tests.lab.conftest import FLOATIP, Lab, running


def _assert_gone(lab: Lab, pids: set[int]) -> None:
    assert lab.namespaces() == []
    assert running(pids) == set()
    assert not lab.place.directory.exists()


def test_down_after_up_leaves_no_namespace_and_no_process(lab: Lab) -> None:
    lab.run("up", "--nodes", "1", "--ipv6", "--no-floatip")
    status = json.loads(lab.run("status", "--json").stdout.strip().splitlines()[-1])
    assert status["subnet6"] == "2001:db8:f1::/64"
    url = f"http://[{status['hosts']['server1']['ip6']}]/"
    served = lab.run("exec", "client", "--", "curl", "-s", "--max-time", "5", url)
    assert served.stdout.strip() == "server1"
    running_parts = {name for name, p in status["processes"].items() if p["alive"]}
    assert {"endpoints-controller", "kube-proxy-server1"} <= running_parts
    pids = lab.pids()
    assert len(pids) >= 6  # nginx master + worker, API server, relay, the two stand-ins
    lab.run("down")
    _assert_gone(lab, pids)
    assert "nothing to do" in lab.run("down").stderr


def _recorded(lab: Lab) -> dict[str, object]:
    """The processes the lab's state file records (none while it is unwritten or half written)."""
    try:
        processes = json.loads(lab.place.state_file.read_text()).get("processes")
    except (OSError, ValueError):
        return {}
    return processes if isinstance(processes, dict) else {}


def test_down_cleans_up_after_up_killed_halfway(lab: Lab) -> None:
    up = subprocess.Popen(
        [str(FLOATIP), "lab", "up", "--no-floatip"],
        env=lab.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Killed once the state records the API server's process (the log file appears before
        # the process does, and short commands come and go in the namespaces before it).
        waiting.wait_until(
            lambda: "apiserver" in _recorded(lab) or up.poll() is not None,
            what="`lab up` to record the API server's process",
            timeout=30,
            interval=0.005,
        )
    finally:
        up.send_signal(signal.SIGKILL)
        up.wait()
    assert json.loads(lab.place.state_file.read_text())["phase"] == "building"
    pids = lab.pids()
    assert pids  # the API server outlived the killed `up`
    again = lab.run("up", "--no-floatip", check=False)
    assert again.returncode != 0
    assert "floatip lab down" in again.stderr
    lab.run("down")
    _assert_gone(lab, pids)


def test_down_removes_stray_namespace_despite_corrupt_state(lab: Lab) -> None:
    stray = lab.place.namespace("stray")
    commands.run(["ip", "netns", "add", stray])
    sleeper = subprocess.Popen(["ip", "netns", "exec", stray, "sleep", "300"])
    try:
        lab.place.directory.mkdir(parents=True)
        lab.place.state_file.write_text("{not json")
        assert "unreadable" in lab.run("status", check=False).stderr
        done = lab.run("down")
        assert stray in done.stderr
        assert sleeper.wait(timeout=10) == -signal.SIGKILL
        _assert_gone(lab, {sleeper.pid})
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
        commands.run(["ip", "netns", "del", stray], check=False)


def test_up_names_missing_program_and_package(lab: Lab, tmp_path: pathlib.Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for program in sorted(set(prereqs.PROGRAMS) - {"nginx"}):  # all there but nginx
        found = subprocess.run(["which", program], capture_output=True, text=True, check=True)
        os.symlink(found.stdout.strip(), bin_dir / program)
    env = {**lab.env, "PATH": str(bin_dir)}
    done = subprocess.run(
        [str(FLOATIP), "lab", "up"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "nginx" in done.stderr
    assert "apt-get install nginx-light" in done.stderr
    assert lab.namespaces() == []
    assert not lab.place.state_file.exists()
