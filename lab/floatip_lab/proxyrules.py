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
`ruleset` is one ``nft -f`` transaction that builds the table anew (an empty plan removes it);
`changes` is a partial sync, one transaction touching only the ingress points that changed.
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


#: An ingress point: (address, protocol, port), the key of the table's maps.
Point = tuple[str, str, int]
SERVICE_IPS = "service-ips"  # point -> goto its chain (DNAT to its backends)
NO_ENDPOINTS = "no-endpoint-services"  # point -> drop (Local) or goto reject-services
_KEY = "type ipv4_addr . inet_proto . inet_service : verdict;"


def point(entry: Entry) -> Point:
    return entry.address, entry.protocol, entry.port


def _element(entry: Entry) -> str:
    return f"{entry.address} . {entry.protocol} . {entry.port}"


def _chain(entry: Entry) -> str:
    return f"svc_{entry.address.replace('.', '_')}_{entry.protocol}_{entry.port}"


def _dnat(entry: Entry) -> str:
    targets = ", ".join(f"{i} : {a} . {p}" for i, (a, p) in enumerate(entry.backends))
    count = len(entry.backends)
    return (f"meta l4proto {entry.protocol} dnat ip to numgen inc mod {count} "
            f'map {{ {targets} }} comment "{entry.service}"')  # fmt: skip


def _verdict(entry: Entry) -> str:
    """Where a point with no backend goes: dropped (Local) or rejected (Cluster)."""
    return "drop" if entry.local else "goto reject-services"


def _removed(entry: Entry) -> list[str]:
    """The commands that take ``entry``'s point out of the table."""
    if not entry.backends:
        return [f"delete element ip {TABLE} {NO_ENDPOINTS} {{ {_element(entry)} }}"]
    return [
        f"delete element ip {TABLE} {SERVICE_IPS} {{ {_element(entry)} }}",
        f"delete chain ip {TABLE} {_chain(entry)}",
    ]


def _added(entry: Entry) -> list[str]:
    """The commands that put ``entry``'s point into the table (absent before)."""
    if not entry.backends:
        return [
            f"add element ip {TABLE} {NO_ENDPOINTS} {{ {_element(entry)} : {_verdict(entry)} }}"
        ]
    chain = _chain(entry)
    return [
        f"add chain ip {TABLE} {chain}",
        f"add rule ip {TABLE} {chain} {_dnat(entry)}",
        f"add element ip {TABLE} {SERVICE_IPS} {{ {_element(entry)} : goto {chain} }}",
    ]


def changes(loaded: Mapping[Point, Entry], plan: Iterable[Entry]) -> str:
    """The ``nft -f`` transaction that turns a table holding ``loaded`` into one holding
    ``plan``, touching only the points that differ, as kube-proxy's partial syncs do ("": none
    differs). A point whose backends changed keeps its map element; its chain is rewritten."""
    wanted = {point(entry): entry for entry in plan}
    commands: list[str] = []
    for key in sorted(loaded.keys() | wanted.keys()):
        old, new = loaded.get(key), wanted.get(key)
        if old == new:
            continue
        if old is not None and new is not None and old.backends and new.backends:
            chain = _chain(new)
            commands += [f"flush chain ip {TABLE} {chain}",
                         f"add rule ip {TABLE} {chain} {_dnat(new)}"]  # fmt: skip
            continue
        commands += (_removed(old) if old is not None else []) + (_added(new) if new else [])
    return "".join(f"{command}\n" for command in commands)


def ruleset(plan: Iterable[Entry]) -> str:
    """An ``nft -f`` script that defines the table anew holding exactly ``plan`` (no table when
    empty): each point's verdict in a map, looked up once per packet, as kube-proxy's nftables
    mode keeps them, so a sync can change one point (`changes`) without the others."""
    entries = list(plan)
    lines = [f"add table ip {TABLE}", f"delete table ip {TABLE}"]
    if not entries:
        return "\n".join(lines) + "\n"
    lookup = "ip daddr . meta l4proto . th dport vmap"
    lines += [
        f"table ip {TABLE} {{",
        f"  map {SERVICE_IPS} {{ {_KEY} }}",
        f"  map {NO_ENDPOINTS} {{ {_KEY} }}",
        "  chain services {",
        "    type nat hook prerouting priority dstnat; policy accept;",
        f"    {lookup} @{SERVICE_IPS}",
        "  }",
        "  chain no-endpoints {",
        "    type filter hook prerouting priority dstnat - 10; policy accept;",
        f"    {lookup} @{NO_ENDPOINTS}",
        "  }",
        "  chain reject-services {",
        "    meta l4proto tcp reject with tcp reset",
        "    reject",
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
    return "\n".join(lines) + "\n" + changes({}, entries)
