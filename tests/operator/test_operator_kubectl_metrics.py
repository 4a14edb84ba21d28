"""The operator seen from outside: the real ``kubectl wait`` and the Prometheus endpoint.

Proves: ``kubectl wait --for=condition=Ready vip/web`` returns once the holder announced; the
operator's /metrics shows leadership, VirtualIPs by state, moves by reason and placement time;
the fast profile fails over too.
"""

from __future__ import annotations

import asyncio

from floatip_apiserver.testing import kubectl_path
from tests.operator import harness


async def test_kubectl_wait_for_ready_and_metrics(cluster: harness.Cluster) -> None:
    await cluster.add_node("server1")
    await cluster.add_node("server2")
    await cluster.create_vip("web", address="192.0.2.100/24")
    port = harness.free_port()
    await cluster.run_operator("op-a", "--metrics-port", str(port), "--metrics-host", "127.0.0.1")
    waiter = await asyncio.create_subprocess_exec(
        kubectl_path(),
        "--kubeconfig",
        str(cluster.server.kubeconfig),
        "wait",
        "--for=condition=Ready",
        "vip/web",
        "--timeout=30s",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    status = await cluster.wait_status("web", lambda s: bool(s.get("holder")), "a holder")
    assert waiter.returncode is None  # not Ready before the announcement
    await cluster.announce("web", node=status["holder"], epoch=status["epoch"])
    output, _ = await asyncio.wait_for(waiter.communicate(), 40)
    assert waiter.returncode == 0, output
    assert b"condition met" in output

    wanted = ('floatip_operator_virtualips{state="ready"} 1.0', "floatip_operator_leader 1.0")
    text = await harness.metrics_showing(port, wanted, "metrics of one Ready VirtualIP")
    assert 'floatip_operator_moves_total{reason="Assigned"} 1.0' in text
    assert "floatip_operator_placement_seconds_count" in text
    assert "floatip_operator_agents_alive 2.0" in text


async def test_fast_profile_fails_over(cluster: harness.Cluster) -> None:
    await cluster.add_node("server1")
    await cluster.add_node("server2")
    await cluster.create_vip("web", address="192.0.2.100/24")
    op = await cluster.run_operator("op-a", "--profile", "fast")
    status = await cluster.wait_status("web", lambda s: bool(s.get("holder")), "a holder")
    old = status["holder"]
    await cluster.agents[old].kill()
    after = await cluster.wait_status("web", lambda s: s.get("holder") != old, "the failover")
    assert after["history"][-1]["reason"] == "Failover"
    assert any(e.get("profile") == "fast" for e in op.log_events())
