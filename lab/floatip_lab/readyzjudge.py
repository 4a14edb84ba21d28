"""Who answered the client's ``/readyz`` through the control-plane VIP, and how soon.

The client's prober (`floatip_lab.readyzprobe`) knows each request's local port and outcome;
each host's stand-in kube-apiserver (`floatip_lab.apistandin`) knows which client ports it
accepted. Joined on the port (and time: ports are reused), they name the host that answered
each request, as a `timeline.Request` whose ``answer`` is that host, so the failover
figures read the same as the rest of the lab's. Pure: no clock, no I/O.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Iterable, Sequence

from floatip_lab import timeline

#: how far an accept may precede the request's recorded start (clock reads, scheduling)
SLACK = 0.05


@dataclasses.dataclass(frozen=True)
class Probe:
    """One ``/readyz`` request of the client, as `readyzprobe` writes it."""

    start: float
    end: float
    ok: bool
    status: int
    port: int
    answer: str

    @classmethod
    def from_json(cls, line: str) -> Probe:
        d = json.loads(line)
        return cls(
            float(d["start"]), float(d["end"]), bool(d["ok"]), int(d["status"]), int(d["port"]),
            str(d["answer"]),
        )  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Accept:
    """One connection a stand-in accepted from outside its host."""

    time: float
    host: str
    port: int

    @classmethod
    def from_json(cls, line: str) -> Accept:
        d = json.loads(line)
        return cls(float(d["time"]), str(d["host"]), int(d["port"]))


def attribute(probes: Iterable[Probe], accepts: Iterable[Accept]) -> list[timeline.Request]:
    """Each probe as a `timeline.Request`, by start time: an answered one names the host whose
    stand-in accepted its connection (``"?"`` if none did: a reply from nowhere is not
    counted as any host's), a failed one keeps its error."""
    by_port: dict[int, list[Accept]] = {}
    for accept in accepts:
        by_port.setdefault(accept.port, []).append(accept)
    requests = []
    for probe in sorted(probes, key=lambda p: p.start):
        if not probe.ok:
            requests.append(timeline.Request(probe.start, probe.end, False, probe.answer))
            continue
        hosts = [
            a.host
            for a in by_port.get(probe.port, ())
            if probe.start - SLACK <= a.time <= probe.end
        ]
        requests.append(timeline.Request(probe.start, probe.end, True, hosts[-1] if hosts else "?"))
    return requests


def first_answer(
    requests: Sequence[timeline.Request], since: float, *, excluding: Iterable[str] = ()
) -> timeline.Request | None:
    """The first request started at or after `since` that a host not in `excluding` answered."""
    skip = {*excluding, "?"}
    for request in requests:
        if request.start >= since and request.ok and request.answer not in skip:
            return request
    return None


def changes(holders: Sequence[frozenset[str]]) -> int:
    """How often the set of holders changed between consecutive looks (a move counts once
    for each look that differs from the one before)."""
    return sum(1 for before, after in itertools.pairwise(holders) if before != after)
