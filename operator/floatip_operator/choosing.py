"""Which address a new allocation gets: the requested one from the first pool that holds it,
or the lowest free address of the pools that may serve the Service, against the addresses
taken so far (`allocation` keeps them as the plan goes). An address a pool lists as in use on
the wire (`onwire`) is never the lowest free one, but a Service may still ask for it by name.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence

from floatip.api import addresses, pools, services
from floatip.api.servicerequests import Request
from floatip_operator import onwire
from floatip_operator.holdings import Failure, Held, PoolView

IPAddress = addresses.IPAddress
Why = services.Reason


class Taken:
    """The addresses taken, and each family's as sorted integers, kept sorted as the plan takes
    more (`pools.Pool.lowest_free`): no sort of every taken address for each new one.
    ``avoid`` (in use on the wire) is never the next free address, yet is not taken: a Service
    asking for one of them by name gets it."""

    def __init__(self, addresses: Iterable[IPAddress], avoid: Iterable[IPAddress] = ()) -> None:
        self.addresses = set(addresses)
        self.avoid = frozenset(avoid)
        self.sorted: dict[int, list[int]] = {4: [], 6: []}
        for address in self.addresses | self.avoid:
            self.sorted[address.version].append(int(address))
        for values in self.sorted.values():
            values.sort()

    def __contains__(self, address: IPAddress) -> bool:
        return address in self.addresses

    def add(self, address: IPAddress) -> None:
        if address not in self.addresses:
            if address not in self.avoid:
                bisect.insort(self.sorted[address.version], int(address))
            self.addresses.add(address)

    def next_free(self, pool: pools.Pool, version: int) -> IPAddress | None:
        return pool.lowest_free(version, self.sorted[version])


class Chooser:
    """Picks addresses for one Service from the pools, against the addresses taken."""

    def __init__(
        self,
        request: Request,
        sorted_pools: Sequence[PoolView],
        namespace_labels: Mapping[str, str] | None,
        taken: Taken,
    ) -> None:
        self.request = request
        self.pools = sorted_pools
        self.namespace_labels = namespace_labels
        self.taken = taken
        self.by_name = {p.name: p for p in sorted_pools}

    def in_pool(self, address: IPAddress, pool: str | None) -> bool:
        view = self.by_name.get(pool or "")
        return view is not None and view.addresses is not None and view.addresses.includes(address)

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
            if view is None or view.addresses is None:
                state = "does not exist" if view is None else "is invalid (see its status)"
                return Failure(
                    Why.POOL_UNKNOWN,
                    f"pool {request.pool} (annotation {services.POOL_ANNOTATION}) {state}: "
                    "name an existing pool (kubectl get vippool) or remove the annotation",
                )
            if not view.allows(request, self.namespace_labels):
                return self.not_allowed(view)
            address = self.taken.next_free(view.addresses, version)
            if address is None:
                return self._exhausted([view], family)
            return address, view
        usable = [p for p in self.pools if p.spec is not None and p.spec.auto_assign]
        allowed = [p for p in usable if p.allows(request, self.namespace_labels)]
        with_family = [p for p in allowed if p.addresses is not None and p.addresses.total(version)]
        for view in with_family:
            assert view.addresses is not None
            address = self.taken.next_free(view.addresses, version)
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
        holders = [
            p for p in self.pools if p.addresses is not None and p.addresses.includes(wanted)
        ]
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
            return self.not_allowed(holders[0])
        if wanted in self.taken:
            return Failure(
                Why.ADDRESS_TAKEN,
                f"{wanted} is held by another Service or a VirtualIP (kubectl get vip): ask "
                "for another address, or free it first",
            )
        return wanted, allowed[0]

    def not_allowed(self, view: PoolView) -> Failure:
        return Failure(
            Why.POOL_NOT_ALLOWED,
            f"pool {view.name}'s serviceSelector or namespaceSelector does not select this "
            "Service: change its labels, the pool's selectors, or the pool it asks for",
        )

    def _exhausted(self, views: Sequence[PoolView], family: str) -> Failure:
        named = ", ".join(v.name for v in views)
        version = int(family[-1])
        used = sorted(
            {s for v in views for s in v.on_wire if s.address.version == version},
            key=lambda s: int(s.address),
        )
        wire = (
            f" ({', '.join(map(str, used))} in use on the wire: the pool's status.inUseOnWire "
            f"lists them until {pools.IN_USE_ON_WIRE_FORGOTTEN_S // 60} minutes after it "
            "listed them, or a node takes them)"
            if used
            else ""
        )
        return Failure(
            Why.POOL_EXHAUSTED,
            f"every {family} address of pool {named} is taken{wire}: add addresses to a pool, "
            "or delete Services or VirtualIPs that no longer need theirs",
        )


def may_leave(address: IPAddress, members: Sequence[Request]) -> bool:
    """Whether ``members`` may leave ``address``, found in use on the wire, for another: none
    asked for an address of its family, none was ever shown it (handed out, it is the holder's
    to defend), and none has a problem (a mistaken request keeps what it has)."""
    return all(
        m.requested(address.version) is None and address not in m.shown and not m.problems
        for m in members
    )


def no_other(seen: onwire.Sighting, failure: Failure) -> Failure:
    """Why a Service whose address is in use on the wire keeps it: nothing else can be had."""
    if failure.reason is not Why.POOL_EXHAUSTED:
        return failure
    return Failure(
        Why.IN_USE_ON_WIRE,
        f"{seen}: not handed out, and no other address can be had: {failure.message}. Or "
        f"remove the address from the host with MAC {seen.mac}: floatip probes it again and "
        "hands it out once it is free",
    )
