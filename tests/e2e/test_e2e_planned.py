"""Safety property 6 (planned moves) end to end, and preferred nodes, on one three-node lab.

Proves, with the client requesting the VIP every 10 ms and logging who answers ARP for it:
- pinning a VirtualIP to another node (``spec.node``, what ``kubectl vip move`` does) moves
  it with no failed request, a Pinned move at epoch+1, the client's neighbour entry on the
  new MAC and, once the move is over, only the new holder answering; the new holder began a
  flow handoff to the old one, on a lab whose agents had just started;
- during that switchover two MACs never answer ARP for the VIP at once;
- labelling the holder's Node ``floatip.io/drain`` moves its VIP away with no failed request;
- with ``preferredNodes: [server1, server2]`` a VIP fails over to server2 (not server3) when
  server1 dies, and returns to server1 once it is back only when ``preempt`` is set; without
  it the VIP stays on server2 (no flapping).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from floatip.api import names
from floatip_lab import session, timeline
from tests.e2e.conftest import (
    MAC,
    Addresses,
    agent_events,
    create,
    holders,
    only,
    reset,
    running_lab,
    status,
    wait_holders,
    watch,
)


@pytest.fixture(scope="module")
def module_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[session.Session]:
    with running_lab(tmp_path_factory, nodes=3) as lab:
        yield lab


@pytest.fixture(scope="module")
def addresses() -> Addresses:
    return Addresses(160)


def _switch(lab: session.Session, vip: str, name: str) -> tuple[float, float]:
    """Pin ``name`` from server1 to server2; return (when asked, when the move was over)."""
    asked = time.time()
    lab.patch_spec(name, {"node": "server2"})
    lab.wait_holder(name, "server2", timeout=30)
    lab.wait_answer(vip, "server2", timeout=30)
    wait_holders(lab, vip, ["server2"], timeout=30)
    return asked, time.time()


def test_pinned_switchover_loses_no_request(lab: session.Session, addresses: Addresses) -> None:
    vip = addresses.take()
    before = create(lab, "pin", vip, "server1", nodeSelector=only(["server1", "server2"]))
    with watch(lab, vip) as seen:
        time.sleep(0.5)
        asked, over = _switch(lab, vip, "pin")
        time.sleep(1.0)  # a recording window after the move
    [record] = seen
    # A request is in flight at the MAC flip only now and then: that the new holder handed
    # such flows to the old one is checked on every run, on a lab whose agents just started
    # (one that started before its peer's Lease existed must look it up, not skip the handoff).
    handed = agent_events(lab, "server2", "flow-handoff-started", since=asked)
    assert [(e["vip"], e["previous"]) for e in handed] == [("pin", "server1")], (
        "server2 took pin without a flow handoff to server1; its log says: "
        f"{agent_events(lab, 'server2', 'flow-handoff-skipped', since=asked)}"
    )
    record.assert_planned_move_lost_nothing("a planned switchover")
    assert [run for run, _ in timeline.answered_by(record.requests)] == ["server1", "server2"]
    assert session.neighbour(lab, "client", vip) == MAC["server2"]
    assert record.doubles(vip, since=over) == []
    assert record.answerers(vip, since=over) == {MAC["server2"]}
    after = status(lab, "pin")
    assert after["epoch"] == before["epoch"] + 1
    last = after["history"][-1]
    assert (last["from"], last["to"], last["reason"]) == ("server1", "server2", "Pinned")


def test_pinned_switchover_overlap_is_only_the_make_before_break_moment(
    lab: session.Session, addresses: Addresses
) -> None:
    """Make before break means both hosts hold the address for a moment, so both answer ARP
    then; the design bounds that moment (the old holder lets go as soon as the new one's
    announcement is written, and its parting frame names the new MAC). Outside that one
    short window, at most one MAC ever answers."""
    vip = addresses.take()
    create(lab, "pin2", vip, "server1", nodeSelector=only(["server1", "server2"]))
    with watch(lab, vip) as seen:
        time.sleep(0.5)
        _, over = _switch(lab, vip, "pin2")
        time.sleep(0.5)
    [record] = seen
    doubles = record.doubles(vip)
    if doubles:
        overlap = doubles[-1][0] - doubles[0][0]
        assert overlap < 0.2, f"both servers answered ARP for {vip} over {overlap:.3f} s"
        assert doubles[-1][0] < over, "two MACs answered after the switchover was over"
    assert record.answerers(vip, since=over) == {MAC["server2"]}


def test_drain_label_moves_vip_without_loss(lab: session.Session, addresses: Addresses) -> None:
    vip = addresses.take()
    before = create(lab, "drain", vip, "server1", nodeSelector=only(["server1", "server2"]))
    try:
        with watch(lab, vip) as seen:
            time.sleep(0.5)
            _label(lab, "server1", "true")
            lab.wait_holder("drain", "server2", timeout=30)
            lab.wait_answer(vip, "server2", timeout=30)
            wait_holders(lab, vip, ["server2"], timeout=30)
            over = time.time()
            time.sleep(1.0)
        [record] = seen
        record.assert_planned_move_lost_nothing("draining the holder")
        assert record.last_answer() == "server2"
        assert session.neighbour(lab, "client", vip) == MAC["server2"]
        assert record.answerers(vip, since=over) == {MAC["server2"]}
        after = status(lab, "drain")
        assert after["epoch"] == before["epoch"] + 1
        assert after["history"][-1]["reason"] != "Failover"
    finally:
        _label(lab, "server1", None)


def test_preferred_nodes_and_preempt(lab: session.Session, addresses: Addresses) -> None:
    back, stay = addresses.take(), addresses.take()
    order = ["server1", "server2"]
    # A 2 s hold-down (default 10 s): the preemption, not the damping, is what this test is
    # about (tests/e2e/test_e2e_hostile.py's flapping node is the damping's).
    create(lab, "back", back, "server1", preferredNodes=order, preempt=True, holdDownSeconds=2)
    create(lab, "stay", stay, "server1", preferredNodes=order, holdDownSeconds=2)
    lab.fault("kill-node", "server1")
    for name, vip in (("back", back), ("stay", stay)):
        lab.wait_holder(name, "server2", timeout=30)
        lab.wait_answer(vip, "server2", timeout=30)
    moved = {n: status(lab, n)["epoch"] for n in ("back", "stay")}
    reset(lab)  # server1 powers on and its agent is back
    lab.wait_holder("back", "server1", timeout=60)
    lab.wait_answer(back, "server1", timeout=30)
    wait_holders(lab, back, ["server1"], timeout=30)
    assert status(lab, "back")["history"][-1]["reason"] == "Preempted"
    # without preempt nothing may move back: watch it for a while with server1 healthy
    for _ in range(15):
        assert lab.holder("stay") == "server2"
        time.sleep(0.2)
    wait_holders(lab, stay, ["server2"], timeout=30)
    assert status(lab, "stay")["epoch"] == moved["stay"]
    assert lab.ask(stay) == (True, "server2")
    assert "server3" not in {m["to"] for n in ("back", "stay") for m in status(lab, n)["history"]}
    assert holders(lab, back) == ["server1"]


def _label(lab: session.Session, node: str, value: str | None) -> None:
    lab.api.request(
        "PATCH",
        f"/api/v1/nodes/{node}",
        {"metadata": {"labels": {names.DRAIN_LABEL: value}}},
        content_type="application/merge-patch+json",
    )
