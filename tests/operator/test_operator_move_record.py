"""The move record against the test API server: one write ahead of a failover's statuses.

Proves: when a node holding 20 VirtualIPs dies, the operator records all 20 moves in one write
of ConfigMap ``floatip-moves`` (holder, epoch, reason, uid) before the first of their status
writes, and each status then says exactly what the record said; the record is pruned once the
statuses caught up. Two replicas' records: the one that fenced last wins, the other's write is
refused (409) and it reads the record again, so a deposed leader cannot add a move. Moves that
would overflow a ConfigMap's 1 MiB are left to their status writes, failovers recorded first.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from floatip.api import moves
from floatip.kube import client, config, paths
from floatip_apiserver import rbac
from floatip_operator import moverecord
from tests.operator import harness

RECORD = paths.configmap("floatip", moves.CONFIGMAP)
COUNT = 20


async def _record(cluster: harness.Cluster) -> dict[str, moves.Move]:
    return moves.decode(await cluster.call("GET", RECORD, ok=(200, 404)))


async def test_a_failover_of_many_vips_is_one_record_write_before_their_statuses(
    cluster: harness.Cluster,
) -> None:
    await cluster.add_node("server1")
    await cluster.add_node("server2")
    op = await cluster.run_operator()
    names = [f"v{i}" for i in range(COUNT)]
    for i, name in enumerate(names):
        await cluster.create_vip(name, address=f"192.0.2.{100 + i}/24", preferredNodes=["server1"])
    before = {name: await cluster.placed_and_announced(name) for name in names}
    assert {s["holder"] for s in before.values()} == {"server1"}
    uids = {name: (await cluster.vip(name) or {})["metadata"]["uid"] for name in names}
    logged = len(op.log_events())
    await cluster.agents["server1"].kill()
    after = {
        name: await cluster.wait_status(name, lambda s: s.get("holder") == "server2", "failed over")
        for name in names
    }
    events = op.log_events()[logged:]
    recorded = [e for e in events if e.get("event") == "moves recorded"]
    assert [e["moves"] for e in recorded] == [COUNT], recorded
    first_status = next(i for i, e in enumerate(events) if e.get("event") == "status written")
    assert events.index(recorded[0]) < first_status
    record = await _record(cluster)
    for name in names:
        move = record.get(name)
        if move is None:  # pruned already: only once its status caught up
            continue
        assert (move.uid, move.holder, move.reason, move.previous) == (
            uids[name], "server2", "Failover", "server1"
        )  # fmt: skip
        assert move.epoch == after[name]["epoch"] == before[name]["epoch"] + 1
        assert after[name]["history"][-1]["time"] == move.time

    async def pruned() -> bool:
        return not await _record(cluster)

    await harness.eventually("the record pruned", pruned, 20.0, describe=cluster.describe("v0"))


def _api(cluster: harness.Cluster, user: str) -> client.Api:
    path = cluster.server.kubeconfig_for(rbac.User(user, (rbac.MASTERS,)),
                                         path=cluster.tmp / f"{user}.kubeconfig")  # fmt: skip
    return client.Api(config.load_endpoint(kubeconfig=str(path)))


async def test_a_deposed_leader_cannot_add_to_the_record(cluster: harness.Cluster) -> None:
    old_api, new_api = _api(cluster, "old"), _api(cluster, "new")
    try:
        old = moverecord.MoveRecord(old_api, namespace="floatip", identity="old")
        new = moverecord.MoveRecord(new_api, namespace="floatip", identity="new")
        await old.fence(1)
        first = moves.Move("web", "u1", "server2", 2, "Failover", "server1", "t")
        await old.record([first], caught_up=lambda m: False)
        await new.fence(1)  # the new leader's first write: it knows the old one's move
        assert new.pending == {"web": first}
        late = moves.Move("db", "u2", "server1", 5, "Failover", "server2", "t")
        with pytest.raises(client.ApiError) as refused:
            await old.record([late], caught_up=lambda m: False)
        assert refused.value.code == 409
        assert old.pending == {"web": first}  # read again: what the new leader wrote
        stored: dict[str, Any] = await new_api.request("GET", RECORD)
        assert json.loads(stored["data"][moves.KEY])["leader"] == "new"
        assert moves.decode(stored) == {"web": first}
    finally:
        await old_api.close()
        await new_api.close()


async def test_moves_that_overflow_the_record_are_left_to_their_statuses(
    cluster: harness.Cluster,
) -> None:
    """10,000 first assignments in one pass: the record takes the failovers first and as many
    others as fit under a ConfigMap's 1 MiB; the write is accepted (the rest go by status)."""
    api = _api(cluster, "leader")
    try:
        record = moverecord.MoveRecord(api, namespace="floatip", identity="leader")
        await record.fence(1)
        uid = "0f0e0d0c-0b0a-0908-0706-050403020100"
        assigned = [
            moves.Move(f"vip-{i:05d}", uid, "server1", 1, "Assigned", None, "2026-11-30T00:00:00Z")
            for i in range(10_000)
        ]
        failovers = [moves.Move(f"moved-{i}", uid, "server2", 7, "Failover", "server1", "t")
                     for i in range(5)]  # fmt: skip
        written = await record.record([*assigned, *failovers], caught_up=lambda m: False)
        assert written[:5] == failovers
        assert 1_000 < len(written) < 10_005
        stored: dict[str, Any] = await api.request("GET", RECORD)
        assert len(stored["data"][moves.KEY]) < 1024 * 1024
        assert set(moves.decode(stored)) == {m.name for m in written}
    finally:
        await api.close()
