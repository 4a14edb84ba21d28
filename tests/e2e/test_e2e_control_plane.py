"""Safety properties 4 and 8, and deletion, end to end, on one two-node lab.

Proves, with the client requesting the VIP every 10 ms and logging who answers ARP for it:
- 4: while the API server is down nothing moves and nothing is dropped: the holder keeps the
  address (the kernel says so throughout), no request fails, the holder keeps refreshing its
  announcements (gratuitous ARPs from its MAC during the outage), and when the API is back
  the holder, the epoch and the history are unchanged. This is the agents' side (unsure
  but holding) with real processes; the 6 s outage is far shorter than the agents' 45 s
  Leases, so it does not reach the operator's after-outage Lease grace: that is
  tests/operator/test_operator_resilience.py's outage test with 3 s Leases;
- 8: a restart of every operator replica, or the leader killed, while the API server holds
  the leader's failover write (after the holder lost power), converges to one holder on the
  other node with the epoch bumped exactly once and one Failover in the history, also after
  the node is back, whether that write is lost, lands before the standby leads, or arrives
  after the standby moved (refused);
- deletion: the address leaves every server while the object still exists (the finalizer
  waits for the release, without timing out), then the object goes and the client gets
  no answer at the address any more.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from floatip_lab import kubeapi, session
from tests.e2e.conftest import (
    MAC,
    Addresses,
    create,
    events_about,
    holders,
    log_tail,
    reset,
    running_lab,
    status,
    wait_holders,
    watch,
)


@pytest.fixture(scope="module")
def module_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[session.Session]:
    with running_lab(tmp_path_factory, nodes=2) as lab:
        yield lab


@pytest.fixture(scope="module")
def addresses() -> Addresses:
    return Addresses(120)


def test_api_down_moves_nothing_and_drops_nothing(
    lab: session.Session, addresses: Addresses
) -> None:
    """Proves the holder's agent keeps, serves and refreshes the VIP without the API, and that
    the operator moves nothing then or right after. Does not prove the operator's grace for
    Leases that expire in an outage: none does in 6 s (the agents' Leases last 45 s)."""
    vip = addresses.take()
    before = create(lab, "outage", vip, "server1", announce={"refreshIntervalSeconds": 1})
    carried: list[list[str]] = []
    with watch(lab, vip) as seen:
        time.sleep(0.5)
        down = lab.fault("api-down")
        outage_end = time.time() + 6  # past the agents' unsure-after (2 s) and a few refreshes
        while time.time() < outage_end:
            carried.append(holders(lab, vip))
            time.sleep(0.2)
        up = lab.fault("api-up")
        for _ in range(10):  # a window after the outage: the operator must not move it now
            carried.append(holders(lab, vip))
            time.sleep(0.2)
    [record] = seen
    assert {tuple(c) for c in carried} == {("server1",)}, "the kernel lost or moved the VIP"
    assert record.failed() == 0, "the client lost requests during the API outage"
    assert {r.answer for r in record.requests} == {"server1"}
    refreshes = [
        f
        for f in record.frames
        if down <= f.time <= up and f.sender_ip == f.target_ip == vip
        and f.sender_mac == MAC["server1"]
    ]  # fmt: skip
    assert len(refreshes) >= 2, "the holder stopped refreshing its announcement without the API"
    assert record.answerers(vip) == {MAC["server1"]}
    after = status(lab, "outage")
    assert (after["holder"], after["epoch"]) == ("server1", before["epoch"])
    assert after["history"] == before["history"]


#: the lab's operator replicas authenticate as this ServiceAccount (the agents as another)
OPERATOR = "system:serviceaccount:floatip:floatip-operator"
VIPS = "/apis/floatip.io/v1alpha1/virtualips"


@pytest.mark.parametrize(
    ("fault", "fate"),
    [
        ("restart-operator", "lost"),
        ("kill-leader", "lost"),
        ("kill-leader", "landed"),
        ("kill-leader", "refused"),
    ],
)
def test_operator_disruption_with_the_failover_write_in_flight_moves_once(
    lab: session.Session, addresses: Addresses, fault: str, fate: str
) -> None:
    """The lab's API server holds the leader's failover write (the hold fault: the first
    status PATCH of this VirtualIP by the operator's ServiceAccount), so the write is
    provably in flight when every replica restarts or the leader is SIGKILLed. Then the
    write is lost (dropped: the replicas left must move it), lands before the standby leads
    (it must not move again) or arrives after the standby moved (refused by its epoch test).
    Each way: one holder on server2, the epoch bumped once, one Failover, one answering host.
    """
    vip = addresses.take()
    name = f"mid-{fault}-{fate}"
    before = create(lab, name, vip, "server1")
    hold = _hold(lab, f"{VIPS}/{name}/status")
    try:
        with watch(lab, vip, arp=False) as seen:
            time.sleep(0.5)
            lab.fault("kill-node", "server1")
            [write] = lab.wait(
                lambda: _held(lab, hold)["caught"] or None,
                what="the leader's failover write to reach the API server",
                timeout=30,
                describe=lambda: _seen(lab, name, hold),
            )
            # The leader waits on its held write, so nothing else of it can have landed.
            at_fault = status(lab, name)
            assert (at_fault["holder"], at_fault["epoch"]) == ("server1", before["epoch"])
            leader = _leader(lab)
            lab.fault(fault)
            # In flight at the fault: the move itself, caught, still unanswered.
            moved = (before["epoch"] + 1, "server2")
            assert (write["body_sets"], write["code"]) == (moved, None), write
            assert _held(lab, hold)["caught"] == [write], _held(lab, hold)
            if fate == "lost":
                _end(lab, hold, "drop")
            elif fate == "landed":
                assert _answered(lab, hold, "release") == 200
                assert status(lab, name)["epoch"] == before["epoch"] + 1
                assert _leader(lab) == leader, "the standby led before the write landed"
            lab.wait_holder(name, "server2", timeout=60)
            if fate == "refused":
                assert _answered(lab, hold, "release") == 422, (
                    f"the dead leader's stale write was not refused: {status(lab, name)}"
                )
            lab.wait_answer(vip, "server2", timeout=60)
            # Ready is written by a live leader only: the one left has decided on all this.
            lab.wait_condition(name, "Ready", timeout=60)
            if fault == "kill-leader":
                assert _leader(lab) not in (None, leader)
            lab.fault("heal")  # server1 and, for kill-leader, the killed replica come back
            wait_holders(lab, vip, ["server2"], timeout=30)
            reset(lab)
    finally:
        if _held(lab, hold)["fate"] is None:
            _end(lab, hold, "drop")
    [record] = seen
    assert record.last_answer() == "server2"
    after = status(lab, name)
    assert after["holder"] == "server2"
    assert after["epoch"] == before["epoch"] + 1, f"not exactly one move: {after['history']}"
    moves = after["history"][len(before["history"]) :]
    assert [(m["from"], m["to"], m["reason"]) for m in moves] == [
        ("server1", "server2", "Failover")
    ]
    assert after["announcement"]["epoch"] == after["epoch"]
    assert holders(lab, vip) == ["server2"]


def _hold(lab: session.Session, path: str) -> str:
    """Hold the next PATCH of ``path`` by the operator (floatip_apiserver.faults.Hold)."""
    rule = {"method": "PATCH", "path": path, "user": OPERATOR, "count": 1}
    return str(lab.api.request("POST", "/_faults/holds", rule)["name"])


def _held(lab: session.Session, hold: str) -> dict[str, Any]:
    """The hold's state; each caught write also gets ``body_sets``: (epoch, holder) it sets."""
    found = lab.api.request("GET", f"/_faults/holds/{hold}")
    for caught in found["caught"]:
        sets = {
            op["path"]: op.get("value")
            for op in caught.pop("body") or ()
            if op.get("op") in ("add", "replace")
        }
        caught["body_sets"] = (sets.get("/status/epoch"), sets.get("/status/holder"))
    return found


def _end(lab: session.Session, hold: str, fate: str) -> None:
    lab.api.request("POST", f"/_faults/holds/{hold}/{fate}")


def _answered(lab: session.Session, hold: str, fate: str) -> int:
    """End the hold with ``fate``; the code the API server answered the held write with."""
    _end(lab, hold, fate)
    code: int = lab.wait(
        lambda: _held(lab, hold)["caught"][0]["code"],
        what=f"the held write to be answered after its {fate}",
        timeout=30,
        describe=lambda: str(_held(lab, hold)),
    )
    return code


def _leader(lab: session.Session) -> str | None:
    lease = lab.api.request(
        "GET", "/apis/coordination.k8s.io/v1/namespaces/floatip/leases/floatip-operator"
    )
    holder = lease.get("spec", {}).get("holderIdentity")
    return str(holder) if holder else None


def _seen(lab: session.Session, name: str, hold: str) -> str:
    logs = "\n".join(
        f"---- {replica} ----\n{log_tail(lab, replica, 10)}"
        for replica in ("operator-1", "operator-2")
    )
    return f"hold {_held(lab, hold)}; status {status(lab, name)}\n{logs}"


def test_deletion_removes_address_everywhere_before_object_goes(
    lab: session.Session, addresses: Addresses
) -> None:
    vip = addresses.take()
    create(lab, "gone", vip, "server1")
    lab.delete_vip("gone")
    early: list[list[str]] = []  # servers still holding the address once the object was gone

    def observe() -> bool:
        exists = _exists(lab, "gone")  # the object first: it may only go after the address
        held = holders(lab, vip)
        if not exists and held:
            early.append(held)
        return not exists and not held

    lab.wait(observe, what="the address and the VirtualIP to be gone", timeout=60, interval=0.05)
    timeouts = [e for e in events_about(lab, "gone") if e.get("reason") == "ReleaseTimeout"]
    assert early == [], f"the VirtualIP went while {early[0]} still held the address"
    assert timeouts == [], (
        "the finalizer did not see the address released: the VirtualIP went only after the "
        f"release timed out ({[e.get('note') for e in timeouts]})"
    )
    assert lab.ask(vip)[0] is False


def _exists(lab: session.Session, name: str) -> bool:
    try:
        lab.vip(name)
    except kubeapi.ApiError as exc:
        if exc.status == 404:
            return False
        raise
    return True
