"""Names and the address plan of lab namespaces, as pure functions.

Every namespace the lab creates is named ``fip-<owner pid>-<tag>-<role>`` so that a later run
can tell, from the name alone, which process owned it and whether that process is gone
(`floatip_lab.netns.cleanup_stale`). Addresses and MACs are derived from a host's 1-based
index so that tests and the lab can name them without asking the kernel:

==========  ==========================  ===========================
host n      data LAN (eth0)             management network (eth1)
==========  ==========================  ===========================
IPv4        192.0.2.(10+n)/24           198.51.100.(10+n)/24
IPv6        2001:db8:f1::(10+n)/64      (none)
MAC         02:f1:00:00:00:nn (hex)     02:f1:00:00:01:nn (hex)
==========  ==========================  ===========================

The IPv6 host part repeats the IPv4 digits (host 1 is 192.0.2.11 and 2001:db8:f1::11).
Hosts use .11 to .99; 192.0.2.100 to 192.0.2.254 (and 2001:db8:f1::100 and up) are left free
for virtual IPs. Only documentation ranges are used (RFC 5737, RFC 3849).

A lab may be built on a larger IPv4 data LAN instead (`check_data_network`): the hosts keep
their offsets from its first address and every address from the 100th to the last but one is
free for VIPs (`vip_addresses`). `floatip bench scale` uses 198.18.0.0/20 or larger
(`scale_network`: RFC 2544's benchmarking range), room for thousands of VIPs.
"""

from __future__ import annotations

import ipaddress
import re

PREFIX = "fip-"
SWITCH_ROLE = "switch"
DATA_IFNAME = "eth0"
MGMT_IFNAME = "eth1"
DATA_BRIDGE = "brdata"
MGMT_BRIDGE = "brmgmt"

DATA_V4 = ipaddress.IPv4Network("192.0.2.0/24")
DATA_V6 = ipaddress.IPv6Network("2001:db8:f1::/64")
MGMT_V4 = ipaddress.IPv4Network("198.51.100.0/24")
BENCH_V4 = ipaddress.IPv4Network("198.18.0.0/15")  # RFC 2544: for benchmarks
HOST_OFFSET = 10
MAX_HOSTS = 89
VIP_OFFSET = 100  # the first address of the data LAN left free for VIPs
SCALE_PREFIX = 20  # the smallest data LAN `scale_network` builds: 3,995 VIPs

_TAG_RE = re.compile(r"^[a-z0-9]{1,24}$")
_ROLE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,23}$")
_NAME_RE = re.compile(r"^fip-(?P<pid>[0-9]+)-(?P<tag>[a-z0-9]+)-(?P<role>[a-z0-9-]+)$")


def check_tag(tag: str) -> str:
    """Return `tag` if it can be part of a namespace name, else raise ValueError."""
    if not _TAG_RE.match(tag):
        raise ValueError(
            f"lab tag {tag!r} is not usable in a namespace name: use 1-24 characters "
            "from a-z and 0-9 (no '-', it separates the name's fields)"
        )
    return tag


def check_role(role: str) -> str:
    """Return a host name (or the switch role) if usable in a namespace name, else raise."""
    if not _ROLE_RE.match(role):
        raise ValueError(
            f"lab host name {role!r} is not usable in a namespace name: use 1-24 characters "
            "from a-z, 0-9 and '-', starting with a letter or digit"
        )
    return role


def sanitize_tag(text: str, *, limit: int = 16) -> str:
    """Turn free text (a test name) into a valid tag: lower case, a-z0-9 only, at most `limit`."""
    cleaned = re.sub(r"[^a-z0-9]", "", text.lower())[:limit]
    return cleaned or "lab"


def namespace_name(owner_pid: int, tag: str, role: str) -> str:
    """The namespace name for `role` (a host name or `SWITCH_ROLE`) of run `tag` of `owner_pid`."""
    if owner_pid <= 0:
        raise ValueError(f"owner pid must be positive, got {owner_pid}")
    return f"{PREFIX}{owner_pid}-{check_tag(tag)}-{check_role(role)}"


def owner_pid(name: str) -> int | None:
    """The owning pid encoded in a lab namespace name, or None if `name` is not a lab name."""
    match = _NAME_RE.match(name)
    return int(match.group("pid")) if match else None


def _check_index(index: int) -> int:
    if not 1 <= index <= MAX_HOSTS:
        raise ValueError(f"host index {index} is outside 1..{MAX_HOSTS} (the lab's address plan)")
    return index


def check_data_network(network: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
    """Return `network` if the address plan fits in it as a data LAN, else raise ValueError.

    It must hold the hosts (.11 to .99) and VIPs from .100 (a /24 or larger) and stay apart
    from the management network.
    """
    if network.prefixlen > 24:
        raise ValueError(
            f"data network {network} is too small: the address plan needs a /24 or larger "
            f"(hosts from .{HOST_OFFSET + 1}, VIPs from .{VIP_OFFSET})"
        )
    if network.overlaps(MGMT_V4):
        raise ValueError(
            f"data network {network} overlaps the management network {MGMT_V4}: "
            f"choose another, e.g. {BENCH_V4.network_address}/{SCALE_PREFIX}"
        )
    return network


def data_ipv4(index: int, network: ipaddress.IPv4Network = DATA_V4) -> ipaddress.IPv4Interface:
    """The data LAN IPv4 address of host `index` (1-based) in `network`, with its prefix."""
    host = network.network_address + HOST_OFFSET + _check_index(index)
    return ipaddress.IPv4Interface(f"{host}/{network.prefixlen}")


def vip_capacity(network: ipaddress.IPv4Network) -> int:
    """How many VIPs the address plan leaves room for in data LAN `network`."""
    return max(0, network.num_addresses - VIP_OFFSET - 1)  # the broadcast address is not one


def vip_addresses(network: ipaddress.IPv4Network, count: int) -> list[ipaddress.IPv4Address]:
    """The first `count` addresses free for VIPs in data LAN `network` (from the 100th up)."""
    if count > vip_capacity(network):
        raise ValueError(
            f"data network {network} leaves room for {vip_capacity(network)} VIPs "
            f"(from {network.network_address + VIP_OFFSET} to "
            f"{network.broadcast_address - 1}); {count} asked for: build the lab on a larger "
            "data network (`floatip lab up --data-network`, `scale_network`)"
        )
    first = network.network_address + VIP_OFFSET
    return [first + i for i in range(count)]


def scale_network(count: int) -> ipaddress.IPv4Network:
    """A data LAN in `BENCH_V4` with room for `count` VIPs: a /20, or larger if need be."""
    for prefix in range(SCALE_PREFIX, BENCH_V4.prefixlen - 1, -1):
        network = ipaddress.IPv4Network(f"{BENCH_V4.network_address}/{prefix}")
        if vip_capacity(network) >= count:
            return network
    raise ValueError(f"{count} VIPs do not fit in {BENCH_V4} (room for {vip_capacity(BENCH_V4)})")


def data_ipv6(index: int) -> ipaddress.IPv6Interface:
    """The data LAN IPv6 address of host `index`: the IPv4 host digits read as hex."""
    digits = str(HOST_OFFSET + _check_index(index))
    return ipaddress.IPv6Interface(f"{DATA_V6.network_address}{digits}/{DATA_V6.prefixlen}")


def mgmt_ipv4(index: int) -> ipaddress.IPv4Interface:
    """The management network IPv4 address of host `index`, with its prefix."""
    host = MGMT_V4.network_address + HOST_OFFSET + _check_index(index)
    return ipaddress.IPv4Interface(f"{host}/{MGMT_V4.prefixlen}")


def data_mac(index: int) -> str:
    """The locally administered MAC of host `index` on the data LAN."""
    return f"02:f1:00:00:00:{_check_index(index):02x}"


def mgmt_mac(index: int) -> str:
    """The locally administered MAC of host `index` on the management network."""
    return f"02:f1:00:00:01:{_check_index(index):02x}"


def switch_port(ifname: str, index: int) -> str:
    """The name of host `index`'s veth end inside the switch namespace (e.g. ``d-01``)."""
    segment = "d" if ifname == DATA_IFNAME else "m"
    return f"{segment}-{_check_index(index):02d}"
