"""Flow handoff: a planned switchover keeps the connections in flight at the MAC flip (pure).

Make-before-break moves an address at layer 2 without a moment lacking a holder, yet one kind
of request can still fail: the one in flight when the client's neighbour entry flips. Its
first segments reached the old holder; the rest reach the new holder, which has no such
connection and answers with a reset. GitHub's GLB Director calls the remedy "second chance":
a packet that belongs to no local connection goes to the previous server instead.

For a planned move the new holder does that for a short window (``--flow-handoff-seconds``,
protocol.md "Flow handoff"): before it adds the address, it loads an nftables rule that sends
every TCP segment to the VIP that is neither a SYN nor a reset and that conntrack finds *new*
(no connection opened here) or *invalid* to the previous holder's node address, unchanged
(``dup to ... device``, then drop). *Invalid* matters for busy clients: one that reuses a
source port meets a stale conntrack entry (and a TIME_WAIT socket) of a connection this node
served when it held the address before; that segment belongs to the previous holder too. The
previous holder still holds the address during the overlap, so its socket answers, straight
to the client. Segments coming from the previous holder's MAC are never sent back to it (no
loop once it let the address go).

This module decides when to hand off and writes the ruleset; `nftables` loads it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from floatip.api import leases, model
from floatip_agent import addressing, assignments

#: The tables floatip owns; nothing else in the node's ruleset is touched.
TABLE = "floatip_handoff"


class Handoff(NamedTuple):
    """Send stray segments for ``address`` arriving on ``ifname`` to ``previous``."""

    address: addressing.IPAddress
    ifname: str
    previous: addressing.IPAddress  # the previous holder's own address on the same LAN
    previous_mac: str  # its MAC: segments it sends back are never returned


def node_address(annotation: str, vip: addressing.IPAddress) -> addressing.IPAddress | None:
    """The node address in a ``floatip.io/interfaces`` annotation on the VIP's subnet.

    The first address of the VIP's family whose network contains the VIP wins (`leases`
    parses the annotation, skipping malformed parts).
    """
    for _, interface in leases.interfaces(annotation):
        same_subnet = interface.version == vip.version and vip in interface.network
        if same_subnet and interface.ip != vip:
            return interface.ip
    return None


def previous_holder(assignment: assignments.Assignment, *, node: str) -> str | None:
    """The node a take of ``assignment`` here hands stray segments to, or None for none.

    There is one when the move is planned (not a Failover, whose previous holder is gone) and
    another node announced the address at an older epoch.
    """
    previous = assignment.announced_node
    if (
        previous is None
        or previous == node
        or assignment.announced_mac is None
        or assignment.announced_epoch is None
        or assignment.announced_epoch >= assignment.epoch
        or assignment.last_reason == model.MoveReason.FAILOVER  # nobody to hand flows to
    ):
        return None
    return previous


def plan(
    assignment: assignments.Assignment,
    *,
    node: str,
    ifname: str,
    peer_interfaces: Mapping[str, str],
) -> Handoff | None:
    """The handoff for taking ``assignment`` on ``ifname``, or None when there is none to do.

    There is one when there is a `previous_holder` and its Lease names an address on the
    VIP's subnet to send the stray segments to.
    """
    previous = previous_holder(assignment, node=node)
    if previous is None or assignment.announced_mac is None:
        return None
    address = node_address(peer_interfaces.get(previous, ""), assignment.address)
    if address is None:
        return None
    return Handoff(assignment.address, ifname, address, assignment.announced_mac.lower())


def _rule(handoff: Handoff) -> str:
    family = "ip" if handoff.address.version == 4 else "ip6"
    return (
        f"{family} daddr {handoff.address} ether saddr != {handoff.previous_mac} "
        f'iifname "{handoff.ifname}" tcp flags & (syn | rst) == 0 ct state {{ new, invalid }} '
        f'dup to {handoff.previous} device "{handoff.ifname}" drop'
    )


def ruleset(handoffs: Iterable[Handoff]) -> str:
    """An ``nft -f`` script that makes floatip's tables hold exactly ``handoffs``.

    Atomic: the script creates each table (a no-op when present), deletes it and, when there
    are rules for its family, defines it anew, all in one transaction. With no handoffs it
    leaves no table behind (and so no conntrack hook).
    """
    by_family: dict[str, list[str]] = {"ip": [], "ip6": []}
    for handoff in sorted(handoffs, key=lambda h: (h.address.version, int(h.address))):
        by_family["ip" if handoff.address.version == 4 else "ip6"].append(_rule(handoff))
    lines: list[str] = []
    for family, rules in by_family.items():
        lines += [f"add table {family} {TABLE}", f"delete table {family} {TABLE}"]
        if rules:
            lines.append(f"table {family} {TABLE} {{")
            lines.append("\tchain prerouting {")
            lines.append("\t\ttype filter hook prerouting priority filter; policy accept;")
            lines += [f"\t\t{rule}" for rule in rules]
            lines += ["\t}", "}"]
    return "\n".join(lines) + "\n"
