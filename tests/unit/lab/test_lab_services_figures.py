"""The pure parts of a Local Service's move in `floatip bench services`
(floatip_lab.benchmarks.services_figures). Proves:

- `FirstSeen` keeps the first event from ``since`` on for which its test holds, ignoring
  earlier ones, later ones and deletions;
- an EndpointSlice says a node's endpoint is not ready only for that Service and that node;
  the move record and the status name another node only for that VirtualIP, and not nobody;
- `taken_at` reads the last ``vip-taken`` of that VirtualIP from an agent's JSON log;
- `LocalMove.line` gives each step's ms after the fault, "not seen" where it was not;
- the N Services select the ``bench`` Pods and the Local one the web Pods, so a web Pod's
  readiness concerns the Local Service alone, and a ``bench`` Pod's concerns them all;
- `result` is the JSON contract: its keys in order, figures rounded, a null stays null.
"""

from __future__ import annotations

import json
from typing import Any

from floatip.api import moves
from floatip_lab import endpointslices, webpods
from floatip_lab.benchmarks import services_figures as figures

VIP = "svc-default.bench-local-v4"


def slice_(service: str, *endpoints: tuple[str, bool]) -> dict[str, Any]:
    return {
        "metadata": {"labels": {endpointslices.SERVICE_NAME: service}},
        "endpoints": [{"nodeName": n, "conditions": {"ready": r}} for n, r in endpoints],
    }


def record(vip: str, holder: str | None) -> dict[str, Any]:
    move = moves.Move(vip, "u1", holder, 2, "EndpointsMoved", "server1")
    return {"metadata": {"name": moves.CONFIGMAP}, "data": moves.encode([move], leader="op")}


def vip(name: str, holder: str | None) -> dict[str, Any]:
    return {"metadata": {"name": name}, "status": {"holder": holder, "epoch": 2}}


def test_first_seen() -> None:
    book = figures.FirstSeen(lambda obj: bool(obj.get("yes")))
    book.update("MODIFIED", {"yes": True}, 1.0)  # before it is armed
    book.since = 2.0
    book.update("MODIFIED", {"yes": False}, 3.0)
    book.update("DELETED", {"yes": True}, 4.0)
    book.update("MODIFIED", {"yes": True}, 5.0)
    book.update("MODIFIED", {"yes": True}, 6.0)
    assert book.at == 5.0


def test_predicates() -> None:
    not_ready = figures.endpoint_not_ready("bench-local", "server1")
    assert not_ready(slice_("bench-local", ("server1", False), ("server2", True)))
    assert not not_ready(slice_("bench-local", ("server1", True), ("server2", False)))
    assert not not_ready(slice_("bench-0001", ("server1", False)))
    recorded = figures.recorded_elsewhere(VIP, "server1")
    assert recorded(record(VIP, "server2"))
    assert not recorded(record(VIP, "server1")) and not recorded(record(VIP, None))
    assert not recorded(record("other", "server2"))
    assert not recorded({"metadata": {"name": "another-configmap"}})
    elsewhere = figures.status_elsewhere(VIP, "server1")
    assert elsewhere(vip(VIP, "server2"))
    assert not elsewhere(vip(VIP, "server1")) and not elsewhere(vip(VIP, None))
    assert not elsewhere(vip("other", "server2"))


def test_taken_at() -> None:
    def line(event: str, name: str, stamp: str) -> str:
        return json.dumps({"event": event, "vip": name, "timestamp": stamp})

    lines = [
        line("vip-taken", VIP, "2026-11-30T18:00:00.250000Z"),
        "not json",
        line("vip-taken", "other", "2026-11-30T18:00:09Z"),
        line("vip-released", VIP, "2026-11-30T18:00:05Z"),
        line("vip-taken", VIP, "2026-11-30T18:00:07.500000Z"),
    ]
    first, last = figures.taken_at(lines[:1], VIP), figures.taken_at(lines, VIP)
    assert first is not None and last is not None and last - first == 7.25
    assert figures.taken_at(lines[1:4], VIP) is None


def test_local_move_line() -> None:
    parts = figures.LocalMove(10.0, 10.1, 10.15, None, 10.3, 10.32)
    assert parts.line() == (
        "its endpoint not ready in the EndpointSlice +100 ms, the operator's move record "
        "+150 ms, the VirtualIP's status not seen, the new holder's agent took the address "
        "+300 ms, the client answered through it +320 ms"
    )


def test_the_local_service_alone_selects_the_web_pods() -> None:
    bulk = [figures.service_body(name) for name in figures.service_names(3)]
    own = figures.service_body("bench-local", policy="Local", app=webpods.APP)
    shared = figures.service_body("bench-local-shared", policy="Local")
    assert own["spec"]["externalTrafficPolicy"] == "Local"
    assert bulk[0]["spec"]["externalTrafficPolicy"] == "Cluster"
    services = [*bulk, own, shared]
    web, bench = webpods.build_pod("server1"), webpods.build_pod("server1", figures.BULK_APP)
    assert web["metadata"]["name"] == "web-server1"
    assert bench["metadata"]["name"] == "bench-server1"
    assert endpointslices.selecting(services, [web]) == [("default", "bench-local")]
    assert endpointslices.selecting(services, [bench]) == [
        ("default", "bench-0001"), ("default", "bench-0002"), ("default", "bench-0003"),
        ("default", "bench-local-shared"),
    ]  # fmt: skip


def test_result_is_the_json_contract() -> None:
    found = figures.result(
        services_=1000, allocate_s=9.876, answer_s=10.04, writes_per_s_per_node=0.15555,
        etp_local_move_ms=360.14, restart_moves=0, etp_local_move_shared_pod_ms=None,
    )  # fmt: skip
    assert list(found) == list(figures.KEYS)
    assert found == {
        "services": 1000, "allocate_s": 9.88, "answer_s": 10.04,
        "api_writes_per_s_per_node": 0.156, "etp_local_move_ms": 360.1, "restart_moves": 0,
        "etp_local_move_shared_pod_ms": None,
    }  # fmt: skip
