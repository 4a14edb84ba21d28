"""A floatip Service's status and Events (floatip_operator.servicestatuses), no I/O.

Proves: ingress points in the Service's family order with ipMode VIP; Allocated True naming
the pool, AddressOutsidePool when kept outside an edited pool, False with the failure's reason
(and what it keeps meanwhile); Announced True naming the node only when every VirtualIP is
Ready (read from its holder's announcement at the current epoch, not from the operator's Ready
write), else AnnouncementPending with the VirtualIP's own reason; other controllers'
conditions kept; an unchanged world builds an identical status (no write) with the same
transition times; Events IPAllocated, IPReleased, AllocationFailed (once per new failure) and
AddressOutsidePool; an address is handed out (ingress) only once a node probed it free on the
wire and announced it, AddressInUseOnWire (and one AllocationFailed) while a foreign host
answers the probe; the released status drops only floatip's parts; a first status that says
only "allocated, announcement pending" is worth holding back for the announcement (first_news),
and nothing else is: not a later status, not one with an address handed out, not a failure or
an address in use on the wire.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from floatip.api import events, services
from floatip_operator import holdings, servicestatuses
from floatip_operator.holdings import Failure, Held, Result

ip = ipaddress.ip_address
V4 = Held("svc-default.web-v4", ip("192.0.2.1"), "blue")
V6 = Held("svc-default.web-v6", ip("2001:db8::1"), "blue")
OTHER = {"type": "example.com/Healthy", "status": "True", "reason": "Ok", "message": "",
         "lastTransitionTime": "2026-01-01T00:00:00Z"}  # fmt: skip


ASSIGNED = {"type": "Assigned", "status": "True", "message": "placed"}


def announced(node: str) -> dict[str, Any]:
    """Probed free, taken and announced by ``node`` (Ready or not since)."""
    return {"node": node, "epoch": 1, "mac": "02:00:00:00:00:01", "time": "2026-01-01T00:00:00Z"}


def ready(node: str) -> dict[str, Any]:
    conditions = [{"type": "Ready", "status": "True", "message": "announced"}, ASSIGNED]
    return {"status": {"holder": node, "epoch": 1, "conditions": conditions,
                       "announcement": announced(node)}}  # fmt: skip


def announced_only(node: str, *, epoch: int = 1, assigned: bool = True) -> dict[str, Any]:
    """``node`` holds the address at ``epoch`` and its agent's announcement (of epoch 1) is in;
    the operator's Ready write is not."""
    pending = {"type": "Ready", "status": "False", "message": f"waiting for {node} to announce"}
    conditions = [pending, ASSIGNED if assigned else {**ASSIGNED, "status": "False"}]
    return {"status": {"holder": node, "epoch": epoch, "conditions": conditions,
                       "announcement": announced(node)}}  # fmt: skip


def probing(node: str, mac: str) -> dict[str, Any]:
    """``node``'s take found ``mac`` answering for the address: never announced."""
    condition = {"type": "Ready", "status": "False", "message": f"{mac} answers for it"}
    conflict = {"node": node, "mac": mac, "since": "2026-01-01T00:00:00Z",
                "lastSeen": "2026-01-01T00:00:01Z", "count": 2, "reasserted": 0}  # fmt: skip
    return {"status": {"holder": node, "conditions": [condition], "conflict": conflict}}


def conditions(status: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in status["conditions"]}


def build(result: Result, vips: dict[str, Any], previous: Any = None, now: str = "T1") -> Any:
    return servicestatuses.build(previous, result, (6, 4), vips, generation=3, now=now)


def test_ingress_and_conditions_of_an_allocated_and_announced_service() -> None:
    previous = {"loadBalancer": {}, "conditions": [OTHER]}
    pending = build(Result((V4, V6)), {V4.vip: ready("server1")}, previous)
    assert pending["loadBalancer"]["ingress"] == [{"ip": "192.0.2.1", "ipMode": "VIP"}]
    found = conditions(pending)
    assert found["example.com/Healthy"][0] == "True"
    assert found["floatip.io/Allocated"][:2] == ("True", "Allocated")
    assert "192.0.2.1 from pool blue" in found["floatip.io/Allocated"][2]
    assert found["floatip.io/Announced"][:2] == ("False", "AnnouncementPending")
    assert "VirtualIP svc-default.web-v6" in found["floatip.io/Announced"][2]
    done = build(Result((V4, V6)), {V4.vip: ready("server1"), V6.vip: ready("server2")}, pending)
    assert done["loadBalancer"]["ingress"] == [
        {"ip": "2001:db8::1", "ipMode": "VIP"},
        {"ip": "192.0.2.1", "ipMode": "VIP"},
    ]
    assert conditions(done)["floatip.io/Announced"] == (
        "True", "Announced", "192.0.2.1 by node server1; 2001:db8::1 by node server2"
    )  # fmt: skip
    same = build(Result((V4, V6)), {V4.vip: ready("server1"), V6.vip: ready("server2")}, done, "T9")
    assert same == done and not servicestatuses.changed(done, same)
    assert servicestatuses.changed(pending, done)


def test_announced_is_read_from_the_holders_announcement_not_the_ready_write() -> None:
    """The agent's announcement at the current epoch of an assigned VirtualIP is what makes
    it Ready: the Service's one write carries its address and Announced True together."""
    now = build(Result((V4,)), {V4.vip: announced_only("server1")})
    assert now["loadBalancer"]["ingress"] == [{"ip": "192.0.2.1", "ipMode": "VIP"}]
    assert conditions(now)["floatip.io/Announced"] == (
        "True", "Announced", "192.0.2.1 by node server1"
    )  # fmt: skip
    moved = build(Result((V4,)), {V4.vip: announced_only("server1", epoch=2)}, now)
    assert conditions(moved)["floatip.io/Announced"][:2] == ("False", "AnnouncementPending")
    assert "waiting for server1 to announce" in conditions(moved)["floatip.io/Announced"][2]
    unassigned = build(Result((V4,)), {V4.vip: announced_only("server1", assigned=False)}, now)
    assert conditions(unassigned)["floatip.io/Announced"][:2] == ("False", "AnnouncementPending")
    elsewhere = announced_only("server1")
    elsewhere["status"]["holder"] = "server2"
    other = build(Result((V4,)), {V4.vip: elsewhere}, now)
    assert conditions(other)["floatip.io/Announced"][:2] == ("False", "AnnouncementPending")


def test_failures_and_addresses_outside_their_pool_are_conditions_and_events() -> None:
    failure = Failure(services.Reason.POOL_EXHAUSTED, "every IPv4 address of pool blue is taken")
    failed = build(Result((), failure), {})
    assert conditions(failed)["floatip.io/Allocated"][:2] == ("False", "PoolExhausted")
    assert failed["loadBalancer"] == {} and "floatip.io/Announced" not in conditions(failed)
    notes = servicestatuses.service_notices({}, failed, Result((), failure))
    assert [(n.type, n.reason) for n in notes] == [
        (events.Type.WARNING, services.EventReason.ALLOCATION_FAILED)
    ]
    assert "PoolExhausted: every IPv4" in notes[0].note
    assert (
        servicestatuses.service_notices(failed, build(Result((), failure), {}), Result((), failure))
        == []
    )
    kept = build(Result((V4,), failure), {})
    assert "it keeps 192.0.2.1 meanwhile" in conditions(kept)["floatip.io/Allocated"][2]

    allocated = build(Result((V4,)), {V4.vip: ready("server1")})
    notes = servicestatuses.service_notices(failed, allocated, Result((V4,)))
    assert [(n.reason, n.note) for n in notes] == [
        (services.EventReason.ALLOCATED, "192.0.2.1 from pool blue (VirtualIP svc-default.web-v4)")
    ]
    outside = Result((V4._replace(outside=True),))
    flagged = build(outside, {}, allocated)  # handed out already: shown while it is held
    assert flagged["loadBalancer"] == allocated["loadBalancer"]
    assert conditions(flagged)["floatip.io/Allocated"][:2] == ("True", "AddressOutsidePool")
    assert "no longer in pool blue" in conditions(flagged)["floatip.io/Allocated"][2]
    notes = servicestatuses.service_notices(allocated, flagged, outside)
    assert [n.reason for n in notes] == [services.EventReason.OUTSIDE_POOL]
    gone = servicestatuses.service_notices(allocated, build(Result(()), {}), Result(()))
    assert [n.reason for n in gone] == [services.EventReason.RELEASED]


def test_reallocating_and_released_statuses() -> None:
    waiting = build(Result((), None, waiting=True), {})
    assert conditions(waiting)["floatip.io/Allocated"][:2] == ("False", "Reallocating")
    previous = {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}, "conditions": [OTHER]}
    previous["conditions"] = [*build(Result((V4,)), {})["conditions"], OTHER]
    assert servicestatuses.released(previous) == {"loadBalancer": {}, "conditions": [OTHER]}
    assert servicestatuses.patch({"loadBalancer": {}}, "42") == {
        "metadata": {"resourceVersion": "42"}, "status": {"loadBalancer": {"ingress": None}}
    }  # fmt: skip
    assert holdings.Result().held == ()


def test_an_address_is_handed_out_only_once_probed_free_on_the_wire() -> None:
    reserved = build(Result((V4,)), {})
    assert reserved["loadBalancer"] == {}
    assert conditions(reserved)["floatip.io/Allocated"][:2] == ("True", "Allocated")
    in_use = build(Result((V4,)), {V4.vip: probing("server1", "02:99:00:00:00:07")}, reserved)
    assert in_use["loadBalancer"] == {}
    state, reason, message = conditions(in_use)["floatip.io/Allocated"]
    assert (state, reason) == ("False", "AddressInUseOnWire")
    assert "192.0.2.1 is answered for by 02:99:00:00:00:07" in message
    assert "node server1's probe" in message and "floatip.io/addresses" in message
    notes = servicestatuses.service_notices(reserved, in_use, Result((V4,)))
    assert [(n.type, n.reason) for n in notes] == [
        (events.Type.WARNING, services.EventReason.ALLOCATION_FAILED)
    ]
    assert notes[0].note.startswith("AddressInUseOnWire: 192.0.2.1 is answered for")
    again = build(Result((V4,)), {V4.vip: probing("server1", "02:99:00:00:00:07")}, in_use, "T9")
    assert again == in_use  # no write, no second Event
    assert servicestatuses.service_notices(in_use, again, Result((V4,))) == []
    freed = build(Result((V4,)), {V4.vip: ready("server2")}, in_use)
    assert freed["loadBalancer"]["ingress"] == [{"ip": "192.0.2.1", "ipMode": "VIP"}]
    assert conditions(freed)["floatip.io/Allocated"][:2] == ("True", "Allocated")
    notes = servicestatuses.service_notices(in_use, freed, Result((V4,)))
    assert [n.reason for n in notes] == [services.EventReason.ALLOCATED]
    # Once handed out, a later conflict (an intruder) is the VirtualIP's Conflict: the Service
    # keeps its address and its ingress.
    intruded = {
        V4.vip: {"status": {**ready("server2")["status"], **probing("server2", "x")["status"]}}
    }
    kept = build(Result((V4,)), intruded, freed)
    assert kept["loadBalancer"] == freed["loadBalancer"]
    assert conditions(kept)["floatip.io/Allocated"][:2] == ("True", "Allocated")


def test_only_a_first_status_saying_announcement_pending_is_held_back() -> None:
    """`first_news`: the Service loop waits a little before writing it, so one write normally
    carries the ingress and both conditions."""
    other_only = {"loadBalancer": {}, "conditions": [OTHER]}
    pending = build(Result((V4,)), {V4.vip: {"status": {"holder": "server1"}}}, other_only)
    assert servicestatuses.first_news(other_only, pending)
    assert servicestatuses.first_news(None, build(Result((V4,)), {}))  # VirtualIP not created yet
    assert not servicestatuses.first_news(pending, build(Result((V4,)), {}, pending))  # not first
    done = build(Result((V4,)), {V4.vip: ready("server1")}, other_only)
    assert done["loadBalancer"]["ingress"]
    assert not servicestatuses.first_news(other_only, done)
    failure = Failure(services.Reason.POOL_EXHAUSTED, "every IPv4 address of pool blue is taken")
    assert not servicestatuses.first_news(None, build(Result((), failure), {}))
    in_use = build(Result((V4,)), {V4.vip: probing("server1", "02:00:00:00:00:99")})
    assert conditions(in_use)["floatip.io/Allocated"][1] == services.Reason.IN_USE_ON_WIRE.value
    assert not servicestatuses.first_news(None, in_use)
