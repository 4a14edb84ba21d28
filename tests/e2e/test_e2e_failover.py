"""Safety properties 1, 2, 3 and 7 end to end, on one two-node lab, judged by the client.

Proves, with the client requesting the VIP every 10 ms and logging who answers ARP for it:
- 1: in steady state exactly one server carries the VIP, only its MAC answers ARP, the
  client's neighbour entry is that MAC, and status (holder, epoch, announcement) agrees;
- 2: when the holder loses power (kill-node), hangs (freeze-node) or loses its data cable
  (cut-data), the other server takes over: the client ends up answered by it, its neighbour
  entry flips to the new MAC, the history records one move at epoch+1 (Failover; for
  the cut cable HolderIneligible, as the agent is alive to hand over); once the old
  node is back it does not keep the address, and from then on only one MAC answers;
- 3: a holder cut off from the API server (cut-mgmt) but still on the LAN is replaced and
  releases the address while still cut off: from then on only the new holder answers;
- 7: restarting the holder's agent never removes the address (no failed request, the
  kernel never loses it), keeps the epoch, and leaves the node's own addresses and another
  program's address on the same interface alone;
- 1 against a forged assignment (issue 14): a status patch naming server2 at epoch + 1, as a
  compromised node's credentials allow, is put back by the operator (server1 at a higher
  epoch, a Restored move, a ForgedAssignment Warning): the address ends on server1 alone and
  the client keeps being answered by server1;
- and that the judge of "two hosts answer for the VIP" used above does see two hosts when
  there are two (an address on server1 and on the intruder), and none when there is one.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import pytest

from floatip_lab import naming, session, timeline
from tests.e2e.conftest import (
    MAC,
    Addresses,
    Seen,
    create,
    events_about,
    holders,
    reset,
    running_lab,
    status,
    wait_holders,
    watch,
)

#: an address another program put on server1's eth0: the agent must never touch it
FOREIGN = "192.0.2.251"


@pytest.fixture(scope="module")
def module_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[session.Session]:
    with running_lab(tmp_path_factory, nodes=2) as lab:
        yield lab


@pytest.fixture(scope="module")
def addresses() -> Addresses:
    return Addresses(100)


def test_steady_state_one_holder_one_mac(lab: session.Session, addresses: Addresses) -> None:
    vip = addresses.take()
    before = create(lab, "steady", vip, "server1")
    with watch(lab, vip) as seen:
        time.sleep(2)  # a recording window, not a judge
    [record] = seen
    assert holders(lab, vip) == ["server1"]
    assert record.requests and record.failed() == 0
    assert {r.answer for r in record.requests} == {"server1"}
    assert record.answerers(vip) == {MAC["server1"]}, "only the holder answers ARP for the VIP"
    assert record.doubles(vip) == []
    assert session.neighbour(lab, "client", vip) == MAC["server1"]
    after = status(lab, "steady")
    assert after["holder"] == "server1" and after["epoch"] == before["epoch"] == 1
    assert [h["reason"] for h in after["history"]] == ["Assigned"]
    assert after["announcement"]["node"] == "server1"
    assert after["announcement"]["epoch"] == after["epoch"]
    assert after["announcement"]["mac"] == MAC["server1"]


def test_a_forged_assignment_is_put_back_on_its_holder(
    lab: session.Session, addresses: Addresses
) -> None:
    vip = addresses.take()
    before = create(lab, "forged", vip, "server1")
    forged = before["epoch"] + 1
    with watch(lab, vip) as seen:
        time.sleep(0.5)
        lab.api.request(
            "PATCH",
            f"{session.VIPS}/forged/status?fieldManager=compromised-node",
            {"status": {"holder": "server2", "epoch": forged}},
            content_type="application/merge-patch+json",
        )
        lab.wait(
            lambda: (
                (status(lab, "forged").get("holder"), status(lab, "forged").get("epoch"))
                == ("server1", forged + 1)
            ),
            what="the operator to put server1 back",
            timeout=30,
            describe=lambda: str(status(lab, "forged")),
        )
        lab.wait_condition("forged", "Ready", timeout=30)
        wait_holders(lab, vip, ["server1"], timeout=30)
        settled = time.time()
        time.sleep(1.5)  # a recording window after the restoration
    [record] = seen
    assert record.failed() == 0, f"the forgery cost the client requests: {record}"
    assert record.last_answer() == "server1", record
    assert record.answerers(vip, since=settled) == {MAC["server1"]}
    assert holders(lab, vip) == ["server1"]
    after = status(lab, "forged")
    last = after["history"][-1]
    assert (last["from"], last["to"], last["reason"], last["epoch"]) == (
        "server2", "server1", "Restored", forged + 1,
    )  # fmt: skip
    assert after["announcement"]["node"] == "server1"
    assert after["announcement"]["epoch"] == forged + 1
    warnings = [e for e in events_about(lab, "forged") if e.get("reason") == "ForgedAssignment"]
    assert len(warnings) == 1 and "compromised-node" in warnings[0]["note"], warnings


@pytest.mark.parametrize("fault", ["kill-node", "freeze-node", "cut-data"])
def test_holder_failure_moves_vip_and_old_node_does_not_keep_it(
    lab: session.Session, addresses: Addresses, fault: str
) -> None:
    vip = addresses.take()
    name = f"fail-{fault}"
    before = create(lab, name, vip, "server1")
    with watch(lab, vip) as seen:
        time.sleep(0.5)
        at = lab.fault(fault, "server1")
        lab.wait_holder(name, "server2", timeout=30)
        lab.wait_answer(vip, "server2", timeout=30)
        neighbour_during = session.neighbour(lab, "client", vip)
        lab.fault("heal")
        # the old holder comes back (processes resumed, cable or power back) and must let go
        wait_holders(lab, vip, ["server2"], timeout=30)
        released = time.time()
        time.sleep(1.5)  # a recording window after the release
    [record] = seen
    assert neighbour_during == MAC["server2"], "the client's neighbour entry flips to server2"
    assert session.neighbour(lab, "client", vip) == MAC["server2"]
    assert record.last_answer() == "server2"
    assert any(r.ok and r.answer == "server2" and r.start >= at for r in record.requests)
    assert record.failed(released) == 0, "no request fails once the old node is back"
    assert record.doubles(vip, since=released) == [], "two MACs answered after the release"
    assert record.answerers(vip, since=released) == {MAC["server2"]}
    after = status(lab, name)
    assert after["holder"] == "server2"
    assert after["epoch"] == before["epoch"] + 1, after["history"]
    last = after["history"][-1]
    # a pulled data cable leaves the agent alive: the operator moves the VIP as a planned
    # move of an ineligible holder (node-agent/floatip_agent/carrier.py), not as a Failover
    reason = "HolderIneligible" if fault == "cut-data" else "Failover"
    assert (last["from"], last["to"], last["reason"], last["epoch"]) == (
        "server1", "server2", reason, after["epoch"],
    )  # fmt: skip
    assert holders(lab, vip) == ["server2"]


def test_holder_cut_from_api_releases_after_takeover(
    lab: session.Session, addresses: Addresses
) -> None:
    vip = addresses.take()
    before = create(lab, "cutmgmt", vip, "server1")
    with watch(lab, vip) as seen:
        time.sleep(0.5)
        lab.fault("cut-mgmt", "server1")
        lab.wait_holder("cutmgmt", "server2", timeout=30)
        lab.wait_answer(vip, "server2", timeout=30)
        # still cut off from the API: only the LAN can tell server1 to let go
        wait_holders(lab, vip, ["server2"], timeout=30)
        released = time.time()
        time.sleep(1.5)  # a recording window after the release
        still_cut = lab.lab.faults.cut == [["server1", naming.MGMT_IFNAME]]
    [record] = seen
    assert still_cut
    assert record.doubles(vip, since=released) == []
    assert record.answerers(vip, since=released) == {MAC["server2"]}
    assert record.failed(released) == 0
    assert record.last_answer() == "server2"
    assert session.neighbour(lab, "client", vip) == MAC["server2"]
    after = status(lab, "cutmgmt")
    assert after["epoch"] == before["epoch"] + 1
    assert after["history"][-1]["reason"] == "Failover"
    lab.fault("heal")
    reset(lab)
    assert holders(lab, vip) == ["server2"], "back on the API, server1 does not take it again"


def test_agent_restart_keeps_owned_and_foreign_addresses(
    lab: session.Session, addresses: Addresses
) -> None:
    vip = addresses.take()
    before = create(lab, "restart", vip, "server1")
    lab.run("server1", ["ip", "addr", "add", f"{FOREIGN}/24", "dev", "eth0"])
    try:
        own = lab.addresses_on("server1")
        assert {vip, FOREIGN, "192.0.2.11"} <= own
        samples: list[set[str]] = []
        with watch(lab, vip) as seen:
            time.sleep(0.5)
            lab.fault("restart-agent", "server1")
            lab.wait(
                lambda: _sample(lab, samples) and lab.agent_sure("server1"),
                what="server1's restarted agent to answer /healthz again",
                timeout=30,
                interval=0.05,
            )
            time.sleep(1.0)  # a recording window after the restart
            samples.append(lab.addresses_on("server1"))
        [record] = seen
        after = status(lab, "restart")
        missing = [own - s for s in samples if not own <= s]
        assert missing == [], (
            f"addresses vanished from server1 during its agent's restart: {missing[0]}; "
            f"history {after['history']}"
        )
        assert (after["holder"], after["epoch"]) == ("server1", before["epoch"]), (
            f"the restart moved the VIP: {after['history']}"
        )
        assert record.failed() == 0, "the client lost requests during the agent restart"
        assert {r.answer for r in record.requests if r.ok} == {"server1"}
        assert lab.addresses_on("server1") == own
        assert record.doubles(vip) == []
        assert _holds(lab, "restart", before["epoch"]), "the agent does not report the VIP held"
    finally:
        lab.run("server1", ["ip", "addr", "del", f"{FOREIGN}/24", "dev", "eth0"], check=False)


def test_the_double_answer_judge_sees_two_hosts_answering(
    lab: session.Session, addresses: Addresses
) -> None:
    """The judge the other tests use against two holders (`Seen.doubles`: the client's ARP log
    of the broadcast questions `session.arp_asker` asks) is not blind: with an address on
    server1 alone it reports nothing; with the same address on the intruder too, it reports
    doubles, each naming exactly both MACs. No VirtualIP has the address: server1 holds it as
    another program's address would, which floatip leaves alone."""
    vip = addresses.take()
    intruder = lab.lab.host("intruder").mac
    lab.run("server1", ["ip", "addr", "add", f"{vip}/24", "dev", "eth0"])
    try:
        alone = _judged(lab, vip, {MAC["server1"]})
        lab.steal(vip)
        both = _judged(lab, vip, {MAC["server1"], intruder})
    finally:
        lab.give_back(vip)
        lab.run("server1", ["ip", "addr", "del", f"{vip}/24", "dev", "eth0"], check=False)
    assert alone.answerers(vip) == {MAC["server1"]}
    assert alone.doubles(vip) == []
    assert both.answerers(vip) == {MAC["server1"], intruder}
    doubles = both.doubles(vip)
    assert len(doubles) >= 3, f"two hosts answered every question, doubles seen: {doubles}"
    assert {frozenset(macs) for _, macs in doubles} == {frozenset({MAC["server1"], intruder})}


def _judged(lab: session.Session, vip: str, macs: set[str]) -> Seen:
    """Record who answers the asker's questions for ``vip`` until each of ``macs`` answered
    five times (a count, not a duration), as `watch` does; the record."""
    with lab.arp_log(vip) as log, session.arp_asker(lab, vip):

        def counts() -> dict[str, int]:
            found: dict[str, int] = {}
            for line in log.lines():
                with contextlib.suppress(ValueError, KeyError):  # a line still being written
                    frame = timeline.ArpFrame.from_json(line)
                    if frame in session.answers([frame], vip):
                        found[frame.sender_mac] = found.get(frame.sender_mac, 0) + 1
            return found

        lab.wait(
            lambda: all(counts().get(mac, 0) >= 5 for mac in macs),
            what=f"five answers for {vip} from each of {sorted(macs)}",
            timeout=30,
            describe=lambda: f"answers by MAC {counts()}",
        )
    return Seen([], log.frames())


def _sample(lab: session.Session, samples: list[set[str]]) -> bool:
    samples.append(lab.addresses_on("server1"))
    return True


def _holds(lab: session.Session, name: str, epoch: int) -> bool:
    report = lab.agent_report("server1")
    return report is not None and (report.get("held") or {}).get(name) == epoch
