"""session.double_replies, the e2e tests' judge of "two hosts answered for the VIP", can see.

Proves: from a client's ARP log it reports exactly the moments when replies for the VIP came
from two different MACs within the window (each with both MACs), in time order whatever the
log's order, and nothing for a single MAC answering (even twice in the window), replies further
apart than the window, gratuitous announcements (a claim, not an answer), requests, or replies
for another address; `answers` keeps only the replies to a question about the VIP.
"""

from __future__ import annotations

import random

from floatip_lab import session
from floatip_lab.timeline import ArpFrame

VIP = "192.0.2.100"
OTHER = "192.0.2.101"
A = "02:f1:00:00:00:01"
B = "02:f1:00:00:00:02"
ASKER = session.ASKER_IP


def reply(at: float, mac: str, address: str = VIP) -> ArpFrame:
    return ArpFrame(at, 2, mac, address, ASKER)


FRAMES = [
    ArpFrame(0.99, 1, session.ASKER_MAC, ASKER, VIP),  # the question
    reply(1.00, A),
    reply(1.01, B),  # 1: two MACs within 50 ms
    reply(2.00, A),  # 2: one MAC only; B's frames around it are no answers
    ArpFrame(2.01, 2, B, VIP, VIP),  # B's gratuitous ARP (reply form): a claim
    ArpFrame(2.02, 1, B, VIP, VIP),  # B's gratuitous ARP (request form)
    reply(2.03, B, OTHER),  # B answering for another address
    reply(3.00, A),
    reply(3.20, B),  # 3: two MACs, but 200 ms apart
    reply(4.00, A),
    reply(4.02, A),  # 4: one MAC twice
    reply(5.00, B),
    reply(5.04, A),  # 5: two MACs again, B first
]


def test_reports_exactly_the_moments_two_macs_answered() -> None:
    assert session.double_replies(FRAMES, VIP) == [(1.00, {A, B}), (5.00, {A, B})]


def test_log_order_does_not_matter() -> None:
    shuffled = FRAMES[:]
    random.Random(7).shuffle(shuffled)
    assert session.double_replies(shuffled, VIP) == [(1.00, {A, B}), (5.00, {A, B})]


def test_one_mac_answering_is_no_double() -> None:
    single = [f for f in FRAMES if f.sender_mac != B]
    assert session.answers(single, VIP)  # it did answer
    assert session.double_replies(single, VIP) == []


def test_the_window_decides() -> None:
    assert session.double_replies(FRAMES, VIP, window=0.005) == []
    assert session.double_replies(FRAMES, VIP, window=0.3) == [
        (1.00, {A, B}),
        (3.00, {A, B}),
        (5.00, {A, B}),
    ]


def test_answers_are_replies_to_a_question_about_the_vip() -> None:
    assert [(f.time, f.sender_mac) for f in session.answers(FRAMES, VIP)] == [
        (1.00, A), (1.01, B), (2.00, A), (3.00, A), (3.20, B), (4.00, A), (4.02, A),
        (5.00, B), (5.04, A),
    ]  # fmt: skip
