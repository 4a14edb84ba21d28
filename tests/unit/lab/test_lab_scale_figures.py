"""`floatip bench scale`'s pure parts (floatip_lab.benchmarks.scale_figures). Proves:

- the client's resolution: 10 ms up to 200 VIPs, then N / 20,000 s (50 ms at 1,000);
- N VirtualIPs get distinct names and the first free addresses of the data LAN, with its
  prefix, every one preferring the given node;
- the status book keeps each VIP's holder and Ready and when that state began, tells which
  are Ready and which moved away from a node (named holder, Ready), and forgets deleted ones;
- a VIP is consistent only when Ready and on exactly the node its status names (on two
  nodes, on none, on another, or not Ready: each reported with what was seen);
- the failover summary counts the held VIPs, takes p50 and the last over those another node
  answered, counts the others as never (p50 and last null when none answered);
- a counter is summed over its labelled samples, and is None when the exposition lacks it
  (the operator does not export it yet: no number is invented); the critical-path figure is
  its delta, or null with the reason (absent, /metrics unreadable, reset by a restart);
- the neighbour table is raised only when the VIPs need it, never lowered;
- the JSON has exactly the contract's keys.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from floatip_lab import timeline
from floatip_lab.benchmarks import scale
from floatip_lab.benchmarks import scale_figures as sf


@pytest.mark.parametrize(("vips", "ms"), [(1, 10), (200, 10), (300, 15), (1000, 50)])
def test_ask_interval(vips: int, ms: float) -> None:
    assert sf.ask_interval(vips) == pytest.approx(ms / 1000)


def test_vip_specs_fill_the_data_lan_from_its_free_range() -> None:
    specs = sf.vip_specs(ipaddress.IPv4Network("198.18.0.0/20"), 1000, "server1")

    assert len(specs) == 1000
    assert list(specs)[:2] == ["scale-0001", "scale-0002"]
    assert specs["scale-0001"] == {"address": "198.18.0.100/20", "preferredNodes": ["server1"]}
    assert specs["scale-1000"]["address"] == "198.18.4.75/20"  # 100 + 999 = 4 * 256 + 75
    assert len({s["address"] for s in specs.values()}) == 1000
    assert sf.vip_names(12_000)[0] == "scale-00001"
    grouped = sf.vip_specs(ipaddress.IPv4Network("198.18.0.0/20"), 10, "server1", group="bench")
    assert {s["group"] for s in grouped.values()} == {"bench"}
    assert grouped[sf.vip_names(10)[0]] == {"address": "198.18.0.100/20", "preferredNodes": ["server1"],
                                   "group": "bench"}  # fmt: skip


def _vip(name: str, holder: str | None, ready: bool) -> dict[str, Any]:
    conditions = [{"type": "Ready", "status": "True" if ready else "False"}]
    status = {"conditions": conditions} | ({"holder": holder} if holder else {})
    return {"metadata": {"name": name}, "status": status}


def test_status_book_tracks_holders_readiness_and_since_when() -> None:
    book = sf.StatusBook()
    book.update("ADDED", {"metadata": {"name": "a"}}, 1.0)
    book.update("MODIFIED", _vip("a", "server1", False), 2.0)
    book.update("MODIFIED", _vip("a", "server1", True), 3.0)
    book.update("MODIFIED", _vip("a", "server1", True), 4.0)  # no change: still since 3.0
    book.update("ADDED", _vip("b", "server1", True), 5.0)

    assert book.ready_names(["a", "b", "c"]) == ["a", "b"]
    assert book.settled_at(["a", "b"]) == 5.0
    assert book.settled_at(["a"]) == 3.0
    assert book.settled_at([]) is None

    book.update("MODIFIED", _vip("a", "server2", False), 6.0)
    book.update("MODIFIED", _vip("b", "server3", True), 6.5)
    assert book.moved_away(["a", "b"], "server1") == ["b"]
    book.update("MODIFIED", _vip("a", "server2", True), 7.0)
    assert book.moved_away(["a", "b"], "server1") == ["a", "b"]
    assert book.settled_at(["a", "b"]) == 7.0

    book.update("DELETED", _vip("a", "server2", True), 8.0)
    assert book.ready_names(["a", "b"]) == ["b"]


def test_mismatches_name_every_vip_not_on_exactly_its_ready_holder() -> None:
    book = sf.StatusBook()
    for name, holder, ready in [
        ("ok", "server1", True), ("double", "server2", True), ("stale", "server2", True),
        ("nowhere", "server1", True), ("unready", "server1", False),
    ]:  # fmt: skip
        book.update("ADDED", _vip(name, holder, ready), 1.0)
    addresses = {n: f"198.18.0.{100 + i}" for i, n in enumerate(book.holder)}
    on = {
        "server1": {addresses[n] for n in ("ok", "double", "stale", "unready")},
        "server2": {addresses["double"]},
    }

    assert sf.mismatches(addresses, book, on) == [
        "double 198.18.0.101: status holder server2 (Ready), on ['server1', 'server2']",
        "stale 198.18.0.102: status holder server2 (Ready), on ['server1']",
        "nowhere 198.18.0.103: status holder server1 (Ready), on []",
        "unready 198.18.0.104: status holder server1 (not Ready), on ['server1']",
    ]
    assert sf.mismatches({"ok": addresses["ok"]}, book, on) == []


def test_failover_summary() -> None:
    firsts = {
        f"198.18.0.{100 + i}": timeline.Answer(f"198.18.0.{100 + i}", "server2", 0, 10 + t)
        for i, t in enumerate([0.8, 0.9, 1.2])
    }
    held = [*firsts, "198.18.0.200"]

    assert sf.failover_summary(held, firsts, fault=10.0) == {
        "held_by_failed_node": 4,
        "p50_ms": 900.0,
        "last_ms": 1200.0,
        "never": 1,
    }
    assert sf.failover_summary(["198.18.0.200"], firsts, fault=10.0) == {
        "held_by_failed_node": 1,
        "p50_ms": None,
        "last_ms": None,
        "never": 1,
    }


EXPOSITION = """# HELP floatip_operator_moves_total Holder changes written, by reason.
# TYPE floatip_operator_moves_total counter
floatip_operator_moves_total{reason="failover"} 20.0
floatip_operator_moves_total{reason="preferred"} 3.0
floatip_operator_moves_created{reason="failover"} 1.7e+09
floatip_operator_failover_critical_writes_total 2.0
"""


def test_counter_total() -> None:
    assert sf.counter_total(EXPOSITION, "floatip_operator_moves_total") == 23.0
    assert sf.counter_total(EXPOSITION, sf.CRITICAL_WRITES) == 2.0
    assert (
        sf.counter_total(EXPOSITION.replace(sf.CRITICAL_WRITES, "other"), sf.CRITICAL_WRITES)
        is None
    )
    assert sf.counter_total("", sf.CRITICAL_WRITES) is None


@pytest.mark.parametrize(
    ("before", "after", "unread", "expected", "why"),
    [
        (4.0, 7.0, [], 3, None),
        (None, None, [], None, "does not export"),
        (None, 2.0, [], None, "does not export"),
        (4.0, 7.0, ["operator-2"], None, "could not read /metrics of ['operator-2']"),
        (9.0, 2.0, [], None, "went down"),
    ],
)
def test_critical_writes_or_why_not(
    before: float | None, after: float | None, unread: list[str], expected: int | None,
    why: str | None,
) -> None:  # fmt: skip
    said: list[str] = []

    assert scale.critical_writes(before, after, unread, said.append) == expected
    assert [why in line for line in said] == ([] if why is None else [True])


def test_neighbour_limits_are_raised_only_when_needed() -> None:
    defaults = {"gc_thresh2": 512, "gc_thresh3": 1024}

    assert sf.neighbour_limits(100, defaults) == {}
    assert sf.neighbour_limits(300, defaults) == {"gc_thresh2": 556, "gc_thresh3": 1112}
    assert sf.neighbour_limits(1000, {"gc_thresh2": 512, "gc_thresh3": 8192}) == {
        "gc_thresh2": 1256
    }


def test_result_has_exactly_the_contract_keys() -> None:
    failover = {"held_by_failed_node": 20, "p50_ms": 812.0, "last_ms": 923.5, "never": 0}
    result = sf.result(
        vips=20,
        nodes=3,
        ready_s=2.345,
        failover=failover | {"extra": 1},
        critical_writes=None,
        total_writes=81,
        rss_mib={"agent_idle": 100.0, "agent_loaded": 101.5, "operator_loaded": 80.0},
    )

    assert result == {
        "vips": 20,
        "nodes": 3,
        "ready_s": 2.35,
        "failover": failover,
        "api_writes": {"critical_path": None, "total": 81},
        "rss_mib": {"agent_idle": 100.0, "agent_loaded": 101.5, "operator_loaded": 80.0},
    }
    grouped = sf.result(
        vips=20, nodes=3, ready_s=2.345, failover=failover, critical_writes=None, total_writes=81,
        rss_mib={"agent_idle": 100.0, "agent_loaded": 101.5, "operator_loaded": 80.0},
        group="bench",
    )  # fmt: skip
    assert grouped == result | {"group": "bench"}
