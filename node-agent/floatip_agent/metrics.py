"""The agent's Prometheus metrics, in a registry of its own (served on ``/metrics``).

A registry per agent, not the library's global one, so several agents in one process (the
lab's benchmarks, tests) never collide. Every label value comes from an enum (or is a
VirtualIP's name), never from a sentence.
"""

from __future__ import annotations

import enum

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class AnnounceKind(enum.StrEnum):
    """The ``kind`` of an announcement sent."""

    BURST = "burst"  # the first and the second burst after a take
    REFRESH = "refresh"  # the periodic refresh while held
    REASSERT = "reassert"  # taking the address back from a foreign claim
    ANSWER = "answer"  # after a host asked for an address in conflict (it may have the wrong MAC)


class HandoffResult(enum.StrEnum):
    STARTED = "started"
    FAILED = "failed"


class Metrics:
    """Every metric the agent exports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.vips_held = Gauge(
            "floatip_agent_vips_held", "VirtualIPs whose address this node holds",
            registry=self.registry,
        )  # fmt: skip
        self.announcements = Counter(
            "floatip_agent_announcements_sent_total",
            "Gratuitous ARPs / unsolicited NAs sent, by kind (burst, refresh, reassert, answer)",
            ["kind"],
            registry=self.registry,
        )
        self.conflicts = Counter(
            "floatip_agent_conflicts_total",
            "Claims by foreign MACs on addresses this node holds or probes",
            ["vip"],
            registry=self.registry,
        )
        self.in_conflict = Gauge(
            "floatip_agent_vips_in_conflict",
            "Held VirtualIPs a foreign host claims now (its status.conflict is set)",
            registry=self.registry,
        )
        self.verifications = Counter(
            "floatip_agent_verification_probes_total",
            "Probes of held addresses sent to draw the answer of any other host holding one",
            registry=self.registry,
        )
        self.apply_seconds = Histogram(
            "floatip_agent_apply_seconds",
            "From taking an assignment to the address added and first announced",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.lease_failures = Counter(
            "floatip_agent_lease_renewal_failures_total",
            "Lease renewals that failed",
            registry=self.registry,
        )
        self.unsure = Gauge(
            "floatip_agent_unsure", "1 while the agent has had no API contact for too long",
            registry=self.registry,
        )  # fmt: skip
        self.releases = Counter(
            "floatip_agent_releases_total",
            "Addresses released, by why (floatip_agent.decisions.Cause)",
            ["why"],
            registry=self.registry,
        )
        self.handoffs = Counter(
            "floatip_agent_flow_handoffs_total",
            "Planned takes that sent stray TCP segments to the previous holder, by result",
            ["result"],
            registry=self.registry,
        )
