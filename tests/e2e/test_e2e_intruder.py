"""Safety property 5 end to end: an intruder claims the VIP, on one two-node lab.

Proves, with the intruder doing the seed's prank (``ip addr add VIP`` and ``arping -U``):
- a claim on a held VIP raises the `Conflict` condition and a Warning Event regarding the
  VirtualIP, records the intruder's MAC in `status.conflict`, and does not move the VIP
  (holder, epoch and history unchanged); floatip re-asserts, so the client ends up answered
  by the holder again with its neighbour entry on the holder's MAC; once the intruder gives
  the address back the Conflict clears;
- an address a foreign host already answers for before its VirtualIP exists is refused by
  the probe: no server adds it, `status.conflict` names the intruder's MAC, a ProbeConflict
  Event says why and the VirtualIP is not Ready; once the intruder lets go, floatip takes it;
- a compromised node (issue 14): with the credentials of the agent on server2, which does not
  hold the VIP (its Pod-bound token, as the lab runs that agent), a status patch moving the
  VIP to server2 at the next epoch, a patch of the operator's leader Lease and a patch of
  server1's agent Lease are all refused with 403 by the chart's admission policies; the VIP
  stays on server1 at its epoch and the client keeps getting answers from server1.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from floatip.api import names
from floatip_lab import kubeapi, naming, rbac, session
from tests.e2e.conftest import (
    Addresses,
    create,
    events_about,
    holders,
    running_lab,
    status,
    wait_holders,
    watch,
)

MERGE = "application/merge-patch+json"
SERVER1 = naming.data_mac(1)
INTRUDER = naming.data_mac(4)  # hosts: server1, server2, client, intruder


@pytest.fixture(scope="module")
def module_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[session.Session]:
    with running_lab(tmp_path_factory, nodes=2) as lab:
        assert lab.lab.host("intruder").mac == INTRUDER
        yield lab


@pytest.fixture(scope="module")
def addresses() -> Addresses:
    return Addresses(140)


def test_intruder_raises_conflict_without_moving_the_vip(
    lab: session.Session, addresses: Addresses
) -> None:
    vip = addresses.take()
    before = create(lab, "prank", vip, "server1")
    try:
        with watch(lab, vip, arp=False) as seen:
            time.sleep(0.5)
            lab.steal(vip)
            lab.wait_condition("prank", "Conflict", "True", timeout=30)
            lab.wait_answer(vip, "server1", timeout=30)
            during = status(lab, "prank")
            time.sleep(1.0)  # a recording window with the intruder still holding it
        [record] = seen
        assert (during["holder"], during["epoch"]) == ("server1", before["epoch"])
        assert during["history"] == before["history"], "the VIP moved because of an intruder"
        assert (during.get("conflict") or {}).get("mac") == INTRUDER
        lab.wait(
            lambda: any(
                e.get("type") == "Warning" and "Conflict" in str(e.get("reason"))
                for e in events_about(lab, "prank")
            ),
            what="a Warning Conflict Event regarding prank (it follows the status)",
            timeout=30,
            describe=lambda: f"events: {events_about(lab, 'prank')}",
        )
        assert record.last_answer() == "server1"
        assert session.neighbour(lab, "client", vip) == SERVER1
        assert holders(lab, vip) == ["server1"]
    finally:
        lab.give_back(vip)
    # the product clears a conflict after a quiet period without foreign claims (30 s)
    lab.wait_condition("prank", "Conflict", "False", timeout=60)
    after = status(lab, "prank")
    assert after.get("conflict") is None
    assert (after["holder"], after["epoch"]) == ("server1", before["epoch"])
    lab.wait_answer(vip, "server1", timeout=30)


def test_probe_refuses_address_a_foreign_host_already_answers(
    lab: session.Session, addresses: Addresses
) -> None:
    vip = addresses.take()
    lab.steal(vip)
    try:
        lab.apply_vip("taken", {"address": f"{vip}/24", "preferredNodes": ["server1"]})
        lab.wait_condition("taken", "Conflict", "True", timeout=30)
        refused = status(lab, "taken")
        assert holders(lab, vip) == [], "a server took an address the intruder answers for"
        assert (refused.get("conflict") or {}).get("mac") == INTRUDER
        ready = lab.condition("taken", "Ready") or {}
        assert ready.get("status") != "True", ready
        reasons = {e.get("reason") for e in events_about(lab, "taken")}
        assert "ProbeConflict" in reasons, reasons
        assert session.neighbour(lab, "client", vip) in (None, INTRUDER)
    finally:
        lab.give_back(vip)
    lab.wait_condition("taken", "Ready", timeout=60)
    holder = lab.holder("taken")
    assert holder is not None
    wait_holders(lab, vip, [holder], timeout=30)
    lab.wait_answer(vip, holder, timeout=30)


def test_a_compromised_nodes_agent_cannot_move_a_vip_or_stop_failover(
    lab: session.Session, addresses: Addresses
) -> None:
    vip = addresses.take()
    before = create(lab, "guarded", vip, "server1")
    server2 = lab.api_as_agent("server2")
    leases = f"/apis/coordination.k8s.io/v1/namespaces/{rbac.NAMESPACE}/leases"
    forged = {
        "status holder and epoch": (
            f"/apis/{names.API_VERSION}/virtualips/guarded/status",
            {"status": {"holder": "server2", "epoch": before["epoch"] + 1}},
        ),
        "the operator's leader Lease": (
            f"{leases}/floatip-operator",
            {"spec": {"holderIdentity": "evil"}},
        ),
        "server1's agent Lease": (
            f"{leases}/{names.AGENT_LEASE_PREFIX}server1",
            {"metadata": {"annotations": {names.MACS_ANNOTATION: "02:66:00:00:00:99"}}},
        ),
    }
    with watch(lab, vip, arp=False) as seen:
        for what, (path, body) in forged.items():
            with pytest.raises(kubeapi.ApiError) as refused:
                server2.request("PATCH", path, body, content_type=MERGE)
            assert refused.value.status == 403, f"{what}: {refused.value}"
            assert "ValidatingAdmissionPolicy" in str(refused.value), f"{what}: {refused.value}"
        # what server2's agent may write still passes: its own Lease
        server2.request(
            "PATCH", f"{leases}/{names.AGENT_LEASE_PREFIX}server2",
            {"metadata": {"labels": {"floatip.io/e2e": "own-lease"}}}, content_type=MERGE,
        )  # fmt: skip
        time.sleep(1.0)  # a recording window after the forged writes
    [record] = seen
    after = status(lab, "guarded")
    assert (after["holder"], after["epoch"]) == ("server1", before["epoch"])
    assert after["history"] == before["history"]
    assert holders(lab, vip) == ["server1"]
    assert record.last_answer() == "server1"
    leader = lab.api.request("GET", f"{leases}/floatip-operator")
    assert leader["spec"]["holderIdentity"] != "evil"
