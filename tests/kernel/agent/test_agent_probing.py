"""Probing for an address before taking it, through the agent's own link pool (links.LinkPool,
probing). Proves, with the probe count and window of the default profile:

- an intruder that holds the address (real ``ip addr add``, announced with real ``arping``)
  answers the node's ARP probe and is reported as foreign: the address is not free; the same
  for IPv6, where the intruder's kernel answers the DAD solicitation;
- a cluster peer holding the address is reported as a peer and leaves the address free when
  its MAC is passed in, while the same probe without the peer MACs flags it (so the peer
  really answered);
- nobody answers for an unused address: it is free.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pytest

from floatip_agent import links, probing, settings
from floatip_lab import hosts, netns

LanFactory = Callable[..., netns.Topology]

pytestmark = pytest.mark.kernel

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
PROFILE = settings.PROFILES["default"]


async def probe_from(
    node: hosts.Host, address: IPAddress, peer_macs: tuple[str, ...] = ()
) -> probing.ProbeResult:
    pool = links.LinkPool(netns=node.netns)
    try:
        return await pool.probe(
            "eth0", address, peer_macs=peer_macs,
            count=PROFILE.probe_count, window=PROFILE.probe_window_seconds,
        )  # fmt: skip
    finally:
        await pool.close()


def hold(host: hosts.Host, address: IPAddress) -> None:
    """Put `address` on `host`'s eth0 with plain iproute2, as a non-floatip host would."""
    if address.version == 4:
        host.run(["ip", "addr", "add", f"{address}/24", "dev", "eth0"])
        host.run(["arping", "-U", "-c1", "-I", "eth0", str(address)])
    else:
        host.run(["ip", "addr", "add", f"{address}/64", "dev", "eth0", "nodad"])


@pytest.mark.parametrize(
    "address",
    [ipaddress.ip_address("192.0.2.150"), ipaddress.ip_address("2001:db8:f1::150")],
    ids=["ipv4", "ipv6"],
)
async def test_probe_tells_intruders_from_peers(lan: LanFactory, address: IPAddress) -> None:
    topo = lan("node", "peer", "intruder", ipv6=True)
    node, peer, intruder = topo["node"], topo["peer"], topo["intruder"]
    peer_address = address + 1

    assert await probe_from(node, address, (peer.mac,)) == probing.ProbeResult(
        frozenset(), frozenset()
    )

    hold(intruder, address)
    hold(peer, peer_address)
    on_intruder = await probe_from(node, address, (peer.mac,))
    assert on_intruder.foreign == {intruder.mac}
    assert not on_intruder.free

    on_peer = await probe_from(node, peer_address, (peer.mac,))
    assert on_peer == probing.ProbeResult(frozenset(), frozenset({peer.mac}))
    assert on_peer.free
    assert (await probe_from(node, peer_address)).foreign == {peer.mac}
