"""What one control-plane node has heard on the heartbeat port (pure: no sockets, no clock).

Every datagram goes through `Hearing.hear`: a beat of this cluster updates that peer's latest
beat and the highest term seen; a beat of another cluster id is counted and never used (one
log line per cluster); a datagram that is no valid beat (or fails the HMAC) is rejected; our
own beat, looped back by broadcast, is ignored, and another host using our node name is one
error line per sender. It also remembers since when each holder has reported a failed
apiserver, for the election's "Confirm" rule.
"""

from __future__ import annotations

import enum

import structlog

from floatip_agent.controlplane import election, heartbeat

log = structlog.get_logger(__name__)


class Heard(enum.StrEnum):
    PEER = "peer"
    FOREIGN = "foreign"  # another cluster's beat
    REJECTED = "rejected"  # no valid beat for our key
    SELF = "self"


class Hearing:
    """Every peer's latest beat (with when it arrived) and what else was heard."""

    def __init__(self, *, cluster_id: str, node: str, mac: str, key: bytes | None) -> None:
        self.cluster_id = cluster_id
        self.node = node
        self.mac = mac
        self.key = key
        self.peers: dict[str, tuple[heartbeat.Beat, float]] = {}
        self.known_term = 0
        self.foreign_clusters: set[str] = set()
        self.foreign_messages = 0
        self.duplicates: set[str] = set()  # senders using our node name
        self.failed_since: dict[str, float] = {}  # holders whose apiserver failed: since when

    def hear(self, data: bytes, sender: str, *, now: float) -> Heard:
        beat = heartbeat.decode(data, key=self.key)
        if beat is None:
            return Heard.REJECTED
        if beat.cluster != self.cluster_id:
            self.foreign_messages += 1
            if beat.cluster not in self.foreign_clusters:
                self.foreign_clusters.add(beat.cluster)
                log.info("foreign-cluster-heard", cluster=beat.cluster, sender=sender,
                         node=beat.node, action="ignored")  # fmt: skip
            return Heard.FOREIGN
        if beat.node == self.node:
            if beat.mac != self.mac and sender not in self.duplicates:
                self.duplicates.add(sender)
                log.error("duplicate-node-name", node=beat.node, sender=sender, mac=beat.mac,
                          detail="another host uses this node name; give each --node a "
                          "unique name, or the election cannot order them")  # fmt: skip
            return Heard.SELF
        self.peers[beat.node] = (beat, now)
        if beat.holding and beat.healthy is False:
            self.failed_since.setdefault(beat.node, now)
        else:
            self.failed_since.pop(beat.node, None)
        self.known_term = max(self.known_term, beat.term)
        return Heard.PEER

    def live(self, *, now: float, dead_after: float) -> list[heartbeat.Beat]:
        return election.live(self.peers, now=now, dead_after=dead_after)

    def macs(self) -> set[str]:
        """Every peer's MAC ever heard: their answers to a probe are no intruder's."""
        return {beat.mac for beat, _ in self.peers.values()}

    def failure_reported(self) -> float:
        """The latest moment a holder first reported its apiserver failed (-inf: none)."""
        return max(self.failed_since.values(), default=float("-inf"))
