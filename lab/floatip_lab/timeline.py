"""What a client saw: failover time, failed requests and double ARP answers, from its records.

The lab's judge is the client. Its HTTP prober (`floatip_lab.httpclient`) writes one record per
request, its ARP watcher (`floatip_lab.arpwatch`) one per ARP frame about the VIP, and its
many-VIP asker (`floatip_lab.udpclient`) one each time a VIP's answering node changes; this
module reads them and answers the questions the end-to-end tests and the benchmarks ask.
Pure: no clock, no I/O.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence


@dataclasses.dataclass(frozen=True)
class Request:
    """One HTTP request of the client: when it started and ended, and who answered (or why not)."""

    start: float
    end: float
    ok: bool
    answer: str = ""  # the body (the server's hostname) or the error

    @classmethod
    def from_json(cls, line: str) -> Request:
        data = json.loads(line)
        return cls(float(data["start"]), float(data["end"]), bool(data["ok"]), str(data["answer"]))

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))


@dataclasses.dataclass(frozen=True)
class ArpFrame:
    """An ARP frame about the VIP seen by the client."""

    time: float
    op: int  # 1 request, 2 reply
    sender_mac: str
    sender_ip: str
    target_ip: str

    @classmethod
    def from_json(cls, line: str) -> ArpFrame:
        d = json.loads(line)
        return cls(float(d["time"]), int(d["op"]), d["sender_mac"], d["sender_ip"], d["target_ip"])

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))


@dataclasses.dataclass(frozen=True)
class Answer:
    """A VIP answered by another node than before (its first answer included): which VIP and
    node, when the question left the client and when the answer came back."""

    vip: str
    node: str
    sent: float
    time: float

    @classmethod
    def from_json(cls, line: str) -> Answer:
        d = json.loads(line)
        return cls(str(d["vip"]), str(d["node"]), float(d["sent"]), float(d["time"]))

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))


def first_answers(
    answers: Iterable[Answer], *, since: float = float("-inf"), excluding: Iterable[str] = ()
) -> dict[str, Answer]:
    """Each VIP's first answer that came at or after ``since`` from a node not in ``excluding``."""
    skip = set(excluding)
    first: dict[str, Answer] = {}
    for answer in sorted(answers, key=lambda a: a.time):
        if answer.time >= since and answer.node not in skip and answer.vip not in first:
            first[answer.vip] = answer
    return first


def failover_seconds(requests: Sequence[Request], fault: float, new_holder: str) -> float | None:
    """From the fault to the end of the first successful answer from ``new_holder``."""
    for request in requests:
        if request.start >= fault and request.ok and request.answer == new_holder:
            return request.end - fault
    return None


def failed(
    requests: Iterable[Request], start: float = float("-inf"), end: float = float("inf")
) -> int:
    """Requests started in [start, end) that got no answer."""
    return sum(1 for r in requests if start <= r.start < end and not r.ok)


def answered_by(requests: Iterable[Request]) -> list[tuple[str, int]]:
    """Runs of successful answers: [(server, count), ...] in order, failures skipped."""
    runs: list[tuple[str, int]] = []
    for request in requests:
        if not request.ok:
            continue
        if runs and runs[-1][0] == request.answer:
            runs[-1] = (request.answer, runs[-1][1] + 1)
        else:
            runs.append((request.answer, 1))
    return runs


def double_answers(
    frames: Sequence[ArpFrame], vip: str, window: float = 0.05
) -> list[tuple[float, set[str]]]:
    """Moments when two different MACs answered ARP for ``vip`` within ``window`` seconds.

    Only replies to a request count (gratuitous announcements are a claim, not an answer):
    each reply is attributed to the latest request for the VIP before it.
    """
    doubles: list[tuple[float, set[str]]] = []
    request_time: float | None = None
    macs: set[str] = set()
    for frame in sorted(frames, key=lambda f: f.time):
        if frame.op == 1 and frame.target_ip == vip and frame.sender_ip != vip:
            if len(macs) > 1 and request_time is not None:
                doubles.append((request_time, macs))
            request_time, macs = frame.time, set()
        elif (
            frame.op == 2
            and frame.sender_ip == vip
            and request_time is not None
            and frame.time - request_time <= window
        ):
            macs.add(frame.sender_mac)
    if len(macs) > 1 and request_time is not None:
        doubles.append((request_time, macs))
    return doubles


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` in [0, 1]) of a non-empty sample."""
    if not values:
        raise ValueError("percentile of no values: run at least one measurement")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.4999)))
    return ordered[rank - 1]
