"""The client's records judged: failover time, failed requests, runs of answers, double ARP answers,
and each VIP's first answer from another node (the many-VIP asker's records)."""

from __future__ import annotations

import pytest

from floatip_lab import arpwatch, timeline
from floatip_lab.timeline import ArpFrame, Request

REQUESTS = [
    Request(0.00, 0.01, True, "server1"),
    Request(0.02, 0.03, True, "server1"),
    Request(1.00, 1.10, False, "TimeoutError"),
    Request(1.10, 1.20, False, "TimeoutError"),
    Request(1.20, 1.25, True, "server1"),  # the old holder still answered once
    Request(1.30, 1.34, True, "server2"),
    Request(1.40, 1.41, True, "server2"),
]


def test_failover_is_fault_to_first_answer_of_the_new_holder() -> None:
    assert timeline.failover_seconds(REQUESTS, fault=1.0, new_holder="server2") == pytest.approx(
        0.34
    )
    assert timeline.failover_seconds(REQUESTS, fault=1.0, new_holder="server3") is None
    assert timeline.failover_seconds(REQUESTS, fault=2.0, new_holder="server2") is None


def test_failed_counts_in_a_window() -> None:
    assert timeline.failed(REQUESTS) == 2
    assert timeline.failed(REQUESTS, 1.05, 2.0) == 1
    assert timeline.failed(REQUESTS, 0.0, 1.0) == 0


def test_answered_by_runs() -> None:
    assert timeline.answered_by(REQUESTS) == [("server1", 3), ("server2", 2)]


def test_records_round_trip_as_json_lines() -> None:
    for request in REQUESTS:
        assert Request.from_json(request.to_json()) == request
    frame = ArpFrame(1.0, 2, "02:f1:00:00:00:01", "192.0.2.100", "192.0.2.13")
    assert ArpFrame.from_json(frame.to_json()) == frame


VIP = "192.0.2.100"
CLIENT = "192.0.2.13"


def test_double_answers_found_only_when_two_macs_reply_to_one_request() -> None:
    frames = [
        ArpFrame(0.0, 1, "02:00:00:00:00:03", CLIENT, VIP),
        ArpFrame(0.001, 2, "02:00:00:00:00:01", VIP, CLIENT),
        ArpFrame(5.0, 1, "02:00:00:00:00:03", CLIENT, VIP),
        ArpFrame(5.001, 2, "02:00:00:00:00:01", VIP, CLIENT),
        ArpFrame(5.002, 2, "02:00:00:00:00:02", VIP, CLIENT),
        ArpFrame(6.0, 1, "02:00:00:00:00:02", VIP, VIP),  # a gratuitous ARP is not a request
        ArpFrame(9.0, 1, "02:00:00:00:00:03", CLIENT, VIP),
        ArpFrame(9.2, 2, "02:00:00:00:00:01", VIP, CLIENT),  # late: outside the window
        ArpFrame(9.001, 2, "02:00:00:00:00:02", VIP, CLIENT),
    ]
    doubles = timeline.double_answers(frames, VIP)
    assert doubles == [(5.0, {"02:00:00:00:00:01", "02:00:00:00:00:02"})]


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 11)]
    assert timeline.percentile(values, 0.5) == 5.0
    assert timeline.percentile(values, 0.99) == 10.0
    assert timeline.percentile([3.0], 0.5) == 3.0
    with pytest.raises(ValueError, match="no values"):
        timeline.percentile([], 0.5)


def test_arp_frame_parsing() -> None:
    frame = bytes.fromhex(
        "ffffffffffff" "02f100000003" "0806"  # ethernet: broadcast, from the client, ARP
        "0001080006040001"  # IPv4 over Ethernet, request
        "02f100000003" "c000020d"  # sender 192.0.2.13
        "000000000000" "c0000264"  # target 192.0.2.100
    )  # fmt: skip
    parsed = arpwatch.parse(frame, 7.0)
    assert parsed == ArpFrame(7.0, 1, "02:f1:00:00:00:03", "192.0.2.13", "192.0.2.100")
    assert arpwatch.parse(frame[:41], 7.0) is None
    assert arpwatch.parse(frame[:12] + b"\x08\x00" + frame[14:], 7.0) is None


ANSWERS = [
    timeline.Answer("198.18.0.100", "server1", 0.00, 0.01),
    timeline.Answer("198.18.0.101", "server1", 0.00, 0.02),
    timeline.Answer("198.18.0.101", "server3", 1.70, 1.71),
    timeline.Answer("198.18.0.100", "server2", 1.30, 1.32),
    timeline.Answer("198.18.0.100", "server3", 2.00, 2.01),
]


def test_first_answers_per_vip_after_a_moment_from_other_nodes() -> None:
    assert {v: a.node for v, a in timeline.first_answers(ANSWERS).items()} == {
        "198.18.0.100": "server1",
        "198.18.0.101": "server1",
    }
    after = timeline.first_answers(ANSWERS, since=1.0, excluding=["server1"])
    assert {v: (a.node, a.time) for v, a in after.items()} == {
        "198.18.0.100": ("server2", 1.32),  # the earliest, though recorded after server3's
        "198.18.0.101": ("server3", 1.71),
    }
    assert timeline.first_answers(ANSWERS, since=5.0) == {}


def test_answers_round_trip_as_json_lines() -> None:
    assert [timeline.Answer.from_json(a.to_json()) for a in ANSWERS] == ANSWERS
