"""Foreign hosts and fencing, with real agent processes (see conftest.py). Proves:

- the probe refuses an address an intruder already holds (real ``ip addr add`` + ``arping``):
  ``status.conflict`` names the intruder's MAC, a ProbeConflict Event is posted, and the
  address is not added;
- an intruder's ``arping -U`` against a held address raises ``status.conflict`` (count,
  reasserted) and a Conflict Event, the holder keeps the address, and its re-assertions,
  counted in a capture on the client, stay within the token bucket's bound (burst 3, then one
  every 2 s): not a flood;
- unsure (the API server down) + a foreign GARP: the holder releases at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import sys
import time

import pytest

from floatip_agent import claims, conflicts, wire
from floatip_lab import hosts
from tests.kernel.agent.conftest import AgentLabFactory, eventually, holds, lacks

pytestmark = pytest.mark.kernel

QUIET = {"burstCount": 1, "burstIntervalMilliseconds": 10, "secondBurstDelaySeconds": 0,
         "refreshIntervalSeconds": 0}  # fmt: skip


def intrude(host: hosts.Host, address: str, *, count: int = 1) -> None:
    """The intruder takes `address` the way a misconfigured host would: iproute2 + arping -U
    (iputils sends one a second)."""
    host.run(["ip", "addr", "add", f"{address}/24", "dev", "eth0"], check=False)
    host.run(["arping", "-U", "-c", str(count), "-I", "eth0", address], timeout=count + 10)


def flood(host: hosts.Host, address: str, *, count: int) -> None:
    """`count` gratuitous ARPs for `address` back to back from the intruder's MAC."""
    host.run([sys.executable, "-m", "floatip_lab.garp", "eth0", address, "--count", str(count)])


async def test_probe_refuses_an_address_an_intruder_holds(agent_lab: AgentLabFactory) -> None:
    lab = await agent_lab("server1")
    one = lab.start_agent("server1")
    await lab.wait_ready(one)
    intrude(lab["intruder"], "192.0.2.110")
    lab.cluster.create_vip("taken", {"address": "192.0.2.110/24"})
    lab.cluster.assign("taken", "server1", 1)

    report = await eventually(
        lambda: (lab.cluster.vip("taken").get("status") or {}).get("conflict"),
        what="status.conflict",
    )
    assert report["mac"] == lab["intruder"].mac
    assert report["node"] == "server1"
    events = await eventually(lambda: lab.cluster.events(reason="ProbeConflict"), what="event")
    assert events[0]["regarding"]["name"] == "taken"
    assert lab["intruder"].mac in events[0]["note"]
    assert await lacks(lab["server1"], "192.0.2.110")
    assert "announcement" not in (lab.cluster.vip("taken").get("status") or {})


async def test_intruder_garps_are_reported_and_answered_at_a_bounded_rate(
    agent_lab: AgentLabFactory,
) -> None:
    lab = await agent_lab("server1")
    one = lab.start_agent("server1")
    await lab.wait_ready(one)
    lab.cluster.create_vip("gw", {"address": "192.0.2.120/24", "announce": QUIET})
    lab.cluster.assign("gw", "server1", 1)
    await eventually(
        lambda: (lab.cluster.vip("gw").get("status") or {}).get("announcement"), what="announced"
    )
    server_mac = lab["server1"].mac
    answers: list[float] = []

    async def count_answers() -> None:
        with wire.Watcher.open(ifname="eth0", netns=lab["client"].netns) as watcher:
            async for claim in watcher.claims():
                if claim.mac == server_mac and claim.kind is claims.ClaimKind.ARP_ANNOUNCEMENT:
                    answers.append(time.monotonic())

    counter = asyncio.create_task(count_answers())
    await asyncio.sleep(0.2)
    started = time.monotonic()
    slow, fast = 3, 30  # arping -U at 1/s, then a burst of 30
    await asyncio.to_thread(intrude, lab["intruder"], "192.0.2.120", count=slow)
    await asyncio.to_thread(flood, lab["intruder"], "192.0.2.120", count=fast)
    garps = slow + fast
    await asyncio.sleep(1.0)
    window = time.monotonic() - started
    counter.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await counter

    bound = conflicts.REASSERT_BURST + math.ceil(window * conflicts.REASSERT_RATE)
    print(f"\n{garps} intruder GARPs over {window:.1f} s -> {len(answers)} re-assertions "
          f"(bound {bound})")  # fmt: skip
    assert 1 <= len(answers) <= bound
    assert await holds(lab["server1"], "192.0.2.120")
    report = await eventually(
        lambda: (
            (c := (lab.cluster.vip("gw").get("status") or {}).get("conflict"))
            and c["count"] >= garps // 2
            and c
        ),
        what="status.conflict with the claims counted",
    )
    assert report["mac"] == lab["intruder"].mac
    assert 1 <= report["reasserted"] <= bound
    assert lab.cluster.events(reason="Conflict")


async def test_unsure_holder_releases_on_a_foreign_claim(agent_lab: AgentLabFactory) -> None:
    lab = await agent_lab("server1")
    one = lab.start_agent("server1", "--unsure-after-seconds", "1")
    await lab.wait_ready(one)
    lab.cluster.create_vip("api", {"address": "192.0.2.130/24", "announce": QUIET})
    lab.cluster.assign("api", "server1", 1)
    await eventually(lambda: holds(lab["server1"], "192.0.2.130"), what="server1 holds")

    await lab.server.down()
    await eventually(lambda: _unsure(one), what="agent unsure")
    assert await holds(lab["server1"], "192.0.2.130")  # an API outage drops nothing
    intrude(lab["intruder"], "192.0.2.130")
    await eventually(lambda: lacks(lab["server1"], "192.0.2.130"), what="fenced release")
    assert "fenced-release" in one.log()


async def test_a_fenced_release_is_taken_back_once_the_api_answers(
    agent_lab: AgentLabFactory,
) -> None:
    """The API hangs (the watch stays open and quiet), a claim makes the unsure holder let go;
    when the API answers again the VirtualIP has not changed, so no watch event will come: the
    agent must ask for it anew and take the address back (it stayed Ready meanwhile)."""
    lab = await agent_lab("server1", bookmark_interval=30)
    one = lab.start_agent("server1", "--unsure-after-seconds", "1")
    await lab.wait_ready(one)
    lab.cluster.create_vip("api", {"address": "192.0.2.131/24", "announce": QUIET})
    lab.cluster.assign("api", "server1", 1)
    await eventually(lambda: holds(lab["server1"], "192.0.2.131"), what="server1 holds")

    lab.server.hang()
    try:
        await eventually(lambda: _unsure(one), what="agent unsure")
        intrude(lab["intruder"], "192.0.2.131")
        await eventually(lambda: lacks(lab["server1"], "192.0.2.131"), what="fenced release")
        lab["intruder"].run(["ip", "addr", "del", "192.0.2.131/24", "dev", "eth0"])
    finally:
        lab.server.heal()
    await eventually(lambda: holds(lab["server1"], "192.0.2.131"), what="taken back")
    assert [r["vip"] for r in one.log_events("fenced-release")] == ["api"]


async def _unsure(agent) -> bool:  # type: ignore[no-untyped-def]
    return bool((await agent.healthz())["unsure"])
