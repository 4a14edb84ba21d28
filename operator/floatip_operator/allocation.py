"""Which addresses floatip Services hold, from the Services, pools and every VirtualIP (pure).

docs/services.md "Allocation never moves". The VirtualIPs ARE the allocation state: a VirtualIP
annotated `services.SERVICES_ANNOTATION` with a Service's key is that Service's address, and
`plan` starts from them, so an operator restart, a pool edit or another Service's deletion
leaves every address where it is (MetalLB #2443, #2479, #2723, #2449 moved them). A held
address is given up only when its Service stops asking for it: the Service is gone or no longer
floatip's, it no longer has that family, or it asks for another address or pool (then the
new one is checked first, and the old one released only when the new can be had). An address
whose pool was edited or deleted stays, flagged ``outside``.

New allocations go to Services oldest first (then by key), each family in turn: the requested
address (annotation or ``spec.loadBalancerIP``) from the first pool by `pools.priority_order`
that holds it, or the lowest free address (`pools.Pool.next_free`) of the named pool or of
the first pool that may serve the Service (``autoAssign``, ``serviceSelector``,
``namespaceSelector``) and has one. An address is free when no VirtualIP has it, standalone,
allocated or being deleted, and nothing earlier in the plan took it. The same inputs always
give the same plan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from floatip.api import addresses, model, names, pools, services, validation
from floatip_operator.servicerequests import Request

IPAddress = addresses.IPAddress
Why = services.Reason


@dataclasses.dataclass(frozen=True)
class PoolView:
    """One pool as allocation reads it; ``spec`` is None while the pool is invalid."""

    name: str
    spec: model.VirtualIPPoolSpec | None
    template: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def order(self) -> tuple[int, int, str]:
        return pools.priority_order(self.spec.priority if self.spec else None, self.name)

    def allows(self, request: Request, namespace_labels: Mapping[str, str] | None) -> bool:
        """Whether the pool's selectors let ``request``'s Service draw from it (an unknown
        namespace passes no namespace selector)."""
        spec = self.spec
        if spec is None:
            return False
        if spec.service_selector and not spec.service_selector.matches(dict(request.labels)):
            return False
        return not spec.namespace_selector or (
            namespace_labels is not None and spec.namespace_selector.matches(dict(namespace_labels))
        )


class VipView(NamedTuple):
    """One VirtualIP as allocation reads it."""

    name: str
    address: IPAddress
    pool: str | None = None
    services: tuple[str, ...] = ()
    deleting: bool = False


class Held(NamedTuple):
    """An address a Service holds (or will once its VirtualIP is created)."""

    vip: str
    address: IPAddress
    pool: str
    outside: bool = False


class Failure(NamedTuple):
    reason: services.Reason
    message: str


class NewVip(NamedTuple):
    """A VirtualIP to create: the allocation of ``address`` to the Service ``service``."""

    name: str
    address: IPAddress
    pool: str
    service: str
    template: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class Result:
    """What one Service holds after the plan, and why not more."""

    held: tuple[Held, ...] = ()
    failure: Failure | None = None
    #: Waiting for an old VirtualIP of the same name to be deleted before creating the new.
    waiting: bool = False


@dataclasses.dataclass
class Plan:
    results: dict[str, Result] = dataclasses.field(default_factory=dict)
    creates: list[NewVip] = dataclasses.field(default_factory=list)
    #: VirtualIPs to delete (their Services no longer ask for them), with why.
    deletes: dict[str, str] = dataclasses.field(default_factory=dict)


def pool_view(body: Mapping[str, Any]) -> PoolView:
    name = str((body.get("metadata") or {}).get("name"))
    try:
        spec = validation.parse_pool_spec(body.get("spec"))
    except validation.InvalidSpecError:
        return PoolView(name, None)
    return PoolView(name, spec, dict((body.get("spec") or {}).get("template") or {}))


def vip_view(body: Mapping[str, Any]) -> VipView | None:
    """None when the VirtualIP's address does not parse (it takes no address then)."""
    meta = body.get("metadata") or {}
    spec = body.get("spec")
    text = spec.get("address") if isinstance(spec, Mapping) else None
    try:
        address = addresses.parse_address(str(text)).ip
    except addresses.AddressError:
        return None
    pool = (meta.get("labels") or {}).get(names.POOL_LABEL)
    listed = (meta.get("annotations") or {}).get(services.SERVICES_ANNOTATION) or ""
    return VipView(
        name=str(meta.get("name")),
        address=address,
        pool=str(pool) if pool else None,
        services=tuple(s.strip() for s in str(listed).split(",") if s.strip()),
        deleting=bool(meta.get("deletionTimestamp")),
    )


def plan(
    requests: Iterable[Request],
    pool_list: Sequence[PoolView],
    vips: Iterable[VipView],
    namespaces: Mapping[str, Mapping[str, str]],
) -> Plan:
    """Every floatip Service's addresses (``requests``: those floatip serves, not being
    deleted), the VirtualIPs to create and those to delete."""
    ordered = sorted(requests, key=lambda r: (r.created, r.key))
    live = {r.key for r in ordered}
    vip_list = list(vips)
    by_name = {v.name: v for v in vip_list}
    taken = {v.address for v in vip_list}
    mine: dict[str, list[VipView]] = {}
    result = Plan()
    for vip in vip_list:
        if vip.deleting or not vip.services:
            continue
        if not any(key in live for key in vip.services):
            result.deletes[vip.name] = "its Service is gone or no longer served by floatip"
        for key in vip.services:
            mine.setdefault(key, []).append(vip)
    sorted_pools = sorted(pool_list, key=lambda p: p.order)
    for request in ordered:
        chooser = _Chooser(request, sorted_pools, namespaces.get(request.namespace), taken)
        result.results[request.key] = _one(
            request, mine.get(request.key, []), by_name, chooser, result
        )
    return result


def _one(
    request: Request,
    held_vips: list[VipView],
    by_name: Mapping[str, VipView],
    chooser: _Chooser,
    result: Plan,
) -> Result:
    kept: dict[int, Held] = {}
    extra: list[VipView] = []
    for vip in sorted(held_vips, key=lambda v: v.name):
        if vip.address.version in kept:
            extra.append(vip)
            continue
        outside = not chooser.in_pool(vip.address, vip.pool)
        kept[vip.address.version] = Held(vip.name, vip.address, vip.pool or "", outside)
    if request.problems:  # a mistake in the Service never takes back what it holds
        return Result(tuple(kept.values()), Failure(Why.INVALID_REQUEST, request.problems))
    for vip in extra:
        result.deletes.setdefault(vip.name, f"the Service holds another IPv{vip.address.version}")
    for version in [v for v in kept if v not in request.families]:
        result.deletes.setdefault(
            kept.pop(version).vip, f"the Service has no IPv{version} any more"
        )
    held: list[Held] = []
    new: list[NewVip] = []
    replaced: list[str] = []
    failure: Failure | None = None
    for index, version in enumerate(request.families):
        current = kept.get(version)
        if current is not None and chooser.satisfied_by(current):
            held.append(current)
            continue
        choice = chooser.choose(version)
        if isinstance(choice, Failure):
            if current is not None:
                held.append(current)  # keep what it has until the new can be had
            if index < request.required and failure is None:
                failure = choice
            continue
        address, pool = choice
        name = services.vip_name(request.namespace, request.name, version)
        occupant = by_name.get(name)
        if current is not None:
            replaced.append(current.vip)
        if occupant is not None and request.key not in occupant.services:
            failure = failure or Failure(
                Why.NAME_TAKEN,
                f"a VirtualIP named {name} exists and is not this Service's: rename or delete it",
            )
            continue
        if occupant is not None:  # ours, being deleted (or replaced now): create it after
            continue
        new.append(NewVip(name, address, pool.name, request.key, pool.template))
        held.append(Held(name, address, pool.name))
    if failure is not None:
        return Result(tuple(kept.values()), failure)
    for name in replaced:
        result.deletes.setdefault(name, "the Service asks for another address or pool")
    chooser.taken.update(created.address for created in new)
    result.creates.extend(new)
    waiting = len(held) < len(request.families) and bool(replaced or _waits(request, by_name))
    return Result(tuple(held), None, waiting)


def _waits(request: Request, by_name: Mapping[str, VipView]) -> bool:
    return any(
        (vip := by_name.get(services.vip_name(request.namespace, request.name, v))) is not None
        and vip.deleting
        for v in request.families
    )


class _Chooser:
    """Picks addresses for one Service from the pools, against the addresses taken."""

    def __init__(
        self,
        request: Request,
        sorted_pools: Sequence[PoolView],
        namespace_labels: Mapping[str, str] | None,
        taken: set[IPAddress],
    ) -> None:
        self.request = request
        self.pools = sorted_pools
        self.namespace_labels = namespace_labels
        self.taken = taken
        self.by_name = {p.name: p for p in sorted_pools}

    def in_pool(self, address: IPAddress, pool: str | None) -> bool:
        view = self.by_name.get(pool or "")
        return view is not None and view.spec is not None and view.spec.pool.includes(address)

    def satisfied_by(self, held: Held) -> bool:
        """Whether what the Service holds still answers its request (the pool may be edited)."""
        wanted = self.request.requested(held.address.version)
        if wanted is not None and wanted != held.address:
            return False
        return self.request.pool is None or self.request.pool == held.pool

    def choose(self, version: int) -> tuple[IPAddress, PoolView] | Failure:
        request = self.request
        family = f"IPv{version}"
        wanted = request.requested(version)
        if wanted is not None:
            return self._requested(wanted)
        if request.pool is not None:
            view = self.by_name.get(request.pool)
            if view is None or view.spec is None:
                state = "does not exist" if view is None else "is invalid (see its status)"
                return Failure(
                    Why.POOL_UNKNOWN,
                    f"pool {request.pool} (annotation {services.POOL_ANNOTATION}) {state}: "
                    "name an existing pool (kubectl get vippool) or remove the annotation",
                )
            if not view.allows(request, self.namespace_labels):
                return self._not_allowed(view)
            address = view.spec.pool.next_free(version, self.taken)
            if address is None:
                return self._exhausted([view], family)
            return address, view
        usable = [p for p in self.pools if p.spec is not None and p.spec.auto_assign]
        allowed = [p for p in usable if p.allows(request, self.namespace_labels)]
        with_family = [p for p in allowed if p.spec is not None and p.spec.pool.total(version)]
        for view in with_family:
            assert view.spec is not None
            address = view.spec.pool.next_free(version, self.taken)
            if address is not None:
                return address, view
        if with_family:
            return self._exhausted(with_family, family)
        return Failure(
            Why.NO_POOL,
            f"no pool may serve it with an {family} address ({len(usable)} valid pools hand out "
            f"addresses automatically, {len(allowed)} of them select this Service): create a "
            "VirtualIPPool whose serviceSelector and namespaceSelector match it, with "
            f"{family} addresses, or name a pool in annotation {services.POOL_ANNOTATION}",
        )

    def _requested(self, wanted: IPAddress) -> tuple[IPAddress, PoolView] | Failure:
        request = self.request
        holders = [p for p in self.pools if p.spec is not None and p.spec.pool.includes(wanted)]
        if request.pool is not None:
            holders = [p for p in holders if p.name == request.pool]
        if not holders:
            where = f"pool {request.pool}" if request.pool else "any valid pool"
            return Failure(
                Why.NOT_IN_ANY_POOL,
                f"{wanted} is not in {where}: add it to a pool's spec.addresses, or ask for an "
                "address the pool holds",
            )
        allowed = [p for p in holders if p.allows(request, self.namespace_labels)]
        if not allowed:
            return self._not_allowed(holders[0])
        if wanted in self.taken:
            return Failure(
                Why.ADDRESS_TAKEN,
                f"{wanted} is held by another Service or a VirtualIP (kubectl get vip): ask "
                "for another address, or free it first",
            )
        return wanted, allowed[0]

    def _not_allowed(self, view: PoolView) -> Failure:
        return Failure(
            Why.POOL_NOT_ALLOWED,
            f"pool {view.name}'s serviceSelector or namespaceSelector does not select this "
            "Service: change its labels, the pool's selectors, or the pool it asks for",
        )

    def _exhausted(self, views: Sequence[PoolView], family: str) -> Failure:
        named = ", ".join(v.name for v in views)
        return Failure(
            Why.POOL_EXHAUSTED,
            f"every {family} address of pool {named} is taken: add addresses to a pool, or "
            "delete Services or VirtualIPs that no longer need theirs",
        )
