"""Adding and removing VIPs on a real kernel (floatip_agent.kernel_addresses). Proves:

- adding a VIP is idempotent (added, then present) and so is removing it (removed, then
  absent), in both families, on the interface whose subnet contains it;
- adding VIPs leaves the node's routing tables (IPv4 and IPv6 main table) exactly as before;
- the IPv6 VIP is usable at once: not tentative right after the add (no DAD stall);
- our addresses are marked (IFA_PROTO 99, IPv4 label ``eth0:vip``) and are the only ones
  listed as owned; an unmarked address equal to a VIP (the node's own, or one added with
  plain ``ip addr add``) is refused on add and left in place on remove;
- a missing or down interface is a typed error naming it;
- the batched adds (`address_batch`: many ``RTM_NEWADDR`` in one write) give the kernel exactly
  what pyroute2's add gives it (flags, proto, label, prefix, scope), for 300 addresses at once,
  and report EEXIST and a missing interface as the unbatched path does;
- 300 removes at once on one socket all succeed (one dump at a time, shared), and a snapshot
  from before a remove is never used to call the address present again;
- the struct-parsed dump (`address_dump`) lists exactly what pyroute2's dump lists (both
  families, the node's own, link-local and unmarked addresses, prefix, interface, proto),
  dump after dump on one socket.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
from collections.abc import Callable

import pytest

from floatip_agent import address_batch, address_dump, addressing, kernel_addresses
from floatip_lab import hosts, ipjson, netns

LanFactory = Callable[..., netns.Topology]

pytestmark = pytest.mark.kernel

VIP4 = ipaddress.IPv4Address("192.0.2.100")
VIP6 = ipaddress.IPv6Address("2001:db8:f1::100")
K = kernel_addresses


def routes(host: hosts.Host) -> tuple[object, object]:
    """The main routing tables of both families, as `ip -j` prints them."""
    v4 = json.loads(host.run(["ip", "-j", "-4", "route", "show"]).stdout)
    v6 = json.loads(host.run(["ip", "-j", "-6", "route", "show"]).stdout)
    return v4, v6


def entries(
    host: hosts.Host, address: ipaddress.IPv4Address | ipaddress.IPv6Address
) -> list[ipjson.Address]:
    """The host's eth0 addresses whose IP is `address`."""
    return [a for a in host.addresses("eth0") if a.interface.ip == address]


async def test_add_and_remove_are_idempotent_and_leave_routing_alone(lan: LanFactory) -> None:
    node = lan("node", ipv6=True)["node"]
    before = routes(node)
    async with K.open_netlink(netns=node.netns) as ipr:
        for vip in (VIP4, VIP6):
            added, link = await K.add_vip(ipr, address=vip)
            assert (added, link.name) == (K.Added.ADDED, "eth0")
            # the IPv6 VIP must not sit in DAD: checked before anything else can happen
            [entry] = entries(node, vip)
            assert entry.interface.network.prefixlen == vip.max_prefixlen
            assert "tentative" not in entry.flags
            assert "noprefixroute" in entry.flags
            assert (await K.add_vip(ipr, address=vip))[0] is K.Added.PRESENT
        assert [e.label for e in entries(node, VIP4)] == ["eth0:vip"]
        assert ["nodad" in e.flags for e in entries(node, VIP6)] == [True]
        assert routes(node) == before
        assert addressing.owned_by_link(await K.read_snapshot(ipr)) == {"eth0": [VIP4, VIP6]}

        for vip in (VIP4, VIP6):
            assert await K.remove_vip(ipr, address=vip) is K.Removed.REMOVED
            assert await K.remove_vip(ipr, address=vip) is K.Removed.ABSENT
        assert addressing.owned_by_link(await K.read_snapshot(ipr)) == {}
    assert [a for a in node.addresses("eth0") if a.interface.ip in (VIP4, VIP6)] == []
    assert routes(node) == before


async def test_unmarked_addresses_are_never_taken_or_removed(lan: LanFactory) -> None:
    node = lan("node", ipv6=True)["node"]
    foreign4, foreign6 = "192.0.2.150", "2001:db8:f1::150"
    node.run(["ip", "addr", "add", f"{foreign4}/32", "dev", "eth0"])
    node.run(["ip", "addr", "add", f"{foreign6}/128", "dev", "eth0", "nodad"])
    unmarked = [ipaddress.ip_address(a) for a in (foreign4, foreign6)] + [node.ip, node.ip6]
    async with K.open_netlink(netns=node.netns) as ipr:
        await K.add_vip(ipr, address=VIP4)
        assert addressing.owned_by_link(await K.read_snapshot(ipr)) == {"eth0": [VIP4]}
        for address in unmarked:
            with pytest.raises(
                addressing.NodeAddressError, match=re.escape(f"{address} is already on eth0")
            ):
                await K.add_vip(ipr, address=address)
            assert await K.remove_vip(ipr, address=address) is K.Removed.NOT_OWNED
            assert await K.remove_vip(ipr, address=address, ifname="eth0") is K.Removed.NOT_OWNED
        assert addressing.owned_by_link(await K.read_snapshot(ipr)) == {"eth0": [VIP4]}
    present = {a.interface.ip for a in node.addresses("eth0")}
    assert set(unmarked) | {VIP4} <= present


async def test_missing_or_down_interface(lan: LanFactory) -> None:
    node = lan("node")["node"]
    async with K.open_netlink(netns=node.netns) as ipr:
        with pytest.raises(
            addressing.InterfaceNotFoundError, match=re.escape("'eth7' for 192.0.2.100")
        ):
            await K.add_vip(ipr, address=VIP4, ifname="eth7")
        with pytest.raises(addressing.NoInterfaceError, match=re.escape("contains 203.0.113.7")):
            await K.add_vip(ipr, address=ipaddress.IPv4Address("203.0.113.7"))
        node.run(["ip", "addr", "add", "203.0.113.1/24", "dev", "lo"])
        node.run(["ip", "link", "set", "dev", "eth0", "down"])
        with pytest.raises(
            addressing.InterfaceDownError, match=re.escape("'eth0' for 192.0.2.100 is down")
        ):
            await K.add_vip(ipr, address=VIP4, ifname="eth0")
        added, link = await K.add_vip(ipr, address=ipaddress.IPv4Address("203.0.113.7"))
        assert (added, link.name) == (K.Added.ADDED, "lo")
        assert entries(node, VIP4) == []


async def test_batched_adds_equal_pyroute2_adds(lan: LanFactory) -> None:
    topology = lan("node", "twin", ipv6=True)
    node, twin = topology["node"], topology["twin"]
    base4, base6 = int(VIP4), int(VIP6)
    wanted: list[addressing.IPAddress] = [ipaddress.IPv4Address(base4 + i) for i in range(150)]
    wanted += [ipaddress.IPv6Address(base6 + i) for i in range(150)]
    async with K.open_netlink(netns=twin.netns) as ipr:
        for vip in wanted:
            await K.add_vip(ipr, address=vip)
    batch = address_batch.AddressBatch.open(netns=node.netns)
    try:
        async with K.open_netlink(netns=node.netns) as ipr:
            kernel = K.Kernel(ipr, batch=batch)
            snapshot = await kernel.snapshot()
            added = await asyncio.gather(
                *(kernel.add(vip, ifname="eth0", snapshot=snapshot) for vip in wanted)
            )
            assert set(added) == {K.Added.ADDED}
            again = await kernel.add(wanted[0], ifname="eth0", snapshot=snapshot)  # EEXIST
            assert again is K.Added.PRESENT
    finally:
        batch.close()

    def shown(host: hosts.Host) -> list[object]:
        listed = json.loads(host.run(["ip", "-j", "-d", "addr", "show", "dev", "eth0"]).stdout)
        found = [
            {k: v for k, v in a.items() if k not in ("valid_life_time", "preferred_life_time")}
            for a in listed[0]["addr_info"]
        ]
        return sorted((a for a in found if ipaddress.ip_address(a["local"]) in set(wanted)),
                      key=lambda a: str(a["local"]))  # fmt: skip

    assert len(shown(node)) == len(wanted)
    assert shown(node) == shown(twin)


async def test_many_removes_at_once_share_dumps_and_a_take_after_a_remove_adds(
    lan: LanFactory,
) -> None:
    # A node told that 300 of its VIPs failed over releases them all in one turn: each
    # remove reads the kernel, and one netlink socket runs one dump at a time (a second gets
    # EBUSY, which left 900 addresses on a live node in the scale benchmark).
    node = lan("node", ipv6=True)["node"]
    wanted: list[addressing.IPAddress] = [ipaddress.IPv4Address(int(VIP4) + i) for i in range(120)]
    wanted += [ipaddress.IPv6Address(int(VIP6) + i) for i in range(180)]
    async with K.open_netlink(netns=node.netns) as ipr:
        kernel = K.Kernel(ipr)
        snapshot = await kernel.snapshot()
        for vip in wanted:
            await kernel.add(vip, ifname="eth0", snapshot=snapshot)
        removed = await asyncio.gather(*(kernel.remove(vip, ifname="eth0") for vip in wanted))
        assert set(removed) == {K.Removed.REMOVED}
        assert [a for a in node.addresses("eth0") if a.interface.ip in set(wanted)] == []

        # a take right after a remove must not trust a snapshot from before it ("present")
        def owned(snapshot: addressing.Snapshot) -> bool:
            link = snapshot.link_named("eth0")
            assert link is not None
            return addressing.existing_owned(snapshot, VIP4, link)

        await kernel.add(VIP4, ifname="eth0", snapshot=await kernel.snapshot())
        assert owned(await kernel.snapshot())  # cached from here on
        assert await kernel.remove(VIP4, ifname="eth0") is K.Removed.REMOVED
        assert not owned(await kernel.snapshot(max_age=60))


async def test_the_struct_dump_lists_what_pyroute2_lists(lan: LanFactory) -> None:
    node = lan("node", ipv6=True)["node"]
    wanted: list[addressing.IPAddress] = [ipaddress.IPv4Address(int(VIP4) + i) for i in range(150)]
    wanted += [ipaddress.IPv6Address(int(VIP6) + i) for i in range(150)]
    node.run(["ip", "addr", "add", "192.0.2.99/24", "dev", "eth0"])  # unmarked, not a VIP
    dump = address_dump.AddressDump(netns=node.netns)
    try:
        async with K.open_netlink(netns=node.netns) as ipr:
            for vip in wanted:
                await K.add_vip(ipr, address=vip)
            slow = await K.read_snapshot(ipr)
            fast = await K.read_snapshot(ipr, dump=dump)
            again = await K.read_snapshot(ipr, dump=dump)  # the socket serves dump after dump
    finally:
        dump.close()
    assert len(slow.addresses) > len(wanted) + 3  # lo, the node's own, link-local, unmarked
    assert fast == slow and again == slow
    assert {a.interface.ip for a in fast.addresses if a.owned} == set(wanted)
