"""Smoke: a VirtualIP gets a holder, the announcement makes it Ready."""

from __future__ import annotations

from tests.operator import harness


async def test_initial_assignment_then_ready_on_announcement(cluster: harness.Cluster) -> None:
    await cluster.add_node("server1")
    await cluster.add_node("server2")
    await cluster.create_vip("web", address="192.0.2.100/24")
    await cluster.run_operator("op-a")
    status = await cluster.wait_status("web", lambda s: s.get("holder"), "a holder")
    assert status["epoch"] == 1
    assert harness.condition(status, "Ready")["status"] == "False"
    await cluster.announce("web", node=status["holder"], epoch=1)
    status = await cluster.wait_status(
        "web", lambda s: harness.condition(s, "Ready").get("status") == "True", "Ready"
    )
    assert status["history"][-1]["reason"] == "Assigned"
