"""Deciding where and how a VIP goes on a node, from a snapshot of the kernel (pure).

`floatip_agent.kernel_addresses` reads the node's links and addresses into a `Snapshot`
and carries out what this module decides, so every rule here is unit tested without a
kernel. The rules (DESIGN.md safety 7):

- **Marking.** An address the agent adds carries ``IFA_PROTO = 99``
  (`floatip.api.names.ADDRESS_PROTO`); nothing else on a node uses that value, so after a
  restart the agent knows its own addresses from the node's and from other software's,
  which it never touches. IPv4 addresses also get the label ``<ifname>:vip`` when that fits
  in IFNAMSIZ, so ``ip addr`` and ``ifconfig`` users see them for what they are.
- **Refusal.** A VIP that equals an unmarked address on any interface (whatever its prefix)
  is the node's own or someone else's: the agent refuses it rather than share or remove it.
- **Interface.** A named interface must exist and be up (administratively; a lost carrier is
  left to the announcer). Without a name, the interface whose own (unmarked) subnet
  contains the VIP is chosen; the longest such prefix wins, a tie between interfaces is an
  error that asks for ``spec.interface``.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
from typing import NamedTuple

from floatip.api import names

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Linux's IFNAMSIZ (16) less the terminating NUL: the longest interface name or label.
MAX_LABEL = 15
LABEL_SUFFIX = ":vip"


class AddressingError(Exception):
    """A VIP cannot be placed on this node; the message says why and what to change."""


class InterfaceNotFoundError(AddressingError):
    """The named interface does not exist on this node."""


class InterfaceDownError(AddressingError):
    """The chosen interface is administratively down."""


class NoInterfaceError(AddressingError):
    """No interface (or more than one) has a subnet that contains the VIP."""


class NodeAddressError(AddressingError):
    """The VIP equals an address the agent does not own (the node's own, or other software's)."""


class Link(NamedTuple):
    """A network interface: its index, name, administrative state and MAC."""

    ifindex: int
    name: str
    up: bool
    mac: str


class KernelAddress(NamedTuple):
    """One address as the kernel lists it."""

    link_index: int
    interface: IPInterface
    proto: int

    @property
    def owned(self) -> bool:
        """Whether the agent added it (marked with `names.ADDRESS_PROTO`)."""
        return self.proto == names.ADDRESS_PROTO


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """The node's links and addresses at one moment."""

    links: tuple[Link, ...]
    addresses: tuple[KernelAddress, ...]

    @functools.cached_property
    def _by_ip(self) -> dict[IPAddress, list[KernelAddress]]:
        # a take looks its address up in a snapshot of up to 1,000 others: once per snapshot
        index: dict[IPAddress, list[KernelAddress]] = {}
        for entry in self.addresses:
            index.setdefault(entry.interface.ip, []).append(entry)
        return index

    @functools.cached_property
    def subnets(self) -> tuple[tuple[int, IPNetwork], ...]:
        """(link index, network) of each address that names a subnet: the node's own, not
        our VIPs (host addresses); computed once, for the 1,000 takes that share a snapshot."""
        found = []
        for entry in self.addresses:
            network = entry.interface.network
            if not entry.owned and network.prefixlen != network.max_prefixlen:
                found.append((entry.link_index, network))
        return tuple(found)

    def link_named(self, name: str) -> Link | None:
        return next((link for link in self.links if link.name == name), None)

    def link_at(self, index: int) -> Link | None:
        return next((link for link in self.links if link.ifindex == index), None)

    def holding(self, address: IPAddress) -> list[KernelAddress]:
        """Every kernel address whose IP is `address`, whatever its prefix."""
        return list(self._by_ip.get(address, ()))


class Placement(NamedTuple):
    """How to add a VIP: on which link, as which host address, with which label."""

    link: Link
    interface: IPInterface
    label: str | None


def host_interface(address: IPAddress) -> IPInterface:
    """The VIP as a host address (/32 or /128), which adds no prefix route of its own."""
    if address.version == 4:
        return ipaddress.IPv4Interface((int(address), 32))
    return ipaddress.IPv6Interface((int(address), 128))


def vip_label(ifname: str, address: IPAddress) -> str | None:
    """``<ifname>:vip`` for IPv4 if it fits in IFNAMSIZ; IPv6 addresses carry no label."""
    label = ifname + LABEL_SUFFIX
    if address.version != 4 or len(label) > MAX_LABEL:
        return None
    return label


def refuse_unowned(snapshot: Snapshot, address: IPAddress) -> None:
    """Raise `NodeAddressError` if an address the agent does not own equals `address`."""
    for entry in snapshot.holding(address):
        if not entry.owned:
            link = snapshot.link_at(entry.link_index)
            where = link.name if link else f"link #{entry.link_index}"
            raise NodeAddressError(
                f"{address} is already on {where} as {entry.interface} (proto {entry.proto}), "
                "not added by floatip: it is this node's own address or another program's. "
                "floatip will not share or remove it; pick a free address for the VirtualIP"
            )


def choose_link(snapshot: Snapshot, address: IPAddress, *, ifname: str | None = None) -> Link:
    """The link a VIP goes on: the named one, or the one whose subnet contains `address`."""
    if ifname is not None:
        link = snapshot.link_named(ifname)
        if link is None:
            raise InterfaceNotFoundError(
                f"interface {ifname!r} for {address} does not exist on this node (it has "
                f"{sorted(lk.name for lk in snapshot.links)}); fix spec.interface or leave it "
                "empty to use the interface whose subnet contains the address"
            )
        return _usable(link, address)
    best: dict[int, int] = {}  # link index -> longest containing prefix
    for index, network in snapshot.subnets:
        if address in network:
            best[index] = max(best.get(index, 0), network.prefixlen)
    if not best:
        raise NoInterfaceError(
            f"no interface on this node has a subnet that contains {address}; set "
            "spec.interface, or give the node an address in the VIP's subnet"
        )
    longest = max(best.values())
    winners = [index for index, prefix in best.items() if prefix == longest]
    if len(winners) > 1:
        names_ = sorted(link_name(snapshot, index) for index in winners)
        raise NoInterfaceError(
            f"interfaces {names_} all have a /{longest} subnet that contains {address}; "
            "set spec.interface to say which one"
        )
    link = snapshot.link_at(winners[0])
    if link is None:
        raise NoInterfaceError(f"link #{winners[0]} vanished while placing {address}; retry")
    return _usable(link, address)


def link_name(snapshot: Snapshot, index: int) -> str:
    """The name of link `index`, or ``#index`` if it is gone."""
    link = snapshot.link_at(index)
    return link.name if link else f"#{index}"


def _usable(link: Link, address: IPAddress) -> Link:
    if not link.up:
        raise InterfaceDownError(
            f"interface {link.name!r} for {address} is down; bring it up "
            f"(`ip link set dev {link.name} up`) or choose another in spec.interface"
        )
    return link


def plan(snapshot: Snapshot, address: IPAddress, *, ifname: str | None = None) -> Placement:
    """Where and how to add `address`, or raise an `AddressingError` saying why it cannot be."""
    refuse_unowned(snapshot, address)
    link = choose_link(snapshot, address, ifname=ifname)
    return Placement(link, host_interface(address), vip_label(link.name, address))


def owned_by_link(snapshot: Snapshot) -> dict[str, list[IPAddress]]:
    """The agent's own addresses, by interface name."""
    result: dict[str, list[IPAddress]] = {}
    for entry in snapshot.addresses:
        if entry.owned:
            result.setdefault(link_name(snapshot, entry.link_index), []).append(entry.interface.ip)
    return result


def existing_owned(snapshot: Snapshot, address: IPAddress, link: Link) -> bool:
    """Whether `address` is already on `link` as the agent's own host address."""
    return any(
        entry.owned
        and entry.link_index == link.ifindex
        and entry.interface == host_interface(address)
        for entry in snapshot.holding(address)
    )
