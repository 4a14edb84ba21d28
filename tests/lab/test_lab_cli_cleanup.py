"""`floatip lab down` removes everything, also what a crashed `up` or a stray run left.

Proves:
- after `up` then `down`: no namespace with the lab's prefix, none of the lab's processes
  (nginx masters and workers, API server, relay, the endpoints controller and kube-proxy
  stand-ins) alive, the state directory gone, with the temporary files the processes wrote
  (they wrote them in it: SIGKILL runs no exit handler); an IPv6 lab serves over IPv6 before that;
- `up` killed with SIGKILL halfway (its API server already started): `up` again refuses and
  says to run `down`; `down` removes the half-built lab and its orphaned processes;
- a stray `fip-lab-<tag>-...` namespace with a process inside and a corrupt state file:
  `down` removes both by prefix scan;
- a lab nobody will take down (its state directory gone, no process left in any of its
  namespaces, all older than two minutes: `floatip_lab.orphans`) is removed by the next `up`,
  which says so; a lab with a process inside, or a young one, is left alone;
- `up` without nginx on PATH names the program and the `apt-get install` line, builds nothing.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import time

from floatip_lab import commands, ipjson, orphans, prereqs, waiting
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
    for name in ("apiserver", "endpoints-controller"):  # down ends them with SIGKILL
        environ = pathlib.Path(f"/proc/{status['processes'][name]['pid']}/environ").read_bytes()
        assert f"TMPDIR={lab.place.path('logs', 'tmp')}".encode() in environ.split(b"\0")
    assert any(lab.place.path("logs", "tmp").iterdir())  # the API server's own, at least
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


def test_the_sweep_removes_an_abandoned_lab_and_leaves_a_live_one() -> None:
    """The sweep `floatip lab up` runs first, with the clock moved past the age limit (a namespace's age
    is its creation time, which cannot be set back)."""
    dead = ["fip-lab-zzdead-switch", "fip-lab-zzdead-server1"]
    live = ["fip-lab-zzlive-switch", "fip-lab-zzlive-api"]
    for name in dead + live:
        commands.run(["ip", "netns", "add", name])
    sleeper = subprocess.Popen(["ip", "netns", "exec", live[1], "sleep", "300"])
    try:
        waiting.wait_until(
            lambda: commands.run(["ip", "netns", "pids", live[1]]).stdout.strip() or None,
            what=f"the sleeper inside {live[1]}",
            timeout=10,
        )
        assert orphans.sweep() == {}, "namespaces made just now were taken for abandoned"
        later = time.time() + orphans.MIN_AGE_SECONDS + 1
        assert orphans.sweep(now=later) == {"zzdead": sorted(dead)}
        left = set(ipjson.parse_netns_names(commands.ip("-j", "netns", "list")))
        assert not left & set(dead) and set(live) <= left, sorted(left)
    finally:
        sleeper.kill()
        for name in dead + live:
            commands.run(["ip", "netns", "del", name], check=False)


def test_up_says_which_abandoned_lab_it_removed(lab: Lab) -> None:
    """`floatip lab up` sweeps before it builds (here with an age limit of 0 s, through the
    environment, so a namespace made now counts) and names what it removed."""
    dead = "fip-lab-zzgone-switch"
    commands.run(["ip", "netns", "add", dead])
    try:
        env = {**lab.env, orphans.MIN_AGE_ENV: "0"}
        done = subprocess.run(
            [str(FLOATIP), "lab", "up", "--nodes", "1", "--no-floatip"],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert f"removed abandoned lab zzgone (no process left in it): {dead}" in done.stderr
        assert dead not in ipjson.parse_netns_names(commands.ip("-j", "netns", "list"))
    finally:
        lab.run("down", check=False)
        commands.run(["ip", "netns", "del", dead], check=False)
