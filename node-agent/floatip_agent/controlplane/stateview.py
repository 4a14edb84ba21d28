"""``GET /state``: what one control-plane node knows, as JSON for people, the lab and tests.

Role, health, term, every peer heard (its last beat, how long ago, whether still live), the
other clusters heard on the port, announcements sent by kind and conflicts seen. The status
report (`floatip.api.controlplane.summary`) is cut from this.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from floatip_agent.controlplane.node import ControlPlaneNode


def state(node: ControlPlaneNode) -> dict[str, Any]:
    now = node.now()
    dead_after = node.profile.dead_after_seconds
    return {
        "node": node.config.node, "clusterId": node.config.cluster_id,
        "address": str(node.config.address), "interface": node.vip.ifname,
        "role": "holder" if node.holding else "backup", "healthy": node.readiness.healthy,
        "term": node.term, "knownTerm": node.hearing.known_term, "leaving": node.leaving,
        "eligible": node.eligible(), "mac": node.link.mac,
        "peers": {
            name: {
                "healthy": beat.healthy, "holding": beat.holding, "term": beat.term,
                "eligible": beat.eligible, "leaving": beat.leaving, "mac": beat.mac,
                "age": round(now - seen, 3), "live": now - seen < dead_after,
            }
            for name, (beat, seen) in sorted(node.hearing.peers.items())
        },
        "foreignClusters": sorted(node.hearing.foreign_clusters),
        "foreignClusterMessages": node.hearing.foreign_messages,
        "announcements": dict(node.guard.sent), "conflicts": node.guard.conflicts,
        "foreignMacs": sorted(node.guard.foreign_macs),
    }  # fmt: skip
