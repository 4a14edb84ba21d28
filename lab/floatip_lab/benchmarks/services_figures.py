"""The pure parts of `floatip bench services`: its pool and Services, what a watch of them saw,
and its figures.

`pool_body` and `service_body` are what the benchmark creates; `IngressBook` is what a watch of
the Services saw (each one's ingress addresses, and since when); `moved` compares two
snapshots of the Services' addresses; `result` is the benchmark's JSON contract. `FirstSeen`,
the predicates beside it, `taken_at` and `LocalMove` take a Local Service's move apart: when
the Service's EndpointSlice said the holder's endpoint was not ready, when the operator's
move record and the VirtualIP's status named another node, when the new holder's agent had
the address. No clock, no I/O.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from floatip.api import moves, names, services, status
from floatip_lab import endpointslices, logentries, naming, webpods

NAMESPACE = webpods.NAMESPACE  # where the lab's web Pods are, so the Services select them
POOL = "bench"
#: the Pods the N Services select (``bench-<node>``, one per server, the same nginx as the web
#: Pods): their own backends, so a web Pod's readiness concerns the Local Service alone
BULK_APP = "bench"
KEYS = (
    "services",
    "allocate_s",
    "answer_s",
    "api_writes_per_s_per_node",
    "etp_local_move_ms",
    "restart_moves",
    "etp_local_move_shared_pod_ms",
)


def service_names(count: int) -> list[str]:
    width = max(4, len(str(count)))
    return [f"bench-{i:0{width}d}" for i in range(1, count + 1)]


def vip_name(service: str) -> str:
    """The VirtualIP the operator records a Service's IPv4 address in (`services.vip_name`)."""
    return services.vip_name(NAMESPACE, service, 4)


def pool_body(network: ipaddress.IPv4Network, count: int) -> dict[str, Any]:
    """A pool of the data LAN's first ``count`` addresses free for VIPs (`naming`)."""
    addresses = naming.vip_addresses(network, count)
    return {
        "apiVersion": names.API_VERSION,
        "kind": names.POOL_KIND,
        "metadata": {"name": POOL},
        "spec": {"addresses": [f"{addresses[0]}-{addresses[-1]}"]},
    }


def service_body(name: str, *, policy: str = "Cluster", app: str = BULK_APP) -> dict[str, Any]:
    """A LoadBalancer Service of floatip's class selecting the Pods ``app=<app>`` on port 80."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "type": services.LOAD_BALANCER,
            "loadBalancerClass": services.CLASS,
            "selector": {"app": app},
            "ports": [{"name": "http", "port": webpods.PORT, "protocol": "TCP"}],
            "externalTrafficPolicy": policy,
        },
    }


def ingress(service: Mapping[str, Any]) -> tuple[str, ...]:
    """The addresses of a Service's ``status.loadBalancer.ingress``, in order."""
    points = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return tuple(str(p["ip"]) for p in points if p.get("ip"))


@dataclasses.dataclass
class IngressBook:
    """Each Service's ingress addresses as the watch last saw them, and when they first were
    not empty."""

    ingress: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    since: dict[str, float] = dataclasses.field(default_factory=dict)

    def update(self, kind: str, obj: Mapping[str, Any], at: float) -> None:
        """One watch event (``ADDED``, ``MODIFIED``, ``DELETED``) seen at ``at``."""
        name = str((obj.get("metadata") or {}).get("name"))
        if kind == "DELETED":
            self.ingress.pop(name, None)
            self.since.pop(name, None)
            return
        self.ingress[name] = ingress(obj)
        if self.ingress[name] and name not in self.since:
            self.since[name] = at

    def allocated(self, names_: Iterable[str]) -> list[str]:
        return [n for n in names_ if self.ingress.get(n)]

    def allocated_at(self, names_: Iterable[str]) -> float | None:
        """When the last of ``names_`` got its address (None for no names)."""
        times = [self.since[n] for n in names_ if n in self.since]
        return max(times) if times else None


def moved(
    before: Mapping[str, tuple[str, ...]], after: Mapping[str, tuple[str, ...]]
) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """The Services of ``before`` whose addresses are not the same ``after`` (lost included):
    name -> (before, after)."""
    return {n: (a, after.get(n, ())) for n, a in before.items() if after.get(n, ()) != a}


def result(
    *,
    services_: int,
    allocate_s: float,
    answer_s: float,
    writes_per_s_per_node: float,
    etp_local_move_ms: float | None,
    restart_moves: int,
    etp_local_move_shared_pod_ms: float | None,
) -> dict[str, Any]:
    """The benchmark's JSON contract (README, "Benchmarks": ``floatip bench services``)."""
    return dict(
        zip(
            KEYS,
            (
                services_,
                round(allocate_s, 2),
                round(answer_s, 2),
                round(writes_per_s_per_node, 3),
                _ms(etp_local_move_ms),
                restart_moves,
                _ms(etp_local_move_shared_pod_ms),
            ),
            strict=True,
        )
    )


def _ms(ms: float | None) -> float | None:
    return None if ms is None else round(ms, 1)


@dataclasses.dataclass
class FirstSeen:
    """When a watch first saw, from ``since`` on (set just before the fault), an object for
    which ``test`` holds (None: not yet). A watch's book (`watching.Book`)."""

    test: Callable[[Mapping[str, Any]], bool]
    since: float = math.inf
    at: float | None = None

    def update(self, kind: str, obj: Mapping[str, Any], at: float) -> None:
        if self.at is None and at >= self.since and kind != "DELETED" and self.test(obj):
            self.at = at


def endpoint_not_ready(service: str, node: str) -> Callable[[Mapping[str, Any]], bool]:
    """An EndpointSlice of ``service`` saying ``node``'s endpoint is not ready."""

    def test(slice_: Mapping[str, Any]) -> bool:
        labels = (slice_.get("metadata") or {}).get("labels") or {}
        return labels.get(endpointslices.SERVICE_NAME) == service and any(
            e.get("nodeName") == node and not (e.get("conditions") or {}).get("ready")
            for e in slice_.get("endpoints") or []
        )

    return test


def recorded_elsewhere(vip: str, node: str) -> Callable[[Mapping[str, Any]], bool]:
    """The operator's move record (`floatip.api.moves`) moving ``vip`` to a node not ``node``."""

    def test(configmap: Mapping[str, Any]) -> bool:
        if (configmap.get("metadata") or {}).get("name") != moves.CONFIGMAP:
            return False
        move = moves.decode(configmap).get(vip)
        return move is not None and move.holder not in (None, node)

    return test


def status_elsewhere(vip: str, node: str) -> Callable[[Mapping[str, Any]], bool]:
    """VirtualIP ``vip``'s status naming a holder that is not ``node``."""

    def test(obj: Mapping[str, Any]) -> bool:
        named = (obj.get("metadata") or {}).get("name") == vip
        return named and status.holder(status.of(obj)) not in (None, node)

    return test


def taken_at(log_lines: Iterable[str], vip: str) -> float | None:
    """When an agent's log (JSON lines) says it took ``vip`` last (epoch seconds), if it did."""
    found = None
    for stamp, entry in logentries.entries(log_lines):
        if (entry.get("event"), entry.get("vip")) == ("vip-taken", vip):
            found = stamp
    return found


@dataclasses.dataclass(frozen=True)
class LocalMove:
    """A Local Service's move after ``stop-pod`` on its holder: when each step was seen
    (epoch seconds; None: not seen). The watches' times are when the benchmark's own watch
    saw the write, a little after it was made."""

    fault: float
    not_ready: float | None
    recorded: float | None
    status: float | None
    taken: float | None
    answered: float | None

    def line(self) -> str:
        """Each step's ms after the fault, in order."""
        steps = (
            ("its endpoint not ready in the EndpointSlice", self.not_ready),
            ("the operator's move record", self.recorded),
            ("the VirtualIP's status", self.status),
            ("the new holder's agent took the address", self.taken),
            ("the client answered through it", self.answered),
        )
        return ", ".join(
            f"{what} {'not seen' if at is None else f'+{1000 * (at - self.fault):.0f} ms'}"
            for what, at in steps
        )
