"""Flap damping (floatip_operator.damping) and how placement uses it (DESIGN.md safety 9).

Proves: a node first seen has nothing held against it (an operator restart settles nothing
anew); after a loss a node is unsettled until fit for the hold-down, doubled for each further
loss within the window and capped; losses leave the record after the window; a health check
falling on one node is a loss of that (VirtualIP, node) pair only. Placement preempts back
only to a settled node, prefers a settled node to an unsettled one when it must move an
address, yet never delays a failover when only unsettled nodes are eligible; a hold-down of 0
turns damping off. The issue's scenario, simulated pass by pass: a preferred node with
preempt whose cable is pulled for 1 s and put back for 2.5 s, six times, makes at most 3
moves (it makes 12 without damping).
"""

from __future__ import annotations

import ipaddress

import pytest

from floatip.api import model
from floatip_operator import damping, placement
from floatip_operator.eligibility import Interface, NodeView, VipView

LAN = ipaddress.ip_network("192.0.2.0/24")


def test_first_sight_then_a_loss_and_the_hold_down() -> None:
    flaps = damping.Damping()
    flaps.observe({"a": True, "b": False}, now=0.0)
    assert flaps.unrest(now=0.0) == {}  # nothing seen falling yet
    flaps.observe({"a": False, "b": False}, now=1.0)
    assert flaps.unrest(now=1.0) == {"a": damping.Unrest(0.0, 1)}
    flaps.observe({"a": True, "b": True}, now=2.0)
    unrest = flaps.unrest(now=11.0)
    assert unrest == {"a": damping.Unrest(9.0, 1)}  # b rose: it never fell
    assert not unrest["a"].settled(10.0)
    assert flaps.unrest(now=12.0)["a"].settled(10.0)


def test_back_off_doubles_and_is_capped_and_forgotten() -> None:
    flaps = damping.Damping()
    flaps.observe({"a": True}, now=0.0)
    for loss in range(6):
        flaps.observe({"a": False}, now=10.0 * loss + 1)
        flaps.observe({"a": True}, now=10.0 * loss + 2)
    unrest = flaps.unrest(now=52.0)
    assert unrest["a"].losses == 6
    assert not unrest["a"].settled(1.0)  # 6 losses: factor capped at 8 -> 8 s
    assert flaps.unrest(now=60.0)["a"].settled(1.0)
    assert flaps.unrest(now=51.0 + damping.WINDOW + 1) == {}  # all losses left the window


def test_gone_nodes_are_forgotten() -> None:
    flaps = damping.Damping()
    flaps.observe({"a": True}, now=0.0)
    flaps.observe({"a": False}, now=1.0)
    flaps.observe({}, now=2.0)
    assert flaps.unrest(now=2.0) == {}


def nodes(**fit: bool) -> dict[str, NodeView]:
    return {
        name: NodeView(name, agent_alive=ok, interfaces=(Interface("eth0", LAN),))
        for name, ok in fit.items()
    }


def vip(holder: str | None, *, hold_down: int = 10, preempt: bool = True) -> VipView:
    spec = model.VirtualIPSpec(
        address="192.0.2.100/24", preferred_nodes=("s1", "s2"), preempt=preempt,
        hold_down_seconds=hold_down,
    )  # fmt: skip
    return VipView("web", spec, holder)


def unsettled(*names: str) -> dict[object, damping.Unrest]:
    return {name: damping.Unrest(1.0, 1) for name in names}


def test_preempt_waits_for_the_hold_down() -> None:
    decided = placement.place([vip("s2")], nodes(s1=True, s2=True), {}, unsettled("s1"))
    assert (decided["web"].node, decided["web"].reason) == ("s2", placement.Reason.KEPT)
    decided = placement.place([vip("s2")], nodes(s1=True, s2=True), {}, {})
    assert (decided["web"].node, decided["web"].reason) == ("s1", placement.Reason.PREEMPTED)
    off = placement.place([vip("s2", hold_down=0)], nodes(s1=True, s2=True), {}, unsettled("s1"))
    assert off["web"].node == "s1"


def test_a_settled_node_is_chosen_over_an_unsettled_one() -> None:
    spread = nodes(s1=True, s2=False, s3=True)
    decided = placement.place([vip("s2")], spread, {}, unsettled("s1"))
    assert decided["web"].node == "s3"


@pytest.mark.parametrize("holder", ["s2", None])
def test_a_failover_is_never_delayed(holder: str | None) -> None:
    decided = placement.place([vip(holder)], nodes(s1=True, s2=False), {}, unsettled("s1"))
    assert decided["web"].node == "s1"


def test_a_failing_check_is_a_loss_of_that_pair_only() -> None:
    flaps = damping.Damping()
    flaps.observe({("web", "s1"): True, ("db", "s1"): True}, now=0.0)
    flaps.observe({("web", "s1"): False, ("db", "s1"): True}, now=1.0)
    assert set(flaps.unrest(now=1.0)) == {("web", "s1")}


@pytest.mark.parametrize(("hold_down", "most"), [(10, 3), (0, 12)])
def test_six_flaps_in_21_seconds(hold_down: int, most: int) -> None:
    """The issue's scenario: s1's cable out 1 s, back 2.5 s, six times; passes every 0.1 s."""
    flaps = damping.Damping()
    holder: str | None = "s1"
    moves = 0
    for tick in range(0, 400):  # 40 s
        now = tick / 10
        phase = now % 3.5
        cut = now < 21.0 and phase < 1.0
        views = nodes(s1=not cut, s2=True)
        flaps.observe({name: node.fit for name, node in views.items()}, now=now)
        decided = placement.place([vip(holder, hold_down=hold_down)], views, {},
                                  flaps.unrest(now=now))["web"]  # fmt: skip
        if decided.node != holder:
            moves += 1
            holder = decided.node
    assert moves <= most
    if hold_down:
        assert moves <= 3 and holder == "s2"  # still held down well after the flapping
    else:
        assert moves == 12
