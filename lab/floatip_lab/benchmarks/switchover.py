"""``floatip bench switchover``: planned switchovers under a busy client, with and without the
agents' flow handoff.

`floatip bench failover` counts failed requests over a few switchovers with the client asking
every 10 ms; a request that straddles the instant the client's neighbour entry flips is rare
there. This benchmark makes it common: the client asks back to back (a new TCP connection per
request, no pause), and the VIP is moved ``runs`` times between two nodes. It does so twice,
in two labs: with the agents' defaults (flow handoff on, protocol.md) and with
``--flow-handoff-seconds 0``, so the figure shows what the handoff saves, not just a zero.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Callable, Sequence
from typing import Any

import click

from floatip_lab import session
from floatip_lab.benchmarks import failover

Say = Callable[[str], None]
WITHOUT_HANDOFF = ("--flow-handoff-seconds", "0")


def measure(agent_args: Sequence[str], *, runs: int, say: Say) -> dict[str, Any]:
    """``runs`` planned switchovers in a fresh lab: requests made, failed, and why."""
    requests = failed = 0
    reasons: collections.Counter[str] = collections.Counter()
    with failover.bench_lab("default", say, agent_args=agent_args) as place:
        lab = session.Session(place, say=lambda m: None)
        vip = str(lab.lab.host("server1").ip).rsplit(".", 1)[0] + ".100"
        lab.apply_vip("bench", {"address": f"{vip}/24"})
        bench = failover.Bench(lab, vip, say)
        for index in range(1, runs + 1):
            target, seen = bench.switchover(interval=0.0)
            lost = [r.answer for r in seen if not r.ok]
            requests += len(seen)
            failed += len(lost)
            reasons.update(lost)
            say(f"switchover {index}/{runs} to {target}: {len(seen)} requests, {len(lost)} failed")
    return {"requests": requests, "failed_requests": failed, "failures": dict(reasons)}


def run(*, runs: int, say: Say) -> dict[str, Any]:
    result: dict[str, Any] = {"runs": runs}
    say("with the flow handoff (the default)")
    result["flow_handoff"] = measure((), runs=runs, say=say)
    say("without it (--flow-handoff-seconds 0)")
    result["without_flow_handoff"] = measure(WITHOUT_HANDOFF, runs=runs, say=say)
    return result


@click.command("switchover")
@click.option("--runs", type=int, default=20, show_default=True, help="switchovers per lab")
@click.option("--json", "as_json", is_flag=True, help="end with one JSON line only")
def switchover_command(runs: int, as_json: bool) -> None:
    """Planned switchovers under a back-to-back client, with and without the flow handoff.

    Needs root (it builds two labs in network namespaces, one after the other, and removes
    them).
    """

    def say(message: str) -> None:
        click.echo(message, err=as_json)

    result = run(runs=runs, say=say)
    if not as_json:
        for mode in ("flow_handoff", "without_flow_handoff"):
            figures = result[mode]
            say(
                f"{mode:22} {figures['failed_requests']} failed of {figures['requests']} "
                f"requests over {runs} switchovers {figures['failures'] or ''}"
            )
    click.echo(json.dumps(result))
