"""Placement of groups (spec.group): members move together, judged as one.

Proves (examples): members get one holder, eligible for every member (the intersection of
subnets, selectors and health checks); a member's failing check on the holder moves the whole
group, planned; a dead holder moves every member to one successor in one pass; one member's pin
or preferences lead the group; a split group joins its majority's holder (JoinedGroup);
conflicting pins or preferences, and an empty intersection, leave every member where it is and
say why (GroupConflict, GroupUnplaceable) without disturbing other VirtualIPs; groups spread as
units; the Grouped condition names the members.
Proves (hypothesis): in every outcome a group's members share one holder, eligible for each of
them, unless the decision says why not and leaves each where it was; placing twice changes
nothing; input order does not matter.
"""

from __future__ import annotations

import ipaddress
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from floatip.api import model
from floatip.api import status as api_status
from floatip_operator import eligibility, notices, placement, statuses
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


def test_conflicting_pins_leave_every_member_where_it_is() -> None:
    members = [
        vip("a", "192.0.2.1", "s1", group="g", node="s2"),
        vip("b", "192.0.2.2", "s1", group="g", node="s3"),
        vip("c", "192.0.2.3", None, group="g"),
    ]
    other = vip("other", "192.0.2.9", "s1")
    ns = nodes(node("s1"), node("s2"), node("s3"))
    result = placement.place([*members, other], ns)
    assert {n: (d.node, d.reason) for n, d in result.items() if n != "other"} == {
        "a": ("s1", Reason.GROUP_CONFLICT),
        "b": ("s1", Reason.GROUP_CONFLICT),
        "c": (None, Reason.GROUP_CONFLICT),
    }
    assert "pin different nodes (a: s2, b: s3)" in result["a"].detail
    assert (result["other"].node, result["other"].reason) == ("s1", Reason.KEPT)


def test_conflicting_preferences_are_a_conflict() -> None:
    members = [
        vip("a", "192.0.2.1", "s1", group="g", preferredNodes=["s1"]),
        vip("b", "192.0.2.2", "s1", group="g", preferredNodes=["s2"]),
    ]
    result = placement.place(members, nodes(node("s1"), node("s2")))
    assert {d.reason for d in result.values()} == {Reason.GROUP_CONFLICT}
    assert "different preferredNodes or preempt (a: [s1], b: [s2])" in result["b"].detail


def test_no_node_for_every_member_leaves_them_where_they_are() -> None:
    outside_only, inside_only = (Interface("eth0", OUTSIDE),), (Interface("eth1", INSIDE),)
    ns = nodes(node("s1", outside_only, agent_alive=False), node("s2", inside_only), node("s3"))
    members = router("s1")
    result = placement.place(members, {**ns, "s3": node("s3", drained=True)})
    assert {(d.node, d.reason) for d in result.values()} == {("s1", Reason.NO_ELIGIBLE_NODE)}
    ns = nodes(node("s1", outside_only), node("s2", inside_only))
    result = placement.place(router("s1"), ns)
    assert {(d.node, d.reason) for d in result.values()} == {("s1", Reason.GROUP_UNPLACEABLE)}
    assert "edge-in on s2; edge-out on s1" in result["edge-in"].detail


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


@settings(max_examples=300, deadline=None)
@given(clusters())
def test_members_always_share_one_eligible_holder_or_stay_and_say_why(cluster: Cluster) -> None:
    vips, ns, health = cluster
    result = placement.place(vips, ns, health)
    by_group: dict[str, set[str | None]] = {}
    for v in vips:
        d = result[v.name]
        if d.reason in STAYS:
            assert d.node in (None, v.holder)
            continue
        assert d.node is not None
        assert eligibility.why_ineligible(v, ns[d.node], health) is None
        if v.spec.group is not None:
            by_group.setdefault(v.spec.group, set()).add(d.node)
    for group, holders in by_group.items():
        assert len(holders) == 1, (group, holders)
        members = [v for v in vips if v.spec.group == group]
        assert all(result[m.name].reason not in STAYS for m in members)
        [holder] = holders
        assert all(eligibility.why_ineligible(m, ns[holder], health) is None for m in members)


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
