"""The control-plane agent's neighbours and its own life cycle, with real processes. Proves:

- a second cluster on the same LAN and heartbeat port holds its own VIP; each cluster counts
  the other's heartbeats and never acts on them;
- a frozen holder (SIGSTOP: its kernel still answers ARP) is replaced: the successor's probe
  takes the frozen peer's answer for a peer's; when a client asks, both kernels answer and
  the successor answers again a moment later, so the client ends at the successor's MAC;
  the thawed holder gives the VIP up at once (the newer term wins);
- SIGTERM with a healthy peer hands the VIP over (the peer holds before the address goes) and
  exits 0; the restarted agent is a backup and the VIP does not move;
- SIGTERM with no healthy peer keeps the VIP; the restarted agent adopts it.
"""

from __future__ import annotations

import signal

import pytest

from tests.kernel.controlplane.conftest import VIP, CpLab, CpLabFactory

pytestmark = pytest.mark.kernel

OTHER_VIP = "192.0.2.201"


async def _sole(lab: CpLab, among: tuple[str, ...], address: str = VIP) -> str | None:
    found = [name for name in await lab.holders(address) if name in among]
    return found[0] if len(found) == 1 else None


async def test_neighbour_cluster_freeze_sigterm_and_restart(cp_lab: CpLabFactory) -> None:
    lab = await cp_lab("a1", "a2", "b1")
    client = lab.topo["client"]
    lab["a1"].start_agent()
    lab["a2"].start_agent()
    lab["b1"].start_agent(address=OTHER_VIP)
    await lab.agents_up()
    await lab.until(lambda: _sole(lab, ("a1", "a2")), what="cluster A to hold its VIP")
    await lab.until(lambda: _sole(lab, ("b1",), OTHER_VIP), what="cluster B to hold its VIP")

    async def heard_each_other() -> bool:
        states = [await lab[name].state() for name in ("a1", "b1")]
        return all(state["foreignClusterMessages"] > 0 for state in states)

    await lab.until(heard_each_other, what="each cluster to hear (and ignore) the other")
    assert await lab.holders(VIP) != ["b1"] and await lab.holders(OTHER_VIP) == ["b1"]
    assert (await lab["b1"].state())["foreignClusters"] == [f"{VIP}:6443"]

    holder = await _sole(lab, ("a1", "a2"))
    assert holder is not None
    other = "a2" if holder == "a1" else "a1"
    frozen = lab[holder].agent
    assert frozen is not None
    frozen.send_signal(signal.SIGSTOP)  # its kernel still answers ARP for the VIP
    try:
        await lab.until(lab[other].holds, what=f"{other} to claim from frozen {holder}")
        client.run(["ping", "-c", "1", "-W", "1", VIP])  # both kernels answer its ARP request

        async def client_follows() -> bool:  # the successor's answer comes last
            return client.neighbour_mac(VIP) == lab[other].host.mac

        took = await lab.until(client_follows, what=f"the client to resolve the VIP to {other}")
        assert took < 0.5, f"took {took:.2f} s\n{await lab.explain()}"
    finally:
        frozen.send_signal(signal.SIGCONT)
    await lab.until(lambda: _sole(lab, ("a1", "a2")), what=f"thawed {holder} to give the VIP up")
    assert await lab.holders(VIP) == [other], await lab.explain()
    assert lab[holder].events("vip-released"), await lab.explain()

    assert lab[other].stop_agent(signal.SIGTERM) == 0  # a healthy peer: hand over
    assert await lab.holders(VIP) == [holder], await lab.explain()
    assert lab[other].events("control-plane-agent-exiting")[-1]["vip"] == "handed over"
    lab[other].start_agent()
    await lab.agents_up(other)
    await lab.until(lambda: _backup(lab, other), what=f"restarted {other} to be a backup")
    assert await lab.holders(VIP) == [holder], await lab.explain()

    lab[other].stop_stub()  # no healthy peer left: SIGTERM must keep the VIP
    await lab.until(lambda: _peer_unhealthy(lab, holder, other), what=f"{other} unhealthy")
    assert lab[holder].stop_agent(signal.SIGTERM) == 0
    assert lab[holder].events("control-plane-agent-exiting")[-1]["vip"] == "kept"
    assert await lab.holders(VIP) == [holder], await lab.explain()
    lab[holder].start_agent()
    await lab.agents_up(holder)
    await lab.until(lambda: _role(lab, holder, "holder"), what=f"{holder} to adopt the VIP")
    assert lab[holder].events("vip-adopted"), await lab.explain()
    assert await lab.holders(VIP) == [holder], await lab.explain()


async def _backup(lab: CpLab, name: str) -> bool:
    state = await lab[name].state()
    return state["role"] == "backup" and state["healthy"] is True


async def _role(lab: CpLab, name: str, role: str) -> bool:
    return (await lab[name].state())["role"] == role


async def _peer_unhealthy(lab: CpLab, observer: str, peer: str) -> bool:
    return (await lab[observer].state())["peers"][peer]["healthy"] is False
