"""``floatip bench failover``: client-seen failover, switchover losses and API cost, in the lab.

For each scenario (kill-node, freeze-node, cut-data) the holder of one VirtualIP is broken
``runs`` times while the client asks the VIP every 10 ms; a run's figure is the time from the
fault to the first answer from the new holder (`timeline.failover_seconds`). Planned
switchovers (a pin to the other node) count failed requests. The API cost is read from the
API server's own ``apiserver_request_total`` over a quiet window; RSS from /proc. With
``--baseline keepalived`` the same kill-node measurement runs keepalived at its defaults.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import pathlib
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import click

from floatip_lab import keepalived, lifecycle, naming, session, state, timeline

Say = Callable[[str], None]
SCENARIOS = ("kill-node", "freeze-node", "cut-data")
WRITE_VERBS = ("POST", "PUT", "PATCH", "DELETE")
_COUNTER = re.compile(r'^apiserver_request_total\{verb="(\w+)",resource="([^"]*)"\} (\d+)$')


def summarize(seconds: list[float]) -> dict[str, float | int]:
    """runs, p50_ms, p99_ms, max_ms of a list of failover times."""
    return {
        "runs": len(seconds),
        "p50_ms": round(1000 * timeline.percentile(seconds, 0.5), 1),
        "p99_ms": round(1000 * timeline.percentile(seconds, 0.99), 1),
        "max_ms": round(1000 * max(seconds), 1),
    }


def writes(metrics_text: str) -> int:
    """Total write requests in an ``apiserver_request_total`` exposition."""
    return sum(write_counts(metrics_text).values())


def write_counts(metrics_text: str) -> dict[str, int]:
    """Write requests in an ``apiserver_request_total`` exposition, by ``"VERB resource"``."""
    counts: dict[str, int] = {}
    for line in metrics_text.splitlines():
        match = _COUNTER.match(line)
        if match and match.group(1) in WRITE_VERBS:
            key = f"{match.group(1)} {match.group(2)}"
            counts[key] = counts.get(key, 0) + int(match.group(3))
    return counts


def writes_since(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    """The API writes of each kind (`write_counts`) between two readings."""
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


def rss_mib(pid: int) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise ValueError(f"no VmRSS for pid {pid}")


class Bench:
    def __init__(self, lab: session.Session, vip: str, say: Say) -> None:
        self.lab = lab
        self.vip = vip
        self.say = say

    def other(self, node: str) -> str:
        nodes = self.lab.lab.nodes_names()
        return next(n for n in nodes if n != node)

    def settle(self) -> str:
        """Wait until the VirtualIP is Ready, only its holder has it, and every agent is back.

        The status is read again at every look: after a failover it follows the move record
        (and the client's first answer) by a moment, so a first look can name the old holder.
        """

        def consistent() -> bool:
            condition = self.lab.condition("bench", "Ready")
            holder = self.lab.holder("bench")
            if holder is None or condition is None or condition.get("status") != "True":
                return False
            nodes = self.lab.lab.nodes_names()
            return all((self.vip in self.lab.addresses_on(n)) == (n == holder) for n in nodes)

        self.lab.wait(consistent, what=f"{self.vip} Ready on its holder only", timeout=60,
                      interval=0.1)  # fmt: skip
        holder = self.lab.holder("bench")
        assert holder is not None
        self.lab.wait_answer(self.vip, holder, timeout=60)
        self.lab.wait_agents_sure()
        return holder

    def failover(self, scenario: str) -> float:
        holder = self.settle()
        target = self.other(holder)
        with self.lab.prober(self.vip, duration=60) as prober:
            time.sleep(0.5)
            fault = self.lab.fault(scenario, holder)
            self.lab.wait_answer(self.vip, target, timeout=30)
            # The lab's asker heard target; the recording client is another process, and its
            # own request may still be waiting out its 100 ms timeout on the old holder.
            self.lab.wait(
                lambda: timeline.failover_seconds(prober.requests(), fault, target) is not None,
                what=f"the recording client answered by {target} after {scenario}",
                timeout=10,
                describe=lambda: _recorded(prober.requests(), fault),
            )
        self.lab.fault("heal")
        seconds = timeline.failover_seconds(prober.requests(), fault, target)
        assert seconds is not None  # the wait above saw it in the same file
        return seconds

    def switchover(self, *, interval: float = 0.01) -> tuple[str, list[timeline.Request]]:
        """One planned move (a pin) to the other node: (the target, what the client saw).

        The client asks every ``interval`` seconds (0: back to back) from 0.5 s before the pin
        to 1 s after the target answers.
        """
        holder = self.settle()
        target = self.other(holder)
        with self.lab.prober(self.vip, duration=60, interval=interval) as prober:
            time.sleep(0.5)
            self.lab.patch_spec("bench", {"node": target})
            self.lab.wait_holder("bench", target, timeout=30)
            self.lab.wait_answer(self.vip, target, timeout=30)
            time.sleep(1.0)
        return target, prober.requests()

    def api_writes_per_second_per_node(self, window: float) -> float:
        self.settle()
        before = writes(self.lab.api.text("/metrics"))
        time.sleep(window)
        after = writes(self.lab.api.text("/metrics"))
        return round((after - before) / window / len(self.lab.lab.nodes_names()), 3)

    def rss(self) -> dict[str, float]:
        processes = self.lab.lab.processes
        agents = [rss_mib(p.pid) for n, p in processes.items() if n.startswith("agent-")]
        operators = [rss_mib(p.pid) for n, p in processes.items() if n.startswith("operator-")]
        return {"agent": max(agents), "operator": max(operators)}


@contextlib.contextmanager
def bench_lab(
    profile: str,
    say: Say,
    *,
    agent_args: Sequence[str] = (),
    ipv6: bool = False,
    nodes: int = 2,
    data_network: ipaddress.IPv4Network = naming.DATA_V4,
) -> Iterator[state.Place]:
    """A lab of its own (2 nodes unless told; a temporary state directory), removed when the
    block ends, whatever ends it (Ctrl-C included)."""
    with tempfile.TemporaryDirectory(prefix="floatip-bench-") as tmp:
        place = state.locate({state.STATE_DIR_ENV: tmp})
        extra = f" (agent args: {list(agent_args)})" if agent_args else ""
        say(f"building a lab in namespaces {place.prefix}*{extra}")
        lifecycle.up(
            place,
            nodes=nodes,
            ipv6=ipv6,
            say=lambda m: None,
            profile=profile,
            agent_args=agent_args,
            data_network=data_network,
        )
        try:
            yield place
        finally:
            lifecycle.down(place, say=lambda m: None)


def bench_address(lab: state.LabState, *, ipv6: bool) -> tuple[str, int]:
    """The benchmark's VIP and prefix: the first free address of the data LAN (naming.py)."""
    if ipv6:
        server = lab.host("server1").ip6
        assert server is not None, "an IPv6 benchmark needs a lab built with IPv6"
        network = ipaddress.IPv6Network(f"{server}/64", strict=False)
        return str(network.network_address + 0x100), 64
    return str(lab.host("server1").ip).rsplit(".", 1)[0] + ".100", 24


def run(
    *,
    runs: int,
    baseline: str | None,
    profile: str,
    steady_seconds: float,
    say: Say,
    ipv6: bool = False,
) -> dict[str, Any]:
    result: dict[str, Any] = {"profile": profile, "scenarios": {}}
    with bench_lab(profile, say, ipv6=ipv6) as place:
        lab = session.Session(place, say=lambda m: None)
        vip, prefix = bench_address(lab.lab, ipv6=ipv6)
        say(f"lab up: 2 nodes, profile {profile}, VIP {vip}/{prefix}, namespaces {place.prefix}*")
        lab.apply_vip("bench", {"address": f"{vip}/{prefix}"})
        bench = Bench(lab, vip, say)
        for scenario in SCENARIOS:
            times = []
            for index in range(1, runs + 1):
                times.append(bench.failover(scenario))
                say(f"{scenario} run {index}/{runs}: {1000 * times[-1]:.0f} ms")
            result["scenarios"][scenario] = summarize(times)
        failed = 0
        for index in range(1, runs + 1):
            lost = timeline.failed(bench.switchover()[1])
            failed += lost
            say(f"switchover run {index}/{runs}: {lost} failed requests")
        result["switchover"] = {"runs": runs, "failed_requests": failed}
        say(f"API writes over {steady_seconds:g} s of steady state")
        result["api_writes_per_s_per_node"] = bench.api_writes_per_second_per_node(steady_seconds)
        result["rss_mib"] = bench.rss()
    if baseline == "keepalived":
        times = keepalived.measure(runs, progress=say)
        summary = summarize(times)
        result["baseline"] = {"keepalived": {k: summary[k] for k in ("p50_ms", "p99_ms")}}
        ratio = summary["p50_ms"] / result["scenarios"]["kill-node"]["p50_ms"]
        result["baseline"]["keepalived"]["ratio_p50"] = round(ratio, 2)
    return result


@click.command("failover")
@click.option("--runs", type=int, default=10, show_default=True, help="runs per scenario")
@click.option("--baseline", type=click.Choice(["keepalived"]), default=None)
@click.option("--profile", type=click.Choice(["default", "fast"]), default="default")
@click.option("--steady-seconds", type=float, default=60.0, show_default=True)
@click.option("--ipv6", is_flag=True, help="an IPv6 VIP (neighbour discovery) on a dual-stack lab")
@click.option("--json", "as_json", is_flag=True, help="end with one JSON line only")
def failover_command(  # noqa: PLR0917 (one parameter per option, as click passes them)
    runs: int, baseline: str | None, profile: str, steady_seconds: float, ipv6: bool, as_json: bool
) -> None:
    """Client-seen failover (kill-node, freeze-node, cut-data), switchover losses, API cost.

    Needs root (it builds its own lab in network namespaces and removes it afterwards).
    ``--ipv6`` measures an IPv6 VIP with the same JSON keys.
    """

    def say(message: str) -> None:
        click.echo(message, err=as_json)

    if ipv6 and baseline:
        raise click.UsageError(
            "--baseline keepalived measures an IPv4 VRRP address only; run it without --ipv6"
        )
    result = run(
        runs=runs,
        baseline=baseline,
        profile=profile,
        steady_seconds=steady_seconds,
        say=say,
        ipv6=ipv6,
    )
    if not as_json:
        for scenario, figures in result["scenarios"].items():
            say(f"{scenario:12} p50 {figures['p50_ms']} ms  p99 {figures['p99_ms']} ms")
    click.echo(json.dumps(result))


def _recorded(requests: list[timeline.Request], fault: float) -> str:
    """What the recording client saw since the fault, for a wait that gave up."""
    after = [r for r in requests if r.start >= fault]
    return (
        f"the recording client made {len(requests)} requests, {len(after)} after the fault, "
        f"answered by {timeline.answered_by(after)}"
    )
