"""Placement: one eligible holder per VirtualIP, minimal disruption, even spread, determinism.

Proves (examples): keep the holder while eligible; first eligible preferred node; preempt only
when set and only towards a better preferred node; a pin wins when eligible and is reported when
not; failover vs planned moves; the oldest of two VirtualIPs with one address keeps it; no
eligible node keeps the holder rather than dropping the address.
Proves (hypothesis): never an ineligible holder; at most one holder per VirtualIP; losing a node
moves only its VirtualIPs, spread over the survivors with max-min <= 1; placing twice changes
nothing; the result does not depend on input order.
"""

from __future__ import annotations

import ipaddress
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from floatip.api import model
from floatip_operator import eligibility, placement
from floatip_operator.eligibility import Interface, NodeView, VipView
from floatip_operator.placement import Reason

LAN = ipaddress.ip_network("192.0.2.0/24")


def node(name: str, **kwargs: object) -> NodeView:
    kwargs.setdefault("interfaces", (Interface("eth0", LAN),))
    return NodeView(name=name, **kwargs)  # type: ignore[arg-type]


def vip(
    name: str,
    address: str = "192.0.2.100",
    holder: str | None = None,
    created: str = "",
    **spec: object,
) -> VipView:
    return VipView(
        name=name,
        spec=model.VirtualIPSpec.model_validate({"address": address, **spec}),
        holder=holder,
        created=created,
    )


def nodes(*items: NodeView) -> dict[str, NodeView]:
    return {n.name: n for n in items}


def place_one(v: VipView, ns: dict[str, NodeView], **health: dict[str, bool]) -> placement.Decision:
    return placement.place([v], ns, health)[v.name]


def test_holder_is_kept_while_eligible() -> None:
    d = place_one(vip("a", holder="s2", preferredNodes=["s1"]), nodes(node("s1"), node("s2")))
    assert (d.node, d.reason, d.moved) == ("s2", Reason.KEPT, False)


def test_first_eligible_preferred_node() -> None:
    ns = nodes(node("s1", ready=False), node("s2"), node("s3"))
    d = place_one(vip("a", preferredNodes=["s1", "s3", "s2"]), ns)
    assert (d.node, d.reason) == ("s3", Reason.ASSIGNED)


def test_dead_holder_fails_over_unplanned() -> None:
    ns = nodes(node("s1", agent_alive=False), node("s2"))
    d = place_one(vip("a", holder="s1"), ns)
    assert (d.node, d.reason, d.planned) == ("s2", Reason.FAILOVER, False)


def test_drained_but_alive_holder_hands_over_planned() -> None:
    ns = nodes(node("s1", drained=True), node("s2"))
    d = place_one(vip("a", holder="s1"), ns)
    assert (d.node, d.reason, d.planned) == ("s2", Reason.HOLDER_INELIGIBLE, True)


def test_preempt_moves_back_only_when_set() -> None:
    ns = nodes(node("s1"), node("s2"))
    assert place_one(vip("a", holder="s2", preferredNodes=["s1", "s2"]), ns).node == "s2"
    d = place_one(vip("a", holder="s2", preferredNodes=["s1", "s2"], preempt=True), ns)
    assert (d.node, d.reason, d.planned) == ("s1", Reason.PREEMPTED, True)


def test_preempt_never_moves_to_a_worse_preferred_node() -> None:
    ns = nodes(node("s1"), node("s2"), node("s3"))
    d = place_one(vip("a", holder="s1", preferredNodes=["s1", "s2"], preempt=True), ns)
    assert d.reason is Reason.KEPT
    ns = nodes(node("s1", ready=False), node("s2"), node("s3"))
    d = place_one(vip("a", holder="s2", preferredNodes=["s1", "s2"], preempt=True), ns)
    assert d.reason is Reason.KEPT


def test_pin_moves_planned_when_eligible() -> None:
    ns = nodes(node("s1"), node("s2"))
    d = place_one(vip("a", holder="s1", node="s2"), ns)
    assert (d.node, d.reason, d.planned) == ("s2", Reason.PINNED, True)


def test_pin_to_unknown_node_is_reported_and_address_stays() -> None:
    ns = nodes(node("s1"), node("s2"))
    d = place_one(vip("a", holder="s1", node="ghost"), ns)
    assert (d.node, d.reason) == ("s1", Reason.KEPT)
    assert "pinned node 'ghost' does not exist" in d.detail


def test_pin_to_ineligible_node_names_the_reason() -> None:
    ns = nodes(node("s1"), node("s2", drained=True))
    d = place_one(vip("a", node="s2"), ns)
    assert d.node == "s1"
    assert "pinned node 's2' is not eligible (Drained)" in d.detail


def test_no_eligible_node_keeps_the_holder() -> None:
    ns = nodes(node("s1", agent_alive=False), node("s2", lease_fresh=False))
    d = place_one(vip("a", holder="s1"), ns)
    assert (d.node, d.reason) == ("s1", Reason.NO_ELIGIBLE_NODE)
    assert "1 AgentDown" in d.detail
    assert "1 LeaseExpired" in d.detail


def test_no_eligible_node_and_no_holder() -> None:
    d = place_one(vip("a", nodeSelector={"matchLabels": {"zone": "x"}}), nodes(node("s1")))
    assert (d.node, d.reason) == (None, Reason.NO_ELIGIBLE_NODE)
    assert "1 NotSelected" in d.detail


def test_no_nodes_at_all() -> None:
    d = place_one(vip("a"), {})
    assert d.detail == "no node runs the floatip agent"


def test_selector_interface_and_node_address() -> None:
    other = ipaddress.ip_network("198.51.100.0/24")
    ns = nodes(
        node(
            "s1",
            labels={"zone": "a"},
            own_addresses=frozenset({ipaddress.ip_address("192.0.2.100")}),
        ),
        node("s2", labels={"zone": "b"}),
        node("s3", labels={"zone": "a"}, interfaces=(Interface("eth1", other),)),
        node("s4", labels={"zone": "a"}),
    )
    d = place_one(vip("a", nodeSelector={"matchLabels": {"zone": "a"}}), ns)
    assert d.node == "s4"  # s1 owns the address itself, s2 is not selected, s3 has no such subnet
    d = place_one(vip("b", address="203.0.113.9", interface="eth1"), ns)
    assert d.node == "s3"


def test_health_check_results_gate_eligibility() -> None:
    ns = nodes(node("s1"), node("s2"), node("s3"))
    v = vip("a", preferredNodes=["s1"], healthCheck={"type": "tcp", "port": 80})
    d = placement.place([v], ns, {"a": {"s1": False, "s2": True}})["a"]
    assert d.node == "s2"  # s1 fails, s3 not yet known
    assert (
        eligibility.why_ineligible(v, ns["s3"], {}) is eligibility.Ineligible.HEALTH_CHECK_UNKNOWN
    )


def test_older_virtualip_keeps_a_shared_address() -> None:
    old = vip("zeta", created="2026-01-01T00:00:00Z")
    new = vip("alpha", address="192.0.2.100/24", created="2026-02-01T00:00:00Z", holder="s1")
    result = placement.place([new, old], nodes(node("s1"), node("s2")))
    assert result["zeta"].node is not None
    assert (result["alpha"].node, result["alpha"].reason) == (None, Reason.DUPLICATE_ADDRESS)
    assert "'zeta'" in result["alpha"].detail


def test_least_loaded_spreads_evenly() -> None:
    ns = nodes(*(node(f"s{i}") for i in range(4)))
    vips = [vip(f"v{i}", address=f"192.0.2.{100 + i}") for i in range(10)]
    counts: dict[str, int] = {}
    for d in placement.place(vips, ns).values():
        assert d.node is not None
        counts[d.node] = counts.get(d.node, 0) + 1
    assert sorted(counts.values()) == [2, 2, 3, 3]


# --- properties ---------------------------------------------------------------------------

node_states = st.fixed_dictionaries(
    {
        "ready": st.booleans(),
        "agent_alive": st.booleans(),
        "lease_fresh": st.booleans(),
        "drained": st.booleans(),
        "zone": st.sampled_from(["a", "b"]),
    }
)


@st.composite
def clusters(
    draw: st.DrawFn,
) -> tuple[list[VipView], dict[str, NodeView], dict[str, dict[str, bool]]]:
    names = [f"s{i}" for i in range(draw(st.integers(0, 6)))]
    ns = {}
    for name in names:
        s = draw(node_states)
        ns[name] = node(
            name,
            ready=s["ready"],
            agent_alive=s["agent_alive"],
            lease_fresh=s["lease_fresh"],
            drained=s["drained"],
            labels={"zone": s["zone"]},
        )
    vips, health = [], {}
    for i in range(draw(st.integers(0, 12))):
        spec: dict[str, object] = {}
        if names and draw(st.booleans()):
            spec["preferredNodes"] = draw(st.lists(st.sampled_from(names), unique=True, min_size=1))
            spec["preempt"] = draw(st.booleans())
        if draw(st.integers(0, 3)) == 0:
            spec["nodeSelector"] = {"matchLabels": {"zone": draw(st.sampled_from(["a", "b"]))}}
        if names and draw(st.integers(0, 3)) == 0:
            spec["node"] = draw(st.sampled_from([*names, "ghost"]))
        if names and draw(st.integers(0, 3)) == 0:
            spec["healthCheck"] = {"type": "tcp", "port": 80}
            health[f"v{i}"] = {n: draw(st.booleans()) for n in names}
        holder = draw(st.sampled_from([None, "ghost", *names]))
        address = f"192.0.2.{100 + draw(st.integers(0, 15))}"
        vips.append(vip(f"v{i}", address=address, holder=holder, created=f"{i:04}", **spec))
    return vips, ns, health


@settings(max_examples=300, deadline=None)
@given(clusters())
def test_never_an_ineligible_new_holder_and_one_holder_each(
    cluster: tuple[list[VipView], dict[str, NodeView], dict[str, dict[str, bool]]],
) -> None:
    vips, ns, health = cluster
    result = placement.place(vips, ns, health)
    assert set(result) == {v.name for v in vips}
    by_name = {v.name: v for v in vips}
    for d in result.values():
        v = by_name[d.vip]
        if d.reason in (Reason.NO_ELIGIBLE_NODE, Reason.DUPLICATE_ADDRESS):
            assert d.node in (None, v.holder)
        else:
            assert d.node is not None
            assert eligibility.why_ineligible(v, ns[d.node], health) is None


@settings(max_examples=300, deadline=None)
@given(clusters())
def test_placing_twice_changes_nothing(
    cluster: tuple[list[VipView], dict[str, NodeView], dict[str, dict[str, bool]]],
) -> None:
    vips, ns, health = cluster
    first = placement.place(vips, ns, health)
    again = [VipView(v.name, v.spec, first[v.name].node, v.created) for v in vips]
    second = placement.place(again, ns, health)
    for name, d in second.items():
        assert d.node == first[name].node
        assert not d.moved


@settings(max_examples=100, deadline=None)
@given(clusters(), st.randoms())
def test_input_order_does_not_matter(
    cluster: tuple[list[VipView], dict[str, NodeView], dict[str, dict[str, bool]]],
    rnd: random.Random,
) -> None:
    vips, ns, health = cluster
    shuffled = list(vips)
    rnd.shuffle(shuffled)
    node_items = list(ns.items())
    rnd.shuffle(node_items)
    assert placement.place(vips, ns, health) == placement.place(shuffled, dict(node_items), health)


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 12), st.integers(0, 60), st.data())
def test_losing_a_node_moves_only_its_vips_evenly(
    node_count: int, vip_count: int, data: st.DataObject
) -> None:
    ns = {f"s{i}": node(f"s{i}") for i in range(node_count)}
    vips = [vip(f"v{i}", address=f"192.0.{2 + i // 200}.{10 + i % 200}") for i in range(vip_count)]
    first = placement.place(vips, ns)
    lost = data.draw(st.sampled_from(sorted(ns)))
    survivors = {n: v for n, v in ns.items() if n != lost}
    held = [VipView(v.name, v.spec, first[v.name].node, v.created) for v in vips]
    second = placement.place(held, {**survivors, lost: node(lost, agent_alive=False)})
    moved = {name for name, d in second.items() if d.moved}
    assert moved == {name for name, d in first.items() if d.node == lost}
    loads = [sum(1 for d in second.values() if d.node == n) for n in survivors]
    assert max(loads) - min(loads) <= 1
