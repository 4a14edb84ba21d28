"""Sharing one address between Services (floatip.io/sharing-key): allocation, pure.

Proves (examples): a request reads its key, ports, policy and selector; two Services of one
namespace with one key and no common port share one VirtualIP that lists both and records
the key; a common port/protocol, Local with Cluster, or two Local Services selecting different
pods are refused (SharingRefused, naming the other Service and the clash); keys are per
namespace; a joiner asking for another address or pool is refused, for the key's address it
joins; deleting one sharing Service keeps the address for the others (MetalLB #2723) and the
last one's deletion deletes it; a member whose ports are edited into a clash leaves; a lone
holder's key follows its Service; the guarded patch of a VirtualIP's members.
Proves (hypothesis, random Services with keys, ports and policies): never two Services on one
address unless they share its key in one namespace and are pairwise compatible; a settled
plan is stable and restart-proof; deleting a Service moves no other Service's address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from floatip.api import servicerequests, services
from floatip.api.servicerequests import Request
from floatip_operator import allocation, holdings, servicerecords, sharing
from floatip_operator.holdings import Members, PoolView, VipView

Why = services.Reason
ip = ipaddress.ip_address
POOLS = [
    holdings.pool_view({"metadata": {"name": "p"}, "spec": {"addresses": ["10.0.0.1-10.0.0.9"]}})
]


def req(name: str, *ports: int, namespace: str = "default", **fields: Any) -> Request:
    fields.setdefault("sharing_key", "k")
    return Request(
        namespace=namespace, name=name, ports=frozenset(("TCP", p) for p in ports), **fields
    )


def apply(plan: holdings.Plan, vips: Sequence[VipView]) -> list[VipView]:
    """The VirtualIPs after the plan's writes (deletions completed, members rewritten)."""
    after = []
    for vip in vips:
        if vip.name in plan.deletes:
            continue
        update = plan.updates.get(vip.name)
        if update is None:
            after.append(vip)
        else:
            after.append(vip._replace(services=update.services, sharing_key=update.sharing_key))
    for new in plan.creates:
        after.append(VipView(new.name, new.address, new.pool, new.services, False, new.sharing_key))
    return after


def settle(
    requests: Sequence[Request], vips: list[VipView], pools: Sequence[PoolView] = POOLS
) -> tuple[holdings.Plan, list[VipView]]:
    for _ in range(5):
        plan = allocation.plan(requests, pools, vips, {})
        if not (plan.creates or plan.deletes or plan.updates):
            return plan, vips
        vips = apply(plan, vips)
    raise AssertionError("the plan did not settle")


def held(plan: holdings.Plan) -> dict[str, list[str]]:
    return {key: [str(h.address) for h in r.held] for key, r in plan.results.items()}


def test_a_request_reads_what_sharing_compares() -> None:
    body = {
        "metadata": {"name": "dns", "namespace": "default",
                     "annotations": {"floatip.io/sharing-key": " dns "}},
        "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local",
                 "selector": {"app": "dns", "tier": "a"},
                 "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53}]},
    }  # fmt: skip
    request = servicerequests.read(body)
    assert request.sharing_key == "dns" and request.local
    assert request.ports == {("UDP", 53), ("TCP", 53)}
    assert request.selector == (("app", "dns"), ("tier", "a"))
    blank = {"metadata": {"annotations": {"floatip.io/sharing-key": ""}}, "spec": {}}
    assert servicerequests.read(blank).sharing_key is None


def test_two_services_with_one_key_share_one_virtualip() -> None:
    plan = allocation.plan(
        [req("tcp", 80, created="1"), req("udp", 443, created="2")], POOLS, [], {}
    )
    assert held(plan) == {"default/tcp": ["10.0.0.1"], "default/udp": ["10.0.0.1"]}
    (new,) = plan.creates
    assert (new.name, new.services, new.sharing_key) == (
        "svc-default.tcp-v4",
        ("default/tcp", "default/udp"),
        "k",
    )
    body = servicerecords.vip_body(new)
    assert body["metadata"]["annotations"] == {
        "floatip.io/services": "default/tcp,default/udp",
        "floatip.io/sharing-key": "k",
    }


def test_clashes_are_refused_naming_the_other_service() -> None:
    cases = [
        (req("b", 80, 81, created="2"), "both use 80/TCP"),
        (req("b", 81, created="2", local=True), "default/b has externalTrafficPolicy Local"),
    ]
    for joiner, clash in cases:
        plan = allocation.plan([req("a", 80, created="1"), joiner], POOLS, [], {})
        result = plan.results["default/b"]
        assert not result.held and result.failure is not None
        assert result.failure.reason is Why.SHARING_REFUSED
        assert (
            "with Service default/a" in result.failure.message and clash in result.failure.message
        )
        assert plan.creates[0].services == ("default/a",)
    same = (("app", "x"),)
    ok = allocation.plan(
        [req("a", 80, created="1", local=True, selector=same),
         req("b", 81, created="2", local=True, selector=same)], POOLS, [], {},
    )  # fmt: skip
    assert held(ok)["default/b"] == ["10.0.0.1"]
    other = allocation.plan(
        [req("a", 80, created="1", local=True, selector=same),
         req("b", 81, created="2", local=True, selector=(("app", "y"),))], POOLS, [], {},
    )  # fmt: skip
    failure = other.results["default/b"].failure
    assert failure is not None and "select different pods" in failure.message


def test_keys_are_per_namespace() -> None:
    plan = allocation.plan(
        [req("a", 80, created="1"), req("a", 81, namespace="other", created="2")], POOLS, [], {}
    )
    assert held(plan) == {"default/a": ["10.0.0.1"], "other/a": ["10.0.0.2"]}


def test_a_joiner_asking_for_another_address_or_pool_is_refused() -> None:
    first = req("a", 80, created="1")
    plan = allocation.plan(
        [first, req("b", 81, created="2", addresses=(ip("10.0.0.5"),))], POOLS, [], {}
    )
    failure = plan.results["default/b"].failure
    assert failure is not None and failure.reason is Why.SHARING_REFUSED
    assert "asks for 10.0.0.5" in failure.message
    plan = allocation.plan(
        [first, req("b", 81, created="2", addresses=(ip("10.0.0.1"),))], POOLS, [], {}
    )
    assert held(plan)["default/b"] == ["10.0.0.1"]
    plan = allocation.plan([first, req("b", 81, created="2", pool="q")], POOLS, [], {})
    failure = plan.results["default/b"].failure
    assert failure is not None and "asks for pool q" in failure.message


def test_deleting_one_sharing_service_keeps_the_address_for_the_others() -> None:
    a, b, c = req("a", 80, created="1"), req("b", 81, created="2"), req("c", 82, created="3")
    plan, vips = settle([a, b, c], [])
    assert vips[0].services == ("default/a", "default/b", "default/c")
    plan = allocation.plan([b, c], POOLS, vips, {})  # the creator goes: the address stays
    assert not plan.deletes and not plan.creates
    assert plan.updates == {"svc-default.a-v4": Members(("default/b", "default/c"), "k")}
    assert held(plan) == {"default/b": ["10.0.0.1"], "default/c": ["10.0.0.1"]}
    vips = apply(plan, vips)
    plan = allocation.plan([], POOLS, vips, {})
    assert plan.deletes == {
        "svc-default.a-v4": "its Service is gone or no longer served by floatip"
    }


def test_a_member_edited_into_a_clash_leaves_and_is_refused() -> None:
    a, b = req("a", 80, created="1"), req("b", 81, created="2")
    _, vips = settle([a, b], [])
    edited = req("b", 80, created="2")
    plan = allocation.plan([a, edited], POOLS, vips, {})
    assert plan.updates == {"svc-default.a-v4": Members(("default/a",), "k")}
    failure = plan.results["default/b"].failure
    assert failure is not None and "both use 80/TCP" in failure.message
    assert held(plan) == {"default/a": ["10.0.0.1"], "default/b": []}


def test_a_lone_holder_keeps_its_address_and_the_key_follows_its_service() -> None:
    a = req("a", 80, created="1", sharing_key=None)
    _, vips = settle([a], [])
    keyed = req("a", 80, created="1", sharing_key="new")
    plan = allocation.plan([keyed], POOLS, vips, {})
    assert plan.updates == {"svc-default.a-v4": Members(("default/a",), "new")}
    assert held(plan) == {"default/a": ["10.0.0.1"]}
    # a Service with the new key joins it at once
    plan = allocation.plan([keyed, req("b", 81, created="2", sharing_key="new")], POOLS, vips, {})
    assert plan.updates == {"svc-default.a-v4": Members(("default/a", "default/b"), "new")}


def test_the_members_patch_is_guarded_by_the_list_read() -> None:
    body = {"metadata": {"annotations": {"floatip.io/services": "default/a",
                                         "floatip.io/sharing-key": "k"}}}  # fmt: skip
    assert servicerecords.members(body, Members(("default/a",), "k")) is None
    assert servicerecords.members(body, Members(("default/a", "default/b"), "k")) == [
        {"op": "test", "path": "/metadata/annotations/floatip.io~1services", "value": "default/a"},
        {"op": "add", "path": "/metadata/annotations/floatip.io~1services",
         "value": "default/a,default/b"},
        {"op": "add", "path": "/metadata/annotations/floatip.io~1sharing-key", "value": "k"},
    ]  # fmt: skip
    ops = servicerecords.members(body, Members(("default/a",), None))
    assert ops is not None and ops[-1] == {
        "op": "remove",
        "path": "/metadata/annotations/floatip.io~1sharing-key",
    }


# -- properties -------------------------------------------------------------------------------------


@st.composite
def worlds(draw: st.DrawFn) -> list[Request]:
    found = []
    for n in range(draw(st.integers(0, 10))):
        local = draw(st.booleans())
        found.append(
            Request(
                namespace=draw(st.sampled_from(["x", "y"])),
                name=f"s{n}",
                created=str(draw(st.integers(0, 3))),
                sharing_key=draw(st.sampled_from([None, "k", "k", "j"])),
                ports=frozenset(
                    (draw(st.sampled_from(["TCP", "UDP"])), p)
                    for p in draw(st.lists(st.integers(80, 83), min_size=1, max_size=2))
                ),
                local=local,
                selector=(("app", draw(st.sampled_from(["a", "b"]))),) if local else (),
                addresses=(ip("10.0.0.3"),) if draw(st.integers(0, 5)) == 0 else (),
            )
        )
    return found


def check_sharing(plan: holdings.Plan, requests: Sequence[Request]) -> None:
    by_key = {r.key: r for r in requests}
    on: dict[Any, list[Request]] = {}
    for key, result in plan.results.items():
        for h in result.held:
            on.setdefault(h.address, []).append(by_key[key])
    for address, holders in on.items():
        if len(holders) < 2:
            continue
        keys = {(r.namespace, r.sharing_key) for r in holders}
        assert len(keys) == 1 and None not in {r.sharing_key for r in holders}, address
        for i, a in enumerate(holders):
            for b in holders[i + 1 :]:
                assert not sharing.clash(a, b), (address, a.key, b.key)


@settings(max_examples=300, deadline=None)
@given(worlds(), st.data())
def test_never_two_services_one_address_unless_shared_and_compatible(
    requests: list[Request], data: st.DataObject
) -> None:
    plan, vips = settle(requests, [])
    check_sharing(plan, requests)
    again = allocation.plan(list(reversed(requests)), POOLS, vips[::-1], {})
    assert held(again) == held(plan)
    assert not (again.creates or again.deletes or again.updates)
    # Edit one Service's ports or policy: the invariant still holds once the plan settles.
    if requests:
        i = data.draw(st.integers(0, len(requests) - 1))
        edited = list(requests)
        edited[i] = requests[i].__class__(
            **{**requests[i].__dict__, "ports": frozenset({("TCP", 80)}), "local": False}
        )
        plan2, _ = settle(edited, vips)
        check_sharing(plan2, edited)
        # Deleting a Service moves no other Service's address.
        rest = [r for j, r in enumerate(requests) if j != i]
        after, _ = settle(rest, vips)
        before = held(plan)
        for key, addresses in held(after).items():
            assert set(before.get(key, [])) <= set(addresses), key
