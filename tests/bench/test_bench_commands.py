"""Every benchmark command runs end to end and ends with its JSON contract (figures not judged).

Proves: `floatip bench failover --runs 1 --json` (and with `--ipv6`, the same keys for an IPv6
VIP) builds its own lab, measures every scenario,
the switchover, the API cost and RSS, and removes the lab; `floatip bench apiserver` and
`floatip bench agent` print their keys (the former's Service figures too: every Service got its
own cluster IP and node port); `floatip bench switchover` measures both modes in two
labs and removes both; `floatip bench scale --vips 20 --nodes 3` builds a lab on a larger data
LAN, and every one of the 20 VIPs it put on server1 was answered by another node after the
kill-node, with consistent counts (API writes at least one per moved VIP; critical writes
null exactly when it says the operator does not export them), and removes its lab;
`floatip bench imports` prints the agent's import cost (each library, and whether the agent
imports it); `floatip bench services --services 20` gives every Service an address that answers
the client, moves none across an operator restart (a Service created after it gets a free
address), prints the six keys (the Local move null exactly when it says why) and removes its lab;
`floatip bench control-plane --runs 1` prints its keys (bootstrap, apiserver down, kill node,
cold start, store down, two clusters: the clusters heard each other) and removes its lab (the
keepalived + haproxy baseline's configurations are checked by haproxy -c and keepalived
--config-test in tests/unit/lab/test_lab_kubeadmha.py; its runs are the benchmark's, 25 s more
than the suite's budget allows).
Timings are printed by the benchmarks, never asserted.
"""

from __future__ import annotations

import concurrent.futures
import json
import re
import subprocess
import sys

import pytest

FLOATIP = [sys.executable, "-m", "floatip.cli"]


#: Each benchmark builds its own lab in namespaces of its own (or none), so they run side by
#: side: most of a benchmark's time is waiting (for a lease to expire, a VIP to answer, a
#: process to start), and three at once take about half the time of one after another, within
#: the suite's 20 minutes. Figures measured here are not judged, so the load costs nothing.
CONCURRENCY = 3

#: Every benchmark of this module: its name, its argv after ``floatip bench``, and its timeout
#: (seconds), longest first so the last to start is not the one that keeps the others waiting.
BENCHMARKS: dict[str, tuple[list[str], float]] = {
    "control-plane": (["control-plane", "--runs", "1", "--json"], 300),
    "services": (
        ["services", "--services", "20", "--steady-seconds", "1", "--json"], 240
    ),
    "failover-ipv4": (["failover", "--runs", "1", "--steady-seconds", "1", "--json"], 300),
    "failover-ipv6": (
        ["failover", "--runs", "1", "--steady-seconds", "1", "--ipv6", "--json"], 300
    ),
    "switchover": (["switchover", "--runs", "1", "--json"], 300),
    "scale": (["scale", "--vips", "20", "--nodes", "3", "--json"], 180),
    "imports": (["imports", "--runs", "1", "--json"], 300),
    "agent": (["agent", "--count", "200", "--json"], 300),
    "apiserver": (
        ["apiserver", "--objects", "200", "--watchers", "5", "--services", "300", "--json"],
        120,
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def finished() -> dict[str, subprocess.CompletedProcess[str]]:
    """Every benchmark's finished process, `CONCURRENCY` at a time."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        started = {name: pool.submit(_bench, *BENCHMARKS[name]) for name in BENCHMARKS}
        return {name: future.result() for name, future in started.items()}


def _bench(argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [*FLOATIP, "bench", *argv], capture_output=True, text=True, timeout=timeout,
            check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as expired:
        said = expired.stderr.decode() if isinstance(expired.stderr, bytes) else expired.stderr
        return subprocess.CompletedProcess(
            expired.cmd, -9, "", f"{said or ''}\nran over {timeout} s"
        )


def run(
    finished: dict[str, subprocess.CompletedProcess[str]], name: str
) -> tuple[dict[str, object], str]:
    """Benchmark ``name``'s last stdout line as JSON, and the progress printed on stderr."""
    result = finished[name]
    assert result.returncode == 0, explain(result)
    figures: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures, result.stderr


def explain(result: subprocess.CompletedProcess[str]) -> str:
    """What a failed benchmark said: every progress line and what it saw when it gave up (the
    lines that are not a process's JSON log), then the end of the log tails it printed."""
    said = [line for line in result.stderr.splitlines() if not line.startswith("{")]
    return "\n".join([
        f"exit status {result.returncode}; stdout ends: {result.stdout[-1000:]!r}",
        "stderr without the log lines:", *said[-200:],
        "stderr ends:", result.stderr[-3000:],
    ])  # fmt: skip


@pytest.mark.kernel
@pytest.mark.parametrize(
    ("family", "vip"), [("ipv4", "192.0.2.100/24"), ("ipv6", "2001:db8:f1::100/64")],
    ids=["ipv4", "ipv6"],
)  # fmt: skip
def test_bench_failover_contract(
    family: str, vip: str, finished: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    """The same keys for an IPv4 and an IPv6 VIP; the progress names the VIP measured."""
    figures, progress = run(finished, f"failover-{family}")
    assert f"VIP {vip}," in progress, progress
    [prefix] = re.findall(r"namespaces (fip-lab-\w+-)\*", progress)[:1]
    scenarios = figures["scenarios"]
    assert isinstance(scenarios, dict)
    assert set(scenarios) == {"kill-node", "freeze-node", "cut-data"}
    for scenario in scenarios.values():
        assert set(scenario) == {"runs", "p50_ms", "p99_ms", "max_ms"}
        assert scenario["runs"] == 1
    switchover = figures["switchover"]
    assert isinstance(switchover, dict)
    assert switchover["runs"] == 1
    assert isinstance(switchover["failed_requests"], int)
    assert isinstance(figures["api_writes_per_s_per_node"], float)
    assert set(figures["rss_mib"]) == {"agent", "operator"}  # type: ignore[arg-type]
    no_lab = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    assert prefix not in no_lab.stdout, "the benchmark left its lab behind"


def test_bench_apiserver_contract(finished: dict[str, subprocess.CompletedProcess[str]]) -> None:
    figures, _ = run(finished, "apiserver")
    assert figures["objects"] == figures["list_items"] == 200
    assert {"creates_per_s", "full_list_s", "watch_fanout_s", "rss_mib"} <= set(figures)
    assert figures["services"] == figures["service_list_items"] == 300
    assert {"service_creates_per_s", "service_full_list_s"} <= set(figures)
    assert figures["service_allocations_unique"] is True


def test_bench_imports_contract(finished: dict[str, subprocess.CompletedProcess[str]]) -> None:
    figures, _ = run(finished, "imports")
    assert {"interpreter_mib", "agent", "modules"} <= set(figures)
    rows: dict[str, dict[str, object]] = figures["modules"]  # type: ignore[assignment]
    assert rows["pyroute2"]["in_agent"] is True
    assert rows["kubernetes"]["in_agent"] is False
    assert all({"rss_mib", "import_ms", "adds_mib"} <= set(row) for row in rows.values())


@pytest.mark.kernel
def test_bench_agent_contract(finished: dict[str, subprocess.CompletedProcess[str]]) -> None:
    figures, _ = run(finished, "agent")
    assert {"apply_one_ms_p50", "apply_one_ms_p99", "apply_1000_s", "rss_mib"} <= set(figures)


@pytest.mark.kernel
def test_bench_switchover_contract(
    finished: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    """Two labs, one per mode (the second's agents started with the handoff off), both removed."""
    figures, progress = run(finished, "switchover")
    assert figures["runs"] == 1
    for mode in ("flow_handoff", "without_flow_handoff"):
        counts = figures[mode]
        assert isinstance(counts, dict)
        assert set(counts) == {"requests", "failed_requests", "failures"}
        assert counts["requests"] > 0
        assert counts["failed_requests"] == sum(counts["failures"].values())
    assert "agent args: ['--flow-handoff-seconds', '0']" in progress
    prefixes = re.findall(r"namespaces (fip-lab-\w+-)\*", progress)
    assert len(prefixes) == 2
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    assert not any(prefix in listed.stdout for prefix in prefixes), "a lab was left behind"


@pytest.mark.kernel
def test_bench_scale_contract(finished: dict[str, subprocess.CompletedProcess[str]]) -> None:
    figures, progress = run(finished, "scale")
    assert "data LAN 198.18.0.0/20" in progress, progress
    [prefix] = re.findall(r"namespaces (fip-lab-\w+-)\*", progress)[:1]
    assert set(figures) == {"vips", "nodes", "ready_s", "failover", "api_writes", "rss_mib"}
    assert (figures["vips"], figures["nodes"]) == (20, 3)
    assert isinstance(figures["ready_s"], float) and figures["ready_s"] > 0
    failover = figures["failover"]
    assert isinstance(failover, dict)
    assert set(failover) == {"held_by_failed_node", "p50_ms", "last_ms", "never"}
    assert (failover["held_by_failed_node"], failover["never"]) == (20, 0), progress
    assert 0 < failover["p50_ms"] <= failover["last_ms"]
    writes = figures["api_writes"]
    assert isinstance(writes, dict) and set(writes) == {"critical_path", "total"}
    assert writes["total"] >= 20
    unexported = "does not export floatip_operator_failover_critical_writes_total" in progress
    assert (writes["critical_path"] is None) is unexported
    assert writes["critical_path"] is None or writes["critical_path"] >= 0
    rss = figures["rss_mib"]
    assert isinstance(rss, dict) and set(rss) == {"agent_idle", "agent_loaded", "operator_loaded"}
    assert all(isinstance(v, float) and v > 0 for v in rss.values())
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    assert prefix not in listed.stdout, "the benchmark left its lab behind"


@pytest.mark.kernel
def test_bench_services_contract(finished: dict[str, subprocess.CompletedProcess[str]]) -> None:
    """20 Services from one pool: every one got an address and answered the client, the
    steady state and the restart were measured, and the lab is gone."""
    figures, progress = run(finished, "services")
    [prefix] = re.findall(r"namespaces (fip-lab-\w+-)\*", progress)[:1]
    assert set(figures) == {
        "services", "allocate_s", "answer_s", "api_writes_per_s_per_node",
        "etp_local_move_ms", "restart_moves", "etp_local_move_shared_pod_ms",
    }  # fmt: skip
    assert figures["services"] == 20
    allocate, answer = figures["allocate_s"], figures["answer_s"]
    assert isinstance(allocate, float) and isinstance(answer, float)
    assert 0 < allocate <= answer, progress
    assert isinstance(figures["api_writes_per_s_per_node"], float)
    assert figures["api_writes_per_s_per_node"] >= 0
    assert figures["restart_moves"] == 0, progress
    assert "(a free address)" in progress, progress
    [used] = re.findall(r"CPU until every Service had an address: (.*)", progress)
    assert re.search(r"apiserver \d+\.\d\d, .*operator-1 \d+\.\d\d", used), used
    assert "the Services' own Pods app=bench: bench-server1, bench-server2" in progress, progress
    for key, service in (("etp_local_move_ms", "bench-local"),
                         ("etp_local_move_shared_pod_ms", "bench-local-shared")):  # fmt: skip
        local = figures[key]
        assert (local is None) is (f"{key} is null" in progress), progress
        assert local is None or (isinstance(local, float) and local > 0)
        assert local is None or f"{service}'s pod on server" in progress, progress
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    assert prefix not in listed.stdout, "the benchmark left its lab behind"


@pytest.mark.kernel
def test_bench_control_plane_contract(
    finished: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    figures, progress = run(finished, "control-plane")
    [prefix] = re.findall(r"namespaces (fip-lab-\w+-)\*", progress)[:1]
    assert {
        "bootstrap_ms", "apiserver_down", "kill_node", "cold_start_s", "store_down_moves",
        "two_clusters_conflicts",
    } <= set(figures)  # fmt: skip
    for key in ("apiserver_down", "kill_node"):
        assert set(figures[key]) == {"p50_ms", "p99_ms"}, figures  # type: ignore[arg-type]
    assert isinstance(figures["bootstrap_ms"], float)
    assert isinstance(figures["cold_start_s"], float)
    assert isinstance(figures["store_down_moves"], int)
    assert isinstance(figures["two_clusters_conflicts"], int)
    foreign = figures["two_clusters_foreign_messages"]
    assert isinstance(foreign, int)
    assert foreign > 0, progress
    assert "baseline" not in figures, "a baseline only when asked for (--baseline)"
    no_lab = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    assert prefix not in no_lab.stdout, "the benchmark left its lab behind"
