"""The `floatip-agent` process takes, announces and hands over addresses. Proves, with real
agent processes in lab nodes against floatip's API server (see conftest.py):

- the holder adds the address (marked, IFA_PROTO 99) and writes ``status.announcement`` with
  the epoch and its MAC; its Lease carries the endpoint, interfaces and MACs annotations;
  ``/healthz`` shows the address held at that epoch;
- a planned switchover (reason Pinned) is make before break: the old holder keeps the address
  until the new holder's announcement shows the new epoch and releases *because of it* (its
  release's cause is ``announced``, not the handover timeout, which would release the address
  later anyway), and the client's neighbour entry flips to the new holder's MAC (IPv4 and
  IPv6);
- a failover (reason Failover) and a deletion make the holder release at once;
- an older epoch is ignored: it never makes an agent add the address back.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from tests.kernel.agent.conftest import AgentLab, AgentLabFactory, eventually, holds, lacks

pytestmark = pytest.mark.kernel

FAST = {"burstCount": 3, "burstIntervalMilliseconds": 50, "secondBurstDelaySeconds": 1,
        "refreshIntervalSeconds": 0}  # fmt: skip


def announced(lab: AgentLab, name: str) -> dict[str, Any] | None:
    return (lab.cluster.vip(name).get("status") or {}).get("announcement")


@pytest.mark.parametrize("address", ["192.0.2.100", "2001:db8:f1::100"], ids=["ipv4", "ipv6"])
async def test_take_announce_and_planned_handover(agent_lab: AgentLabFactory, address: str) -> None:
    lab = await agent_lab("server1", "server2", ipv6=True)
    one, two = lab.start_agent("server1"), lab.start_agent("server2")
    await lab.wait_ready(one)
    await lab.wait_ready(two)
    prefix = 24 if ipaddress.ip_address(address).version == 4 else 64
    lab.cluster.create_vip("web", {"address": f"{address}/{prefix}", "announce": FAST})
    lab.cluster.assign("web", "server1", 1)

    done = await eventually(lambda: announced(lab, "web"), what="status.announcement")
    assert (done["node"], done["epoch"], done["mac"]) == ("server1", 1, lab["server1"].mac)
    assert await holds(lab["server1"], address)
    assert (await one.healthz())["held"] == {"web": 1}
    lease = lab.cluster.lease("server1")
    assert lease is not None
    notes = lease["metadata"]["annotations"]
    assert notes["floatip.io/endpoint"] == f"http://{lab['server1'].mgmt_ip}:9720"
    assert f"eth0={lab['server1'].mac}" in notes["floatip.io/macs"]
    assert f"eth0={lab['server1'].ip}/24" in notes["floatip.io/interfaces"]

    client = lab["client"]
    client.run(["ping", "-c1", "-W2", address])  # the client has an entry (arp_accept=0)
    assert client.neighbour_mac(address) == lab["server1"].mac

    # planned switchover: the old holder waits for the new holder's announcement
    lab.cluster.assign("web", "server2", 2, reason="Pinned")
    done = await eventually(
        lambda: (a := announced(lab, "web")) and a["epoch"] == 2 and a, what="epoch 2 announced"
    )
    assert done["node"] == "server2"
    await eventually(lambda: lacks(lab["server1"], address), what="server1 released")
    assert await holds(lab["server2"], address)
    await eventually(
        lambda: client.neighbour_mac(address) == lab["server2"].mac, what="client flipped"
    )
    waited, released = one.log_events("handover-waiting"), one.log_events("vip-released")
    assert [r["epoch"] for r in waited] == [2], one.log()
    assert [r["cause"] for r in released] == ["announced"], one.log()
    assert waited[0]["timestamp"] <= released[0]["timestamp"]


async def test_failover_delete_and_stale_epoch(agent_lab: AgentLabFactory) -> None:
    lab = await agent_lab("server1", "server2")
    one, two = lab.start_agent("server1"), lab.start_agent("server2")
    await lab.wait_ready(one)
    await lab.wait_ready(two)
    lab.cluster.create_vip("db", {"address": "192.0.2.101/24", "announce": FAST})
    lab.cluster.assign("db", "server1", 5)
    await eventually(lambda: holds(lab["server1"], "192.0.2.101"), what="server1 holds")

    # Failover: nothing to wait for; the old holder releases at once, the new one takes it
    lab.cluster.assign("db", "server2", 6, reason="Failover")
    await eventually(lambda: holds(lab["server2"], "192.0.2.101"), what="server2 holds")
    await eventually(lambda: lacks(lab["server1"], "192.0.2.101"), what="server1 released")

    # an older epoch naming server1 is ignored by both agents
    lab.cluster.assign("db", "server1", 3, reason="Pinned")
    await eventually(lambda: "stale-epoch-ignored" in one.log(), what="server1 saw epoch 3")
    await eventually(lambda: "stale-epoch-ignored" in two.log(), what="server2 saw epoch 3")
    assert await lacks(lab["server1"], "192.0.2.101")
    assert await holds(lab["server2"], "192.0.2.101")
    assert (await one.healthz())["held"] == {}

    lab.cluster.delete_vip("db")
    await eventually(lambda: lacks(lab["server2"], "192.0.2.101"), what="deleted, released")


async def test_watch_resumes_after_dropped_watches(agent_lab: AgentLabFactory) -> None:
    """History compacted and every watch dropped: the agent watches again and still obeys."""
    lab = await agent_lab("server1")
    one = lab.start_agent("server1")
    await lab.wait_ready(one)
    lab.server.compact()
    lab.server.drop_watches()
    lab.cluster.create_vip("late", {"address": "192.0.2.170/24", "announce": FAST})
    lab.cluster.assign("late", "server1", 1)
    await eventually(lambda: holds(lab["server1"], "192.0.2.170"), what="taken after a relist")
