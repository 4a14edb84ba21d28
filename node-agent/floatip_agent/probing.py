"""Asking the LAN whether anyone already holds an address before taking it (RFC 5227 style; pure).

DESIGN.md safety 5: "before first claiming an address, probe for it and refuse to take an
address that a foreign host already answers for". The probe sends ARP probes (sender IP
0.0.0.0) or DAD neighbour solicitations and listens for claims on the address for a short
window. A host holding the address answers (an ARP reply, or an NA to all nodes).

Cluster peers are not intruders: during a planned switchover the previous holder still
answers (DESIGN.md "Announcing"). The caller passes the MACs its peers publish; those
answers are reported apart as `ProbeResult.peers` and never make the address unavailable.

RFC 5227's own timing (3 probes over 1-2 s) is far too slow for a sub-second failover, so
the count, spacing and listening window are the agent's settings (``--profile``). This
module judges what came back; `floatip_agent.links` sends the probes and gathers the claims.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import NamedTuple

from floatip_agent import addressing, claims


class ProbeResult(NamedTuple):
    """Who answered for the address: foreign hosts and cluster peers, by MAC."""

    foreign: frozenset[str]
    peers: frozenset[str]

    @property
    def free(self) -> bool:
        """Whether no foreign host answered: the address may be taken."""
        return not self.foreign


def classify(
    seen: Iterable[claims.Claim],
    *,
    address: addressing.IPAddress,
    own_mac: str,
    peer_macs: Collection[str],
) -> ProbeResult:
    """Sort the claims on `address` (others are ignored) into foreign and peer MACs."""
    peers = {mac.lower() for mac in peer_macs}
    macs = {claim.mac for claim in seen if claim.address == address} - {own_mac.lower()}
    return ProbeResult(foreign=frozenset(macs - peers), peers=frozenset(macs & peers))
