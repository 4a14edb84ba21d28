"""The control-plane VIP over IPv6, heartbeats by unicast and by multicast, real processes.

Proves: two hosts, one sending its heartbeats by unicast to the other (``--peer``), the other
to all nodes (ff02::1), hear each other and elect one holder of an IPv6 VIP (DAD-style probe, unsolicited NAs); the client reaches the VIP at the
holder's MAC; the holder's apiserver hanging (it accepts connections and never answers)
moves the VIP to the other host within about a second (the checks do not wait on each other).
"""

from __future__ import annotations

import pytest

from tests.kernel.controlplane.conftest import CpLab, CpLabFactory

pytestmark = pytest.mark.kernel

VIP6 = "2001:db8:f1::200"


async def test_ipv6_unicast_peers_elect_and_move(cp_lab: CpLabFactory) -> None:
    lab = await cp_lab("cp1", "cp2", ipv6=True)
    client = lab.topo["client"]
    lab["cp1"].start_agent("--peer", str(lab["cp2"].host.ip6), address=VIP6, prefix=64)
    lab["cp2"].start_agent(address=VIP6, prefix=64)  # to ff02::1 on its interface
    await lab.agents_up()
    await lab.until(lambda: _sole(lab), what="one host to hold the IPv6 VIP")
    [holder] = await lab.holders(VIP6)
    other = "cp2" if holder == "cp1" else "cp1"
    state = await lab[other].state()
    assert state["peers"][holder]["holding"] is True, state
    assert (await lab[holder].state())["peers"][other]["live"] is True
    client.run(["ping", "-6", "-c", "1", "-W", "1", VIP6])
    assert client.neighbour_mac(VIP6) == lab[holder].host.mac

    lab[holder].mode.write_text("hang")
    took = await lab.until(lambda: _only(lab, other), what=f"{other} to take the IPv6 VIP")
    assert took < 2.0, f"took {took:.2f} s\n{await lab.explain()}"

    async def client_follows() -> bool:
        client.run(["ping", "-6", "-c", "1", "-W", "1", VIP6], check=False)
        return client.neighbour_mac(VIP6) == lab[other].host.mac

    await lab.until(client_follows, what=f"the client to reach the VIP at {other}'s MAC")


async def _sole(lab: CpLab) -> bool:
    return len(await lab.holders(VIP6)) == 1


async def _only(lab: CpLab, name: str) -> bool:
    return await lab.holders(VIP6) == [name]
