"""Restart, SIGTERM and addresses the agent does not own, with real agent processes. Proves:

- SIGTERM exits 0 and leaves every address in place;
- a restarted agent keeps (and re-announces) the owned address assigned to it, never
  removing it first (``ip monitor address`` in the node records no deletion of it); removes
  an owned address nothing assigns to it; never touches an unmarked address (another
  program's, or the node's own);
- a VirtualIP naming the node's own address is refused: a NodeAddress Event, the address
  untouched; a VirtualIP on a missing interface gets a NoInterface Event and is taken once
  the interface appears.
"""

from __future__ import annotations

import ipaddress
import signal
import subprocess

import pytest

from floatip_agent import kernel_addresses
from tests.kernel.agent.conftest import AgentLabFactory, eventually, holds, kernel_addresses_of

pytestmark = pytest.mark.kernel


async def test_sigterm_keeps_and_restart_rebuilds_without_flap(agent_lab: AgentLabFactory) -> None:
    lab = await agent_lab("server1")
    node = lab["server1"]
    first = lab.start_agent("server1")
    await lab.wait_ready(first)
    lab.cluster.create_vip("kept", {"address": "192.0.2.140/24"})
    lab.cluster.assign("kept", "server1", 4)
    await eventually(lambda: holds(node, "192.0.2.140"), what="server1 holds")
    await eventually(
        lambda: (lab.cluster.vip("kept").get("status") or {}).get("announcement"), what="announced"
    )

    node.run(["ip", "addr", "add", "192.0.2.150/32", "dev", "eth0"])  # another program's
    async with kernel_addresses.open_netlink(netns=node.netns) as ipr:  # a stale one of ours
        await kernel_addresses.add_vip(ipr, address=ipaddress.ip_address("192.0.2.151"))
    assert first.stop(signal.SIGTERM) == 0
    assert "agent-exiting" in first.log()
    assert await holds(node, "192.0.2.140")  # SIGTERM removed nothing
    assert await holds(node, "192.0.2.151")

    monitor = node.popen(["ip", "monitor", "address"], stdout=subprocess.PIPE)
    try:
        second = lab.start_agent("server1")
        await lab.wait_ready(second)
        await eventually(lambda: "restart-kept" in second.log(), what="restart plan")

        async def stale_removed() -> bool:
            return "192.0.2.151" not in await kernel_addresses_of(node)

        await eventually(stale_removed, what="stale owned address removed")
        assert (await second.healthz())["held"] == {"kept": 4}
    finally:
        monitor.terminate()
        events, _ = monitor.communicate(timeout=5)
    found = await kernel_addresses_of(node)
    assert found["192.0.2.140"] == 99
    assert found["192.0.2.150"] != 99  # unmarked: untouched
    assert found[str(node.ip)] != 99
    deletions = [line for line in events.splitlines() if line.startswith("Deleted")]
    assert not [line for line in deletions if "192.0.2.140" in line], events
    assert [line for line in deletions if "192.0.2.151" in line], events


async def test_node_address_refused_and_missing_interface_retried(
    agent_lab: AgentLabFactory,
) -> None:
    lab = await agent_lab("server1")
    node = lab["server1"]
    agent = lab.start_agent("server1")
    await lab.wait_ready(agent)
    lab.cluster.create_vip("own", {"address": f"{node.ip}/24"})
    lab.cluster.assign("own", "server1", 1)
    events = await eventually(lambda: lab.cluster.events(reason="NodeAddress"), what="event")
    assert events[0]["regarding"]["name"] == "own"
    assert (await kernel_addresses_of(node))[str(node.ip)] != 99

    lab.cluster.create_vip("later", {"address": "192.0.2.160/24", "interface": "eth9"})
    lab.cluster.assign("later", "server1", 1)
    await eventually(lambda: lab.cluster.events(reason="NoInterface"), what="NoInterface event")
    node.run(["ip", "link", "add", "eth9", "type", "veth", "peer", "name", "eth9p"])
    node.run(["ip", "link", "set", "eth9", "up"])
    node.run(["ip", "link", "set", "eth9p", "up"])
    await eventually(lambda: holds(node, "192.0.2.160"), what="taken once eth9 exists")
    assert (await kernel_addresses_of(node))[str(node.ip)] != 99
    assert agent.process.poll() is None  # nothing crashed the agent
