"""``floatip bench placement``: how fast and how gently placement decides.

10,000 VirtualIPs over 1,000 nodes: the time of one full placement (pure computation, the
VirtualIP views already built), then one node lost: how many VirtualIPs moved against how many
that node held (minimal disruption), and the spread over the survivors afterwards.
"""

from __future__ import annotations

import ipaddress
import json
import resource
import statistics
import time

import click

from floatip.api import model
from floatip_operator import placement
from floatip_operator.eligibility import Interface, NodeView, VipView


def _views(vip_count: int, node_count: int) -> tuple[list[VipView], dict[str, NodeView]]:
    lan = ipaddress.ip_network("10.0.0.0/8")
    nodes = {
        f"node-{i:05}": NodeView(f"node-{i:05}", interfaces=(Interface("eth0", lan),))
        for i in range(node_count)
    }
    vips = [
        VipView(f"vip-{i:06}", model.VirtualIPSpec(address=str(lan[65536 + i])))
        for i in range(vip_count)
    ]
    for vip in vips:
        _ = vip.ip  # parse once, as the operator's cache does, so only placement is timed
    return vips, nodes


def measure(vip_count: int, node_count: int, repeat: int) -> dict[str, float | int]:
    vips, nodes = _views(vip_count, node_count)
    timings = []
    decisions: dict[str, placement.Decision] = {}
    for _ in range(repeat):
        started = time.perf_counter()
        decisions = placement.place(vips, nodes)
        timings.append(time.perf_counter() - started)
    held = [VipView(v.name, v.spec, decisions[v.name].node) for v in vips]
    for vip, old in zip(held, vips, strict=True):
        vip.__dict__["ip"] = old.ip
    lost = sorted(nodes)[0]
    expected = sum(1 for d in decisions.values() if d.node == lost)
    survivors = {**nodes, lost: NodeView(lost, agent_alive=False)}
    after = placement.place(held, survivors)
    moved = sum(1 for d in after.values() if d.moved)
    loads: dict[str, int] = dict.fromkeys((n for n in nodes if n != lost), 0)
    for d in after.values():
        if d.node is not None:
            loads[d.node] += 1
    return {
        "vips": vip_count,
        "nodes": node_count,
        "place_s": round(statistics.median(timings), 4),
        "node_loss_moved": moved,
        "node_loss_expected": expected,
        "spread_max_minus_min": max(loads.values()) - min(loads.values()),
        "rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


@click.command("placement")
@click.option("--vips", "vip_count", type=int, default=10_000, show_default=True)
@click.option("--nodes", "node_count", type=int, default=1_000, show_default=True)
@click.option("--repeat", type=int, default=5, show_default=True, help="Runs; the median counts.")
@click.option("--json", "as_json", is_flag=True, help="Print only the JSON result line.")
@click.option(
    "--operator-vips",
    type=int,
    default=0,
    show_default=True,
    help="Also run the real operator against the test API server holding this many VirtualIPs "
    "and report its RSS as rss_mib (slow: about 250 creates/s; 0: off).",
)
@click.option("--operator-nodes", type=int, default=100, show_default=True)
@click.option(
    "--operator-settle-seconds",
    type=float,
    default=15.0,
    show_default=True,
    help="How long the restarted operator runs before rss_restarted_mib is read.",
)
def placement_command(
    *,
    vip_count: int,
    node_count: int,
    repeat: int,
    as_json: bool,
    operator_vips: int,
    operator_nodes: int,
    operator_settle_seconds: float,
) -> None:
    """Time placement of VIPS over NODES and the disruption when one node is lost.

    rss_mib is this benchmark process's peak RSS holding the views, unless --operator-vips is
    given: then it is the operator process's RSS once it watches and has placed that many
    VirtualIPs in the test API server (and rss_source says "operator").
    """
    if not as_json:
        click.echo(f"placing {vip_count} VirtualIPs over {node_count} nodes, {repeat} runs ...")
    result: dict[str, float | int | str] = {**measure(vip_count, node_count, repeat)}
    if operator_vips:
        import asyncio

        from floatip_lab.benchmarks import operator_memory

        if not as_json:
            click.echo(f"running the operator over {operator_vips} VirtualIPs ...")
        figures = asyncio.run(
            operator_memory.measure_operator(
                vips=operator_vips, nodes=operator_nodes, settle_s=operator_settle_seconds
            )
        )
        result.update(figures)
        result["rss_source"] = "operator"
        result["operator_vips"] = operator_vips
    if not as_json:
        for key, value in result.items():
            click.echo(f"  {key:22} {value}")
    click.echo(json.dumps(result))
