"""Prometheus metrics of the operator: VirtualIPs by state, moves, placement time, errors, forged
assignments, leader, each VirtualIPPool's addresses and the LoadBalancer Services by state.

One registry per process (the prometheus_client default), served on ``--metrics-port``. Names
start with ``floatip_operator_`` so a dashboard can tell them from the agent's.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Mapping
from typing import Any

import prometheus_client

from floatip.api import services
from floatip_operator import holdings, statuses


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


#: A VirtualIPPool's addresses per family, as its status counts them (capped alike), reported
#: by the leader only (the replica that writes the statuses): what MetalLB users graph and alert
#: on as ``metallb_allocator_addresses_total`` and ``..._in_use_total``.
POOL_ADDRESSES = prometheus_client.Gauge(
    "floatip_operator_pool_addresses",
    "Addresses a VirtualIPPool hands out, by family (status total; the leader's).",
    ["pool", "family"],
)
POOL_ALLOCATED = prometheus_client.Gauge(
    "floatip_operator_pool_allocated_addresses",
    "A VirtualIPPool's addresses held by a VirtualIP, by family (status allocated).",
    ["pool", "family"],
)
POOL_AVAILABLE = prometheus_client.Gauge(
    "floatip_operator_pool_available_addresses",
    "A VirtualIPPool's addresses left to hand out, by family (status available): neither "
    "allocated nor in use on the wire.",
    ["pool", "family"],
)
POOL_IN_USE_ON_WIRE = prometheus_client.Gauge(
    "floatip_operator_pool_in_use_on_wire_addresses",
    "A VirtualIPPool's addresses a foreign host answered for (status inUseOnWire).",
    ["pool"],
)
_FAMILIES = {"ipv4": "IPv4", "ipv6": "IPv6"}
_reported_pools: set[str] = set()


def set_pools(pool_statuses: Mapping[str, Mapping[str, Any]]) -> None:
    """Report these pools' counts (their statuses, by name) and drop every other pool's series:
    a pool deleted, or this replica no longer the leader (``{}``)."""
    for name in _reported_pools - set(pool_statuses):
        for gauge in (POOL_ADDRESSES, POOL_ALLOCATED, POOL_AVAILABLE):
            for family in _FAMILIES.values():
                _remove(gauge, name, family)
        _remove(POOL_IN_USE_ON_WIRE, name)
    for name, pool_status in pool_statuses.items():
        for key, family in _FAMILIES.items():
            counts = pool_status.get(key)
            if not isinstance(counts, Mapping):  # no such family, or an invalid spec: none
                for gauge in (POOL_ADDRESSES, POOL_ALLOCATED, POOL_AVAILABLE):
                    _remove(gauge, name, family)
                continue
            POOL_ADDRESSES.labels(pool=name, family=family).set(counts.get("total", 0))
            POOL_ALLOCATED.labels(pool=name, family=family).set(counts.get("allocated", 0))
            POOL_AVAILABLE.labels(pool=name, family=family).set(counts.get("available", 0))
        POOL_IN_USE_ON_WIRE.labels(pool=name).set(len(pool_status.get("inUseOnWire") or ()))
    _reported_pools.clear()
    _reported_pools.update(pool_statuses)


def _remove(gauge: prometheus_client.Gauge, *labels: str) -> None:
    with contextlib.suppress(KeyError):  # never reported so: older prometheus_client raise
        gauge.remove(*labels)


#: The LoadBalancer Services floatip serves, as the leader's newest plan left them.
SERVICES = prometheus_client.Gauge(
    "floatip_operator_services",
    "LoadBalancer Services floatip serves, by allocation state: allocated (every family it "
    "requires has an address), pending, failed (the leader's).",
    ["state"],
)
SERVICES_FAILED = prometheus_client.Gauge(
    "floatip_operator_services_failed",
    "Services whose allocation failed, by reason (their AllocationFailed: PoolExhausted...).",
    ["reason"],
)
#: Every reason an allocation fails with, each reported at 0 while no Service fails so: a
#: series that appeared only with its first failure would give an alert no baseline.
_FAILURE_REASONS = [
    reason
    for reason in services.Reason
    if reason
    not in (
        services.Reason.ALLOCATED,
        services.Reason.OUTSIDE_POOL,
        services.Reason.ANNOUNCED,
        services.Reason.PENDING,
    )
]


def set_services(tally: holdings.Tally | None) -> None:
    """Report the Services of the newest plan (None: not the leader, or no plan: all 0)."""
    for state in (holdings.ALLOCATED, holdings.PENDING, holdings.FAILED):
        SERVICES.labels(state=state).set(tally.states.get(state, 0) if tally else 0)
    for reason in _FAILURE_REASONS:
        SERVICES_FAILED.labels(reason=reason.value).set(
            tally.failures.get(reason, 0) if tally else 0
        )


def set_states(counts: Mapping[statuses.State, int]) -> None:
    for state in statuses.State:
        VIPS.labels(state=state.value).set(counts.get(state, 0))


def serve(*, port: int, host: str = "0.0.0.0") -> None:
    """Serve /metrics in a background thread (port 0: do not serve)."""
    if port:
        prometheus_client.start_http_server(port, addr=host)
