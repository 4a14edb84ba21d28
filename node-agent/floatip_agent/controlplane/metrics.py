"""The control-plane agent's Prometheus metrics (``floatip_cp_*``), in a registry of its own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class Metrics:
    """Every metric the control-plane agent exports on ``/metrics``."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.holding = Gauge("floatip_cp_holding", "1 while this node holds the VIP", registry=r)
        self.healthy = Gauge(
            "floatip_cp_apiserver_healthy", "1 healthy, 0 unhealthy, -1 not known yet", registry=r
        )
        self.term = Gauge("floatip_cp_term", "The term of this node's latest claim", registry=r)
        self.peers_live = Gauge(
            "floatip_cp_peers_live", "Peers heard within dead_after", registry=r
        )
        self.claims = Counter("floatip_cp_claims_total", "VIP claims (address added)", registry=r)
        self.releases = Counter(
            "floatip_cp_releases_total", "VIP releases, by why", ["why"], registry=r
        )
        self.probe_refusals = Counter(
            "floatip_cp_probe_refusals_total",
            "Claims given up because a foreign host answered the probe", registry=r,
        )  # fmt: skip
        self.sent = Counter("floatip_cp_heartbeats_sent_total", "Heartbeats sent", registry=r)
        self.received = Counter(
            "floatip_cp_heartbeats_received_total", "Heartbeats of this cluster received",
            registry=r,
        )  # fmt: skip
        self.foreign_cluster = Counter(
            "floatip_cp_foreign_cluster_messages_total",
            "Heartbeats of another cluster id (ignored)", registry=r,
        )  # fmt: skip
        self.rejected = Counter(
            "floatip_cp_rejected_messages_total",
            "Datagrams on the heartbeat port that are no valid heartbeat (or wrong HMAC)",
            registry=r,
        )  # fmt: skip
        self.conflicts = Counter(
            "floatip_cp_conflicts_total", "Claims on the VIP by MACs that are not a peer's",
            registry=r,
        )  # fmt: skip
        self.announcements = Counter(
            "floatip_cp_announcements_total", "Gratuitous ARPs / unsolicited NAs sent, by kind",
            ["kind"], registry=r,
        )  # fmt: skip
        self.checks = Counter(
            "floatip_cp_health_checks_total", "Local /readyz checks, by result", ["result"],
            registry=r,
        )  # fmt: skip
