"""Taking over a VIP moves clients (floatip_agent.announcing with kernel_addresses). Proves:

- a client whose neighbour entry for the VIP points to the previous holder (it talked to
  the VIP there: a real ping) holds the node's MAC after the node adds the VIP and announces
  it with one burst of gratuitous ARPs (IPv4) or unsolicited NAs (IPv6);
- the client's kernel is left at its defaults (``arp_accept=0``): the entry existed, the
  announcement only updated it, as DESIGN.md requires;
- the client then reaches the VIP on the node (the node answers for it at once).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pytest

from floatip.api import model
from floatip_agent import announcing, kernel_addresses
from floatip_lab import netns, waiting

LanFactory = Callable[..., netns.Topology]

pytestmark = pytest.mark.kernel

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# The first burst alone must do it: Linux lets a gratuitous ARP override the neighbour
# entry's locktime, and NAs with the Override flag have no locktime.
TUNING = model.Announce(burst_count=3, burst_interval_milliseconds=50, second_burst_delay_seconds=0)


@pytest.mark.parametrize(
    "vip",
    [ipaddress.ip_address("192.0.2.130"), ipaddress.ip_address("2001:db8:f1::130")],
    ids=["ipv4", "ipv6"],
)
async def test_client_entry_moves_to_the_node(lan: LanFactory, vip: IPAddress) -> None:
    topo = lan("node", "old", "client", ipv6=True)
    node, old, client = topo["node"], topo["old"], topo["client"]
    prefix, dad = ("24", []) if vip.version == 4 else ("64", ["nodad"])
    old.run(["ip", "addr", "add", f"{vip}/{prefix}", "dev", "eth0", *dad])
    client.run(["ping", "-c1", "-W2", str(vip)])
    assert client.neighbour_mac(vip) == old.mac

    old.run(["ip", "addr", "del", f"{vip}/{prefix}", "dev", "eth0"])  # the old holder is gone
    async with kernel_addresses.open_netlink(netns=node.netns) as ipr:
        await kernel_addresses.add_vip(ipr, address=vip)
    with announcing.Announcer.open(ifname="eth0", netns=node.netns) as announcer:
        assert announcer.mac == node.mac
        await announcer.announce([vip], tuning=TUNING)

    waiting.wait_until(
        lambda: client.neighbour_mac(vip) == node.mac,
        what=f"the client's entry for {vip} to point to the node {node.mac}",
        describe=lambda: f"{client.neighbours().get(vip)}",
    )
    client.run(["ping", "-c1", "-W2", str(vip)])
    assert client.neighbour_mac(vip) == node.mac
