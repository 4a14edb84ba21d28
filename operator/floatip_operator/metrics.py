"""Prometheus metrics of the operator: VirtualIPs by state, moves, placement time, errors, forged
assignments, leader.

One registry per process (the prometheus_client default), served on ``--metrics-port``. Names
start with ``floatip_operator_`` so a dashboard can tell them from the agent's.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import prometheus_client

from floatip_operator import statuses


class ErrorKind(enum.StrEnum):
    """The ``kind`` label of reconcile errors."""

    CONFLICT = "conflict"  # a lost race: the write's precondition failed
    API = "api"  # the API refused or did not answer
    PASS = "pass"  # a reconcile pass raised


VIPS = prometheus_client.Gauge(
    "floatip_operator_virtualips",
    "VirtualIPs by state: ready, pending (assigned, not announced yet), unassigned, "
    "duplicate, invalid.",
    ["state"],
)
MOVES = prometheus_client.Counter(
    "floatip_operator_moves_total", "Holder changes written, by reason.", ["reason"]
)
PLACEMENT = prometheus_client.Histogram(
    "floatip_operator_placement_seconds",
    "Time of one full placement computation.",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
ERRORS = prometheus_client.Counter(
    "floatip_operator_reconcile_errors_total",
    "Failed status writes and reconcile passes, by kind (conflict, api).",
    ["kind"],
)
FORGED = prometheus_client.Counter(
    "floatip_operator_forged_assignments_total",
    "Statuses showing a holder or epoch the operator never assigned, put back, by what differed "
    "(holder, epoch, holder-and-epoch, history).",
    ["finding"],
)
LEADER = prometheus_client.Gauge(
    "floatip_operator_leader", "1 while this replica is the active leader, else 0."
)
RECORD_WRITES = prometheus_client.Counter(
    "floatip_operator_move_record_writes_total",
    "Writes of the move record (ConfigMap floatip-moves), by what they carried: moves (a pass "
    "decided moves), fence (a new leader's first write) or prune (caught-up moves removed).",
    ["kind"],
)
FAILOVER_CRITICAL_WRITES = prometheus_client.Counter(
    "floatip_operator_failover_critical_writes_total",
    "API writes a failover's successors wait for before they take: one move record write per "
    "pass that fails VirtualIPs over, however many (their statuses follow behind).",
)
AGENTS_ALIVE = prometheus_client.Gauge(
    "floatip_operator_agents_alive", "Agents whose /healthz poll verdict is alive."
)


def set_states(counts: Mapping[statuses.State, int]) -> None:
    for state in statuses.State:
        VIPS.labels(state=state.value).set(counts.get(state, 0))


def serve(*, port: int, host: str = "0.0.0.0") -> None:
    """Serve /metrics in a background thread (port 0: do not serve)."""
    if port:
        prometheus_client.start_http_server(port, addr=host)
