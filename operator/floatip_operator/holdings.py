"""What Service allocation reads and returns, as plain values: pools, VirtualIPs, the addresses
Services hold, failures and the plan (`allocation` decides; `servicerecords` and
`servicestatuses` read its plan).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any, NamedTuple

from floatip.api import addresses, model, names, pools, services, status, validation
from floatip.api.servicerequests import Request
from floatip_operator import onwire

IPAddress = addresses.IPAddress


@dataclasses.dataclass(frozen=True)
class PoolView:
    """One pool as allocation reads it; ``spec`` is None while the pool is invalid. ``on_wire``:
    its ``status.inUseOnWire`` (`onwire`), never handed out by itself."""

    name: str
    spec: model.VirtualIPPoolSpec | None
    template: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    on_wire: tuple[onwire.Sighting, ...] = ()

    @functools.cached_property
    def addresses(self) -> pools.Pool | None:
        """The pool's parsed addresses, parsed once per plan (None while it is invalid)."""
        return self.spec.pool if self.spec is not None else None

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
    sharing_key: str | None = None
    #: A foreign host answered the take's probe of its address (`onwire.of_vip`).
    on_wire: onwire.Sighting | None = None


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
    """A VirtualIP to create: the allocation of ``address`` to the Service ``service`` (and to
    ``services``, every Service sharing it, ``service`` first)."""

    name: str
    address: IPAddress
    pool: str
    service: str
    template: Mapping[str, Any]
    services: tuple[str, ...] = ()
    sharing_key: str | None = None


class Members(NamedTuple):
    """A VirtualIP's Services (`services.SERVICES_ANNOTATION`) and sharing key, as updated."""

    services: tuple[str, ...]
    sharing_key: str | None


@dataclasses.dataclass(frozen=True)
class Result:
    """What one Service holds after the plan, and why not more."""

    held: tuple[Held, ...] = ()
    failure: Failure | None = None
    #: Waiting for an old VirtualIP of the same name to be deleted before creating the new.
    waiting: bool = False
    #: Its address is in use on the wire and another is chosen once its pool's status lists
    #: the used one (`onwire`: no window in which another Service could be handed it).
    rechoosing: bool = False


class Rechosen(NamedTuple):
    """A Service leaves ``vip``, whose address ``seen`` found in use on the wire before it was
    ever handed out, for ``address`` of ``pool`` (docs/services.md "An address in use on the
    wire")."""

    vip: str
    seen: onwire.Sighting
    address: IPAddress
    pool: str


@dataclasses.dataclass
class Plan:
    results: dict[str, Result] = dataclasses.field(default_factory=dict)
    creates: list[NewVip] = dataclasses.field(default_factory=list)
    #: VirtualIPs to delete (their Services no longer ask for them), with why.
    deletes: dict[str, str] = dataclasses.field(default_factory=dict)
    #: VirtualIPs whose Services or sharing key change (a Service joined or left).
    updates: dict[str, Members] = dataclasses.field(default_factory=dict)
    #: Services leaving an address in use on the wire for another, by key.
    rechosen: dict[str, Rechosen] = dataclasses.field(default_factory=dict)

    def tally(self, requests: Mapping[str, Request]) -> Tally:
        """How many Services are `ALLOCATED` (each family they require has an address),
        `FAILED` (their allocation failed: by reason too) and `PENDING` (neither yet)."""
        states = dict.fromkeys((ALLOCATED, PENDING, FAILED), 0)
        failures: dict[services.Reason, int] = {}
        for key, result in self.results.items():
            request = requests.get(key)
            if result.failure is not None:
                states[FAILED] += 1
                reason = result.failure.reason
                failures[reason] = failures.get(reason, 0) + 1
            elif request is not None and len(result.held) >= request.required:
                states[ALLOCATED] += 1
            else:
                states[PENDING] += 1
        return Tally(states, failures)


ALLOCATED, PENDING, FAILED = "allocated", "pending", "failed"


class Tally(NamedTuple):
    """Services by allocation state, and the failed ones by reason (`Plan.tally`)."""

    states: dict[str, int]
    failures: dict[services.Reason, int]


def pool_view(body: Mapping[str, Any]) -> PoolView:
    name = str((body.get("metadata") or {}).get("name"))
    try:
        spec = validation.parse_pool_spec(body.get("spec"))
    except validation.InvalidSpecError:
        return PoolView(name, None)
    template = dict((body.get("spec") or {}).get("template") or {})
    return PoolView(name, spec, template, onwire.listed(status.of(body)))


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
    annotations = meta.get("annotations") or {}
    key = str(annotations.get(services.SHARING_KEY_ANNOTATION) or "").strip()
    current = status.of(body)
    return VipView(
        name=str(meta.get("name")),
        address=address,
        pool=str(pool) if pool else None,
        services=services.listed(annotations),
        deleting=bool(meta.get("deletionTimestamp")),
        sharing_key=key or None,
        on_wire=onwire.of_vip(address, current) if current.get("conflict") else None,
    )
