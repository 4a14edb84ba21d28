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

Sharing (docs/services.md "Sharing an address"): a VirtualIP annotated with a sharing key is
that key's address in the namespace of its Services, held by every Service it lists; who keeps
it, who may join it and why not are `sharing`'s rules, which the plan applies oldest first.

An address in use on the wire (docs/services.md "An address in use on the wire"): when the
take's probe of a VirtualIP's address drew a foreign host's answer (`holdings.VipView.on_wire`)
and every Service holding it asked for no address of that family and was never shown it
(`servicerequests.Request.shown`), it is the one exception to "allocation never moves": its
Services leave it for the lowest free address by the same pool rules (`Plan.rechosen`), a
shared address as one group, the old VirtualIP being deleted. That happens only once a pool's
status lists the address (`onwire`: until then the Service is ``rechoosing``), so the address
stays taken until its record exists; the addresses the pools list are never the next free one.
A requested address is never swapped, and one already handed out is the holder's to defend.
When nothing else is free the Service keeps the used address and says why (`IN_USE_ON_WIRE`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

from floatip.api import addresses, services
from floatip.api.servicerequests import Request
from floatip_operator import choosing, onwire, sharing
from floatip_operator.holdings import (
    Failure,
    Held,
    Members,
    NewVip,
    Plan,
    PoolView,
    Rechosen,
    Result,
    VipView,
)

IPAddress = addresses.IPAddress
Why = services.Reason


def plan(
    requests: Iterable[Request],
    pool_list: Sequence[PoolView],
    vips: Iterable[VipView],
    namespaces: Mapping[str, Mapping[str, str]],
) -> Plan:
    """Every floatip Service's addresses (``requests``: those floatip serves, not being
    deleted), the VirtualIPs to create and those to delete."""
    ordered = sorted(requests, key=lambda r: (r.created, r.key))
    live = {r.key: r for r in ordered}
    vip_list = list(vips)
    by_name = {v.name: v for v in vip_list}
    remembered = onwire.addresses_of(p.on_wire for p in pool_list)
    taken = choosing.Taken((v.address for v in vip_list), avoid=remembered)
    mine: dict[str, list[VipView]] = {}
    state = _State(Plan())
    for vip in vip_list:
        if vip.deleting or not vip.services:
            continue
        members = sorted(
            (live[key] for key in set(vip.services) if key in live),
            key=lambda r: (r.created, r.key),
        )
        if not members:
            state.plan.deletes[vip.name] = "its Service is gone or no longer served by floatip"
            continue
        kept, key = sharing.keepers(vip, members)
        group = sharing.Group(
            vip.name, vip.address, vip.pool or "", kept[0].namespace, key, kept,
            Members(vip.services, vip.sharing_key),
        )  # fmt: skip
        state.groups[vip.name] = group
        if vip.on_wire is not None and choosing.may_leave(vip.address, kept):
            if vip.address in remembered:  # nobody joins it: its members choose anew
                state.moving[vip.name] = vip.on_wire
            else:
                state.rechoosing.add(vip.name)
        if key is not None and vip.name not in state.moving:
            state.shared.setdefault((group.namespace, key, vip.address.version), group)
        for member in kept:
            mine.setdefault(member.key, []).append(vip)
    sorted_pools = sorted(pool_list, key=lambda p: p.order)
    for request in ordered:
        chooser = choosing.Chooser(request, sorted_pools, namespaces.get(request.namespace), taken)
        state.plan.results[request.key] = _one(
            request, mine.get(request.key, []), by_name, chooser, state
        )
    return state.finish()


@dataclasses.dataclass
class _State:
    """The plan being made, and every VirtualIP's members (``shared``: by namespace, sharing
    key and IP version, the key's address)."""

    plan: Plan
    groups: dict[str, sharing.Group] = dataclasses.field(default_factory=dict)
    shared: dict[tuple[str, str, int], sharing.Group] = dataclasses.field(default_factory=dict)
    #: VirtualIPs whose address is in use on the wire and listed by a pool: their Services
    #: choose another (`choosing.may_leave`).
    moving: dict[str, onwire.Sighting] = dataclasses.field(default_factory=dict)
    #: Those whose Services will, once a pool's status lists the address.
    rechoosing: set[str] = dataclasses.field(default_factory=set)

    def leave(self, vip: str, key: str, why: str) -> None:
        """``key``'s Service lets go of ``vip``: deleted with its last member."""
        group = self.groups.get(vip)
        if group is not None:
            group.members = [m for m in group.members if m.key != key]
            if group.members:
                return
        self.plan.deletes.setdefault(vip, why)

    def finish(self) -> Plan:
        """The plan, each VirtualIP's Services listed oldest first (as `sharing.keepers` reads them,
        so that the next plan finds nothing to rewrite)."""
        creates = []
        for new in self.plan.creates:
            group = self.groups.get(new.name)
            members = _keys(group.members) if group else (new.service,)
            creates.append(new._replace(services=members))
        self.plan.creates = creates
        for name, group in self.groups.items():
            if group.was is None or name in self.plan.deletes:
                continue
            now = Members(_keys(group.members), group.sharing_key)
            if now != group.was:
                self.plan.updates[name] = now
        return self.plan


def _keys(members: Iterable[Request]) -> tuple[str, ...]:
    return tuple(m.key for m in sorted(members, key=lambda r: (r.created, r.key)))


def _one(
    request: Request,
    held_vips: list[VipView],
    by_name: Mapping[str, VipView],
    chooser: choosing.Chooser,
    state: _State,
) -> Result:
    result = state.plan
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
        state.leave(vip.name, request.key, f"the Service holds another IPv{vip.address.version}")
    for version in [v for v in kept if v not in request.families]:
        state.leave(kept.pop(version).vip, request.key, f"the Service has no IPv{version} any more")
    held: list[Held] = []
    new: list[NewVip] = []
    replaced: list[str] = []
    moved: dict[str, Rechosen] = {}
    joined: list[sharing.Group] = []
    failure: Failure | None = None
    for index, version in enumerate(request.families):
        current = kept.get(version)
        seen = state.moving.get(current.vip) if current is not None else None
        if current is not None and seen is None and chooser.satisfied_by(current):
            held.append(current)
            continue
        group = (
            state.shared.get((request.namespace, request.sharing_key, version))
            if request.sharing_key is not None
            else None
        )
        if group is not None and (current is None or current.vip != group.vip):
            joining = sharing.join(request, version, group, chooser)
            if isinstance(joining, Failure):
                if current is not None:
                    held.append(current)
                if index < request.required and failure is None:
                    failure = joining
                continue
            if current is not None:
                replaced.append(current.vip)
                if seen is not None:
                    moved[current.vip] = Rechosen(current.vip, seen, group.address, group.pool)
            joined.append(group)
            held.append(joining)
            continue
        choice = chooser.choose(version)
        if isinstance(choice, Failure):
            if current is not None:
                held.append(current)  # keep what it has until the new can be had
            if index < request.required and failure is None:
                failure = choice if seen is None else choosing.no_other(seen, choice)
            continue
        address, pool = choice
        if current is not None and seen is not None:
            moved[current.vip] = Rechosen(current.vip, seen, address, pool.name)
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
        new.append(
            NewVip(name, address, pool.name, request.key, pool.template,
                   sharing_key=request.sharing_key)
        )  # fmt: skip
        held.append(Held(name, address, pool.name))
    if failure is not None:
        return Result(tuple(kept.values()), failure)
    for name in replaced:
        if name in moved:
            why = f"{moved[name].seen}: another address is chosen"
            state.plan.rechosen[request.key] = moved[name]
        else:
            why = "the Service asks for another address or pool"
        state.leave(name, request.key, why)
    for group in joined:
        group.members.append(request)
    for created in new:
        group = sharing.Group(
            created.name, created.address, created.pool, request.namespace,
            request.sharing_key, [request], None,
        )  # fmt: skip
        state.groups[created.name] = group
        if request.sharing_key is not None:
            shared = (request.namespace, request.sharing_key, created.address.version)
            state.shared.setdefault(shared, group)
    for created in new:
        chooser.taken.add(created.address)
    result.creates.extend(new)
    waiting = len(held) < len(request.families) and bool(replaced or _waits(request, by_name))
    rechoosing = any(h.vip in state.rechoosing for h in held)
    return Result(tuple(held), None, waiting, rechoosing)


def _waits(request: Request, by_name: Mapping[str, VipView]) -> bool:
    return any(
        (vip := by_name.get(services.vip_name(request.namespace, request.name, v))) is not None
        and vip.deleting
        for v in request.families
    )
