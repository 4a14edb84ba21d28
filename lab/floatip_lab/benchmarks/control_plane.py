"""``floatip bench control-plane``: the control-plane VIP as an API client sees it (issue 17).

It builds a lab of its own with two control-plane clusters of three hosts on one LAN
(`floatip lab up --control-plane 3 --second-cluster`, one server, no floatip operator), then
plays `floatip_lab.cpscenarios` on cluster ``lab-a`` while its client asks
``https://VIP:6443/readyz`` every 10 ms:

- ``bootstrap_ms``: nothing running on lab-a's hosts; cp1's agent started, then cp1's
  stand-in kube-apiserver: from that apiserver listening to the end of the first ``/readyz``
  answered through the VIP;
- ``apiserver_down``: the holder's apiserver stopped -> the first answer from another host
  (p50/p99 over ``--runs``);
- ``kill_node``: the holder powered off (`floatip lab fault kill-node`) -> the same;
- ``cold_start_s``: every lab-a host powered off, then all three started at once -> the
  first answer;
- ``store_down_moves``: holder changes in either cluster while the lab API server is down
  for 5 s and 3 s after (every apiserver unhealthy: the VIP must stay);
- ``two_clusters_conflicts``: each cluster's holder loses its apiserver in turn: changes of
  the other cluster's holder, either VIP seen on the other cluster's hosts, and conflicts
  counted by the other cluster's agents (``two_clusters_foreign_messages``: the other
  cluster's heartbeats each agent heard and ignored, proof they met).

``--baseline keepalived-haproxy`` then measures the two failovers with keepalived + haproxy
at kubeadm's documented settings on the same hosts (`control_plane_baseline`), under
``baseline``. Progress goes to stderr with ``--json``; the last stdout line is one JSON object.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import click

from floatip_lab import cpscenarios, lifecycle, state, timeline

Say = Callable[[str], None]


@contextlib.contextmanager
def bench_lab(profile: str, say: Say) -> Iterator[state.Place]:
    """A lab of its own with two control-plane clusters, removed whatever ends the block."""
    with tempfile.TemporaryDirectory(prefix="floatip-bench-cp-") as tmp:
        place = state.locate({state.STATE_DIR_ENV: tmp})
        say(f"building a lab with two control-plane clusters in namespaces {place.prefix}*")
        try:
            lifecycle.up(
                place, nodes=1, ipv6=False, say=lambda m: None, with_floatip=False,
                profile=profile, control_plane=3, second_cluster=True,
            )  # fmt: skip
            yield place
        finally:
            lifecycle.down(place, say=lambda m: None)


def percentiles(seconds: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(1000 * timeline.percentile(seconds, 0.5), 1),
        "p99_ms": round(1000 * timeline.percentile(seconds, 0.99), 1),
    }


def run(*, runs: int, profile: str, say: Say, baseline: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"profile": profile, "runs": runs}
    with bench_lab(profile, say) as place:
        cp = cpscenarios.ControlPlaneLab(place, say)
        cluster = cp.cluster(0)
        say(f"lab up: {cluster.cluster_id} VIP {cluster.vip} on {', '.join(cluster.hosts)}; "
            f"{cp.cluster(1).cluster_id} VIP {cp.cluster(1).vip} beside it")  # fmt: skip
        start = cp.bootstrap(cluster)
        result["bootstrap_ms"] = round(1000 * start.seconds, 1)
        say(f"bootstrap: {result['bootstrap_ms']} ms after {cluster.hosts[0]}'s apiserver "
            f"listened (by {start.answered_by}; holder {start.holder} once all ran)")  # fmt: skip
        for key, fault in (("apiserver_down", "stop-apiserver"), ("kill_node", "kill-node")):
            times = []
            for index in range(1, runs + 1):
                moved = cp.failover(cluster, fault)
                times.append(moved.seconds)
                say(f"{fault} run {index}/{runs}: {1000 * moved.seconds:.0f} ms "
                    f"({moved.old_holder} -> {moved.answered_by})")  # fmt: skip
            result[key] = percentiles(times)
        cold = cp.cold_start(cluster)
        result["cold_start_s"] = round(cold.seconds, 2)
        say(f"cold start: answered after {cold.seconds:.2f} s by {cold.answered_by}; "
            f"holder {cold.holder}")  # fmt: skip
        say("store down: the lab API server down for 5 s")
        quiet = cp.store_down(5.0)
        result["store_down_moves"] = quiet.moves
        say(f"store down: {quiet.moves} holder changes in {len(quiet.samples)} looks "
            f"({quiet.details})")  # fmt: skip
        say("two clusters: each holder's apiserver stopped in turn, the other cluster watched")
        both = cp.two_clusters()
        result["two_clusters_conflicts"] = both.moves
        result["two_clusters_foreign_messages"] = both.details["foreign_messages"]
        say(f"two clusters: {both.moves} conflicts ({both.details})")
        if baseline == "keepalived-haproxy":
            from floatip_lab.benchmarks import control_plane_baseline

            figures = control_plane_baseline.measure(cp, cluster, runs, say)
            result["baseline"] = {"keepalived_haproxy": figures}
    return result


@click.command("control-plane")
@click.option("--runs", type=int, default=10, show_default=True, help="runs per failover")
@click.option("--profile", type=click.Choice(["default", "fast"]), default="default")
@click.option(
    "--baseline",
    type=click.Choice(["keepalived-haproxy"]),
    default=None,
    help="then the same faults with keepalived + haproxy at kubeadm's documented settings",
)
@click.option("--json", "as_json", is_flag=True, help="end with one JSON line only")
def control_plane_command(runs: int, profile: str, baseline: str | None, as_json: bool) -> None:
    """The control-plane VIP seen by an HTTPS client of /readyz: bootstrap, failovers, cold
    start, store down, two clusters on one LAN.

    Needs root (it builds its own lab in network namespaces and removes it afterwards).
    """
    if runs < 1:
        raise click.UsageError("--runs must be at least 1")

    def say(message: str) -> None:
        click.echo(message, err=as_json)

    click.echo(json.dumps(run(runs=runs, profile=profile, say=say, baseline=baseline)))
