"""An auto-assigned address found in use on the wire is chosen anew (floatip_operator.allocation,
choosing, holdings, servicestatuses): docs/services.md "An address in use on the wire".

Proves: a VirtualIP's take-probe conflict reads as `holdings.VipView.on_wire` (not once a node
announced it), a pool's ``status.inUseOnWire`` as `holdings.PoolView.on_wire`, a Service's
ingress as ``shown``; an auto-assigned Service whose address is in use on the wire keeps it
(``rechoosing``, its own condition and no AllocationFailed Event) until its pool lists the
address, then leaves it for the lowest free address that is not in use on the wire (same pool
rules, a named pool too), the old VirtualIP deleted first when the new one has its name
(Reallocating), with `holdings.Plan.rechosen` naming both addresses and a Warning
``AddressInUseOnWire`` that says address, MAC, node and the new address; a requested address
(annotation or spec.loadBalancerIP) and one already shown are never moved; with no other
address free the Service keeps it, ``AddressInUseOnWire`` naming the addresses in use; the
listed addresses are never the next free one, but can be asked for by name; a shared address
moves as one group, and stays when one member asked for it. Properties (hypothesis) over
random worlds of Services, sharing keys, requested addresses and squatted addresses, run to a
fixpoint the way the loops would (the pool lists what the VirtualIPs report): a VirtualIP is
released for being in use on the wire only once a pool lists its address, never one a member
asked for; at the fixpoint no auto-assigned Service holds a squatted address unless it says why
it cannot move (nothing else free, its sharing key's address refuses it), no two unshared Services hold one address, and the plan does not depend on the
order of its inputs.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from floatip.api import events, servicerequests, services
from floatip.api.servicerequests import Request
from floatip_operator import allocation, holdings, onwire, servicestatuses
from floatip_operator.holdings import PoolView, VipView

Why = services.Reason
ip = ipaddress.ip_address
MAC = "02:00:00:00:00:99"
T0 = "2026-01-01T00:00:00Z"


def seen(address: str) -> onwire.Sighting:
    return onwire.Sighting(ip(address), MAC, "server1", T0)


def pool(name: str, *addresses: str, listed: Sequence[str] = (), **spec: Any) -> PoolView:
    body = {
        "metadata": {"name": name},
        "spec": {"addresses": list(addresses), **spec},
        "status": {"inUseOnWire": [seen(a).to_json() for a in listed]},
    }
    return holdings.pool_view(body)


def req(name: str, **fields: Any) -> Request:
    return Request(namespace="default", name=name, **fields)


def squatted(name: str, address: str, *members: str, **fields: Any) -> VipView:
    keys = tuple(f"default/{m}" for m in members or (name,))
    return VipView(
        services.vip_name("default", name, 4), ip(address), "p", keys, on_wire=seen(address),
        **fields,
    )  # fmt: skip


def addresses_of(plan: holdings.Plan) -> dict[str, list[str]]:
    return {key: [str(h.address) for h in r.held] for key, r in plan.results.items()}


# -- reading ------------------------------------------------------------------------------------


def test_views_read_the_conflict_the_listing_and_the_ingress() -> None:
    conflict = {"node": "server1", "mac": MAC, "since": T0, "lastSeen": T0, "count": 1,
                "reasserted": 0}  # fmt: skip
    body = {
        "metadata": {"name": "svc-default.web-v4", "labels": {"floatip.io/pool": "p"}},
        "spec": {"address": "192.0.2.1"},
        "status": {"conflict": conflict},
    }
    view = holdings.vip_view(body)
    assert view is not None and view.on_wire == seen("192.0.2.1")
    announced = {"node": "server2", "epoch": 1, "mac": "02:00:00:00:00:02", "time": T0}
    defended = holdings.vip_view({**body, "status": {"conflict": conflict,
                                                     "announcement": announced}})  # fmt: skip
    assert defended is not None and defended.on_wire is None
    assert pool("p", "192.0.2.0/29", listed=["192.0.2.1"]).on_wire == (seen("192.0.2.1"),)
    service = {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"type": "LoadBalancer"},
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}, {"hostname": "x"}]}},
    }
    assert servicerequests.read(service).shown == frozenset({ip("192.0.2.1")})


# -- one Service --------------------------------------------------------------------------------


def test_an_auto_assigned_address_in_use_waits_for_the_pool_to_list_it() -> None:
    vips = [squatted("web", "192.0.2.1")]
    plan = allocation.plan([req("web")], [pool("p", "192.0.2.0/29")], vips, {})
    result = plan.results["default/web"]
    assert result.rechoosing and [str(h.address) for h in result.held] == ["192.0.2.1"]
    assert not plan.deletes and not plan.creates and not plan.rechosen
    probe = {"status": {"conflict": seen("192.0.2.1")._asdict() | {
        "since": T0, "lastSeen": T0, "count": 1, "reasserted": 0}}}  # fmt: skip
    probe["status"]["conflict"].pop("address")
    status = servicestatuses.build(None, result, (4,), {vips[0].name: probe}, generation=1,
                                   now=T0)  # fmt: skip
    allocated = status["conditions"][0]
    assert (allocated["status"], allocated["reason"]) == ("False", "AddressInUseOnWire")
    assert "chooses another address of pool p" in allocated["message"]
    assert servicestatuses.service_notices(None, status, result) == []  # the move says it


def test_once_listed_it_is_released_and_the_next_free_address_is_chosen() -> None:
    pools = [pool("p", "192.0.2.0/29", listed=["192.0.2.1", "192.0.2.2"])]
    vips = [squatted("web", "192.0.2.1")]
    plan = allocation.plan([req("web")], pools, vips, {})
    assert list(plan.deletes) == ["svc-default.web-v4"]
    assert "answered for by 02:00:00:00:00:99" in plan.deletes["svc-default.web-v4"]
    result = plan.results["default/web"]
    assert result.waiting and not result.held and not plan.creates  # its name is still taken
    moved = plan.rechosen["default/web"]
    assert moved == holdings.Rechosen("svc-default.web-v4", seen("192.0.2.1"), ip("192.0.2.3"), "p")
    notice = servicestatuses.rechosen(moved)
    assert (notice.type, notice.reason) == (events.Type.WARNING, "AddressInUseOnWire")
    for word in ("192.0.2.1", MAC, "server1", "192.0.2.3 of pool p chosen"):
        assert word in notice.note
    deleting = [vips[0]._replace(deleting=True)]
    again = allocation.plan([req("web")], pools, deleting, {})
    assert again.results["default/web"].waiting and not again.creates and not again.rechosen
    done = allocation.plan([req("web")], pools, [], {})
    assert [(str(n.address), n.name) for n in done.creates] == [("192.0.2.3", "svc-default.web-v4")]


def test_a_named_pool_is_kept_when_choosing_anew() -> None:
    pools = [pool("a", "192.0.2.8/29"), pool("p", "192.0.2.0/29", listed=["192.0.2.1"])]
    vips = [squatted("web", "192.0.2.1")]
    plan = allocation.plan([req("web", pool="p")], pools, vips, {})
    assert plan.rechosen["default/web"].address == ip("192.0.2.2")


def test_a_requested_or_shown_address_is_never_moved() -> None:
    pools = [pool("p", "192.0.2.0/29", listed=["192.0.2.1"])]
    vips = [squatted("web", "192.0.2.1")]
    legacy = servicerequests.read(
        {"metadata": {"name": "web", "namespace": "default"},
         "spec": {"type": "LoadBalancer", "loadBalancerIP": "192.0.2.1"}}
    )  # fmt: skip
    for request in (req("web", addresses=(ip("192.0.2.1"),)), legacy,
                    req("web", shown=frozenset({ip("192.0.2.1")}))):  # fmt: skip
        plan = allocation.plan([request], pools, vips, {})
        result = plan.results["default/web"]
        assert addresses_of(plan) == {"default/web": ["192.0.2.1"]}, request
        assert not plan.deletes and not plan.rechosen and not result.rechoosing
    unlisted = allocation.plan([req("web", addresses=(ip("192.0.2.1"),))], [pool("p", "192.0.2.0/29")],
                               vips, {})  # fmt: skip
    assert not unlisted.results["default/web"].rechoosing


def test_with_nothing_else_free_it_keeps_the_address_and_says_why() -> None:
    pools = [pool("p", "192.0.2.1-192.0.2.3", listed=["192.0.2.1", "192.0.2.2"])]
    vips = [squatted("web", "192.0.2.1"), VipView("manual", ip("192.0.2.3"))]
    plan = allocation.plan([req("web")], pools, vips, {})
    result = plan.results["default/web"]
    assert addresses_of(plan) == {"default/web": ["192.0.2.1"]} and not plan.deletes
    assert result.failure is not None and result.failure.reason is Why.IN_USE_ON_WIRE
    message = result.failure.message
    assert message.startswith(f"192.0.2.1 (answered for by {MAC}, node server1's probe)")
    assert "every IPv4 address of pool p is taken (192.0.2.1" in message and "192.0.2.2" in message
    assert (
        "status.inUseOnWire" in message
        and f"remove the address from the host with MAC {MAC}" in message
    )


def test_listed_addresses_are_never_the_next_free_one_but_can_be_asked_for() -> None:
    pools = [pool("p", "192.0.2.1-192.0.2.3", listed=["192.0.2.1"])]
    plan = allocation.plan([req("a"), req("b", addresses=(ip("192.0.2.1"),))], pools, [], {})
    assert addresses_of(plan) == {"default/a": ["192.0.2.2"], "default/b": ["192.0.2.1"]}
    full = allocation.plan([req("a", created="1"), req("b", created="2"), req("c", created="3")],
                           pools, [], {})  # fmt: skip
    failure = full.results["default/c"].failure
    assert failure is not None and failure.reason is Why.POOL_EXHAUSTED
    assert "192.0.2.1 (answered for by" in failure.message


# -- a shared address ---------------------------------------------------------------------------


def shared(name: str, port: int, **fields: Any) -> Request:
    return req(name, sharing_key="k", ports=frozenset({("TCP", port)}), **fields)


def settle(
    requests: Sequence[Request], pools: Sequence[PoolView], vips: list[VipView],
    squat: frozenset[Any] = frozenset(),
) -> tuple[holdings.Plan, list[VipView], list[PoolView]]:  # fmt: skip
    """Plan, apply and list (the pool lists what its VirtualIPs report) until nothing changes;
    each released address was listed before its release."""
    for _ in range(40):  # each squatted address: reported, listed, released, another created
        plan = allocation.plan(requests, pools, vips, {})
        listed = {s.address for p in pools for s in p.on_wire}
        by_name = {v.name: v for v in vips}
        for name in plan.deletes:
            vip = by_name[name]
            if vip.on_wire is not None and any(m.key == k for m in requests for k in vip.services):
                assert vip.address in listed, f"{vip.address} released before it was listed"
                members = [r for r in requests if r.key in vip.services]
                assert all(m.requested(vip.address.version) is None for m in members)
        after = []
        for vip in vips:
            if vip.name in plan.deletes:
                continue
            update = plan.updates.get(vip.name)
            after.append(vip if update is None else vip._replace(
                services=update.services, sharing_key=update.sharing_key))  # fmt: skip
        for new in plan.creates:
            found = seen(str(new.address)) if new.address in squat else None
            after.append(VipView(new.name, new.address, new.pool, new.services, False,
                                 new.sharing_key, found))  # fmt: skip
        reported = {v.address for v in after if v.on_wire is not None}
        new_pools = [dataclasses.replace(p, on_wire=tuple(
            seen(str(a)) for a in sorted(reported | {s.address for s in p.on_wire})
            if p.addresses is not None and p.addresses.includes(a)))
            for p in pools]  # fmt: skip
        if not (plan.creates or plan.deletes or plan.updates) and new_pools == list(pools):
            return plan, vips, list(pools)
        vips, pools = after, new_pools
    raise AssertionError("the plan did not settle")


def test_a_shared_address_in_use_moves_as_one_group() -> None:
    requests = [shared("a", 80, created="1"), shared("b", 81, created="2")]
    vips = [squatted("a", "192.0.2.1", "a", "b", sharing_key="k")]
    plan, after, pools = settle(requests, [pool("p", "192.0.2.0/29")], vips)
    assert addresses_of(plan) == {"default/a": ["192.0.2.2"], "default/b": ["192.0.2.2"]}
    assert [s.address for s in pools[0].on_wire] == [ip("192.0.2.1")]
    assert all(v.address != ip("192.0.2.1") for v in after)


def test_a_shared_address_one_member_asked_for_stays() -> None:
    requests = [shared("a", 80, created="1"), shared("b", 81, created="2",
                                                  addresses=(ip("192.0.2.1"),))]  # fmt: skip
    vips = [squatted("a", "192.0.2.1", "a", "b", sharing_key="k")]
    plan = allocation.plan(requests, [pool("p", "192.0.2.0/29", listed=["192.0.2.1"])], vips, {})
    assert not plan.deletes and not plan.rechosen
    assert addresses_of(plan) == {"default/a": ["192.0.2.1"], "default/b": ["192.0.2.1"]}


# -- properties ---------------------------------------------------------------------------------

POOL_ADDRESSES = [f"10.0.0.{n}" for n in range(1, 7)]


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[Request], frozenset[Any]]:
    found = []
    for n in range(draw(st.integers(0, 7))):
        found.append(
            Request(
                namespace="x",
                name=f"s{n}",
                created=str(draw(st.integers(0, 3))),
                sharing_key=draw(st.sampled_from([None, None, "k"])),
                ports=frozenset({("TCP", draw(st.integers(80, 82)))}),
                addresses=(ip(draw(st.sampled_from(POOL_ADDRESSES))),)
                if draw(st.integers(0, 4)) == 0
                else (),
            )
        )
    squat = draw(st.frozensets(st.sampled_from(POOL_ADDRESSES).map(ip), max_size=4))
    return found, squat


@settings(max_examples=300, deadline=None)
@given(worlds())
def test_squatted_addresses_are_left_for_free_ones_and_the_plan_is_deterministic(
    world: tuple[list[Request], frozenset[Any]],
) -> None:
    requests, squat = world
    pools = [holdings.pool_view({"metadata": {"name": "p"},
                                 "spec": {"addresses": ["10.0.0.1-10.0.0.6"]}})]  # fmt: skip
    plan, vips, pools = settle(requests, pools, [], squat)
    by_key = {r.key: r for r in requests}
    owners: dict[Any, set[tuple[str, str | None]]] = {}
    for key, result in plan.results.items():
        for held in result.held:
            owners.setdefault(held.address, set()).add((key, by_key[key].sharing_key))
    for key, result in plan.results.items():
        for held in result.held:
            if held.address not in squat:
                continue
            members = [by_key[k] for k, _ in owners[held.address]]
            asked = any(m.requested(4) == held.address for m in members)  # by it or a partner
            # or it cannot move, and says why (nothing free, or its key's address refuses it)
            assert asked or result.failure is not None, (key, held, result)
    for address, keys in owners.items():
        assert len(keys) == 1 or {k for _, k in keys} == {"k"}, (address, keys)
    again = allocation.plan(list(reversed(requests)), pools[::-1], vips[::-1], {})
    assert addresses_of(again) == addresses_of(plan)
    assert not (again.creates or again.deletes or again.updates or again.rechosen)
