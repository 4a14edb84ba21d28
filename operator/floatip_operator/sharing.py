"""Sharing one address among Services (pure): who keeps a shared VirtualIP, who may join it.

docs/services.md "Sharing an address". A VirtualIP annotated
`services.SHARING_KEY_ANNOTATION` is its key's address in the namespace of its Services; every
Service listed in `services.SERVICES_ANNOTATION` holds it. A Service of that namespace with that
key and no address of the family joins it when `clash` finds nothing against each member (no
port/protocol in common; both Cluster, or both Local with the same selector), it asks for no
other address or pool, and the pool's selectors admit it; otherwise it is refused
(``SharingRefused`` naming the other Service and the clash, or ``PoolNotAllowed``) and gets no
address. Members are re-checked oldest first on every plan: one whose key changed or that
clashes with an older member (its ports were edited) leaves, so two Services never share an
address unless their keys and specs allow it. A member that is deleted leaves the address to
the others (MetalLB #2723); the VirtualIP goes with its last member. The plan's ``updates``
rewrite a VirtualIP's member list and key when they change.

`allocation` applies these rules while it plans: `keepers` for each shared VirtualIP the plan
starts from, `join` for each Service that asks for its key's address.
"""

from __future__ import annotations

import dataclasses

from floatip.api import addresses, services
from floatip.api.servicerequests import Request
from floatip_operator import choosing
from floatip_operator.holdings import Failure, Held, Members, VipView

IPAddress = addresses.IPAddress
Why = services.Reason


def clash(a: Request, b: Request) -> str:
    """Why ``a`` and ``b`` cannot share one address ("" when they can), MetalLB's rules."""
    common = sorted(a.ports & b.ports, key=lambda p: (p[1], p[0]))
    if common:
        used = ", ".join(f"{port}/{protocol}" for protocol, port in common)
        return f"both use {used}"
    if a.local != b.local:
        local, cluster = (a, b) if a.local else (b, a)
        return (
            f"{local.key} has externalTrafficPolicy Local and {cluster.key} Cluster: "
            "their traffic cannot enter by the same node rules"
        )
    if a.local and a.selector != b.selector:
        return "both are externalTrafficPolicy Local but select different pods (spec.selector)"
    return ""


@dataclasses.dataclass
class Group:
    """One VirtualIP's members while the plan is made (its sharing key's address, if it has one)."""

    vip: str
    address: IPAddress
    pool: str
    namespace: str
    sharing_key: str | None
    members: list[Request]
    #: What the VirtualIP says now (None: it is created by this plan).
    was: Members | None


def keepers(vip: VipView, members: list[Request]) -> tuple[list[Request], str | None]:
    """Which of a VirtualIP's live Services (oldest first) keep it, and its key from now on."""
    key = vip.sharing_key
    fitting = [m for m in members if key is not None and m.sharing_key == key]
    if fitting:
        fitting = [m for m in fitting if m.namespace == fitting[0].namespace]
    if not fitting:  # nobody shares by its key (any more): the oldest keeps it, with its own key
        return [members[0]], members[0].sharing_key
    kept: list[Request] = []
    for member in fitting:
        if not any(clash(member, other) for other in kept):
            kept.append(member)
    return kept, key


def join(request: Request, version: int, group: Group, chooser: choosing.Chooser) -> Held | Failure:
    """``request`` takes its sharing key's address ``group``, or why it may not."""
    where = f"{group.address} (sharing key {group.sharing_key!r}, VirtualIP {group.vip})"
    wanted = request.requested(version)
    if wanted is not None and wanted != group.address:
        return Failure(
            Why.SHARING_REFUSED,
            f"it asks for {wanted}, but its sharing key's address is {where}: ask for "
            f"{group.address}, for none, or use another key",
        )
    if request.pool is not None and request.pool != group.pool:
        return Failure(
            Why.SHARING_REFUSED,
            f"it asks for pool {request.pool}, but its sharing key's address is {where} from "
            f"pool {group.pool}: name that pool, none, or use another key",
        )
    pool = chooser.by_name.get(group.pool)
    if pool is not None and not pool.allows(request, chooser.namespace_labels):
        return chooser.not_allowed(pool)
    for member in group.members:
        why = clash(request, member)
        if why:
            return Failure(
                Why.SHARING_REFUSED,
                f"it cannot share {where} with Service {member.key}: {why}. Change the ports "
                "or traffic policy, or use another sharing key",
            )
    outside = not chooser.in_pool(group.address, group.pool)
    return Held(group.vip, group.address, group.pool, outside)
