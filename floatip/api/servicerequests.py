"""What a Service asks of floatip, read from its body (pure): whether it is floatip's, and which
addresses, pool and families it wants.

docs/services.md "Which Services" and "Asking for an address". A Service is floatip's when it
is ``type: LoadBalancer`` and its class is `services.CLASS`, or it has none and the operator
serves class-less Services (``default_class``). Its request: the families of ``spec.ipFamilies``
(the API server fills them in; one VirtualIP per family; with ``ipFamilyPolicy:
PreferDualStack`` only the first is required), the addresses of annotation
`services.ADDRESSES_ANNOTATION` (at most one per family, each of a family the Service has) or
else of the deprecated ``spec.loadBalancerIP``, and the pool of `services.POOL_ANNOTATION`. A
request that cannot be met as written keeps ``problems`` (a sentence saying what to write):
the allocator reports it and allocates nothing new, but never takes back what it holds.
`problems` gives the same sentences one by one, for ``floatip validate`` (`floatip.api.validation`),
so a manifest is judged before it reaches a cluster exactly as the operator will judge it.

What sharing an address (`services.SHARING_KEY_ANNOTATION`) compares is read here too: the
Service's ports as (protocol, port), whether its ``externalTrafficPolicy`` is Local, and its
pod selector (docs/services.md "Sharing an address").
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping
from typing import Any

from floatip.api import addresses, labels, services

IPAddress = addresses.IPAddress


@dataclasses.dataclass(frozen=True)
class Request:
    """One floatip Service's request, in the terms the allocator decides in."""

    namespace: str
    name: str
    uid: str = ""
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: IP versions wanted (4, 6) in the Service's order: ingress lists them so.
    families: tuple[int, ...] = (4,)
    #: How many of ``families`` must be allocated (the rest are allocated when possible).
    required: int = 1
    #: Requested addresses, at most one per family.
    addresses: tuple[IPAddress, ...] = ()
    pool: str | None = None
    #: ``metadata.creationTimestamp``: older Services are served first.
    created: str = ""
    problems: str = ""
    #: `services.SHARING_KEY_ANNOTATION` (None: the Service shares its address with nobody).
    sharing_key: str | None = None
    #: ``spec.ports`` as (protocol, port): two Services sharing an address may not overlap.
    ports: frozenset[tuple[str, int]] = frozenset()
    #: ``spec.externalTrafficPolicy`` is Local (`services.LOCAL`).
    local: bool = False
    #: ``spec.selector``, sorted: two Local Services share only when they select the same pods.
    selector: tuple[tuple[str, str], ...] = ()
    #: The addresses its ``status.loadBalancer.ingress`` shows: handed out, so never moved.
    shown: frozenset[IPAddress] = frozenset()

    @property
    def key(self) -> str:
        return services.key(self.namespace, self.name)

    def requested(self, version: int) -> IPAddress | None:
        return next((a for a in self.addresses if a.version == version), None)


def is_floatips(body: Mapping[str, Any], *, default_class: bool) -> bool:
    """Whether floatip serves this Service (whatever its deletion state)."""
    spec = body.get("spec")
    if not isinstance(spec, Mapping) or spec.get("type") != services.LOAD_BALANCER:
        return False
    cls = spec.get("loadBalancerClass")
    return cls == services.CLASS if cls else default_class


def being_deleted(body: Mapping[str, Any]) -> bool:
    return bool((body.get("metadata") or {}).get("deletionTimestamp"))


def read(body: Mapping[str, Any]) -> Request:
    """The request of a Service floatip serves (`is_floatips`)."""
    return _read(body)[0]


def problems(body: Mapping[str, Any]) -> list[str]:
    """What a Service floatip serves asks for that cannot be met as written, one sentence each
    (`Request.problems` joins them)."""
    return _read(body)[1]


def _read(body: Mapping[str, Any]) -> tuple[Request, list[str]]:
    meta = body.get("metadata") or {}
    spec = body.get("spec") or {}
    annotations = meta.get("annotations") or {}
    found: list[str] = []
    families = _families(spec, found)
    required = 1 if spec.get("ipFamilyPolicy") == "PreferDualStack" else len(families)
    wanted = _addresses(annotations, spec, families, found)
    pool = annotations.get(services.POOL_ANNOTATION)
    if pool is not None and (not pool or labels.dns_subdomain_problem(pool)):
        found.append(
            f"annotation {services.POOL_ANNOTATION} is {pool!r}, not a pool's name: write the "
            "name of a VirtualIPPool (kubectl get vippool)"
        )
        pool = None
    request = Request(
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        uid=str(meta.get("uid") or ""),
        labels=dict(meta.get("labels") or {}),
        families=families,
        required=required,
        addresses=wanted,
        pool=pool,
        created=str(meta.get("creationTimestamp") or ""),
        problems="; ".join(found),
        sharing_key=str(annotations.get(services.SHARING_KEY_ANNOTATION) or "").strip() or None,
        ports=_ports(spec),
        local=spec.get("externalTrafficPolicy") == services.LOCAL,
        selector=tuple(sorted((str(k), str(v)) for k, v in (spec.get("selector") or {}).items())),
        shown=_shown(body.get("status")),
    )
    return request, found


def _shown(current: object) -> frozenset[IPAddress]:
    """The addresses ``status.loadBalancer.ingress`` lists (those that parse)."""
    balancer = current.get("loadBalancer") if isinstance(current, Mapping) else None
    points = balancer.get("ingress") if isinstance(balancer, Mapping) else None
    found = set()
    for point in points if isinstance(points, list) else ():
        if isinstance(point, Mapping):
            with contextlib.suppress(addresses.AddressError):
                found.add(addresses.parse_host(str(point.get("ip"))))
    return frozenset(found)


def _ports(spec: Mapping[str, Any]) -> frozenset[tuple[str, int]]:
    found = set()
    for port in spec.get("ports") or []:
        if isinstance(port, Mapping) and isinstance(port.get("port"), int):
            found.add((str(port.get("protocol") or "TCP"), int(port["port"])))
    return frozenset(found)


def _families(spec: Mapping[str, Any], problems: list[str]) -> tuple[int, ...]:
    found: list[int] = []
    for family in spec.get("ipFamilies") or ["IPv4"]:
        version = services.FAMILIES.get(str(family))
        if version is None:
            problems.append(f"spec.ipFamilies has {family!r}: floatip knows IPv4 and IPv6")
        elif version not in found:
            found.append(version)
    return tuple(found) or (4,)


def _addresses(
    annotations: Mapping[str, Any],
    spec: Mapping[str, Any],
    families: tuple[int, ...],
    problems: list[str],
) -> tuple[IPAddress, ...]:
    text = annotations.get(services.ADDRESSES_ANNOTATION)
    where = f"annotation {services.ADDRESSES_ANNOTATION}"
    if text is None and spec.get("loadBalancerIP"):
        text, where = str(spec["loadBalancerIP"]), "spec.loadBalancerIP"
    if text is None:
        return ()
    found: list[IPAddress] = []
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        try:
            address = addresses.parse_host(part)
        except addresses.AddressError as exc:
            problems.append(f"{where}: {part!r} is not a usable address ({exc})")
            continue
        if any(a.version == address.version for a in found):
            problems.append(
                f"{where} names two IPv{address.version} addresses: give at most one per family"
            )
        elif address.version not in families:
            problems.append(
                f"{where} names {address}, but the Service's spec.ipFamilies has no "
                f"IPv{address.version}: set ipFamilies (and ipFamilyPolicy) to include it"
            )
        else:
            found.append(address)
    return tuple(found)
