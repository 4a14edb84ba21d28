"""Watching the wire for claims (floatip_agent.wire, floatip_agent.bpf). Proves:

- an intruder's real ``arping -U -c1 VIP`` reaches the node's watcher as a claim of the VIP
  with the intruder's MAC (IPv4), and an intruder's NA (answering the node's DAD probe from
  its real kernel) as a claim with its MAC (IPv6);
- the kernel filter on the socket lets only ARP and NDP through: a client's ICMP echo (v4
  and v6) and UDP datagrams to the node, which an unfiltered socket on the same interface
  does receive, never reach the watcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import struct
from collections.abc import Callable, Iterator

import pytest

from floatip_agent import announcing, claims, namespaces, packets, wire
from floatip_lab import netns

LanFactory = Callable[..., netns.Topology]

pytestmark = pytest.mark.kernel

VIP4 = ipaddress.IPv4Address("192.0.2.120")
VIP6 = ipaddress.IPv6Address("2001:db8:f1::120")
GUARD = 10.0  # seconds: turns a hang into a failure, not a performance figure


async def first_claim(
    watcher: wire.Watcher, predicate: Callable[[claims.Claim], bool]
) -> claims.Claim:
    async def scan() -> claims.Claim:
        async for claim in watcher.claims():
            if predicate(claim):
                return claim
        raise AssertionError("the watcher stopped")

    return await asyncio.wait_for(scan(), GUARD)


async def test_intruder_gratuitous_arp_is_a_claim(lan: LanFactory) -> None:
    topo = lan("node", "intruder")
    node, intruder = topo["node"], topo["intruder"]
    intruder.run(["ip", "addr", "add", f"{VIP4}/24", "dev", "eth0"])
    with wire.Watcher.open(ifname="eth0", netns=node.netns) as watcher:
        intruder.run(["arping", "-U", "-c1", "-I", "eth0", str(VIP4)])
        claim = await first_claim(watcher, lambda c: c.address == VIP4)
    assert claim == claims.Claim(VIP4, intruder.mac, claims.ClaimKind.ARP_ANNOUNCEMENT)


async def test_intruder_neighbour_advertisement_is_a_claim(lan: LanFactory) -> None:
    topo = lan("node", "intruder", ipv6=True)
    node, intruder = topo["node"], topo["intruder"]
    intruder.run(["ip", "addr", "add", f"{VIP6}/64", "dev", "eth0", "nodad"])
    with (
        wire.Watcher.open(ifname="eth0", netns=node.netns) as watcher,
        announcing.Announcer.open(ifname="eth0", netns=node.netns) as announcer,
    ):
        await announcer.send([packets.dad_solicitation(VIP6, mac=announcer.mac)])
        claim = await first_claim(watcher, lambda c: c.address == VIP6)
    assert claim == claims.Claim(VIP6, intruder.mac, claims.ClaimKind.NEIGHBOR_ADVERTISEMENT)


@contextlib.contextmanager
def unfiltered(netns_name: str) -> Iterator[socket.socket]:
    """A packet socket on eth0 of `netns_name` with no filter: the control."""
    with namespaces.entered(netns_name):
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        sock.bind(("eth0", 0x0003))
    sock.setblocking(False)
    try:
        yield sock
    finally:
        sock.close()


def drain(sock: socket.socket) -> list[bytes]:
    frames: list[bytes] = []
    while True:
        try:
            frames.append(sock.recv(65535))
        except BlockingIOError:
            return frames


def kind(frame: bytes) -> str:
    """A coarse name for a frame: arp, ndp-135/136, icmp-echo, icmp6-echo, udp or other."""
    (ethertype,) = struct.unpack_from("!H", frame, 12)
    if ethertype == 0x0806:
        return "arp"
    if ethertype == 0x0800:
        proto = frame[14 + 9]
        return {1: "icmp-echo", 17: "udp"}.get(proto, f"ipv4-{proto}")
    if ethertype == 0x86DD and frame[14 + 6] == 58:
        icmp_type = frame[14 + 40]
        return {128: "icmp6-echo", 129: "icmp6-echo"}.get(icmp_type, f"ndp-{icmp_type}")
    return f"other-{ethertype:04x}"


async def test_filter_passes_only_arp_and_ndp(lan: LanFactory) -> None:
    topo = lan("node", "client", ipv6=True)
    node, client = topo["node"], topo["client"]
    marker = ipaddress.IPv4Address("192.0.2.121")
    with (
        wire.Watcher.open(ifname="eth0", netns=node.netns) as watcher,
        unfiltered(node.netns) as control,
    ):
        client.run(["ping", "-c3", "-i0.01", str(node.ip)])
        client.run(["ping", "-6", "-c3", "-i0.01", str(node.ip6)])
        client.run(["bash", "-c", f"for i in 1 2 3; do echo x > /dev/udp/{node.ip}/9; done"])
        # last: an ARP announcement from the client marks the end of the traffic
        client.run(["ip", "addr", "add", f"{marker}/24", "dev", "eth0"])
        client.run(["arping", "-U", "-c1", "-I", "eth0", str(marker)])

        seen: list[str] = []

        async def until_marker() -> None:
            async for frame in watcher.frames():
                seen.append(kind(frame))
                claim = claims.parse_claim(frame)
                if claim is not None and claim.address == marker:
                    return

        await asyncio.wait_for(until_marker(), GUARD)
        control_seen = {kind(frame) for frame in drain(control)}

    assert {"icmp-echo", "icmp6-echo", "udp"} <= control_seen  # the traffic did arrive
    assert set(seen) <= {"arp", "ndp-135", "ndp-136"}
    assert "arp" in seen
