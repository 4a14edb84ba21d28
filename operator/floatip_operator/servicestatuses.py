"""A floatip Service's status, and the Events its changes deserve, from its allocation (pure).

docs/services.md "What the Service shows". ``status.loadBalancer.ingress`` lists the Service's
addresses in its families' order, each ``{ip, ipMode: VIP}`` (the traffic arrives addressed to
the VIP itself: kube-proxy must not short-cut it inside the cluster, which ``Proxy`` would
allow; no peer sets it). Two conditions, domain-qualified because every controller of a
Service shares its ``status.conditions``, and only floatip's are ever replaced:

- `services.ConditionType.ALLOCATED`: True ``Allocated`` (which address, from which pool) or
  ``AddressOutsidePool`` (kept although its pool no longer holds it); False with the reason
  the allocation failed and what to do, ``Reallocating`` while an old address is released, or
  ``AddressInUseOnWire`` while a foreign host answers the take's probe for a new address (a
  requested one stays reserved; for one it asked for none, another is being chosen:
  `allocation`, and the Service loop posts the `services.EventReason.IN_USE_ON_WIRE` Event).

An address is handed out (listed in ``ingress``) only once a node probed it free on the wire,
took it and announced it (its VirtualIP has a ``status.announcement``), and from then on for
as long as the Service holds it: a pool address some forgotten host still uses is never given
to a Service (DESIGN.md, Services: "probe an address on the wire before handing it out").
- `services.ConditionType.ANNOUNCED` (while it holds an address): True when every one of its
  VirtualIPs is Ready (by which node), False ``AnnouncementPending`` naming the first that is
  not and why. Ready as the operator decides it (`announced_by_holder`), read from the holder's
  announcement, so the Service's status need not wait for the VirtualIP's own Ready write.

A condition keeps its ``lastTransitionTime`` while its status stays, so an unchanged world
builds an identical status and the operator writes nothing.

A Service's first status waits a little for its announcement (`first_news`): a new Service's
address is normally probed, taken and announced within a second or two of its VirtualIP, and
one write then carries the ingress and both conditions. Writing "allocated, announcement
pending" first would double the status writes (and every watcher's events) of a thousand
Services created at once, for a state that lasts a moment. A failure, a refusal or an address
in use on the wire is written at once; a pending announcement once the wait is over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from floatip.api import events, model, pools, services, status
from floatip_operator import holdings, notices

Kind = services.ConditionType
Why = services.Reason
OURS = frozenset(kind.value for kind in services.ConditionType)
REALLOCATING = "Reallocating"


def ingress(
    result: holdings.Result,
    families: Sequence[int],
    vips: Mapping[str, Mapping[str, Any]],
    previous: Mapping[str, Any] | None = None,
) -> list[dict[str, str]]:
    """The held addresses already handed out (`handed_out`), in the Service's family order."""
    given = _ips(previous or {})
    held = [h for h in result.held if handed_out(h, vips, given)]
    held.sort(key=lambda h: list(families).index(h.address.version))
    return [{"ip": str(h.address), "ipMode": services.IP_MODE} for h in held]


def handed_out(held: holdings.Held, vips: Mapping[str, Mapping[str, Any]], given: set[str]) -> bool:
    """Whether the Service may show ``held``: it did already, or a node has probed the address
    free, taken and announced it (the announcement stays through later moves)."""
    if str(held.address) in given:
        return True
    return status.announcement(status.of(vips.get(held.vip) or {})) is not None


def _in_use_on_wire(
    result: holdings.Result, vips: Mapping[str, Mapping[str, Any]], given: set[str]
) -> str | None:
    """What a foreign host's answer to the take's probe keeps from being handed out, if any."""
    found = []
    for held in result.held:
        current = status.of(vips.get(held.vip) or {})
        report = status.conflict(current)
        if report is None or handed_out(held, vips, given):
            continue
        seen = (
            f"{held.address} is answered for by {report.mac} on the LAN (node {report.node}'s "
            "probe before taking it): not handed out."
        )
        if result.rechoosing:  # `allocation`: it asked for no address, another is chosen
            found.append(
                f"{seen} floatip chooses another address of pool {held.pool} once the pool's "
                "status.inUseOnWire lists this one"
            )
            continue
        found.append(
            f"{seen} Remove the address from the host with that MAC (floatip probes again and "
            f"hands it out once it is free), or delete VirtualIP {held.vip} and ask for "
            f"another address with annotation {services.ADDRESSES_ANNOTATION}"
        )
    return "; ".join(found) or None


def build(
    previous: Mapping[str, Any] | None,
    result: holdings.Result,
    families: Sequence[int],
    vips: Mapping[str, Mapping[str, Any]],
    *,
    generation: int,
    now: str,
) -> dict[str, Any]:
    """The Service's new ``status`` (``vips``: VirtualIP bodies by name)."""
    given = _ips(previous or {})
    fresh = [_allocated(result, _in_use_on_wire(result, vips, given))]
    if result.held:
        fresh.append(_announced(result, vips))
    old = list((previous or {}).get("conditions") or [])
    points = ingress(result, families, vips, previous)
    return {
        "loadBalancer": {"ingress": points} if points else {},
        "conditions": _merge(old, fresh, generation, now),
    }


def first_news(previous: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """Whether ``new`` is a Service's first floatip status and says only that its address was
    allocated and is not announced yet (no ingress, nothing failed): worth a short wait for the
    announcement, so one write says both."""
    previous = previous or {}
    if any(c.get("type") in OURS for c in previous.get("conditions") or []):
        return False
    if (new.get("loadBalancer") or {}).get("ingress"):
        return False
    allocated = status.condition(new, Kind.ALLOCATED)
    announced = status.condition(new, Kind.ANNOUNCED)
    return (
        allocated.get("status") == "True"
        and allocated.get("reason") == Why.ALLOCATED.value
        and announced.get("status") == "False"
        and announced.get("reason") == Why.PENDING.value
    )


def released(previous: Mapping[str, Any] | None) -> dict[str, Any]:
    """The status once floatip lets go of the Service: no ingress, no floatip condition."""
    old = list((previous or {}).get("conditions") or [])
    return {"loadBalancer": {}, "conditions": [c for c in old if c.get("type") not in OURS]}


def changed(previous: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """Whether ``new`` differs from the stored status in what floatip writes."""
    previous = previous or {}
    return (previous.get("loadBalancer") or {}) != (new.get("loadBalancer") or {}) or (
        previous.get("conditions") or []
    ) != (new.get("conditions") or [])


def patch(new: Mapping[str, Any], resource_version: str) -> dict[str, Any]:
    """A merge patch of ``/status``, refused (409) if the Service changed since it was read.

    No ingress is sent as ``ingress: null``: an empty ``loadBalancer`` object would merge into
    the stored one and change nothing.
    """
    body = dict(new)
    if not (body.get("loadBalancer") or {}).get("ingress"):
        body["loadBalancer"] = {"ingress": None}
    return {"metadata": {"resourceVersion": resource_version}, "status": body}


def _allocated(result: holdings.Result, in_use: str | None) -> tuple[Kind, str, str, str]:
    if result.failure is not None:
        kept = _addresses(result.held)
        suffix = f" (it keeps {kept} meanwhile)" if kept else ""
        return Kind.ALLOCATED, "False", result.failure.reason.value, result.failure.message + suffix
    if result.waiting:
        return (
            Kind.ALLOCATED,
            "False",
            REALLOCATING,
            "waiting for its previous VirtualIP to be deleted before it gets the new address",
        )
    if in_use is not None:
        return Kind.ALLOCATED, "False", Why.IN_USE_ON_WIRE.value, in_use
    outside = [h for h in result.held if h.outside]
    if outside:
        text = "; ".join(
            f"{h.address} is no longer in pool {h.pool or '(none)'}, and stays allocated to "
            "this Service until it is deleted or asks for another address"
            for h in outside
        )
        return Kind.ALLOCATED, "True", Why.OUTSIDE_POOL.value, text
    return Kind.ALLOCATED, "True", Why.ALLOCATED.value, _from_pools(result.held)


def _announced(
    result: holdings.Result, vips: Mapping[str, Mapping[str, Any]]
) -> tuple[Kind, str, str, str]:
    done: list[str] = []
    for held in result.held:
        body = vips.get(held.vip)
        current = status.of(body or {})
        holder = status.holder(current)
        if not announced_by_holder(current):
            missing = "not created yet" if body is None else "waiting for a holder"
            why = status.condition(current, "Ready").get("message") or missing
            return (
                Kind.ANNOUNCED,
                "False",
                Why.PENDING.value,
                f"{held.address} (VirtualIP {held.vip}) is not announced yet: {why}",
            )
        done.append(f"{held.address} by node {holder}")
    return Kind.ANNOUNCED, "True", Why.ANNOUNCED.value, "; ".join(done)


def announced_by_holder(current: Mapping[str, Any]) -> bool:
    """Whether a VirtualIP is Ready as its operator decides it (`statuses`): ``Assigned`` True
    and the holder's agent announced the address at the current epoch.

    Read from the agent's announcement, not from the ``Ready`` condition the operator writes
    after it: the Service's one status write then carries its address and Announced True
    together. Waiting for the ``Ready`` write would add a second write per Service whenever
    that write is not in before the announcement is read, which is most of them in a burst.
    """
    return status.is_true(current, model.ConditionType.ASSIGNED) and status.announces(
        status.announcement(current), status.holder(current), status.epoch(current)
    )


def _addresses(held: Sequence[holdings.Held]) -> str:
    return ", ".join(str(h.address) for h in held)


def _from_pools(held: Sequence[holdings.Held]) -> str:
    return "; ".join(f"{h.address} from pool {h.pool} (VirtualIP {h.vip})" for h in held)


def _merge(
    old: list[Mapping[str, Any]],
    fresh: Sequence[tuple[Kind, str, str, str]],
    generation: int,
    now: str,
) -> list[dict[str, Any]]:
    before = {item.get("type"): item for item in old if isinstance(item, Mapping)}
    result = [dict(item) for item in old if item.get("type") not in OURS]
    for kind, value, reason, message in fresh:
        prior = before.get(kind.value)
        same = prior is not None and prior.get("status") == value
        result.append(
            {
                "type": kind.value,
                "status": value,
                "observedGeneration": generation,
                "lastTransitionTime": str(prior.get("lastTransitionTime") or now)
                if same and prior
                else now,
                "reason": reason,
                "message": message[:32768],
            }
        )
    return result


def service_notices(
    previous: Mapping[str, Any] | None, new: Mapping[str, Any], result: holdings.Result
) -> list[notices.Notice]:
    """IPAllocated / IPReleased for addresses that came and went, AllocationFailed for a new
    failure (reason or message) or a requested address in use on the wire, AddressOutsidePool
    when an address leaves its pool. An address in use on the wire that is being chosen anew
    gets none here: the Service loop says so once the old one is released (`rechosen`)."""
    previous = previous or {}
    old_ips = _ips(previous)
    new_ips = _ips(new)
    found: list[notices.Notice] = []
    gained = [h for h in result.held if str(h.address) in new_ips - old_ips]
    if gained:
        found.append(
            notices.Notice(events.Type.NORMAL, services.EventReason.ALLOCATED, _from_pools(gained))
        )
    lost = sorted(old_ips - new_ips)
    if lost:
        note = f"{', '.join(lost)} released: the Service no longer asks for it"
        found.append(notices.Notice(events.Type.NORMAL, services.EventReason.RELEASED, note))
    old_c = status.condition(previous, Kind.ALLOCATED)
    new_c = status.condition(new, Kind.ALLOCATED)
    shift = (old_c.get("reason"), old_c.get("message")) != (
        new_c.get("reason"),
        new_c.get("message"),
    )
    in_use = new_c.get("reason") == Why.IN_USE_ON_WIRE.value
    if shift and result.failure is None and in_use and not result.rechoosing:
        note = f"{Why.IN_USE_ON_WIRE.value}: {new_c.get('message')}"
        found.append(
            notices.Notice(events.Type.WARNING, services.EventReason.ALLOCATION_FAILED, note)
        )
    if shift and result.failure is not None:
        note = f"{result.failure.reason.value}: {result.failure.message}"
        found.append(
            notices.Notice(events.Type.WARNING, services.EventReason.ALLOCATION_FAILED, note)
        )
    if shift and new_c.get("reason") == Why.OUTSIDE_POOL.value:
        found.append(
            notices.Notice(
                events.Type.WARNING, services.EventReason.OUTSIDE_POOL, str(new_c.get("message"))
            )
        )
    return found


def _ips(current: Mapping[str, Any]) -> set[str]:
    points = (current.get("loadBalancer") or {}).get("ingress") or []
    return {str(p.get("ip")) for p in points if isinstance(p, Mapping) and p.get("ip")}


def regarding(body: Mapping[str, Any]) -> events.Regarding:
    meta = body.get("metadata") or {}
    return events.Regarding(
        str(meta.get("name")),
        str(meta.get("uid") or ""),
        str(meta.get("resourceVersion") or ""),
        kind="Service",
        namespace=str(meta.get("namespace") or ""),
        api_version="v1",
    )


def rechosen(moved: holdings.Rechosen) -> notices.Notice:
    """The Warning a Service gets when it leaves an address in use on the wire for another."""
    seen = moved.seen
    note = (
        f"{seen.address} is answered for by {seen.mac} on the LAN (node {seen.node}'s probe "
        f"before taking it) and was never handed out: released, and {moved.address} of pool "
        f"{moved.pool} chosen instead. Pool {moved.pool} lists {seen.address} in "
        "status.inUseOnWire and hands it out by itself again only "
        f"{pools.IN_USE_ON_WIRE_FORGOTTEN_S // 60} minutes after listing it; find the host with "
        "that MAC"
    )
    return notices.Notice(events.Type.WARNING, services.EventReason.IN_USE_ON_WIRE, note)
