"""What kube-proxy installs on a node for Services' load-balancer addresses, as pure functions.

The lab's kube-proxy stand-in (`floatip_lab.kubeproxy`) turns the Services and EndpointSlices
it watches into one nftables table per node, computed here; it covers what the lab's client
reaches, a Service's ``status.loadBalancer.ingress[].ip`` (IPv4, ``ipMode`` VIP or unset, as
kube-proxy skips ``Proxy``) on each Service port, and nothing else (no cluster IPs, node
ports or IPv6). Per ingress point, as kube-proxy's nftables mode decides:

- the endpoints are those of the Service's slices carrying the port (by the Service port's
  name), ``ready`` (unset counts as ready); if none is ready, the serving and terminating
  ones (kube-proxy's fallback for terminating endpoints);
- ``externalTrafficPolicy: Local`` keeps only those whose ``nodeName`` is this node, and none
  means the traffic is dropped (the node must not answer for a Service it has no pod of);
  ``Cluster`` keeps them all, and none means a reject (TCP reset, ICMP port unreachable);
- the traffic is DNATed to the endpoints in turn (``numgen inc``: round robin; kube-proxy
  draws at random, the lab takes turns so a test sees every endpoint in a few requests).

An endpoint on another node is reached by forwarding: the table masquerades what it DNATed
when it leaves the node (so the reply comes back through it, as kube-proxy masquerades
external traffic under ``Cluster``) and its forward chain passes only DNATed traffic, so a
node that forwards for a Service still drops a packet for an address it no longer holds.
`ruleset` is one ``nft -f`` transaction; an empty plan removes the table.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from floatip_lab import endpointslices

TABLE = "floatip_lab_kubeproxy"


@dataclasses.dataclass(frozen=True)
class Entry:
    """One load-balancer address and port of a Service, and where its traffic goes."""

    address: str
    protocol: str  # "tcp" or "udp"
    port: int
    backends: tuple[tuple[str, int], ...]  # (address, port), in turn
    local: bool  # externalTrafficPolicy Local: no backend means drop, not reject
    service: str  # namespace/name, for the rule's comment


def _ingress(service: Mapping[str, Any]) -> list[str]:
    points = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    found = []
    for point in points:
        ip = point.get("ip")
        if ip and point.get("ipMode", "VIP") == "VIP" and ipaddress.ip_address(ip).version == 4:
            found.append(str(ip))
    return found


def _backends(
    slices: list[Mapping[str, Any]], port_name: str, protocol: str, node: str | None
) -> tuple[tuple[str, int], ...]:
    ready, fallback = set(), set()
    for slice_ in slices:
        numbers = [
            p.get("port")
            for p in slice_.get("ports") or []
            if (p.get("name") or "") == port_name and p.get("protocol", "TCP") == protocol
        ]
        if slice_.get("addressType") != "IPv4" or not numbers:
            continue
        for endpoint in slice_.get("endpoints") or []:
            if node is not None and endpoint.get("nodeName") != node:
                continue
            conditions = endpoint.get("conditions") or {}
            is_ready = conditions.get("ready") is not False
            serving = conditions.get("serving", is_ready) is not False
            pairs = {(str(a), int(numbers[0])) for a in endpoint.get("addresses") or []}
            if is_ready:
                ready |= pairs
            elif serving and conditions.get("terminating"):
                fallback |= pairs
    return tuple(sorted(ready or fallback, key=lambda p: (ipaddress.ip_address(p[0]), p[1])))


def owner_key(slice_: Mapping[str, Any]) -> tuple[str, str] | None:
    """The Service a slice belongs to (its ``kubernetes.io/service-name`` label), if any."""
    meta = slice_.get("metadata") or {}
    owner = (meta.get("labels") or {}).get(endpointslices.SERVICE_NAME)
    return (str(meta.get("namespace")), str(owner)) if owner else None


def slices_by_service(
    slices: Iterable[Mapping[str, Any]],
) -> dict[tuple[str, str], list[Mapping[str, Any]]]:
    found: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for slice_ in slices:
        owner = owner_key(slice_)
        if owner is not None:
            found.setdefault(owner, []).append(slice_)
    return found


def service_entries(
    service: Mapping[str, Any], slices: list[Mapping[str, Any]], node: str
) -> list[Entry]:
    """Every ingress point of one Service and its backends, as seen from ``node`` (``slices``:
    the Service's own)."""
    spec = service.get("spec") or {}
    name = "/".join(endpointslices.service_key(service))
    local = spec.get("externalTrafficPolicy") == "Local"
    addresses = _ingress(service)
    if not addresses:
        return []
    found = []
    for port in spec.get("ports") or []:
        protocol = str(port.get("protocol", "TCP"))
        if protocol not in ("TCP", "UDP"):
            continue
        backends = _backends(slices, port.get("name") or "", protocol, node if local else None)
        for address in addresses:
            found.append(Entry(address, protocol.lower(), int(port["port"]), backends, local, name))
    return sorted(found, key=_order)


def _order(entry: Entry) -> tuple[str, ipaddress.IPv4Address | ipaddress.IPv6Address, int]:
    return entry.service, ipaddress.ip_address(entry.address), entry.port


def entries(
    services: Iterable[Mapping[str, Any]], slices: Iterable[Mapping[str, Any]], node: str
) -> list[Entry]:
    """Every ingress point of ``services`` and its backends, as seen from ``node``."""
    by_service = slices_by_service(slices)
    found = []
    for service in services:
        found += service_entries(
            service, by_service.get(endpointslices.service_key(service), []), node
        )
    return sorted(found, key=_order)


class Programme:
    """What a node's table holds, kept per Service as kube-proxy's change trackers keep it: a
    sync recomputes only the Services named since (their own object or one of their slices
    changed), so it costs what changed, not every Service there is."""

    def __init__(self, node: str) -> None:
        self.node = node
        self._rules: dict[tuple[str, str], list[Entry]] = {}

    def update(
        self,
        keys: Iterable[tuple[str, str]],
        services: Mapping[tuple[str, str], Mapping[str, Any]],
        slices: Mapping[tuple[str, str], list[Mapping[str, Any]]],
    ) -> None:
        """Recompute the Services ``keys`` from ``services`` (by key; a missing key is gone)
        and ``slices`` (by owning Service)."""
        for key in keys:
            service = services.get(key)
            found = service_entries(service, slices.get(key, []), self.node) if service else []
            if found:
                self._rules[key] = found
            else:
                self._rules.pop(key, None)

    def keys(self) -> list[tuple[str, str]]:
        """The Services with an entry."""
        return list(self._rules)

    def plan(self) -> list[Entry]:
        """Every entry, in `entries`' order."""
        return [entry for key in sorted(self._rules, key="/".join) for entry in self._rules[key]]


def _rule(entry: Entry) -> tuple[str, str]:
    """(the nat rule, the filter rule): one of them is empty."""
    match = f"ip daddr {entry.address} {entry.protocol} dport {entry.port}"
    comment = f'comment "{entry.service}"'
    if not entry.backends:
        if entry.local:
            return "", f"{match} drop {comment}"
        reject = "reject with tcp reset" if entry.protocol == "tcp" else "reject"
        return "", f"{match} {reject} {comment}"
    targets = ", ".join(f"{i} : {a} . {p}" for i, (a, p) in enumerate(entry.backends))
    count = len(entry.backends)
    return f"{match} dnat ip to numgen inc mod {count} map {{ {targets} }} {comment}", ""


def ruleset(plan: Iterable[Entry]) -> str:
    """An ``nft -f`` script that makes the table hold exactly ``plan`` (no table when empty)."""
    rules = [_rule(entry) for entry in plan]
    lines = [f"add table ip {TABLE}", f"delete table ip {TABLE}"]
    if not rules:
        return "\n".join(lines) + "\n"
    nat = [f"    {r}" for r, _ in rules if r]
    drops = [f"    {r}" for _, r in rules if r]
    lines += [
        f"table ip {TABLE} {{",
        "  chain services {",
        "    type nat hook prerouting priority dstnat; policy accept;",
        *nat,
        "  }",
        "  chain no-endpoints {",
        "    type filter hook prerouting priority dstnat - 10; policy accept;",
        *drops,
        "  }",
        "  chain forward {",
        "    type filter hook forward priority filter; policy drop;",
        "    ct status dnat accept",
        "  }",
        "  chain masquerading {",
        "    type nat hook postrouting priority srcnat; policy accept;",
        "    ct status dnat masquerade",
        "  }",
        "}",
    ]
    return "\n".join(lines) + "\n"
