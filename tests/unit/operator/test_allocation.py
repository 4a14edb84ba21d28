"""The pure allocator of Services' addresses (floatip_operator.allocation, servicerequests).

Proves: which Services are floatip's (class, class-less by option, type); requests read from
annotations, the deprecated spec.loadBalancerIP and the IP families, with mistakes named;
the first pool by priority whose selectors and autoAssign allow the Service, lowest free
address first; a named pool, a requested address, and each failure (exhausted, taken, in no
pool, unknown pool, not allowed, no pool, name taken) with its reason; dual-stack, and
PreferDualStack allocating what it can. Properties over random worlds (hypothesis): no two
Services ever get one address, and none an address a standalone VirtualIP holds; re-running
the plan on its own result changes nothing (stable; an operator restart sees the same); a
Service's deletion moves no other Service's address; pool edits never move an allocated
address (it is flagged outside its pool instead); the plan does not depend on input order.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from floatip.api import servicerequests, services
from floatip.api.servicerequests import Request
from floatip_operator import allocation, holdings
from floatip_operator.holdings import PoolView, VipView

Why = services.Reason
ip = ipaddress.ip_address


def pool(name: str, *addresses: str, **spec: Any) -> PoolView:
    body = {"metadata": {"name": name}, "spec": {"addresses": list(addresses), **spec}}
    return holdings.pool_view(body)


def req(name: str, namespace: str = "default", **fields: Any) -> Request:
    return Request(namespace=namespace, name=name, **fields)


def apply(plan: holdings.Plan, vips: Iterable[VipView]) -> list[VipView]:
    """The VirtualIPs after the plan's writes (deletions completed)."""
    kept = [v for v in vips if v.name not in plan.deletes]
    return kept + [VipView(n.name, n.address, n.pool, (n.service,)) for n in plan.creates]


def addresses_of(plan: holdings.Plan) -> dict[str, list[str]]:
    return {key: [str(h.address) for h in r.held] for key, r in plan.results.items()}


# -- which Services, and what they ask ------------------------------------------------------------


def svc(spec: dict[str, Any] | None = None, **meta: Any) -> dict[str, Any]:
    base = {"type": "LoadBalancer", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack"}
    return {
        "metadata": {"name": "web", "namespace": "default", **meta},
        "spec": {**base, **(spec or {})},
    }


@pytest.mark.parametrize(
    ("spec", "default_class", "ours"),
    [
        ({"loadBalancerClass": "floatip.io/l2"}, False, True),
        ({"loadBalancerClass": "floatip.io/l2"}, True, True),
        ({}, True, True),
        ({}, False, False),
        ({"loadBalancerClass": "metallb.io/metallb"}, True, False),
        ({"type": "ClusterIP"}, True, False),
        ({"type": "NodePort", "loadBalancerClass": None}, True, False),
    ],
)
def test_which_services_are_floatips(spec: dict[str, Any], default_class: bool, ours: bool) -> None:
    assert servicerequests.is_floatips(svc(spec), default_class=default_class) is ours


def test_a_request_reads_annotations_families_and_the_deprecated_field() -> None:
    body = svc(
        {"ipFamilies": ["IPv6", "IPv4"], "ipFamilyPolicy": "PreferDualStack"},
        annotations={
            services.ADDRESSES_ANNOTATION: "192.0.2.7, 2001:db8::7",
            services.POOL_ANNOTATION: "blue",
        },
        labels={"app": "web"},
        uid="u1",
    )
    request = servicerequests.read(body)
    assert request.families == (6, 4) and request.required == 1
    assert request.addresses == (ip("192.0.2.7"), ip("2001:db8::7"))
    assert request.pool == "blue" and request.labels == {"app": "web"} and not request.problems
    assert request.key == "default/web"
    legacy = servicerequests.read(svc({"loadBalancerIP": "192.0.2.9"}))
    assert legacy.addresses == (ip("192.0.2.9"),) and legacy.required == 1


@pytest.mark.parametrize(
    ("annotations", "spec", "problem"),
    [
        ({services.ADDRESSES_ANNOTATION: "192.0.2.1,192.0.2.2"}, {}, "two IPv4 addresses"),
        ({services.ADDRESSES_ANNOTATION: "2001:db8::1"}, {}, "has no IPv6"),
        ({services.ADDRESSES_ANNOTATION: "nonsense"}, {}, "not a usable address"),
        ({services.POOL_ANNOTATION: "Bad_Name"}, {}, "not a pool's name"),
        ({}, {"ipFamilies": ["IPv5"]}, "IPv5"),
    ],
)
def test_a_mistaken_request_says_what_to_write(
    annotations: dict[str, str], spec: dict[str, Any], problem: str
) -> None:
    assert problem in servicerequests.read(svc(spec, annotations=annotations)).problems


# -- choosing -------------------------------------------------------------------------------------


def test_the_first_pool_by_priority_that_selects_the_service_gives_its_lowest_free_address() -> (
    None
):
    pools = [
        pool("z-fallback", "198.51.100.0/30"),
        pool("a-gold", "192.0.2.0/30", priority=1, serviceSelector={"matchLabels": {"t": "gold"}}),
        pool("b-manual", "203.0.113.0/30", priority=0, autoAssign=False),
        pool("c-team", "192.0.2.8/30", priority=2, namespaceSelector={"matchLabels": {"t": "a"}}),
    ]
    standalone = [VipView("manual", ip("198.51.100.1"))]
    result = allocation.plan(
        [
            req("gold", labels={"t": "gold"}, created="1"),
            req("plain", created="2"),
            req("team", namespace="team-a", created="3"),
        ],
        pools,
        standalone,
        {"team-a": {"t": "a"}},
    )
    assert addresses_of(result) == {
        "default/gold": ["192.0.2.1"],
        "default/plain": ["198.51.100.2"],
        "team-a/team": ["192.0.2.9"],
    }
    assert {(n.name, n.pool) for n in result.creates} == {
        ("svc-default.gold-v4", "a-gold"),
        ("svc-default.plain-v4", "z-fallback"),
        ("svc-team-a.team-v4", "c-team"),
    }
    assert not result.deletes


def test_a_new_vip_carries_the_pools_template() -> None:
    template = {"nodeSelector": {"matchLabels": {"edge": "yes"}}, "interface": "eth1"}
    result = allocation.plan([req("web")], [pool("p", "192.0.2.0/30", template=template)], [], {})
    assert result.creates[0].template == template


@pytest.mark.parametrize(
    ("request_", "vips", "reason", "says"),
    [
        (req("w"), [VipView("x", ip("192.0.2.1")), VipView("y", ip("192.0.2.2"))],
         Why.POOL_EXHAUSTED, "every IPv4 address of pool p is taken"),
        (req("w", addresses=(ip("192.0.2.2"),)), [VipView("x", ip("192.0.2.2"))],
         Why.ADDRESS_TAKEN, "192.0.2.2 is held by another"),
        (req("w", addresses=(ip("203.0.113.5"),)), [], Why.NOT_IN_ANY_POOL,
         "not in any valid pool"),
        (req("w", addresses=(ip("192.0.2.1"),), pool="q"), [], Why.NOT_IN_ANY_POOL,
         "not in pool q"),
        (req("w", pool="nope"), [], Why.POOL_UNKNOWN, "pool nope"),
        (req("w", pool="bad"), [], Why.POOL_UNKNOWN, "is invalid"),
        (req("w", pool="picky"), [], Why.POOL_NOT_ALLOWED, "serviceSelector"),
        (req("w", families=(6,)), [], Why.NO_POOL, "IPv6 address"),
        (req("w"), [VipView("svc-default.w-v4", ip("198.51.100.1"))], Why.NAME_TAKEN,
         "svc-default.w-v4 exists"),
        (req("w", problems="spec.ipFamilies has 'IPv5'"), [], Why.INVALID_REQUEST, "IPv5"),
    ],
)  # fmt: skip
def test_each_failure_has_its_reason_and_says_what_to_do(
    request_: Request, vips: list[VipView], reason: services.Reason, says: str
) -> None:
    pools = [
        pool("p", "192.0.2.1-192.0.2.2"),
        pool("q", "198.51.100.0/30", autoAssign=False),
        pool("bad", "192.0.2.20-192.0.2.10"),
        pool(
            "picky", "203.0.113.0/30", autoAssign=False, serviceSelector={"matchLabels": {"a": "b"}}
        ),
    ]
    result = allocation.plan([request_], pools, vips, {}).results["default/w"]
    assert result.failure is not None and result.failure.reason is reason
    assert says in result.failure.message
    assert not result.held


def test_dual_stack_gets_one_virtualip_per_family_and_prefer_dual_stack_what_it_can() -> None:
    pools = [pool("v4", "192.0.2.0/30"), pool("v6", "2001:db8::/126")]
    both = req("both", families=(6, 4), required=2)
    prefer = req("prefer", families=(4, 6), required=1)
    result = allocation.plan([both, prefer], pools, [], {})
    assert addresses_of(result) == {
        "default/both": ["2001:db8::1", "192.0.2.1"],
        "default/prefer": ["192.0.2.2", "2001:db8::2"],
    }
    only_v4 = allocation.plan([prefer], [pools[0]], [], {})
    assert addresses_of(only_v4) == {"default/prefer": ["192.0.2.1"]}
    assert only_v4.results["default/prefer"].failure is None
    required = allocation.plan([both], [pools[0]], [], {}).results["default/both"]
    assert required.failure is not None and required.failure.reason is Why.NO_POOL
    assert not allocation.plan([both], [pools[0]], [], {}).creates  # all or nothing


# -- durability -----------------------------------------------------------------------------------


def mine(name: str, address: str, pool_name: str = "p", version: int = 4) -> VipView:
    return VipView(
        services.vip_name("default", name, version), ip(address), pool_name, (f"default/{name}",)
    )


def test_held_addresses_stay_through_a_pool_edit_or_deletion_and_are_flagged() -> None:
    held = [mine("a", "192.0.2.1"), mine("b", "192.0.2.2", pool_name="gone")]
    edited = [pool("p", "192.0.2.100/30")]
    result = allocation.plan([req("a"), req("b")], edited, held, {})
    assert addresses_of(result) == {"default/a": ["192.0.2.1"], "default/b": ["192.0.2.2"]}
    assert all(h.outside for r in result.results.values() for h in r.held)
    assert not result.creates and not result.deletes


def test_a_changed_request_moves_only_when_the_new_address_can_be_had() -> None:
    held = [mine("a", "192.0.2.1"), VipView("x", ip("192.0.2.3"))]
    pools = [pool("p", "192.0.2.0/29")]
    taken = allocation.plan([req("a", addresses=(ip("192.0.2.3"),))], pools, held, {})
    result = taken.results["default/a"]
    assert result.failure is not None and result.failure.reason is Why.ADDRESS_TAKEN
    assert [str(h.address) for h in result.held] == ["192.0.2.1"] and not taken.deletes
    moved = allocation.plan([req("a", addresses=(ip("192.0.2.5"),))], pools, held, {})
    assert moved.deletes == {"svc-default.a-v4": "the Service asks for another address or pool"}
    assert moved.results["default/a"].waiting and not moved.creates  # same name: after deletion
    deleting = [held[0]._replace(deleting=True), held[1]]
    again = allocation.plan([req("a", addresses=(ip("192.0.2.5"),))], pools, deleting, {})
    assert again.results["default/a"].waiting and not again.creates
    done = allocation.plan([req("a", addresses=(ip("192.0.2.5"),))], pools, held[1:], {})
    assert addresses_of(done) == {"default/a": ["192.0.2.5"]}


def test_virtualips_of_services_gone_or_not_floatips_are_released_and_standalone_never() -> None:
    vips = [
        mine("gone", "192.0.2.1"),
        mine("kept", "192.0.2.2"),
        VipView("manual", ip("192.0.2.3")),
    ]
    result = allocation.plan([req("kept")], [pool("p", "192.0.2.0/29")], vips, {})
    assert set(result.deletes) == {"svc-default.gone-v4"}
    family = allocation.plan([req("kept", families=(6,))], [], vips[1:], {})
    assert set(family.deletes) == {"svc-default.kept-v4"}
    invalid = allocation.plan([req("kept", families=(6,), problems="x")], [], vips[1:], {})
    assert not invalid.deletes  # a mistake in the Service never takes its address back


# -- properties -----------------------------------------------------------------------------------

POOLS = [
    pool("a", "10.0.0.1-10.0.0.4", priority=1),
    pool("b", "10.0.0.3-10.0.0.8"),
    pool("c", "10.0.1.0/30", autoAssign=False),
    pool("six", "fd00::1-fd00::3"),
]
ADDRESS = st.sampled_from([f"10.0.0.{n}" for n in range(1, 10)] + ["10.0.1.1", "fd00::2"])


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[Request], list[VipView]]:
    count = draw(st.integers(0, 12))
    requests = []
    for n in range(count):
        families = draw(st.sampled_from([(4,), (6,), (4, 6)]))
        wanted = draw(st.lists(ADDRESS, max_size=2, unique=True))
        requests.append(
            req(
                f"s{n}",
                namespace=draw(st.sampled_from(["x", "y"])),
                families=families,
                required=draw(st.integers(1, len(families))),
                addresses=tuple(ip(a) for a in wanted if ip(a).version in families)[:1],
                pool=draw(st.sampled_from([None, None, "a", "c", "nope"])),
                created=str(draw(st.integers(0, 3))),
            )
        )
    standalone = [VipView(f"m{a}", ip(a)) for a in draw(st.lists(ADDRESS, max_size=3, unique=True))]
    return requests, standalone


def owners(plan: holdings.Plan) -> dict[Any, str]:
    seen: dict[Any, str] = {}
    for key, result in plan.results.items():
        for held in result.held:
            assert held.address not in seen, f"{held.address}: {seen.get(held.address)} and {key}"
            seen[held.address] = key
    return seen


def settle(
    requests: Sequence[Request], pools: Sequence[PoolView], vips: list[VipView]
) -> tuple[holdings.Plan, list[VipView]]:
    for _ in range(4):
        plan = allocation.plan(requests, pools, vips, {})
        if not plan.creates and not plan.deletes:
            return plan, vips
        vips = apply(plan, vips)
    raise AssertionError("the plan did not settle")


@settings(max_examples=300, deadline=None)
@given(worlds())
def test_no_address_twice_stable_and_restart_proof(
    world: tuple[list[Request], list[VipView]],
) -> None:
    requests, standalone = world
    plan, vips = settle(requests, POOLS, standalone)
    held = owners(plan)
    assert not set(held) & {v.address for v in standalone}
    # A restart: the same world read again (in any order) plans the same and writes nothing.
    again = allocation.plan(list(reversed(requests)), list(reversed(POOLS)), vips[::-1], {})
    assert addresses_of(again) == addresses_of(plan) and not again.creates and not again.deletes


@settings(max_examples=200, deadline=None)
@given(worlds(), st.data())
def test_deleting_a_service_or_editing_pools_moves_no_other_address(
    world: tuple[list[Request], list[VipView]], data: st.DataObject
) -> None:
    requests, standalone = world
    plan, vips = settle(requests, POOLS, standalone)
    before = addresses_of(plan)
    if requests:
        gone = data.draw(st.sampled_from(requests))
        rest = [r for r in requests if r is not gone]
        after, _ = settle(rest, POOLS, vips)
        for key, addresses in addresses_of(after).items():
            # kept (a PreferDualStack Service may gain its optional family once one frees up)
            assert set(before.get(key, [])) <= set(addresses), key
    edited = [pool("a", "10.0.0.7-10.0.0.9"), pool("six", "fd00::3")]
    after_edit = allocation.plan(requests, edited, vips, {})
    for key, addresses in before.items():
        if addresses:
            assert [str(h.address) for h in after_edit.results[key].held] == addresses
    assert not after_edit.deletes
