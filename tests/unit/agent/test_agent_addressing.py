"""Where a VIP goes and how (floatip_agent.addressing), decided from kernel snapshots. Proves:

- a VIP becomes a host address (/32, /128) and IPv4 gets the ``<ifname>:vip`` label only
  when it fits in IFNAMSIZ;
- the interface is the one whose own subnet contains the VIP (longest prefix wins); our own
  marked addresses and host routes never define a subnet; a tie, no match, a missing or a
  down named interface are typed errors that name the problem;
- an address equal to an unmarked one (any prefix, any interface) is refused; a marked one
  is ours and is reported as already present on its link;
- the owned addresses are listed per interface, never the node's own.
"""

from __future__ import annotations

import dataclasses
import ipaddress

import pytest

from floatip.api import names
from floatip_agent import addressing as ad

ETH0 = ad.Link(ifindex=2, name="eth0", up=True, mac="02:f1:00:00:00:01")
ETH1 = ad.Link(ifindex=3, name="eth1", up=True, mac="02:f1:00:00:01:01")
DOWN = ad.Link(ifindex=4, name="eth2", up=False, mac="02:f1:00:00:02:01")


def addr(link: ad.Link, text: str, proto: int = 0) -> ad.KernelAddress:
    return ad.KernelAddress(link.ifindex, ipaddress.ip_interface(text), proto)


NODE = ad.Snapshot(
    links=(ETH0, ETH1, DOWN),
    addresses=(
        addr(ETH0, "192.0.2.11/24"),
        addr(ETH0, "2001:db8:f1::11/64"),
        addr(ETH0, "fe80::1/64", proto=3),
        addr(ETH1, "198.51.100.11/24"),
        addr(ETH1, "10.0.0.1/8"),
        addr(ETH0, "10.1.0.1/16"),
        addr(DOWN, "203.0.113.5/24"),
        addr(ETH1, "192.0.2.200/32", proto=names.ADDRESS_PROTO),  # ours: defines no subnet
        addr(ETH1, "192.0.2.50/32"),  # someone's host address: no subnet either
    ),
)


def ip(text: str) -> ad.IPAddress:
    return ipaddress.ip_address(text)


@pytest.mark.parametrize(
    ("vip", "link"),
    [
        ("192.0.2.100", ETH0),
        ("2001:db8:f1::100", ETH0),
        ("198.51.100.99", ETH1),
        ("10.200.0.1", ETH1),  # only eth1's /8 contains it
        ("10.1.2.3", ETH0),  # eth1's /8 and eth0's /16 contain it: the /16 wins
    ],
)
def test_interface_whose_subnet_contains_the_vip(vip: str, link: ad.Link) -> None:
    assert ad.choose_link(NODE, ip(vip)) == link


def test_named_interface_wins_over_subnets() -> None:
    assert ad.choose_link(NODE, ip("192.0.2.100"), ifname="eth1") == ETH1


@pytest.mark.parametrize(
    ("vip", "ifname", "error", "words"),
    [
        ("192.0.2.100", "eth9", ad.InterfaceNotFoundError, "'eth9' for 192.0.2.100 does not"),
        ("192.0.2.100", "eth2", ad.InterfaceDownError, "'eth2' for 192.0.2.100 is down"),
        ("203.0.113.100", None, ad.InterfaceDownError, "'eth2' for 203.0.113.100 is down"),
        ("100.64.0.1", None, ad.NoInterfaceError, "no interface on this node"),
        ("2001:db8:99::1", None, ad.NoInterfaceError, "contains 2001:db8:99::1"),
    ],
)
def test_unusable_interface(
    vip: str, ifname: str | None, error: type[ad.AddressingError], words: str
) -> None:
    with pytest.raises(error, match=words):
        ad.choose_link(NODE, ip(vip), ifname=ifname)


def test_tie_between_interfaces_asks_for_spec_interface() -> None:
    tie = dataclasses.replace(
        NODE, addresses=(addr(ETH0, "10.5.0.1/24"), addr(ETH1, "10.5.0.2/24"))
    )
    with pytest.raises(ad.NoInterfaceError, match=r"\['eth0', 'eth1'\].*spec.interface"):
        ad.choose_link(tie, ip("10.5.0.9"))


@pytest.mark.parametrize("vip", ["192.0.2.11", "198.51.100.11", "192.0.2.50", "fe80::1"])
def test_node_addresses_are_refused(vip: str) -> None:
    with pytest.raises(ad.NodeAddressError, match=f"{vip} is already on eth"):
        ad.plan(NODE, ip(vip), ifname="eth0")


def test_plan_of_an_ipv4_vip() -> None:
    placement = ad.plan(NODE, ip("192.0.2.100"))
    assert placement == ad.Placement(ETH0, ipaddress.ip_interface("192.0.2.100/32"), "eth0:vip")


def test_plan_of_an_ipv6_vip_has_no_label() -> None:
    placement = ad.plan(NODE, ip("2001:db8:f1::100"))
    assert placement == ad.Placement(ETH0, ipaddress.ip_interface("2001:db8:f1::100/128"), None)


@pytest.mark.parametrize(
    ("ifname", "label"),
    [("eth0", "eth0:vip"), ("enp129s0f1np1", None), ("bond0.1234", "bond0.1234:vip")],
)
def test_label_fits_ifnamsiz(ifname: str, label: str | None) -> None:
    assert ad.vip_label(ifname, ip("192.0.2.100")) == label


def test_our_own_address_is_present_not_refused() -> None:
    placement = ad.plan(NODE, ip("192.0.2.200"), ifname="eth1")
    assert ad.existing_owned(NODE, ip("192.0.2.200"), placement.link)
    assert not ad.existing_owned(NODE, ip("192.0.2.200"), ETH0)
    assert not ad.existing_owned(NODE, ip("192.0.2.100"), ETH1)


def test_owned_by_link_lists_only_marked_addresses() -> None:
    assert ad.owned_by_link(NODE) == {"eth1": [ip("192.0.2.200")]}
