"""Self-tests of the kernel lab harness (`floatip_lab`). What they prove:

- Hosts on the data LAN reach each other over the bridge, over IPv4 and IPv6 (no DAD wait:
  fixed addresses are added ``nodad``), with the planned addresses and MACs.
- A gratuitous ARP sent with scapy from inside one host (``python -m floatip_lab.garp``)
  moves another host's EXISTING neighbour entry for a moved address to the sender's MAC, and,
  with the kernel default ``arp_accept=0`` left alone, creates no entry for an address the
  receiver never resolved (DESIGN.md: tests must account for that).
- The management network is a separate layer-2 segment: a data-LAN host gets no ARP answer
  for a management-only host, while a host on the management network does.
- Cutting a host's link at the switch port takes it off the LAN; restoring it brings it back.
- Teardown leaves no lab namespace behind: after a normal close (killing processes started
  in the hosts), and after a build that fails half-way.
- `cleanup_stale` removes namespaces whose owner pid is dead, killing processes left in
  them, and leaves namespaces of live owners alone.
"""

from __future__ import annotations

import ipaddress
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable

import pytest

from floatip_lab import commands, hosts, naming, netns, waiting

LanFactory = Callable[..., netns.Topology]  # the `lan` fixture of conftest.py

pytestmark = pytest.mark.kernel

VIP = ipaddress.IPv4Address("192.0.2.100")
NEVER_RESOLVED = ipaddress.IPv4Address("192.0.2.101")


def arp_answers(host: hosts.Host, ifname: str, address: ipaddress.IPv4Address) -> int:
    """How many ARP answers `host` gets for `address` on `ifname` (one probe, sender 0.0.0.0).

    DAD-mode arping needs no route or source address, so it tests layer 2 only.
    """
    done = host.run(["arping", "-D", "-c", "1", "-w", "1", "-I", ifname, str(address)], check=False)
    match = re.search(r"Received (\d+) response", done.stdout)
    assert match, f"unexpected arping output: {done.stdout!r} {done.stderr!r}"
    return int(match.group(1))


def test_hosts_reach_each_other_over_the_bridge(lan: LanFactory) -> None:
    topo = lan("a", "b", ipv6=True)
    a, b = topo["a"], topo["b"]

    a.run(["ping", "-c", "1", "-W", "2", str(b.ip)])
    a.run(["ping", "-c", "1", "-W", "2", str(b.ip6)])

    assert (a.ip, b.ip) == (naming.data_ipv4(1).ip, naming.data_ipv4(2).ip)
    assert b.mac == "02:f1:00:00:00:02"
    neighbours = a.neighbours("eth0")
    assert neighbours[b.ip].mac == b.mac
    assert neighbours[b.ip6].mac == b.mac
    own = {address.interface: address for address in b.addresses("eth0")}
    assert naming.data_ipv4(2) in own
    assert "nodad" in own[naming.data_ipv6(2)].flags


def test_gratuitous_arp_moves_existing_neighbour_entry_only(lan: LanFactory) -> None:
    topo = lan("server1", "server2", "client")
    server1, server2, client = topo["server1"], topo["server2"], topo["client"]
    server1.run(["ip", "addr", "add", f"{VIP}/24", "dev", "eth0"])
    client.run(["ping", "-c", "1", "-W", "2", str(VIP)])
    assert client.neighbour_mac(VIP) == server1.mac

    server1.run(["ip", "addr", "del", f"{VIP}/24", "dev", "eth0"])
    server2.run(["ip", "addr", "add", f"{VIP}/24", "dev", "eth0"])
    # One process, frames in this order: once the VIP's entry has moved, the earlier frame
    # for NEVER_RESOLVED has been processed too.
    server2.run([sys.executable, "-m", "floatip_lab.garp", "eth0", str(NEVER_RESOLVED), str(VIP)])

    waiting.wait_until(
        lambda: client.neighbour_mac(VIP) == server2.mac,
        what=f"client's neighbour entry for {VIP} to move to server2 ({server2.mac})",
        describe=lambda: str(client.neighbours()),
    )
    assert NEVER_RESOLVED not in client.neighbours()
    client.run(["ping", "-c", "1", "-W", "2", str(VIP)])


def test_management_network_is_apart_from_data_lan(lan: LanFactory) -> None:
    topo = lan(
        netns.HostSpec("server1", mgmt=True),
        "client",
        netns.HostSpec("api", data=False, mgmt=True),
    )
    server1, client, api = topo["server1"], topo["client"], topo["api"]

    assert arp_answers(server1, "eth1", api.mgmt_ip) == 1
    assert arp_answers(client, "eth0", server1.ip) == 1
    assert arp_answers(client, "eth0", api.mgmt_ip) == 0
    assert {a.ifname for a in client.addresses()} == {"lo", "eth0"}  # client has no eth1


def test_cutting_a_link_at_the_switch_takes_the_host_off_the_lan(lan: LanFactory) -> None:
    topo = lan("a", "b")
    a, b = topo["a"], topo["b"]

    b.set_link(False, end=hosts.LinkEnd.SWITCH)
    assert arp_answers(a, "eth0", b.ip) == 0
    assert b.ip in {address.ip for address in b.addresses("eth0")}  # the host keeps its address

    b.set_link(True, end=hosts.LinkEnd.SWITCH)
    a.run(["ping", "-c", "1", "-W", "2", str(b.ip)])


def test_close_removes_every_namespace_and_stops_processes() -> None:
    topo = netns.build(netns.LanSpec.of("teardown", "a", "b", mgmt=True, ipv6=True))
    names = topo.namespaces()
    assert set(names) <= set(netns.list_namespaces())
    sleeper = topo["a"].popen(["sleep", "300"])

    topo.close()

    assert not set(names) & set(netns.list_namespaces())
    assert sleeper.poll() is not None


def test_failed_build_removes_what_it_built() -> None:
    blocker = naming.namespace_name(os.getpid(), "clash", "c")
    commands.run(["ip", "netns", "add", blocker])
    try:
        with pytest.raises(commands.LabCommandError, match="File exists"):
            netns.build(netns.LanSpec.of("clash", "a", "b", "c"))
        mine = [n for n in netns.list_namespaces() if n.startswith(f"fip-{os.getpid()}-clash-")]
        assert mine == [blocker]
    finally:
        netns.remove_namespace(blocker)
    assert blocker not in netns.list_namespaces()


def test_cleanup_stale_removes_dead_owners_namespaces_only(lan: LanFactory) -> None:
    finished = subprocess.Popen(["true"])
    finished.wait()
    stale = netns.build(netns.LanSpec.of("stale", "a", "b"), owner=finished.pid)
    leftover = subprocess.Popen(["ip", "netns", "exec", stale["a"].netns, "sleep", "300"])
    live = lan("a")
    try:
        removed = netns.cleanup_stale()
        assert set(stale.namespaces()) <= set(removed)
        assert not set(stale.namespaces()) & set(netns.list_namespaces())
        assert leftover.wait(timeout=10) == -signal.SIGKILL
        assert set(live.namespaces()) <= set(netns.list_namespaces())
    finally:
        leftover.kill()
        leftover.wait()
        stale.close()
