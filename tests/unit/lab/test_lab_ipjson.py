"""Parsing of iproute2 JSON (floatip_lab.ipjson), on output captured from iproute2 6.1. Proves:

- `ip -j addr` becomes one Address per configured address, with interface, prefix, scope,
  label and boolean flags (nodad, tentative); stray entries without an address are skipped.
- `ip -j neigh` becomes address -> (MAC, NUD states, interface); unresolved entries have no MAC.
- `ip -j netns list` becomes names; empty output means none.
- Malformed output is rejected with a message naming the command.
"""

from __future__ import annotations

import ipaddress

import pytest

from floatip_lab import ipjson

ADDR = """[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,
"addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8,"scope":"host","label":"lo",
"valid_life_time":4294967295,"preferred_life_time":4294967295}]},
{"ifindex":3,"link":"d-01","ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],
"address":"02:f1:00:00:00:01","addr_info":[
{"family":"inet","local":"192.0.2.11","prefixlen":24,"broadcast":"192.0.2.255","scope":"global",
"label":"eth0","valid_life_time":4294967295,"preferred_life_time":4294967295},
{"family":"inet6","local":"2001:db8:f1::11","prefixlen":64,"scope":"global","nodad":true,
"valid_life_time":4294967295,"preferred_life_time":4294967295},
{"family":"inet6","local":"fe80::f1:ff:fe00:1","prefixlen":64,"scope":"link","tentative":true,
"valid_life_time":4294967295,"preferred_life_time":4294967295},
{"valid_life_time":4294967295,"preferred_life_time":4294967295}]}]"""

NEIGH = """[{"dst":"192.0.2.12","dev":"eth0","lladdr":"02:F1:00:00:00:02","state":["REACHABLE"]},
{"dst":"2001:db8:f1::12","dev":"eth0","lladdr":"02:f1:00:00:00:02","router":null,"state":["STALE"]},
{"dst":"192.0.2.13","dev":"eth0","state":["FAILED"]}]"""


def test_addresses_are_parsed_per_address_with_flags() -> None:
    addresses = ipjson.parse_addresses(ADDR)

    assert [(a.ifname, str(a.interface)) for a in addresses] == [
        ("lo", "127.0.0.1/8"),
        ("eth0", "192.0.2.11/24"),
        ("eth0", "2001:db8:f1::11/64"),
        ("eth0", "fe80::f1:ff:fe00:1/64"),
    ]
    v4, v6, link_local = addresses[1:]
    assert (v4.scope, v4.label, v4.flags) == ("global", "eth0", frozenset())
    assert v4.ip == ipaddress.IPv4Address("192.0.2.11")
    assert (v6.label, v6.flags) == (None, frozenset({"nodad"}))
    assert (link_local.scope, link_local.flags) == ("link", frozenset({"tentative"}))


def test_neighbours_map_address_to_mac_and_state() -> None:
    neighbours = ipjson.parse_neighbours(NEIGH)

    assert neighbours == {
        ipaddress.IPv4Address("192.0.2.12"): ipjson.Neighbour(
            "02:f1:00:00:00:02", frozenset({"REACHABLE"}), "eth0"
        ),
        ipaddress.IPv6Address("2001:db8:f1::12"): ipjson.Neighbour(
            "02:f1:00:00:00:02", frozenset({"STALE"}), "eth0"
        ),
        ipaddress.IPv4Address("192.0.2.13"): ipjson.Neighbour(None, frozenset({"FAILED"}), "eth0"),
    }


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("", []),
        ("[]", []),
        ('[{"name":"fip-1-x-a","id":0},{"name":"other"}]', ["fip-1-x-a", "other"]),
    ],
)
def test_netns_names(text: str, names: list[str]) -> None:
    assert ipjson.parse_netns_names(text) == names


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[{", "ip -j neigh` printed invalid JSON"),
        ('{"dst": "192.0.2.1"}', "not a list of objects"),
        ('[{"dev": "eth0"}]', "entry without 'dst'"),
    ],
)
def test_malformed_neighbour_output_is_rejected(text: str, message: str) -> None:
    with pytest.raises(ipjson.IpJsonError, match=message):
        ipjson.parse_neighbours(text)
