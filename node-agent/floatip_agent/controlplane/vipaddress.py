"""The control-plane VIP in the kernel: add, remove and look for it over netlink.

Added like the node agent's VIPs (`floatip_agent.kernel_addresses`): a host address (/32 or
/128) with ``noprefixroute`` (and ``nodad`` for IPv6: the probe did the duplicate detection),
so it changes no route; but marked ``IFA_PROTO = 98`` (`names.CONTROL_PLANE_ADDRESS_PROTO`)
and labelled ``<ifname>:cp``, so the node agent and this program never remove each other's
addresses. The interface is chosen by `floatip_agent.addressing.choose_link` (the named one, or
the one whose own subnet holds the VIP). An unmarked copy of the VIP on the node (put there by
hand or by keepalived) is refused: this program never shares or removes another's address.
"""

from __future__ import annotations

import enum
import errno
import os
import socket

from pyroute2 import AsyncIPRoute
from pyroute2.netlink.exceptions import NetlinkError

from floatip.api import names
from floatip_agent import addressing, kernel_addresses

PROTO = names.CONTROL_PLANE_ADDRESS_PROTO
LABEL_SUFFIX = ":cp"


class Found(enum.StrEnum):
    OURS = "ours"  # on the interface, marked by us
    ABSENT = "absent"
    FOREIGN = "foreign"  # on this node but not ours (another program's, or the node's own)


class VipAddress:
    """The VIP on interface `ifname` (chosen at `open`), through one netlink socket."""

    def __init__(self, ipr: AsyncIPRoute, *, address: addressing.IPAddress, link: addressing.Link):
        self.ipr = ipr
        self.address = address
        self.link = link

    @property
    def ifname(self) -> str:
        return self.link.name

    @classmethod
    async def place(
        cls, ipr: AsyncIPRoute, *, address: addressing.IPAddress, ifname: str | None
    ) -> VipAddress:
        """Choose the interface (raises `addressing.AddressingError` saying why it cannot)."""
        snapshot = await kernel_addresses.read_snapshot(ipr)
        return cls(
            ipr, address=address, link=addressing.choose_link(snapshot, address, ifname=ifname)
        )

    async def find(self) -> Found:
        """Whether the VIP is on this node now, and whose it is."""
        family = socket.AF_INET if self.address.version == 4 else socket.AF_INET6
        found = Found.ABSENT
        async for msg in await self.ipr.addr("dump", family=family):
            if msg.get_attr("IFA_ADDRESS") != str(self.address):
                continue
            ours = msg.get_attr("IFA_PROTO") == PROTO and msg["index"] == self.link.ifindex
            if not ours:
                return Found.FOREIGN
            found = Found.OURS
        return found

    async def add(self) -> bool:
        """Add the VIP (True), or find it there already, marked ours (False)."""
        flags = kernel_addresses.IFA_F_NOPREFIXROUTE
        extra: dict[str, object] = {}
        if self.address.version == 6:
            flags |= kernel_addresses.IFA_F_NODAD
        elif len(self.ifname + LABEL_SUFFIX) <= addressing.MAX_LABEL:
            extra["label"] = self.ifname + LABEL_SUFFIX
        try:
            await self.ipr.addr(
                "add", index=self.link.ifindex, address=str(self.address),
                prefixlen=self.address.max_prefixlen, proto=PROTO, flags=flags, **extra,
            )  # fmt: skip
        except NetlinkError as exc:
            if exc.code == errno.EEXIST and await self.find() is Found.OURS:
                return False
            raise self._error("add", exc.code) from exc
        return True

    async def remove(self) -> bool:
        """Remove the VIP if it is there and ours; return whether it was removed."""
        if await self.find() is not Found.OURS:
            return False
        try:
            await self.ipr.addr(
                "del", index=self.link.ifindex, address=str(self.address),
                prefixlen=self.address.max_prefixlen,
            )  # fmt: skip
        except NetlinkError as exc:
            if exc.code in (errno.EADDRNOTAVAIL, errno.ENODEV):
                return False
            raise self._error("remove", exc.code) from exc
        return True

    def _error(self, verb: str, code: int) -> OSError:
        return OSError(
            code,
            f"cannot {verb} {self.address} on {self.ifname}: {os.strerror(code)} (netlink "
            f"error {code}); check CAP_NET_ADMIN in the host's network namespace",
        )
