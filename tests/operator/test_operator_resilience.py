"""The real operator through outages, restarts and leader changes (safety properties 4 and 8).

Proves: with the API server down nothing moves, and after it returns the operator converges
without moving the healthy VirtualIP; Leases that expired during an outage are not believed
while the operator's caches are frozen, nor until the agents have had a whole Lease duration of
working API to renew in (the after-outage grace, reached with 3 s Leases and a longer outage);
an operator restart keeps every healthy holder and epoch;
two replicas run and exactly one (the Lease holder) writes status; a leader killed while its
failover write is held in flight by the API server (lost, landing before the standby leads, or
arriving after the standby moved) is replaced by the standby and the VirtualIP ends with one
holder and exactly one epoch bump, which the standby does not take for a forgery;
deletion waits for an alive holder to release, and does not wait for a dead one.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from floatip.api import names
from tests.operator import harness
from tests.operator.harness import condition, ready


async def _logged(op: harness.Operator, event: str, **fields: object) -> bool:
    return any(
        e.get("event") == event and all(e.get(k) == v for k, v in fields.items())
        for e in op.log_events()
    )


async def _leader(cluster: harness.Cluster) -> str | None:
    lease = await cluster.call("GET", f"{harness.LEASES}/floatip-operator", ok=(200, 404))
    return lease.get("spec", {}).get("holderIdentity") if lease["_code"] == 200 else None


async def test_api_server_down_moves_nothing_and_converges_after(
    cluster: harness.Cluster,
) -> None:
    """A 3 s outage against 30 s agent Leases: no Lease expires, so this does not reach the
    after-outage grace (the next test does); it shows the operator reconnects and decides."""
    await cluster.add_node("server1")
    await cluster.add_node("server2")
    await cluster.create_vip("web", address="192.0.2.100/24")
    op = await cluster.run_operator("op-a")
    before = await cluster.placed_and_announced("web")
    await cluster.server.down()
    await harness.eventually("the operator to notice", lambda: _logged(op, "api contact lost"))
    await asyncio.sleep(3)  # an outage longer than the leader Lease (3 s in these tests)
    await cluster.server.up()
    await harness.eventually("contact restored", lambda: _logged(op, "api contact restored"))
    # A new VirtualIP placed proves the operator decides again; the old one must not move.
    await cluster.create_vip("probe", address="192.0.2.101/24")
    await cluster.wait_status("probe", lambda s: bool(s.get("holder")), "the probe placed")
    after = await cluster.status("web")
    assert (after["holder"], after["epoch"]) == (before["holder"], 1)
    assert ready(after)


LEASE_S = 3  # the agents' Lease duration in the outage test (30 s elsewhere)


async def test_leases_expired_in_an_outage_are_not_believed_until_agents_could_renew(
    cluster: harness.Cluster,
) -> None:
    """The after-outage grace (views.lease_fresh's ``contact_since``), reached for real.

    The agents' Leases last 3 s and the API is down longer than that, so every Lease has
    expired by the clock when it comes back. Nothing may move for that:

    1. while the operator's informers cannot relist yet (the hold fault keeps their lists
       pending: a slow API right after an outage) its caches are frozen, so it must not take
       a Lease in them as expired; the proof that it decided meanwhile is ``eth1``: server2's
       agent reports that link's carrier back on /healthz (the prober, not the API), and the
       VirtualIP ``probe`` on eth1's subnet gets placed on server2;
    2. once they relisted ("api contact restored"), server2's agent renews at once while
       server1's (the holder's) stays silent: the operator must wait a whole Lease duration of
       working API before it believes server1's expired Lease. server2's renewal publishes
       ``eth2``, where ``probe2`` alone fits, so ``probe2`` being placed proves the operator
       decided with that renewal and server1's expired Lease in hand;
    3. server1 renews within the grace; after it, still nothing has moved and web is Ready.
    """
    eth1 = "eth0=192.0.2.12/24;eth1=198.51.100.12/24"
    await cluster.add_node("server1", lease_seconds=LEASE_S)
    server2 = await cluster.add_node("server2", lease_seconds=LEASE_S, interfaces=eth1)
    assert server2 is not None
    server2.links = {"eth0": True, "eth1": False}
    renewers = {n: cluster.keep_renewed(n, every=0.5) for n in ("server1", "server2")}
    await cluster.create_vip("web", address="192.0.2.100/24", preferredNodes=["server1"])
    await cluster.create_vip("probe", address="198.51.100.100/24")
    op = await cluster.run_operator("op-a")
    before = await cluster.placed_and_announced("web")
    assert before["holder"] == "server1"
    await cluster.wait_status(
        "probe", lambda s: condition(s, "Assigned").get("reason") == "NoEligibleNode", "no room"
    )

    for renewer in renewers.values():  # no agent can renew through an outage
        await renewer.pause()
    renewed = [await _renew_time(cluster, n) for n in renewers]
    await cluster.server.down()
    await harness.eventually("the operator to notice", lambda: _logged(op, "api contact lost"))
    await _until(max(renewed) + datetime.timedelta(seconds=LEASE_S + 0.5))  # all expired
    lists = [
        cluster.server.hold("GET", path, user=op.user)
        for path in (harness.VIPS, "/api/v1/nodes", harness.LEASES)
    ]
    back = datetime.datetime.now(datetime.UTC)
    await cluster.server.up()

    # 1: the informers' lists held, the leader decides again from its frozen caches.
    await harness.eventually(
        "op-a to lead again", lambda: _leads_since(cluster, "op-a", back), describe=_tail(op)
    )
    server2.links = {"eth0": True, "eth1": True}
    await cluster.wait_status("probe", lambda s: s.get("holder") == "server2", "probe placed")
    frozen = await cluster.status("web")
    assert (frozen["holder"], frozen["epoch"], frozen["conditions"]) == (
        "server1",
        1,
        before["conditions"],
    ), f"web changed on Leases read before the outage: {frozen}"
    assert not await _logged(op, "api contact restored"), "an informer relisted meanwhile"
    for hold in lists:
        hold.release()
    await harness.eventually(
        "contact restored", lambda: _logged(op, "api contact restored"), describe=_tail(op)
    )
    [restored] = [e for e in op.log_events() if e.get("event") == "api contact restored"]
    restored_at = datetime.datetime.fromisoformat(restored["timestamp"].replace("Z", "+00:00"))

    # 2: server2 reconnects first and renews, publishing eth2; server1 (the holder) is slower.
    await cluster.renew("server2", {names.INTERFACES_ANNOTATION: f"{eth1};eth2=203.0.113.12/24"})
    await cluster.create_vip("probe2", address="203.0.113.100/24")
    await cluster.wait_status("probe2", lambda s: s.get("holder") == "server2", "probe2 placed")
    within = await cluster.status("web")
    assert (within["holder"], within["epoch"]) == ("server1", 1), (
        "the operator moved web on a Lease that expired while nobody could renew it: "
        f"{within.get('history')}"
    )

    # 3: server1 renews within the grace; once the grace is over, still nothing moved.
    renewers["server2"].resume()
    renewers["server1"].resume()
    await harness.eventually(
        "server1's first renewal after the outage",
        lambda: _renewed_after(renewers["server1"], restored_at),
    )
    late = renewers["server1"].renewed
    assert late is not None and late < restored_at + datetime.timedelta(seconds=LEASE_S), (
        f"server1 renewed {late} only, after the grace ({LEASE_S} s from {restored_at}): "
        "the test itself was too slow to show anything"
    )
    await _until(restored_at + datetime.timedelta(seconds=LEASE_S))
    await cluster.create_vip("probe3", address="203.0.113.101/24")
    await cluster.wait_status("probe3", lambda s: s.get("holder") == "server2", "probe3 placed")
    after = await cluster.status("web")
    assert (after["holder"], after["epoch"], after["history"]) == (
        "server1",
        1,
        before["history"],
    ), after
    assert ready(after), after


async def _leads_since(cluster: harness.Cluster, identity: str, moment: datetime.datetime) -> bool:
    lease = await cluster.call("GET", f"{harness.LEASES}/floatip-operator")
    spec = lease.get("spec", {})
    renewed = datetime.datetime.fromisoformat(str(spec.get("renewTime")).replace("Z", "+00:00"))
    return bool(spec.get("holderIdentity") == identity and renewed > moment)


async def _until(moment: datetime.datetime) -> None:
    """Let the clock reach ``moment`` (Lease times are wall-clock times)."""
    await asyncio.sleep(max(0.0, (moment - datetime.datetime.now(datetime.UTC)).total_seconds()))


async def _renew_time(cluster: harness.Cluster, node: str) -> datetime.datetime:
    lease = await cluster.call("GET", f"{harness.LEASES}/floatip-agent-{node}")
    stamp = str(lease["spec"]["renewTime"])
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


async def _renewed_after(renewer: harness.Renewer, moment: datetime.datetime) -> bool:
    return renewer.renewed is not None and renewer.renewed > moment


def _tail(op: harness.Operator) -> Callable[[], Awaitable[str]]:
    async def tail() -> str:
        return op.log_tail()

    return tail


async def test_operator_restart_keeps_healthy_holders(cluster: harness.Cluster) -> None:
    for node in ("server1", "server2", "server3"):
        await cluster.add_node(node)
    for i in range(6):
        await cluster.create_vip(f"vip{i}", address=f"192.0.2.{100 + i}/24")
    op = await cluster.run_operator("op-a")
    before = {f"vip{i}": await cluster.placed_and_announced(f"vip{i}") for i in range(6)}
    await op.stop()
    await cluster.run_operator("op-b")
    await cluster.create_vip("probe", address="192.0.2.120/24")
    await cluster.wait_status("probe", lambda s: bool(s.get("holder")), "the probe placed")
    for name, old in before.items():
        new = await cluster.status(name)
        assert (new["holder"], new["epoch"], new["history"]) == (
            old["holder"],
            old["epoch"],
            old["history"],
        )


async def test_two_replicas_exactly_one_writes(cluster: harness.Cluster) -> None:
    await cluster.add_node("server1")
    await cluster.add_node("server2")
    a = await cluster.run_operator("op-a")
    await harness.eventually("op-a to lead", lambda: _equals(_leader(cluster), "op-a"))
    b = await cluster.run_operator("op-b")
    await harness.eventually("op-b to start", lambda: _logged(b, "operator started"))
    await cluster.create_vip("web", address="192.0.2.100/24")
    before = await cluster.placed_and_announced("web")
    await cluster.agents[before["holder"]].kill()
    after = await cluster.wait_status("web", lambda s: s["holder"] != before["holder"], "failover")
    assert after["epoch"] == 2
    await harness.eventually(  # the log line follows the API's answer to the write
        "op-a to log the epoch-2 write", lambda: _logged(a, "status written", vip="web", epoch=2)
    )
    assert not any(e.get("event") == "status written" for e in b.log_events())
    assert await _leader(cluster) == "op-a"


def _sets(ops: list[dict[str, Any]]) -> dict[str, Any]:
    """What a JSON patch sets: path -> value of its ``add``/``replace`` operations."""
    return {op["path"]: op.get("value") for op in ops if op["op"] in ("add", "replace")}


async def _equals(value: Any, expected: object) -> bool:
    return bool(await value == expected)


@pytest.mark.parametrize("fate", ["lost", "landed", "refused"])
async def test_leader_killed_with_its_failover_write_in_flight_moves_once(
    cluster: harness.Cluster, fate: str
) -> None:
    """The leader is SIGKILLed while the API server holds its failover write (the hold fault),
    so the write is provably in flight at the kill, whatever the timing. Its fate then:

    - lost: dropped, never applied: the standby must make the move itself;
    - landed: applied after the kill, before the standby leads: the standby must not move again;
    - refused: applied only after the standby moved: its ``test`` of the epoch refuses it (422).

    The standby's own leader-Lease writes are held until the test lets it lead, so the order
    of these steps is fixed. Every fate must end with one holder, one epoch bump, one Failover.
    """
    for node in ("server1", "server2", "server3"):
        await cluster.add_node(node)
    a = await cluster.run_operator("op-a")
    await harness.eventually("op-a to lead", lambda: _equals(_leader(cluster), "op-a"))
    b = await cluster.run_operator("op-b")
    await harness.eventually("op-b to start", lambda: _logged(b, "operator started"))
    await cluster.create_vip("web", address="192.0.2.100/24")
    before = await cluster.placed_and_announced("web")
    old = before["holder"]
    standby = cluster.server.hold("PUT", f"{harness.LEASES}/floatip-operator", user=b.user)
    write = cluster.server.hold("PATCH", f"{harness.VIPS}/web/status", user=a.user)

    async def caught() -> bool:
        return bool(write.caught)

    await cluster.agents[old].kill()
    await harness.eventually(
        "op-a's failover write to reach the API server", caught, describe=cluster.describe("web")
    )
    await a.stop(kill=True)
    # In flight at the kill: the move itself, caught, unanswered, not applied, unheard of by op-a.
    assert [(c.user, c.code) for c in write.caught] == [(a.user, None)], write.caught
    sets = _sets(write.caught[0].body)
    assert sets["/status/epoch"] == 2 and sets["/status/holder"] != old, write.caught[0].body
    at_kill = await cluster.status("web")
    assert (at_kill["holder"], at_kill["epoch"]) == (old, 1), at_kill
    assert not await _logged(a, "status written", vip="web", epoch=2)
    assert not await _logged(a, "status write failed", vip="web")

    if fate == "lost":
        write.drop()
    elif fate == "landed":
        write.release()
        await asyncio.wait_for(write.wait_answered(), harness.DEADLINE)
        assert write.caught[0].code == 200, write.caught
        landed = await cluster.status("web")
        assert landed["epoch"] == 2 and landed["holder"] != old, landed
        assert await _leader(cluster) == "op-a", "the standby led before the write landed"
    standby.release()  # op-b may lead now
    await harness.eventually("op-b to lead", lambda: _equals(_leader(cluster), "op-b"))
    moved = await cluster.wait_status("web", lambda s: s["holder"] != old, "the failover")
    if fate == "refused":
        write.release()  # the dead leader's write arrives after the standby's move
        await asyncio.wait_for(write.wait_answered(), harness.DEADLINE)
        assert write.caught[0].code == 422, (
            f"the dead leader's stale write was answered {write.caught[0].code}, not refused: "
            f"{await cluster.status('web')}"
        )
    await cluster.announce("web", node=moved["holder"], epoch=moved["epoch"])
    final = await cluster.wait_status("web", ready, "Ready after the failover")
    assert (final["holder"], final["epoch"]) == (moved["holder"], 2), final
    assert [(m.get("from"), m["to"], m["reason"]) for m in final["history"]] == [
        (None, old, "Assigned"),
        (old, moved["holder"], "Failover"),
    ], final["history"]
    # who moved it: the standby, unless the dead leader's write had landed before it led
    assert await _logged(b, "vip", vip="web", reason="Failover") is (fate != "landed")
    # and the dead leader's write, landed or not, is no forgery to the standby
    assert not await _logged(b, "forged assignment restored")


async def test_deletion_waits_for_an_alive_holder_and_not_for_a_dead_one(
    cluster: harness.Cluster,
) -> None:
    await cluster.add_node("server1")
    await cluster.add_node("server2")
    await cluster.create_vip("web", address="192.0.2.100/24")
    await cluster.create_vip("api", address="192.0.2.101/24", node="server2")
    await cluster.run_operator("op-a")
    web = await cluster.placed_and_announced("web")
    api = await cluster.placed_and_announced("api")
    holder = cluster.agents[web["holder"]]
    assert holder.held == {"web": 1}

    async def finalized(name: str) -> bool:
        vip = await cluster.vip(name)
        return bool(vip and "floatip.io/release" in vip["metadata"].get("finalizers", []))

    await harness.eventually("the finalizer on web", lambda: finalized("web"))
    await cluster.call("DELETE", f"{harness.VIPS}/web")
    await asyncio.sleep(1.0)  # the operator probes every 0.2 s: it has looked several times
    still = await cluster.vip("web")
    assert still is not None and still["metadata"].get("deletionTimestamp")
    holder.held.clear()  # the agent removed the address

    async def gone(name: str) -> bool:
        return await cluster.vip(name) is None

    await harness.eventually("web deleted after the release", lambda: gone("web"))
    await harness.eventually("the finalizer on api", lambda: finalized("api"))
    assert api["holder"] == "server2"
    await cluster.agents["server2"].kill()  # a dead holder must not block deletion
    await cluster.call("DELETE", f"{harness.VIPS}/api")
    await harness.eventually("api deleted with its holder dead", lambda: gone("api"))


async def test_deletion_gives_up_after_the_timeout_with_a_warning(
    cluster: harness.Cluster,
) -> None:
    await cluster.add_node("server1")
    await cluster.create_vip("web", address="192.0.2.100/24")
    await cluster.run_operator("op-a", "--delete-timeout-seconds", "1")
    await cluster.placed_and_announced("web")  # server1 holds it and never lets go

    async def finalized() -> bool:
        vip = await cluster.vip("web")
        return bool(vip and "floatip.io/release" in vip["metadata"].get("finalizers", []))

    await harness.eventually("the finalizer", finalized)
    await cluster.call("DELETE", f"{harness.VIPS}/web")

    async def gone() -> bool:
        return await cluster.vip("web") is None

    await harness.eventually("web deleted after the timeout", gone)
    reasons = [(e["type"], e["reason"]) for e in await cluster.events("web")]
    assert ("Warning", "ReleaseTimeout") in reasons
