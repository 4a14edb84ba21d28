"""The flow handoff's decisions and ruleset (floatip_agent.handoff, leasing.peer_interfaces).

Proves:
- a handoff is planned only for a planned move whose previous holder announced at an older
  epoch and published an address on the VIP's subnet; never for a Failover, a first
  assignment, a take back of our own announcement, or a peer without such an address;
- the previous holder's address is found per family on the VIP's subnet, malformed parts of
  the annotation skipped;
- the ruleset is exact nft text: one atomic replacement of floatip's own tables, one rule per
  handoff in its family's table, no table at all when there is nothing to hand off;
- the peers' interfaces are read from their Leases, not from our own or foreign Leases.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from floatip.api import model, names
from floatip_agent import assignments, handoff, leasing

V4 = ipaddress.ip_address("192.0.2.100")
V6 = ipaddress.ip_address("2001:db8:f1::100")
PEERS = {"old": "eth0=192.0.2.11/24,2001:db8:f1::11/64;eth1=198.51.100.11/24"}
OLD_MAC = "02:F1:00:00:00:01"


def moved(**overrides: Any) -> assignments.Assignment:
    """server 'old' announced epoch 1; the operator pinned the VIP to 'me' at epoch 2."""
    base: dict[str, Any] = dict(
        name="web", uid="u1", address=V4, interface=None, announce=model.Announce(),
        health_check=None, node_selector=None, holder="me", epoch=2, announced_node="old",
        announced_epoch=1, last_reason="Pinned", conflict_node=None, announced_mac=OLD_MAC,
    )  # fmt: skip
    base.update(overrides)
    return assignments.Assignment(**base)


def plan(assignment: assignments.Assignment) -> handoff.Handoff | None:
    return handoff.plan(assignment, node="me", ifname="eth0", peer_interfaces=PEERS)


def test_a_planned_move_hands_stray_segments_to_the_previous_holder() -> None:
    expected = handoff.Handoff(V4, "eth0", ipaddress.ip_address("192.0.2.11"), OLD_MAC.lower())
    assert plan(moved()) == expected
    for reason in ("Preempted", "HolderIneligible", None):
        assert plan(moved(last_reason=reason)) == expected
    six = plan(moved(address=V6))
    assert six is not None and six.previous == ipaddress.ip_address("2001:db8:f1::11")


@pytest.mark.parametrize(
    ("why", "overrides"),
    [
        ("failover: the previous holder is dead", {"last_reason": "Failover"}),
        ("first assignment: nobody announced", {"announced_node": None, "announced_mac": None}),
        ("our own announcement", {"announced_node": "me"}),
        ("announced at this epoch already", {"announced_epoch": 2}),
        ("no announced MAC", {"announced_mac": None}),
        ("no announced epoch", {"announced_epoch": None}),
        ("the previous holder has no Lease", {"announced_node": "gone"}),
        ("no address on the VIP's subnet", {"address": ipaddress.ip_address("203.0.113.7")}),
    ],
)
def test_no_handoff(why: str, overrides: dict[str, Any]) -> None:
    assert plan(moved(**overrides)) is None, why


def test_node_address_on_the_vips_subnet() -> None:
    find = handoff.node_address
    assert find(PEERS["old"], V4) == ipaddress.ip_address("192.0.2.11")
    assert find(PEERS["old"], ipaddress.ip_address("198.51.100.50")) == ipaddress.ip_address(
        "198.51.100.11"
    )
    assert find("junk;eth0=;eth0=nonsense,192.0.2.12/24", V4) == ipaddress.ip_address("192.0.2.12")
    assert find("eth0=192.0.2.100/24", V4) is None  # the VIP itself is nobody's node address
    assert find("eth0=2001:db8:f1::11/64", V4) is None
    assert find("", V6) is None


def test_ruleset_is_one_atomic_replacement_of_floatips_tables() -> None:
    four = handoff.Handoff(V4, "eth0", ipaddress.ip_address("192.0.2.11"), "02:f1:00:00:00:01")
    six = handoff.Handoff(V6, "eth0", ipaddress.ip_address("2001:db8:f1::11"), "02:f1:00:00:00:01")
    assert handoff.ruleset([six, four]) == (
        "add table ip floatip_handoff\n"
        "delete table ip floatip_handoff\n"
        "table ip floatip_handoff {\n"
        "\tchain prerouting {\n"
        "\t\ttype filter hook prerouting priority filter; policy accept;\n"
        '\t\tip daddr 192.0.2.100 ether saddr != 02:f1:00:00:00:01 iifname "eth0" '
        'tcp flags & (syn | rst) == 0 ct state { new, invalid } dup to 192.0.2.11 device "eth0" drop\n'
        "\t}\n"
        "}\n"
        "add table ip6 floatip_handoff\n"
        "delete table ip6 floatip_handoff\n"
        "table ip6 floatip_handoff {\n"
        "\tchain prerouting {\n"
        "\t\ttype filter hook prerouting priority filter; policy accept;\n"
        '\t\tip6 daddr 2001:db8:f1::100 ether saddr != 02:f1:00:00:00:01 iifname "eth0" '
        'tcp flags & (syn | rst) == 0 ct state { new, invalid } dup to 2001:db8:f1::11 device "eth0" drop\n'
        "\t}\n"
        "}\n"
    )


def test_empty_ruleset_leaves_no_table() -> None:
    assert handoff.ruleset([]) == (
        "add table ip floatip_handoff\ndelete table ip floatip_handoff\n"
        "add table ip6 floatip_handoff\ndelete table ip6 floatip_handoff\n"
    )


def test_peer_interfaces_from_other_agents_leases() -> None:
    def lease(name: str, interfaces: object) -> dict[str, object]:
        return {
            "metadata": {"name": name, "annotations": {names.INTERFACES_ANNOTATION: interfaces}}
        }

    leases = [
        lease("floatip-agent-me", "eth0=192.0.2.12/24"),
        lease("floatip-agent-old", PEERS["old"]),
        lease("floatip-operator", "eth0=192.0.2.13/24"),
        lease("floatip-agent-odd", 7),
        {"metadata": {"name": "floatip-agent-bare"}},
    ]
    assert leasing.peers(leases, node="me").interfaces == PEERS
