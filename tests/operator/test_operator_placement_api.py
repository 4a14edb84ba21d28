"""The real operator against the test API server and simulated agents: placement outcomes.

Proves: a holder's agent that stops answering loses the VirtualIP to another node (epoch + 1,
history reason Failover, an Event); a pin is a planned switchover that is Ready only once the
new holder announced; an invalid spec gets InvalidSpec and an Event while other VirtualIPs are
placed; the newer of two VirtualIPs with one address gets DuplicateAddress; no eligible node
gives NoEligibleNode; a pin to a missing node says so; the drain label moves the address away
(HolderIneligible, planned); a failing health check moves it; a group's members are placed on
one node with a Grouped condition naming them, and members pinning different nodes stay on
their healthy holder with GroupConflict (condition and Event) while another VirtualIP is
undisturbed; when that holder's agent dies, the conflicting group still fails over as one unit
(history Failover, GroupConflict kept).
"""

from __future__ import annotations

from tests.operator import harness
from tests.operator.harness import condition, ready


async def test_failover_when_the_holders_agent_dies(cluster: harness.Cluster) -> None:
    await cluster.add_node("server1")
    await cluster.add_node("server2")
    await cluster.create_vip("web", address="192.0.2.100/24")
    await cluster.run_operator("op-a")
    before = await cluster.placed_and_announced("web")
    old = str(before["holder"])
    await cluster.agents[old].kill()
    after = await cluster.wait_status("web", lambda s: s.get("holder") != old, "a failover")
    assert after["epoch"] == 2
    assert after["history"][-1] == {**after["history"][-1], "from": old, "reason": "Failover"}
    assert not ready(after)  # the new holder has not announced yet
    await cluster.announce("web", node=after["holder"], epoch=2)
    await cluster.wait_status("web", ready, "Ready on the new holder")

    async def failover_event() -> bool:
        return any(e["reason"] == "Failover" for e in await cluster.events("web"))

    await harness.eventually("a Failover Event", failover_event)


async def test_pin_is_a_planned_switchover_ready_after_announcement(
    cluster: harness.Cluster,
) -> None:
    await cluster.add_node("server1")
    await cluster.add_node("server2")
    await cluster.create_vip("web", address="192.0.2.100/24")
    await cluster.run_operator("op-a")
    before = await cluster.placed_and_announced("web")
    other = "server2" if before["holder"] == "server1" else "server1"
    await cluster.call(
        "PATCH",
        f"{harness.VIPS}/web",
        {"spec": {"node": other}},
        content_type="application/merge-patch+json",
    )
    moved = await cluster.wait_status("web", lambda s: s.get("holder") == other, "the pin")
    assert moved["epoch"] == 2 and moved["history"][-1]["reason"] == "Pinned"
    assert condition(moved, "Ready")["reason"] == "AnnouncementPending"
    assert moved["observedGeneration"] == 2
    await cluster.announce("web", node=other, epoch=2)
    done = await cluster.wait_status("web", ready, "Ready after the announcement")
    assert done["holder"] == other and done["epoch"] == 2


async def test_invalid_spec_duplicate_and_no_eligible_node(cluster: harness.Cluster) -> None:
    await cluster.add_node("server1", labels={"zone": "a"})
    await cluster.add_node("server2", labels={"zone": "a"})
    good = await cluster.create_vip("good", address="192.0.2.100/24")
    # The broadcast address passes the CRD's CEL rules; only the operator's model refuses it.
    await cluster.create_vip("bad", address="192.0.2.255/24")

    async def next_second() -> bool:  # creationTimestamp has whole seconds: make "copy" newer
        return harness.now()[:19] > good["metadata"]["creationTimestamp"][:19]

    await harness.eventually("the next second", next_second)
    await cluster.create_vip("copy", address="192.0.2.100/24")
    await cluster.create_vip(
        "nowhere", address="192.0.2.101/24", nodeSelector={"matchLabels": {"zone": "b"}}
    )
    await cluster.create_vip("ghostpin", address="192.0.2.102/24", node="server9")
    await cluster.run_operator("op-a")
    await cluster.placed_and_announced("good")
    bad = await cluster.wait_status("bad", lambda s: bool(s.get("conditions")), "conditions")
    assert condition(bad, "Ready") | {"lastTransitionTime": ""} == condition(bad, "Ready") | {
        "lastTransitionTime": "",
        "status": "False",
        "reason": "InvalidSpec",
    }
    assert "broadcast" in condition(bad, "Ready")["message"]
    assert "holder" not in bad
    copy = await cluster.wait_status("copy", lambda s: bool(s.get("conditions")), "conditions")
    assert condition(copy, "Ready")["reason"] == "DuplicateAddress"
    assert "'good'" in condition(copy, "Assigned")["message"] and "holder" not in copy
    nowhere = await cluster.wait_status("nowhere", lambda s: bool(s.get("conditions")), "conds")
    assert condition(nowhere, "Assigned")["status"] == "False"
    assert condition(nowhere, "Assigned")["reason"] == "NoEligibleNode"
    assert "NotSelected" in condition(nowhere, "Assigned")["message"]
    ghost = await cluster.wait_status("ghostpin", lambda s: bool(s.get("holder")), "a holder")
    assert condition(ghost, "Assigned")["reason"] == "PinnedNodeNotFound"
    assert "server9" in condition(ghost, "Assigned")["message"]

    async def warnings() -> set[str] | None:
        found = {
            (vip, e["reason"])
            for vip in ("bad", "copy", "nowhere", "ghostpin")
            for e in await cluster.events(vip)
            if e["type"] == "Warning"
        }
        expected = {
            ("bad", "InvalidSpec"),
            ("copy", "DuplicateAddress"),
            ("nowhere", "NoEligibleNode"),
            ("ghostpin", "PinnedNodeNotFound"),
        }
        return found if found >= expected else None

    await harness.eventually("Warning Events", warnings)


async def test_drain_label_moves_the_address_planned(cluster: harness.Cluster) -> None:
    await cluster.add_node("server1")
    await cluster.add_node("server2")
    await cluster.create_vip("web", address="192.0.2.100/24")
    await cluster.run_operator("op-a")
    before = await cluster.placed_and_announced("web")
    old = str(before["holder"])
    await cluster.label_node(old, {"floatip.io/drain": "true"})
    after = await cluster.wait_status("web", lambda s: s.get("holder") != old, "the drain move")
    assert after["epoch"] == 2 and after["history"][-1]["reason"] == "HolderIneligible"


async def test_failing_health_check_moves_the_address(cluster: harness.Cluster) -> None:
    one = await cluster.add_node("server1")
    two = await cluster.add_node("server2")
    assert one is not None and two is not None
    one.health["web"] = True
    two.health["web"] = True
    await cluster.create_vip(
        "web", address="192.0.2.100/24", healthCheck={"type": "tcp", "port": 80}
    )
    await cluster.run_operator("op-a")
    before = await cluster.placed_and_announced("web")
    assert condition(before, "HealthCheck")["reason"] == "Passing"
    old = str(before["holder"])
    cluster.agents[old].health["web"] = False
    after = await cluster.wait_status("web", lambda s: s.get("holder") != old, "a move")
    assert after["epoch"] == 2 and after["history"][-1]["reason"] == "HolderIneligible"


async def test_lost_probes_below_the_fall_threshold_move_nothing(
    cluster: harness.Cluster,
) -> None:
    await cluster.add_node("server1")
    await cluster.add_node("server2")
    await cluster.create_vip("web", address="192.0.2.100/24")
    await cluster.run_operator("op-a")
    before = await cluster.placed_and_announced("web")
    agent = cluster.agents[str(before["holder"])]
    for _ in range(3):  # three separate bursts of two lost probes (the default fall is 3)
        agent.failures_left = 2
        seen = agent.probes

        async def answered_again(start: int = seen) -> bool:
            return agent.failures_left == 0 and agent.probes >= start + 4

        await harness.eventually("the agent answering again", answered_again)
    after = await cluster.status("web")
    assert (after["holder"], after["epoch"]) == (before["holder"], 1)


async def test_a_group_is_placed_together_and_a_conflict_is_reported(
    cluster: harness.Cluster,
) -> None:
    await cluster.add_node("server1")
    await cluster.add_node("server2")
    await cluster.create_vip("edge-out", address="192.0.2.100/24", group="edge")
    await cluster.create_vip("edge-in", address="192.0.2.101/24", group="edge")
    await cluster.create_vip("alone", address="192.0.2.102/24")
    await cluster.run_operator("op-a")
    placed = [await cluster.placed_and_announced(n) for n in ("edge-out", "edge-in")]
    holder = placed[0]["holder"]
    assert placed[1]["holder"] == holder
    grouped = condition(placed[1], "Grouped")
    assert (grouped["status"], grouped["reason"]) == ("True", "Together")
    assert grouped["message"] == f"group edge (2 members: edge-in, edge-out) is held by {holder}"
    alone = await cluster.placed_and_announced("alone")
    assert not condition(alone, "Grouped")
    other = "server2" if holder == "server1" else "server1"
    for name, pin in (("edge-out", holder), ("edge-in", other)):
        await cluster.call(
            "PATCH", f"{harness.VIPS}/{name}", {"spec": {"node": pin}},
            content_type="application/merge-patch+json",
        )  # fmt: skip
    for name in ("edge-out", "edge-in"):
        stuck = await cluster.wait_status(
            name, lambda s: condition(s, "Grouped").get("reason") == "GroupConflict", "a conflict"
        )
        assert stuck["holder"] == holder and stuck["epoch"] == 1, stuck
        assert condition(stuck, "Assigned")["reason"] == "GroupConflict"
        assert "its members pin different nodes" in condition(stuck, "Grouped")["message"]

    async def conflict_events() -> bool:
        found = [await cluster.events(n) for n in ("edge-out", "edge-in")]
        return all(any(e["reason"] == "GroupConflict" for e in events) for events in found)

    await harness.eventually("a GroupConflict Event on each member", conflict_events)
    assert (await cluster.wait_status("alone", ready, "still Ready"))["epoch"] == alone["epoch"]
    # a failover is never delayed, also not by a misconfigured group: both go, together
    await cluster.agents[str(holder)].kill()
    for name in ("edge-out", "edge-in"):
        moved = await cluster.wait_status(name, lambda s: s.get("holder") == other, "a failover")
        assert moved["epoch"] == 2 and moved["history"][-1]["reason"] == "Failover", moved
        assert condition(moved, "Grouped")["reason"] == "GroupConflict", moved
