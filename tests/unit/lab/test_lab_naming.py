"""The lab's names and address plan (floatip_lab.naming). Proves:

- Namespace names carry the owner pid, which `owner_pid` reads back; other names give None.
- Tags and host names that would make names ambiguous or invalid are rejected.
- Host n gets 192.0.2.(10+n), 2001:db8:f1::(10+n), 198.51.100.(10+n) and locally
  administered MACs; indexes outside the plan are rejected.
- A larger data LAN keeps the hosts' offsets and frees every address from the 100th to the
  last but one for VIPs; one smaller than a /24 or overlapping the management network is
  refused; `scale_network` gives a /20 of 198.18.0.0/15 or larger, with room for N VIPs.
"""

from __future__ import annotations

import ipaddress

import pytest

from floatip_lab import naming


def test_namespace_name_round_trips_owner_pid() -> None:
    name = naming.namespace_name(4242, "demo", "server-1")

    assert name == "fip-4242-demo-server-1"
    assert naming.owner_pid(name) == 4242


@pytest.mark.parametrize("name", ["fiptry", "fip-x-demo-a", "fip-12-demo", "blue", "fip--a-b"])
def test_foreign_names_have_no_owner(name: str) -> None:
    assert naming.owner_pid(name) is None


@pytest.mark.parametrize("tag", ["", "has-dash", "UPPER", "x" * 25])
def test_bad_tags_are_rejected(tag: str) -> None:
    with pytest.raises(ValueError, match="lab tag"):
        naming.namespace_name(1, tag, "a")


@pytest.mark.parametrize("role", ["", "-a", "a_b", "a" * 25])
def test_bad_host_names_are_rejected(role: str) -> None:
    with pytest.raises(ValueError, match="lab host name"):
        naming.namespace_name(1, "demo", role)


def test_sanitize_tag_makes_test_names_usable() -> None:
    tag = naming.sanitize_tag("test_gratuitous_arp[ipv6-True]")

    assert tag == "testgratuitousarp"[:16]
    assert naming.check_tag(tag) == tag


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        (1, ("192.0.2.11/24", "2001:db8:f1::11/64", "198.51.100.11/24", "02:f1:00:00:00:01",
             "02:f1:00:00:01:01")),
        (89, ("192.0.2.99/24", "2001:db8:f1::99/64", "198.51.100.99/24", "02:f1:00:00:00:59",
              "02:f1:00:00:01:59")),
    ],
)  # fmt: skip
def test_address_plan(index: int, expected: tuple[str, str, str, str, str]) -> None:
    """Data IPv4, data IPv6, mgmt IPv4, data MAC, mgmt MAC of host `index`."""
    assert (
        str(naming.data_ipv4(index)),
        str(naming.data_ipv6(index)),
        str(naming.mgmt_ipv4(index)),
        naming.data_mac(index),
        naming.mgmt_mac(index),
    ) == expected


@pytest.mark.parametrize("index", [0, 90])
def test_indexes_outside_the_plan_are_rejected(index: int) -> None:
    with pytest.raises(ValueError, match=r"outside 1\.\.89"):
        naming.data_ipv4(index)


def test_a_larger_data_network_keeps_the_plan() -> None:
    network = ipaddress.IPv4Network("198.18.0.0/20")

    assert str(naming.data_ipv4(3, network)) == "198.18.0.13/20"
    assert naming.vip_capacity(network) == 4096 - 101
    vips = naming.vip_addresses(network, naming.vip_capacity(network))
    assert (str(vips[0]), str(vips[-1])) == ("198.18.0.100", "198.18.15.254")
    assert len(set(vips)) == len(vips)
    assert all(v in network for v in vips)


def test_the_default_data_network_has_room_for_155_vips() -> None:
    vips = naming.vip_addresses(naming.DATA_V4, 155)

    assert (str(vips[0]), str(vips[-1])) == ("192.0.2.100", "192.0.2.254")
    with pytest.raises(ValueError, match=r"room for 155 VIPs .* 156 asked for"):
        naming.vip_addresses(naming.DATA_V4, 156)


@pytest.mark.parametrize(
    ("network", "why"),
    [("192.0.2.0/25", "too small"), ("198.51.0.0/16", "overlaps the management network")],
)
def test_unusable_data_networks_are_refused(network: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        naming.check_data_network(ipaddress.IPv4Network(network))


@pytest.mark.parametrize(
    ("vips", "network"),
    [(1, "198.18.0.0/20"), (3995, "198.18.0.0/20"), (3996, "198.18.0.0/19"),
     (10_000, "198.18.0.0/18")],
)  # fmt: skip
def test_scale_network_has_room_for_the_vips(vips: int, network: str) -> None:
    found = naming.scale_network(vips)

    assert str(found) == network
    assert naming.vip_capacity(found) >= vips
    assert naming.check_data_network(found) == found


def test_scale_network_stays_in_the_benchmarking_range() -> None:
    with pytest.raises(ValueError, match=r"do not fit in 198\.18\.0\.0/15"):
        naming.scale_network(200_000)
