"""The agent's pure decisions (floatip_agent.decisions, assignments, fencing). Proves:

- take / keep / release / wait for every combination of holder, held and handover evidence,
  each with its cause (the enum metrics and logs use);
  the old holder never releases before the new holder's announcement, a Failover, or the
  timeout (a property over every epoch and time);
- claims on a held address: own frames ignored; unsure -> release for any other MAC; sure ->
  peer re-read, foreign conflict;
- restart: owned + assigned here kept, other owned removed, duplicates removed;
- a group's member waits until the new holder announced every member held here
  (`group_pending`; a Failover, a member staying or released, another group wait for nothing);
- the epoch book ignores older epochs of the same object, not of a re-created one;
- the fence is unsure before the first contact and after the silence;
- news arriving during a take stops it unless it asks for the very same take (`same_take`:
  the status write of a recorded move, confirmed and with its announcement fields, does not);
- a release names the new holder's MAC to the LAN only when that holder announced the current
  epoch (`new_holder_mac`).
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from floatip.api import model
from floatip_agent import assignments, decisions, fencing

A = decisions.Action
C = decisions.Cause
V4 = ipaddress.ip_address("192.0.2.100")


def make(**overrides: Any) -> assignments.Assignment:
    base: dict[str, Any] = dict(
        name="web", uid="u1", address=V4, interface=None, announce=model.Announce(),
        health_check=None, node_selector=None, holder="me", epoch=2, announced_node=None,
        announced_epoch=None, last_reason=None, conflict_node=None,
    )  # fmt: skip
    base.update(overrides)
    return assignments.Assignment(**base)


HELD = decisions.Held(V4, "eth0", 1)


@pytest.mark.parametrize(
    ("assignment", "held", "since", "action", "cause"),
    [
        (None, None, None, A.IDLE, C.GONE),
        (None, HELD, None, A.RELEASE, C.GONE),
        (make(deleting=True), HELD, None, A.RELEASE, C.GONE),
        (make(), None, None, A.TAKE, C.ASSIGNED_HERE),
        (make(), HELD, None, A.KEEP, C.ASSIGNED_HERE),
        (make(address=ipaddress.ip_address("192.0.2.101")), HELD, None, A.RELEASE, C.SPEC_CHANGED),
        (make(holder="other"), None, None, A.IDLE, C.ASSIGNED_ELSEWHERE),
        (make(holder=None), HELD, None, A.RELEASE, C.ASSIGNED_TO_NOBODY),
        (make(holder="other"), HELD, None, A.WAIT, C.AWAITING_NEW_HOLDER),
        (make(holder="other"), HELD, 95.0, A.WAIT, C.AWAITING_NEW_HOLDER),
        (make(holder="other"), HELD, 90.0, A.RELEASE, C.HANDOVER_TIMEOUT),
        (make(holder="other", announced_epoch=2), HELD, None, A.RELEASE, C.NEW_HOLDER_ANNOUNCED),
        (make(holder="other", announced_epoch=1), HELD, None, A.WAIT, C.AWAITING_NEW_HOLDER),
        (make(holder="other", last_reason="Failover"), HELD, None, A.RELEASE, C.FAILED_OVER),
        (make(holder="other", last_reason="Pinned"), HELD, None, A.WAIT, C.AWAITING_NEW_HOLDER),
    ],
)
def test_decide(
    assignment: assignments.Assignment | None,
    held: decisions.Held | None,
    since: float | None,
    action: decisions.Action,
    cause: decisions.Cause,
) -> None:
    decision = decisions.decide(
        assignment, node="me", held=held, waiting_since=since, now=100.0, handover_timeout=10
    )
    assert (decision.action, decision.cause) == (action, cause)
    if action is A.WAIT:
        assert decision.recheck_after is not None and 0 < decision.recheck_after <= 10


@given(
    epoch=st.integers(2, 1000),
    announced=st.none() | st.integers(0, 1000),
    reason=st.sampled_from([None, "Pinned", "Preempted", "HolderIneligible", "Failover"]),
    waited=st.none() | st.floats(0, 100),
)
def test_old_holder_releases_only_with_evidence(
    epoch: int, announced: int | None, reason: str | None, waited: float | None
) -> None:
    assignment = make(holder="new", epoch=epoch, announced_epoch=announced, last_reason=reason)
    since = None if waited is None else 1000.0 - waited
    decision = decisions.decide(
        assignment, node="me", held=HELD, waiting_since=since, now=1000.0, handover_timeout=10
    )
    evidence = (
        (announced is not None and announced >= epoch)
        or reason == "Failover"
        or (waited is not None and waited >= 10)
    )
    assert (decision.action is A.RELEASE) == evidence
    assert decision.action in (A.RELEASE, A.WAIT)


@pytest.mark.parametrize(
    ("mac", "unsure", "response"),
    [
        ("02:00:00:00:00:01", False, decisions.ClaimResponse.IGNORE),
        ("02:00:00:00:00:01", True, decisions.ClaimResponse.IGNORE),
        ("02:00:00:00:00:02", False, decisions.ClaimResponse.REREAD),
        ("02:00:00:00:00:02", True, decisions.ClaimResponse.RELEASE),
        ("02:00:00:00:00:0F", False, decisions.ClaimResponse.CONFLICT),
        ("02:00:00:00:00:0f", True, decisions.ClaimResponse.RELEASE),
    ],
)
def test_respond_to_claim(mac: str, unsure: bool, response: decisions.ClaimResponse) -> None:
    assert (
        decisions.respond_to_claim(
            mac, own_macs={"02:00:00:00:00:01"}, peer_macs={"02:00:00:00:00:02"}, unsure=unsure
        )
        is response
    )


def test_restart_plan() -> None:
    ip = ipaddress.ip_address
    owned = {
        "eth0": [ip("192.0.2.100"), ip("192.0.2.101"), ip("192.0.2.102")],
        "eth1": [ip("192.0.2.100"), ip("192.0.2.103")],
    }
    current = [
        make(name="a", address=ip("192.0.2.100"), epoch=7),
        make(name="b", address=ip("192.0.2.101"), holder="other"),
        make(name="c", address=ip("192.0.2.103"), interface="eth0"),
    ]
    plan = decisions.restart_plan(owned, current, node="me")
    assert plan.keep == {"a": decisions.Held(ip("192.0.2.100"), "eth0", 7)}
    assert sorted(plan.remove) == sorted(
        [("eth0", ip("192.0.2.101")), ("eth0", ip("192.0.2.102")),
         ("eth1", ip("192.0.2.100")), ("eth1", ip("192.0.2.103"))]
    )  # fmt: skip


T = "2026-11-26T12:00:00Z"


def vip(epoch: int, uid: str = "u1", **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "uid": uid},
        "spec": {"address": "192.0.2.100/24"},
        "status": {"holder": "me", "epoch": epoch, **status},
    }


def test_parse_and_epoch_book() -> None:
    parsed = assignments.parse(
        vip(
            3,
            announcement={"node": "x", "epoch": 3, "mac": "02:00:00:00:00:01", "time": T},
            history=[{"time": T, "reason": "Failover", "epoch": 3}],
        )
    )
    assert isinstance(parsed, assignments.Assignment)
    assert (parsed.address, parsed.announced_epoch, parsed.last_reason) == (V4, 3, "Failover")
    bad = assignments.parse({"metadata": {"name": "x"}, "spec": {"address": "nope"}})
    assert isinstance(bad, assignments.Invalid) and bad.name == "x"
    book = assignments.EpochBook()
    first = assignments.parse(vip(3))
    older = assignments.parse(vip(2))
    recreated = assignments.parse(vip(0, uid="u2"))
    assert isinstance(first, assignments.Assignment)
    assert isinstance(older, assignments.Assignment)
    assert isinstance(recreated, assignments.Assignment)
    assert book.accept(first)
    assert not book.accept(older)
    assert book.newest("web") == 3
    assert book.accept(first)  # the same epoch again: fine
    assert book.accept(recreated)


def test_fence() -> None:
    now = [0.0]
    fence = fencing.Fence(unsure_after=2, clock=lambda: now[0])
    assert fence.unsure and fence.silence() is None
    fence.contact()
    now[0] = 1.9
    assert not fence.unsure
    now[0] = 2.0
    assert fence.unsure
    with pytest.raises(ValueError, match="positive"):
        fencing.Fence(unsure_after=0)


def test_a_virtualip_being_deleted_is_released_at_once() -> None:
    import ipaddress

    from floatip.api import model
    from floatip_agent import assignments, decisions

    address = ipaddress.ip_address("192.0.2.100")
    deleting = assignments.Assignment(
        name="web", uid="u", address=address, interface=None, announce=model.Announce(),
        health_check=None, node_selector=None, holder="me", epoch=3, announced_node="me",
        announced_epoch=3, last_reason="Assigned", conflict_node=None, deleting=True,
    )  # fmt: skip
    held = decisions.Held(address, "eth0", 3)
    decision = decisions.decide(deleting, node="me", held=held, waiting_since=None, now=0.0)
    assert decision.action is decisions.Action.RELEASE
    assert decision.reason == "the VirtualIP is being deleted"
    idle = decisions.decide(deleting, node="me", held=None, waiting_since=None, now=0.0)
    assert idle.action is decisions.Action.IDLE


def test_parse_reads_deletion_and_the_announced_mac() -> None:
    obj = {
        "metadata": {"name": "web", "uid": "u", "deletionTimestamp": "2026-11-26T12:00:00Z"},
        "spec": {"address": "192.0.2.100/24"},
        "status": {"holder": "s2", "epoch": 2,
                   "announcement": {"node": "s2", "epoch": 2, "mac": "02:f1:00:00:00:02",
                                    "time": T}},
    }  # fmt: skip
    parsed = assignments.parse(obj)
    assert isinstance(parsed, assignments.Assignment)
    assert parsed.deleting is True
    assert parsed.announced_mac == "02:f1:00:00:00:02"


# --- groups: the old holder releases no member before the new holder announced them all ----


def member(name: str, **overrides: Any) -> assignments.Assignment:
    fields: dict[str, Any] = {"name": name, "group": "edge", "holder": "new", "epoch": 3}
    return make(**(fields | overrides))


@pytest.mark.parametrize(
    ("other", "pending"),
    [
        (member("b"), "b"),  # moving, not announced yet
        (member("b", announced_epoch=2), "b"),  # announced at an older epoch only
        (member("b", announced_epoch=3), None),  # the new holder announced it
        (member("b", last_reason="Failover"), None),  # nothing hands over
        (member("b", holder="me"), None),  # stays here
        (member("b", holder=None), None),  # released to nobody
        (member("b", group="other"), None),  # another group
        (make(name="b", holder="new", epoch=3), None),  # no group
    ],
)
def test_group_pending(other: assignments.Assignment, pending: str | None) -> None:
    a = member("a", announced_epoch=3)
    held = ["a", "b"]
    assigned = {"a": a, "b": other}
    assert decisions.group_pending(a, node="me", assigned=assigned, held=held) == pending
    assert decisions.group_pending(a, node="me", assigned=assigned, held=["a"]) is None
    alone = a._replace(group=None)
    assert decisions.group_pending(alone, node="me", assigned=assigned, held=held) is None


def test_handed_over() -> None:
    assert not decisions.handed_over(member("b"))
    assert not decisions.handed_over(member("b", announced_epoch=2))
    assert decisions.handed_over(member("b", announced_epoch=3))
    assert decisions.handed_over(member("b", last_reason="Failover"))
    assert decisions.handed_over(member("b", holder=None))


def test_an_announced_member_waits_for_the_rest_of_its_group() -> None:
    a = member("a", announced_epoch=3)
    decide = decisions.decide
    waiting = decide(a, node="me", held=HELD, waiting_since=None, now=100.0, group_pending="b")
    assert (waiting.action, waiting.cause) == (A.WAIT, C.AWAITING_GROUP)
    assert "b too (group edge moves whole)" in waiting.reason
    late = decide(a, node="me", held=HELD, waiting_since=80.0, now=100.0, group_pending="b")
    assert (late.action, late.cause) == (A.RELEASE, C.HANDOVER_TIMEOUT)
    done = decide(a, node="me", held=HELD, waiting_since=95.0, now=100.0, group_pending=None)
    assert (done.action, done.cause) == (A.RELEASE, C.NEW_HOLDER_ANNOUNCED)
    failover = a._replace(last_reason="Failover", announced_epoch=None)
    gone = decide(failover, node="me", held=HELD, waiting_since=None, now=100.0, group_pending="b")
    assert (gone.action, gone.cause) == (A.RELEASE, C.FAILED_OVER)


TAKING = make(last_reason="EndpointsMoved", confirmed=False)


@pytest.mark.parametrize(
    ("news", "same"),
    [
        (TAKING, True),
        (TAKING._replace(confirmed=True, announced_node="old", announced_epoch=1), True),
        (TAKING._replace(announce=model.Announce(burst_count=5)), True),
        (None, False),
        (TAKING._replace(epoch=3), False),
        (TAKING._replace(holder="other"), False),
        (TAKING._replace(holder=None), False),
        (TAKING._replace(address=ipaddress.ip_address("192.0.2.101")), False),
        (TAKING._replace(interface="eth1"), False),
        (TAKING._replace(uid="u2"), False),
        (TAKING._replace(last_reason="Failover"), False),
        (TAKING._replace(deleting=True), False),
    ],
)
def test_same_take(news: assignments.Assignment | None, same: bool) -> None:
    assert decisions.same_take(TAKING, news) is same


NEW_MAC = "02:00:00:00:00:02"


@pytest.mark.parametrize(
    ("assignment", "named"),
    [
        (None, None),  # the VirtualIP is gone: nobody to name
        (make(holder="peer", announced_node="peer", announced_epoch=2, announced_mac=NEW_MAC),
         NEW_MAC),  # the new holder announced the current epoch
        (make(holder="me", announced_node="me", announced_epoch=2, announced_mac=NEW_MAC),
         None),  # still ours
        (make(holder=None, announced_node="peer", announced_epoch=2, announced_mac=NEW_MAC),
         None),  # held by nobody
        (make(holder="peer", announced_node="peer", announced_epoch=1, announced_mac=NEW_MAC),
         None),  # an older epoch's announcement: the new holder has not spoken yet
        (make(holder="peer", announced_node="other", announced_epoch=2, announced_mac=NEW_MAC),
         None),  # announced by another node than the holder
        (make(holder="peer", announced_node="peer", announced_epoch=2, announced_mac=None),
         None),  # no MAC reported
    ],
)  # fmt: skip
def test_a_release_names_only_the_holder_that_announced_the_current_epoch(
    assignment: assignments.Assignment | None, named: str | None
) -> None:
    assert decisions.new_holder_mac(assignment, node="me") == named
