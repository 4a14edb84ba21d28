"""Adding and removing VIPs on the node's interfaces over netlink (pyroute2 `AsyncIPRoute`).

A thin adapter: `floatip_agent.addressing` decides (marking, refusal, interface choice; its
docstring has the rules); this module reads the kernel and carries the decision out.

How a VIP is added, so that adding it never changes the node's routing:
- as a host address, /32 or /128, whatever prefix the VirtualIP's spec gives (the prefix
  only picks the interface). An IPv4 /32 makes no prefix route; an IPv6 /128 would, so
  both families are added with ``IFA_F_NOPREFIXROUTE`` (``noprefixroute``). Only the
  kernel's ``local`` table gains the address's own local route, as for any address. A /32
  is also never a *secondary* of the node's subnet address, so the node removing or
  renumbering its own address does not take the VIP with it (``promote_secondaries``).
- IPv6 with ``IFA_F_NODAD`` (``nodad``): the agent's own probe did duplicate detection
  already, and the address must answer at once, not after a DAD stall in ``tentative``.
- marked with ``IFA_PROTO = 99`` and, for IPv4, labelled ``<ifname>:vip``.

Both verbs are idempotent: adding a present VIP (EEXIST) and removing an absent one
(EADDRNOTAVAIL) are successes. Removing never touches an address the agent did not mark.
"""

from __future__ import annotations

import asyncio
import enum
import errno
import ipaddress
import os
import socket
import time
from collections.abc import Awaitable, Callable, Collection
from typing import NamedTuple

from pyroute2 import AsyncIPRoute
from pyroute2.netlink.exceptions import NetlinkError

from floatip.api import names
from floatip_agent import address_batch, address_dump, addressing

IFF_UP = 0x1
IFA_F_NODAD = 0x02
IFA_F_NOPREFIXROUTE = 0x200


class Added(enum.StrEnum):
    ADDED = "added"
    PRESENT = "present"  # already there, marked as ours


class Removed(enum.StrEnum):
    REMOVED = "removed"
    ABSENT = "absent"
    NOT_OWNED = "not-owned"  # present but unmarked: left alone


def open_netlink(*, netns: str | None = None) -> AsyncIPRoute:
    """A netlink socket (use it with ``async with``), in namespace `netns` if named.

    A named namespace must exist; it is never created (``flags=0``).
    """
    if netns is None:
        return AsyncIPRoute()
    return AsyncIPRoute(netns=netns, flags=0)


async def read_snapshot(
    ipr: AsyncIPRoute, *, dump: address_dump.AddressDump | None = None
) -> addressing.Snapshot:
    """The node's links and addresses now (the addresses through `dump`, if given)."""
    links = [
        addressing.Link(
            ifindex=msg["index"],
            name=msg.get_attr("IFLA_IFNAME"),
            up=bool(msg["flags"] & IFF_UP),
            mac=msg.get_attr("IFLA_ADDRESS") or "",
        )
        async for msg in await ipr.link("dump")
    ]
    if dump is not None:
        return addressing.Snapshot(tuple(links), await dump.read())
    addresses = [
        addressing.KernelAddress(
            link_index=msg["index"],
            interface=ipaddress.ip_interface(f"{msg.get_attr('IFA_ADDRESS')}/{msg['prefixlen']}"),
            proto=msg.get_attr("IFA_PROTO") or 0,
        )
        async for msg in await ipr.addr("dump")
        if msg["family"] in (socket.AF_INET, socket.AF_INET6)
    ]
    return addressing.Snapshot(tuple(links), tuple(addresses))


async def add_vip(
    ipr: AsyncIPRoute,
    *,
    address: addressing.IPAddress,
    ifname: str | None = None,
    snapshot: addressing.Snapshot | None = None,
    batch: address_batch.AddressBatch | None = None,
    reread: Callable[[], Awaitable[addressing.Snapshot]] | None = None,
) -> tuple[Added, addressing.Link]:
    """Put `address` on the chosen interface, marked as ours; return what happened and where.

    Raises an `addressing.AddressingError` if the address is the node's own or has no usable
    interface. Pass a fresh `snapshot` to add many VIPs without re-reading the kernel each
    time (one dump per VIP would make adding N VIPs cost N²), and a `batch` to send the adds
    of one event-loop turn in one netlink write (`address_batch`). `reread` reads the kernel
    anew when the add finds the address already there (default: a dump on `ipr`).
    """
    snapshot = snapshot or await read_snapshot(ipr)
    placement = addressing.plan(snapshot, address, ifname=ifname)
    if addressing.existing_owned(snapshot, address, placement.link):
        return Added.PRESENT, placement.link
    flags = IFA_F_NOPREFIXROUTE | (IFA_F_NODAD if address.version == 6 else 0)
    prefixlen = placement.interface.network.prefixlen
    if batch is not None:
        code = await batch.add(
            ifindex=placement.link.ifindex, address=address, prefixlen=prefixlen, flags=flags,
            proto=names.ADDRESS_PROTO, label=placement.label,
        )  # fmt: skip
    else:
        extra = {"label": placement.label} if placement.label else {}
        try:
            await ipr.addr(
                "add", index=placement.link.ifindex, address=str(address), prefixlen=prefixlen,
                proto=names.ADDRESS_PROTO, flags=flags, **extra,
            )  # fmt: skip
            code = 0
        except NetlinkError as exc:
            code = exc.code
    if code == errno.EEXIST:
        # someone added it since `snapshot` was read
        fresh = await (reread() if reread is not None else read_snapshot(ipr))
        addressing.refuse_unowned(fresh, address)
        return Added.PRESENT, placement.link
    if code:
        raise _error("add", address, placement.link.name, code)
    return Added.ADDED, placement.link


async def remove_vip(
    ipr: AsyncIPRoute, *, address: addressing.IPAddress, ifname: str | None = None
) -> Removed:
    """Remove our `address` (on `ifname` only, if named); never an address we did not mark."""
    return (await remove_vips(ipr, addresses=[address], ifname=ifname))[address]


async def remove_vips(
    ipr: AsyncIPRoute,
    *,
    addresses: Collection[addressing.IPAddress],
    ifname: str | None = None,
    snapshot: addressing.Snapshot | None = None,
) -> dict[addressing.IPAddress, Removed]:
    """Remove our `addresses` (on `ifname` only, if named) from one snapshot of the kernel.

    One dump for all of them, so a restart's clean-up or a benchmark of N VIPs costs N
    deletes, not N dumps. Unmarked addresses are reported `Removed.NOT_OWNED` and left alone.
    A `snapshot` passed in must have been read after the caller chose to remove (a dump of
    its own otherwise).
    """
    wanted = set(addresses)
    snapshot = snapshot or await read_snapshot(ipr)
    link = snapshot.link_named(ifname) if ifname is not None else None
    result = dict.fromkeys(wanted, Removed.ABSENT)
    for entry in snapshot.addresses:
        address = entry.interface.ip
        if address not in wanted or (ifname is not None and entry.link_index != _index(link)):
            continue
        if not entry.owned:
            if result[address] is Removed.ABSENT:
                result[address] = Removed.NOT_OWNED
            continue
        try:
            await ipr.addr(
                "del", index=entry.link_index, address=str(address),
                prefixlen=entry.interface.network.prefixlen,
            )  # fmt: skip
        except NetlinkError as exc:
            if exc.code not in (errno.EADDRNOTAVAIL, errno.ENODEV):  # gone meanwhile: fine
                link_name = addressing.link_name(snapshot, entry.link_index)
                raise _error("remove", address, link_name, exc.code) from exc
        result[address] = Removed.REMOVED
    return result


def _index(link: addressing.Link | None) -> int:
    return link.ifindex if link is not None else -1


def _error(verb: str, address: addressing.IPAddress, ifname: str, code: int) -> OSError:
    return OSError(
        code,
        f"cannot {verb} {address} on {ifname}: {os.strerror(code)} (netlink error "
        f"{code}); check that the agent has CAP_NET_ADMIN in the node's network namespace",
    )


class _Dump(NamedTuple):
    began: float  # when the dump began (monotonic seconds)
    removes: int  # `Kernel` removes begun before it
    snapshot: addressing.Snapshot


class Kernel:
    """The agent's netlink socket, with a kernel snapshot shared between takes and removes.

    One dump per take would cost N² for N VIPs taken at once, so `snapshot` reuses one up to
    ``max_age`` seconds old. A slightly old snapshot is safe: an address added since makes the
    add fail with EEXIST, and `add_vip` then re-reads the kernel and refuses an address it
    does not own. An address removed since is not safe (the take would find it "present" and
    add nothing), so a remove makes every older snapshot stale for `snapshot`. A remove needs
    the kernel as it is now, so `fresh_snapshot` shares only a dump begun after it was asked
    for: 1,000 releases at once cost one or two dumps.

    Every dump goes through one lock: a netlink socket runs one dump at a time, and the
    kernel answers a second with EBUSY (seen when a node released 900 VIPs at once).
    """

    def __init__(
        self,
        ipr: AsyncIPRoute,
        *,
        batch: address_batch.AddressBatch | None = None,
        dump: address_dump.AddressDump | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ipr = ipr
        self.batch = batch
        self.dump = dump
        self._clock = clock
        self._cached: _Dump | None = None
        self._removes = 0  # removes begun so far: a dump older than the last one is stale
        self._lock = asyncio.Lock()

    async def snapshot(self, *, max_age: float = 0.0) -> addressing.Snapshot:
        """A snapshot whose dump began at most ``max_age`` seconds ago, after every remove."""
        return await self._dumped_after(self._clock() - max_age, removes=self._removes)

    async def fresh_snapshot(self) -> addressing.Snapshot:
        """A snapshot whose dump began after this call: as good as a dump of one's own."""
        return await self._dumped_after(self._clock(), removes=0)

    async def _dumped_after(self, moment: float, *, removes: int) -> addressing.Snapshot:
        async with self._lock:
            cached = self._cached
            if cached is None or cached.began < moment or cached.removes < removes:
                began, count = self._clock(), self._removes
                cached = _Dump(began, count, await read_snapshot(self.ipr, dump=self.dump))
                self._cached = cached
            return cached.snapshot

    async def add(
        self, address: addressing.IPAddress, *, ifname: str, snapshot: addressing.Snapshot
    ) -> Added:
        added, _ = await add_vip(
            self.ipr, address=address, ifname=ifname, snapshot=snapshot, batch=self.batch,
            reread=self.fresh_snapshot,
        )  # fmt: skip
        return added

    async def remove(self, address: addressing.IPAddress, *, ifname: str | None = None) -> Removed:
        snapshot = await self.fresh_snapshot()
        self._removes += 1
        removed = await remove_vips(self.ipr, addresses=[address], ifname=ifname, snapshot=snapshot)
        return removed[address]
