"""The pure parts of `floatip bench services`: its pool and Services, what a watch of them saw,
and its figures.

`pool_body` and `service_body` are what the benchmark creates; `IngressBook` is what a watch of
the Services saw (each one's ingress addresses, and since when); `moved` compares two
snapshots of the Services' addresses; `result` is the benchmark's JSON contract. No clock, no
I/O.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from floatip.api import names, services
from floatip_lab import naming, webpods

NAMESPACE = webpods.NAMESPACE  # where the lab's web Pods are, so the Services select them
POOL = "bench"
KEYS = (
    "services",
    "allocate_s",
    "answer_s",
    "api_writes_per_s_per_node",
    "etp_local_move_ms",
    "restart_moves",
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


def service_body(name: str, *, policy: str = "Cluster") -> dict[str, Any]:
    """A LoadBalancer Service of floatip's class selecting the lab's web Pods on port 80."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "type": services.LOAD_BALANCER,
            "loadBalancerClass": services.CLASS,
            "selector": dict(webpods.LABELS),
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
                None if etp_local_move_ms is None else round(etp_local_move_ms, 1),
                restart_moves,
            ),
            strict=True,
        )
    )
