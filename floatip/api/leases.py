"""Reading what an agent publishes on its Lease (docs/design/protocol.md "The agent's Lease").

The agent writes ``floatip.io/interfaces`` as ``eth0=192.0.2.11/24,2001:db8::11/64;eth1=...``
(its own global addresses per interface); the operator reads it for eligibility ("has an
interface that can hold the address", "is not the node's own address") and the other agents
read it to find a previous holder's address for the flow handoff. One parser serves both.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


def interfaces(text: str) -> Iterator[tuple[str, IPInterface]]:
    """(interface name, address with prefix) for each entry, in the annotation's order.

    Malformed entries (no name, not an address) are skipped: a half-readable annotation must
    not hide the rest, and a peer's annotation is never a reason to fail.
    """
    for part in text.split(";"):
        name, _, listed = part.strip().partition("=")
        for item in listed.split(","):
            if not name or not item.strip():
                continue
            try:
                yield name, ipaddress.ip_interface(item.strip())
            except ValueError:
                continue
