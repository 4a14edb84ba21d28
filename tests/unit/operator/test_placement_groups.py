"""Placement of groups (spec.group): members move together, judged as one.

Proves (examples): members get one holder, eligible for every member (the intersection of
subnets, selectors and health checks); a member's failing check on the holder moves the whole
group, planned; a dead holder moves every member to one successor in one pass; one member's pin
or preferences lead the group; a split group joins its majority's holder (JoinedGroup);
conflicting pins or preferences (GroupConflict) move nobody from a healthy holder and block the
pin and preemption they ask for, yet a dead or ineligible holder still moves the group as one
unit to where it would go unpinned (a Failover in history, the conflict still said); with no
node for every member (GroupUnplaceable) a member whose holder may keep it stays, the others are
split off as little as possible (the node eligible for the most of them), a member no node may
hold stays (NoEligibleNode), and the group rejoins once a node may hold it all and is
settled (flap damping); no other
VirtualIP is disturbed; groups spread as units; the Grouped condition names the members.
Proves (hypothesis): no member is left on a dead or ineligible node while a live node may hold
it, and a move from a dead holder is a Failover; members share one holder, eligible for each,
whenever a node may hold them all, and always when no refusal is said; a conflict never moves a
member for a pin or preemption, a split never moves a member its holder may keep; placing twice
changes nothing; input order does not matter.
"""

from __future__ import annotations

import ipaddress
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from floatip.api import model
from floatip.api import status as api_status
from floatip_operator import damping, eligibility, notices, placement, statuses
from floatip_operator.eligibility import Interface, NodeView, VipView
from floatip_operator.placement import Reason

OUTSIDE = ipaddress.ip_network("192.0.2.0/24")
INSIDE = ipaddress.ip_network("198.51.100.0/24")
BOTH = (Interface("eth0", OUTSIDE), Interface("eth1", INSIDE))
STAYS = (Reason.GROUP_CONFLICT, Reason.GROUP_UNPLACEABLE, Reason.NO_ELIGIBLE_NODE)


def node(name: str, interfaces: tuple[Interface, ...] = BOTH, **kwargs: object) -> NodeView:
    return NodeView(name=name, interfaces=interfaces, **kwargs)  # type: ignore[arg-type]


def vip(name: str, address: str, holder: str | None = None, **spec: object) -> VipView:
    return VipView(
        name=name,
        spec=model.VirtualIPSpec.model_validate({"address": address, **spec}),
        holder=holder,
        created=name,
    )


def router(holder: str | None = None, **spec: object) -> list[VipView]:
    """A router's outside and inside addresses, in group "edge"."""
    return [
        vip("edge-out", "192.0.2.1", holder, group="edge", **spec),
        vip("edge-in", "198.51.100.1", holder, group="edge"),
    ]


def nodes(*items: NodeView) -> dict[str, NodeView]:
    return {n.name: n for n in items}


def test_members_share_a_node_eligible_for_every_member() -> None:
    outside_only = (Interface("eth0", OUTSIDE),)
    ns = nodes(node("s1", outside_only), node("s2"), node("s3", outside_only))
    result = placement.place(router(), ns)
    assert {d.node for d in result.values()} == {"s2"}
    assert all(d.group == "edge" and d.members == ("edge-in", "edge-out") for d in result.values())


def test_a_members_failing_check_moves_the_whole_group_planned() -> None:
    check = {"type": "tcp", "port": 80}
    members = [
        vip("a", "192.0.2.1", "s1", group="g"),
        vip("b", "198.51.100.1", "s1", group="g", healthCheck=check),
    ]
    ns = nodes(node("s1"), node("s2"))
    result = placement.place(members, ns, {"b": {"s1": False, "s2": True}})
    assert [(d.node, d.reason, d.planned) for d in result.values()] == [
        ("s2", Reason.HOLDER_INELIGIBLE, True)
    ] * 2
    kept = placement.place(members, ns, {"b": {"s1": True, "s2": True}})
    assert {(d.node, d.reason) for d in kept.values()} == {("s1", Reason.KEPT)}


def test_a_dead_holder_moves_all_ten_members_to_one_successor() -> None:
    members = [vip(f"m{i}", f"192.0.2.{10 + i}", "s1", group="ten") for i in range(10)]
    ns = nodes(node("s1", agent_alive=False), node("s2"), node("s3"), node("s4"))
    result = placement.place(members, ns)
    assert len({d.node for d in result.values()}) == 1
    assert {(d.reason, d.planned) for d in result.values()} == {(Reason.FAILOVER, False)}


def test_one_members_pin_leads_the_group() -> None:
    result = placement.place(router("s1", node="s3"), nodes(node("s1"), node("s2"), node("s3")))
    assert {(d.node, d.reason, d.planned) for d in result.values()} == {("s3", Reason.PINNED, True)}


def test_one_members_preferences_lead_the_group() -> None:
    ns = nodes(node("s1"), node("s2"), node("s3"))
    fresh = placement.place(router(preferredNodes=["s3", "s2"]), ns)
    assert {d.node for d in fresh.values()} == {"s3"}
    back = placement.place(router("s2", preferredNodes=["s3"], preempt=True), ns)
    assert {(d.node, d.reason) for d in back.values()} == {("s3", Reason.PREEMPTED)}


def test_a_split_group_joins_the_node_most_members_hold() -> None:
    members = [
        vip("a", "192.0.2.1", "s1", group="g"),
        vip("b", "192.0.2.2", "s2", group="g"),
        vip("c", "192.0.2.3", "s2", group="g"),
        vip("d", "192.0.2.4", None, group="g"),
    ]
    result = placement.place(members, nodes(node("s1"), node("s2")))
    assert {n: (d.node, d.reason) for n, d in result.items()} == {
        "a": ("s2", Reason.JOINED_GROUP),
        "b": ("s2", Reason.KEPT),
        "c": ("s2", Reason.KEPT),
        "d": ("s2", Reason.ASSIGNED),
    }
    assert result["a"].planned


def test_conflicting_pins_move_nobody_from_a_healthy_holder() -> None:
    members = [
        vip("a", "192.0.2.1", "s1", group="g", node="s2"),
        vip("b", "192.0.2.2", "s1", group="g", node="s3"),
        vip("c", "192.0.2.3", None, group="g"),
    ]
    other = vip("other", "192.0.2.9", "s1")
    ns = nodes(node("s1"), node("s2"), node("s3"))
    result = placement.place([*members, other], ns)
    assert {n: (d.node, d.reason, d.move) for n, d in result.items() if n != "other"} == {
        "a": ("s1", Reason.GROUP_CONFLICT, Reason.KEPT),
        "b": ("s1", Reason.GROUP_CONFLICT, Reason.KEPT),
        "c": ("s1", Reason.GROUP_CONFLICT, Reason.ASSIGNED),  # a new member joins the group
    }
    assert "pin different nodes (a: s2, b: s3)" in result["a"].detail
    assert (result["other"].node, result["other"].reason) == ("s1", Reason.KEPT)


def test_a_conflicting_group_fails_over_as_one_unit_where_it_would_go_unpinned() -> None:
    """The safety model: a failover is never delayed, also not by a misconfigured group."""
    pinned = [
        vip("a", "192.0.2.1", "s1", group="g", node="s2"),
        vip("b", "198.51.100.1", "s1", group="g", node="s3", preferredNodes=["s3"]),
        vip("c", "192.0.2.3", "s1", group="g", preferredNodes=["s4"], preempt=True),
    ]
    busy = [vip(f"x{i}", f"192.0.2.{50 + i}", "s2") for i in range(3)]
    outside_only = (Interface("eth0", OUTSIDE),)
    ns = nodes(node("s1", agent_alive=False), node("s2"), node("s3"), node("s4", outside_only))
    result = placement.place([*pinned, *busy], ns)
    members = [result[n] for n in "abc"]
    assert {(d.node, d.reason, d.move, d.planned) for d in members} == {
        ("s3", Reason.GROUP_CONFLICT, Reason.FAILOVER, False)  # s2 is busier, s4 lacks eth1
    }
    unpinned = [vip(v.name, v.spec.address, "s1", group="g") for v in pinned]
    assert placement.place([*unpinned, *busy], ns)["a"].node == "s3"
    # what the operator writes: a Failover in history and an Event, GroupConflict stays
    moved = statuses.build(
        {"holder": "s1", "epoch": 4}, statuses.Inputs(generation=1, now="t", decision=members[0])
    )
    assert (moved["holder"], moved["epoch"], moved["history"][-1]["reason"]) == (
        "s3", 5, "Failover"
    )  # fmt: skip
    for kind in (model.ConditionType.GROUPED, model.ConditionType.ASSIGNED):
        assert api_status.condition(moved, kind)["reason"] == "GroupConflict"
    sent = {(n.type, str(n.reason)) for n in notices.notices({"holder": "s1", "epoch": 4}, moved)}
    assert {("Normal", "Failover"), ("Warning", "GroupConflict")} <= sent


def test_a_conflicting_group_leaves_an_ineligible_holder_planned() -> None:
    check = {"type": "tcp", "port": 80}
    members = [
        vip("a", "192.0.2.1", "s1", group="g", node="s1"),
        vip("b", "198.51.100.1", "s1", group="g", node="s2", healthCheck=check),
    ]
    ns = nodes(node("s1"), node("s2"), node("s3"))
    result = placement.place(members, ns, {"b": {"s1": False, "s2": False, "s3": True}})
    assert {(d.node, d.reason, d.move, d.planned) for d in result.values()} == {
        ("s3", Reason.GROUP_CONFLICT, Reason.HOLDER_INELIGIBLE, True)
    }
    assert result["a"].move_reason is model.MoveReason.HOLDER_INELIGIBLE


def test_a_conflict_blocks_the_pin_and_the_preemption_it_would_ask_for() -> None:
    members = [
        vip("a", "192.0.2.1", "s2", group="g", preferredNodes=["s1"], preempt=True),
        vip("b", "192.0.2.2", "s2", group="g", preferredNodes=["s3"]),
        vip("c", "192.0.2.3", "s2", group="g", node="s3"),
    ]
    result = placement.place(members, nodes(node("s1"), node("s2"), node("s3")))
    assert {(d.node, d.reason, d.move) for d in result.values()} == {
        ("s2", Reason.GROUP_CONFLICT, Reason.KEPT)
    }


def test_conflicting_preferences_are_a_conflict() -> None:
    members = [
        vip("a", "192.0.2.1", "s1", group="g", preferredNodes=["s1"]),
        vip("b", "192.0.2.2", "s1", group="g", preferredNodes=["s2"]),
    ]
    result = placement.place(members, nodes(node("s1"), node("s2")))
    assert {d.reason for d in result.values()} == {Reason.GROUP_CONFLICT}
    assert "different preferredNodes or preempt (a: [s1], b: [s2])" in result["b"].detail


def test_a_member_no_node_may_hold_stays_and_the_others_do_not_wait_for_it() -> None:
    outside_only, inside_only = (Interface("eth0", OUTSIDE),), (Interface("eth1", INSIDE),)
    ns = nodes(node("s1", outside_only, agent_alive=False), node("s2", inside_only), node("s3"))
    result = placement.place(router("s1"), {**ns, "s3": node("s3", drained=True)})
    assert {n: (d.node, d.reason, d.move) for n, d in result.items()} == {
        "edge-out": ("s1", Reason.NO_ELIGIBLE_NODE, None),  # no live node: it stays
        "edge-in": ("s2", Reason.NO_ELIGIBLE_NODE, Reason.FAILOVER),
    }
    assert result["edge-in"].move_reason is model.MoveReason.FAILOVER
    assert (
        "edge-in on s2; edge-out on no node (no live node is eligible; kept where it is: "
        "edge-out on s1)"
    ) in result["edge-out"].detail


def test_an_unplaceable_group_keeps_what_its_holder_may_keep_and_moves_the_rest() -> None:
    outside_only, inside_only = (Interface("eth0", OUTSIDE),), (Interface("eth1", INSIDE),)
    ns = nodes(node("s1", outside_only), node("s2", inside_only))
    result = placement.place(router("s1"), ns)
    assert {n: (d.node, d.reason, d.move, d.planned) for n, d in result.items()} == {
        "edge-out": ("s1", Reason.GROUP_UNPLACEABLE, Reason.KEPT, False),
        "edge-in": ("s2", Reason.GROUP_UNPLACEABLE, Reason.HOLDER_INELIGIBLE, True),
    }
    assert "edge-in on s2; edge-out on s1" in result["edge-in"].detail
    assert "split until a node can take them all: edge-in on s2; edge-out on s1" in (
        result["edge-out"].detail
    )


def test_an_unplaceable_group_whose_holder_dies_is_split_as_little_as_possible() -> None:
    outside_only, inside_only = (Interface("eth0", OUTSIDE),), (Interface("eth1", INSIDE),)
    members = [
        vip("o1", "192.0.2.1", "s1", group="g"),
        vip("o2", "192.0.2.2", "s1", group="g"),
        vip("i1", "198.51.100.1", "s1", group="g"),
        vip("o3", "192.0.2.3", "s1", group="g", nodeSelector={"matchLabels": {"zone": "a"}}),
    ]
    ns = nodes(
        node("s1", agent_alive=False),
        node("s2", outside_only, labels={"zone": "a"}),
        node("s3", inside_only),
        node("s4", outside_only),  # eligible for o1, o2 but not o3: s2 takes the most
    )
    result = placement.place(members, ns)
    assert {n: (d.node, d.reason, d.move) for n, d in result.items()} == {
        "o1": ("s2", Reason.GROUP_UNPLACEABLE, Reason.FAILOVER),
        "o2": ("s2", Reason.GROUP_UNPLACEABLE, Reason.FAILOVER),
        "o3": ("s2", Reason.GROUP_UNPLACEABLE, Reason.FAILOVER),
        "i1": ("s3", Reason.GROUP_UNPLACEABLE, Reason.FAILOVER),
    }
    assert "split until a node can take them all: i1 on s3; o1, o2, o3 on s2" in (
        result["o1"].detail
    )
    # placed again, nothing moves; once a node may take them all, they join it (planned)
    held = [VipView(v.name, v.spec, result[v.name].node, v.created) for v in members]
    assert not any(d.moved for d in placement.place(held, ns).values())
    both = {**ns, "s6": node("s6", labels={"zone": "a"})}
    rejoined = placement.place(held, both)
    assert {(d.node, d.planned, d.reason) for d in rejoined.values()} == {
        ("s6", True, Reason.HOLDER_INELIGIBLE)
    }
    # ... but not to a node that failed lately (flap damping): that is no failover
    flapping = placement.place(held, both, unrest={"s6": damping.Unrest(1.0, 1)})
    assert not any(d.moved for d in flapping.values())
    assert {d.reason for d in flapping.values()} == {Reason.GROUP_UNPLACEABLE}
    assert "s6 may hold every member of group 'g' but has not been eligible" in (
        flapping["i1"].detail
    )
    settled = placement.place(held, both, unrest={"s6": damping.Unrest(60.0, 1)})
    assert {d.node for d in settled.values()} == {"s6"}


def test_groups_spread_as_units() -> None:
    members = [vip(f"{g}{i}", f"192.0.2.{10 * n + i}", group=g) for n, g in enumerate("xy")
               for i in range(2)]  # fmt: skip
    singles = [vip(f"z{i}", f"192.0.2.{100 + i}") for i in range(2)]
    result = placement.place([*members, *singles], nodes(node("s1"), node("s2")))
    assert result["x0"].node == result["x1"].node != result["y0"].node == result["y1"].node
    loads = [sum(1 for d in result.values() if d.node == n) for n in ("s1", "s2")]
    assert loads == [3, 3]


def test_the_grouped_condition_names_the_members() -> None:
    together = placement.place(router(), nodes(node("s1")))["edge-out"]
    built = statuses.build(None, statuses.Inputs(generation=1, now="t", decision=together))
    grouped = api_status.condition(built, model.ConditionType.GROUPED)
    assert (grouped["status"], grouped["reason"]) == ("True", "Together")
    assert grouped["message"] == "group edge (2 members: edge-in, edge-out) is held by s1"
    conflict = placement.place(
        [vip("a", "192.0.2.1", "s1", group="g", node="s1"), vip("b", "192.0.2.2", "s1", group="g",
         node="s2")], nodes(node("s1"), node("s2")))["a"]  # fmt: skip
    built = statuses.build(None, statuses.Inputs(generation=1, now="t", decision=conflict))
    for kind in (model.ConditionType.GROUPED, model.ConditionType.ASSIGNED):
        assert api_status.condition(built, kind)["reason"] == "GroupConflict"
    [warning] = [n for n in notices.notices(None, built) if n.type == "Warning"]
    assert (warning.type, warning.reason) == ("Warning", "GroupConflict")
    assert "pin different nodes (a: s1, b: s2)" in warning.note
    alone = placement.place([vip("solo", "192.0.2.1")], nodes(node("s1")))["solo"]
    built = statuses.build(None, statuses.Inputs(generation=1, now="t", decision=alone))
    assert not api_status.condition(built, model.ConditionType.GROUPED)


# --- properties ------------------------------------------------------------------------------

Cluster = tuple[list[VipView], dict[str, NodeView], dict[str, dict[str, bool]]]


@st.composite
def clusters(draw: st.DrawFn) -> Cluster:
    names = [f"s{i}" for i in range(draw(st.integers(0, 5)))]
    links = [(Interface("eth0", OUTSIDE),), (Interface("eth1", INSIDE),), BOTH]
    ns = {
        name: node(
            name,
            draw(st.sampled_from(links)),
            agent_alive=draw(st.integers(0, 4)) > 0,
            drained=draw(st.integers(0, 5)) == 0,
            labels={"zone": draw(st.sampled_from("ab"))},
        )
        for name in names
    }
    vips, health = [], {}
    for i in range(draw(st.integers(0, 10))):
        spec: dict[str, object] = {}
        group = draw(st.sampled_from([None, "g1", "g1", "g2"]))
        if group is not None:
            spec["group"] = group
        if names and draw(st.integers(0, 4)) == 0:
            spec["preferredNodes"] = draw(st.lists(st.sampled_from(names), unique=True, min_size=1))
        if names and draw(st.integers(0, 5)) == 0:
            spec["node"] = draw(st.sampled_from(names))
        if draw(st.integers(0, 4)) == 0:
            spec["nodeSelector"] = {"matchLabels": {"zone": draw(st.sampled_from("ab"))}}
        if names and draw(st.integers(0, 3)) == 0:
            spec["healthCheck"] = {"type": "tcp", "port": 80}
            health[f"v{i}"] = {n: draw(st.integers(0, 3)) > 0 for n in names}
        net = draw(st.sampled_from(["192.0.2", "198.51.100"]))
        holder = draw(st.sampled_from([None, "ghost", *names]))
        vips.append(vip(f"v{i}", f"{net}.{10 + i}", holder, **spec))
    return vips, ns, health


def _eligible(v: VipView, ns: dict[str, NodeView], health: dict[str, dict[str, bool]]) -> set[str]:
    return {n for n, view in ns.items() if eligibility.why_ineligible(v, view, health) is None}


@settings(max_examples=300, deadline=None)
@given(clusters(), st.data())
def test_no_member_is_left_on_a_dead_or_ineligible_node_when_a_live_node_may_hold_it(
    cluster: Cluster, data: st.DataObject
) -> None:
    """Also while nodes are unsettled (flap damping never delays a failover)."""
    vips, ns, health = cluster
    unrest = data.draw(
        st.dictionaries(
            st.sampled_from(sorted(ns)),
            st.builds(damping.Unrest, st.floats(0, 30), st.integers(1, 3)),
        )
        if ns
        else st.just({})
    )
    result = placement.place(vips, ns, health, unrest)
    for v in vips:
        d = result[v.name]
        if d.reason is Reason.DUPLICATE_ADDRESS:
            assert d.node is None
            continue
        if _eligible(v, ns, health):
            assert d.node in _eligible(v, ns, health), (v.name, d)
        else:  # no live node may hold it: it stays where it is (never taken without a taker)
            assert d.node == (v.holder if v.holder in ns else None), (v.name, d)
        if d.moved and d.node is not None and v.holder in ns and not ns[v.holder].reachable:
            assert not d.planned, d  # a pin met on the way is recorded as Pinned (as ungrouped)
            assert d.move_reason in (model.MoveReason.FAILOVER, model.MoveReason.PINNED), d


@settings(max_examples=300, deadline=None)
@given(clusters())
def test_members_share_one_holder_unless_no_node_may_hold_them_all(cluster: Cluster) -> None:
    vips, ns, health = cluster
    result = placement.place(vips, ns, health)
    by_group: dict[str, list[VipView]] = {}
    for v in vips:
        if v.spec.group is not None and result[v.name].reason is not Reason.DUPLICATE_ADDRESS:
            by_group.setdefault(v.spec.group, []).append(v)
    for group, members in by_group.items():
        decided = [result[m.name] for m in members]
        common = set(ns).intersection(*(_eligible(m, ns, health) for m in members))
        refusals = {d.reason for d in decided} & set(STAYS)
        if common:  # together, on a node eligible for each; a conflict is still said
            assert len({d.node for d in decided}) == 1 and decided[0].node in common, decided
            assert refusals <= {Reason.GROUP_CONFLICT}, decided
        else:
            assert len(refusals) == 1, decided
        if not refusals:  # members of a group without conflict or unplaceable share a holder
            assert len({d.node for d in decided}) == 1, (group, decided)


@settings(max_examples=300, deadline=None)
@given(clusters())
def test_a_refusal_blocks_only_the_moves_it_should(cluster: Cluster) -> None:
    """A conflict never moves a member for a pin or preemption; a split never moves a member
    whose holder may keep it."""
    vips, ns, health = cluster
    result = placement.place(vips, ns, health)
    for v in vips:
        d = result[v.name]
        if d.reason is Reason.GROUP_CONFLICT:
            assert d.move not in (Reason.PINNED, Reason.PREEMPTED), d
        split = d.reason in (Reason.GROUP_UNPLACEABLE, Reason.NO_ELIGIBLE_NODE) and v.spec.group
        if split and v.holder in _eligible(v, ns, health):
            assert d.node == v.holder, d


@settings(max_examples=200, deadline=None)
@given(clusters())
def test_placing_groups_twice_changes_nothing(cluster: Cluster) -> None:
    vips, ns, health = cluster
    first = placement.place(vips, ns, health)
    again = [VipView(v.name, v.spec, first[v.name].node, v.created) for v in vips]
    second = placement.place(again, ns, health)
    assert {n: d.node for n, d in second.items()} == {n: d.node for n, d in first.items()}
    assert not any(d.moved for d in second.values())


@settings(max_examples=100, deadline=None)
@given(clusters(), st.randoms())
def test_group_placement_does_not_depend_on_input_order(
    cluster: Cluster, rnd: random.Random
) -> None:
    vips, ns, health = cluster
    shuffled = list(vips)
    rnd.shuffle(shuffled)
    assert placement.place(vips, ns, health) == placement.place(shuffled, ns, health)
