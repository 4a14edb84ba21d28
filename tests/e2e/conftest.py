"""Shared ground for the end-to-end tests: a private running lab per module, and the judges.

Each test module builds one lab (`lifecycle.up` in its own state directory, so its namespaces
never meet a lab a person runs here) and removes it in a ``finally``, also when a test fails.
Tests in a module share that lab: each uses a VirtualIP name and address of its own, and
`reset` heals every fault and waits for every agent to answer again before the next test.

The judges are the client and the kernel, plus the API for epochs and history:
- `Watch`: the client's HTTP prober (every 10 ms), its ARP log and broadcast ARP questions
  for the VIP (`session.arp_asker`), so that a second host answering for the address shows;
- `holders`: which servers have the address on eth0 (the kernel's word);
- `session.neighbour`: the client's neighbour entry for the VIP.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from floatip_lab import lifecycle, logentries, naming, session, state, timeline

#: the data LAN's free addresses start here (`floatip_lab.naming`)
FIRST_VIP = 100


def say(message: str) -> None:
    """Lab progress, visible with ``pytest -s``."""
    print(f"lab: {message}")


@contextlib.contextmanager
def running_lab(
    factory: pytest.TempPathFactory, *, nodes: int = 2, ipv6: bool = False
) -> Iterator[session.Session]:
    """A lab of its own (state directory under pytest's tmp), removed whatever happens."""
    place = state.locate({state.STATE_DIR_ENV: str(factory.mktemp("e2e") / "lab")})
    try:
        lifecycle.up(place, nodes=nodes, ipv6=ipv6, say=say)
        yield session.Session(place, say=say)
    finally:
        lifecycle.down(place, say=say)


class Addresses:
    """Hands out a fresh VIP address per test, so no test meets another's leftovers."""

    def __init__(self, first: int = FIRST_VIP) -> None:
        self.next = first

    def take(self) -> str:
        address = f"192.0.2.{self.next}"
        self.next += 1
        return address


def only(nodes: list[str]) -> dict[str, Any]:
    """A nodeSelector admitting exactly ``nodes``."""
    return {
        "matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": sorted(nodes)}
        ]
    }


def holders(lab: session.Session, vip: str) -> list[str]:
    """The servers whose eth0 carries ``vip`` right now."""
    return [n for n in lab.lab.nodes_names() if vip in lab.addresses_on(n)]


def wait_holders(lab: session.Session, vip: str, expected: list[str], timeout: float = 30) -> None:
    """Poll until exactly ``expected`` servers carry ``vip`` on eth0."""
    lab.wait(
        lambda: holders(lab, vip) == sorted(expected),
        what=f"{vip} on exactly {expected}",
        timeout=timeout,
        interval=0.05,
        describe=lambda: f"carried by {holders(lab, vip)}",
    )


def status(lab: session.Session, name: str) -> dict[str, Any]:
    found: dict[str, Any] = lab.vip(name).get("status") or {}
    return found


def create(lab: session.Session, name: str, vip: str, holder: str, **spec: Any) -> dict[str, Any]:
    """Create a VirtualIP first placed on ``holder``; return its status once Ready there."""
    lab.apply_vip(name, {"address": f"{vip}/24", "preferredNodes": [holder], **spec})
    lab.wait_condition(name, "Ready", timeout=30)
    if lab.holder(name) != holder:
        # a node that was just healed is not judged alive again yet, or it is held down
        # (flap damping: a new address goes to a steady node first): move it there by a pin,
        # then drop the pin (without preempt it stays)
        lab.patch_spec(name, {"node": holder})
        lab.wait_holder(name, holder, timeout=30)
        lab.patch_spec(name, {"node": None})
        lab.wait_condition(name, "Ready", timeout=30)
    lab.wait_holder(name, holder, timeout=30)
    wait_holders(lab, vip, [holder], timeout=30)
    lab.wait_answer(vip, holder, timeout=30)
    return status(lab, name)


@dataclasses.dataclass
class Seen:
    """What the client recorded while a `watch` block ran."""

    requests: list[timeline.Request] = dataclasses.field(repr=False)
    frames: list[timeline.ArpFrame] = dataclasses.field(repr=False)
    #: the lab the block watched: a failure also shows its agents' log lines around it
    lab: session.Session | None = dataclasses.field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:
        failures = [(f"{r.start:.3f}", r.answer) for r in self.requests if not r.ok]
        runs = timeline.answered_by(self.requests)
        return f"Seen({len(self.requests)} requests, answered by {runs}, failed {failures})"

    def failed(self, start: float = float("-inf"), end: float = float("inf")) -> int:
        return timeline.failed(self.requests, start, end)

    def assert_planned_move_lost_nothing(self, what: str) -> None:
        """Not one request failed: no stale neighbour, no gap, and no reset at the MAC flip.

        The request whose connection is open at the instant the client's neighbour entry flips
        would be reset by the new holder but for the agents' flow handoff (protocol.md), which
        sends its remaining segments to the previous holder; so zero is the bar.
        """
        failed = [r for r in self.requests if not r.ok]
        failures = [(f"{r.start:.3f}", r.answer) for r in failed]
        assert not failures, f"{what} lost requests: {failures}\n" + self.around(failed)

    def around(self, failed: list[timeline.Request], window: float = 0.5) -> str:
        """What the client saw within ``window`` s of each failed request: its requests (who
        answered), every ARP frame about the address (whose MAC said what) and the agents'
        log lines, so a lost request explains itself (a MAC flipping back, a gap, a late
        announcement, a handoff that did not load)."""
        lines: list[str] = []
        for bad in failed:
            start, end = bad.start - window, bad.end + window
            lines.append(f"around the request at {bad.start:.3f} ({bad.answer}):")
            events = [
                (r.start, f"request {r.start:.3f}-{r.end:.3f} {'ok' if r.ok else 'FAILED'} {r.answer}")
                for r in self.requests
                if start <= r.start <= end
            ] + [
                (f.time, f"arp {'reply' if f.op == 2 else 'request'} {f.time:.3f} "
                         f"{f.sender_ip} is-at {f.sender_mac} (to {f.target_ip})")
                for f in self.frames
                if start <= f.time <= end
            ] + agent_lines(self.lab, start, end)  # fmt: skip
            lines += [f"  {text}" for _, text in sorted(events)]
        return "\n".join(lines)

    def doubles(self, vip: str, since: float = float("-inf")) -> list[tuple[float, set[str]]]:
        return session.double_replies([f for f in self.frames if f.time >= since], vip)

    def answerers(self, vip: str, since: float = float("-inf")) -> set[str]:
        """MACs that answered ARP questions for ``vip`` from ``since`` on."""
        return {f.sender_mac for f in session.answers(self.frames, vip) if f.time >= since}

    def last_answer(self) -> str | None:
        ok = [r for r in self.requests if r.ok]
        return ok[-1].answer if ok else None


@contextlib.contextmanager
def watch(lab: session.Session, vip: str, *, arp: bool = True) -> Iterator[list[Seen]]:
    """The client asks ``vip`` over HTTP every 10 ms and (IPv4) logs who answers ARP for it.

    Yields a list that holds one `Seen` once the block is over.
    """
    seen: list[Seen] = []
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(lab.arp_log(vip, duration=120)) if arp else None
        if arp:
            stack.enter_context(session.arp_asker(lab, vip, duration=120))
        prober = stack.enter_context(lab.prober(vip, duration=120))
        try:
            yield seen
        finally:
            stack.close()
            seen.append(Seen(prober.requests(), log.frames() if log else [], lab))


def agent_lines(lab: session.Session | None, start: float, end: float) -> list[tuple[float, str]]:
    """The agents' log lines stamped between ``start`` and ``end`` (Unix seconds)."""
    if lab is None:
        return []
    found: list[tuple[float, str]] = []
    for name in sorted(lab.lab.processes):
        if not name.startswith("agent-"):
            continue
        for stamp, entry in _log_entries(lab, name):
            if start <= stamp <= end:
                found.append((stamp, f"{name} {stamp:.3f} {json.dumps(entry)[:300]}"))
    return found


def agent_events(lab: session.Session, node: str, event: str, since: float) -> list[dict[str, Any]]:
    """``node``'s agent's log entries named ``event`` stamped from ``since`` (Unix seconds) on."""
    return [
        entry
        for stamp, entry in _log_entries(lab, f"agent-{node}")
        if stamp >= since and entry.get("event") == event
    ]


def _log_entries(lab: session.Session, process: str) -> list[tuple[float, dict[str, Any]]]:
    path = pathlib.Path(lab.lab.processes[process].log)
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    return list(logentries.entries(lines))


#: The lab's data-LAN MACs (floatip_lab.naming's plan), for judging who answered ARP.
MAC = {f"server{i}": naming.data_mac(i) for i in (1, 2, 3)}


@pytest.fixture
def lab(module_lab: session.Session) -> Iterator[session.Session]:
    """The module's lab (each module defines ``module_lab``), healed before and after a test."""
    reset(module_lab)
    yield module_lab
    reset(module_lab)


def reset(lab: session.Session) -> None:
    """Undo every fault and wait until every agent answers its health endpoint again."""
    if _faults_in_force(lab):
        lab.fault("heal")
    lab.wait_agents_sure()


def _faults_in_force(lab: session.Session) -> bool:
    f = lab.lab.faults
    return bool(f.cut or f.frozen or f.killed or f.dead or f.api_down or f.stopped_pods)


def events_about(lab: session.Session, name: str) -> list[dict[str, Any]]:
    """``events.k8s.io/v1`` Events regarding VirtualIP ``name`` (namespace ``default``)."""
    listed = lab.api.request("GET", "/apis/events.k8s.io/v1/namespaces/default/events")
    return [e for e in listed.get("items", ()) if (e.get("regarding") or {}).get("name") == name]


def wait_events(lab: session.Session, name: str, reason: str) -> list[dict[str, Any]]:
    """The Events of ``reason`` regarding ``name``, once there is one. The operator posts its
    Events once its status writes pause, so they follow the status that tells the same."""

    def found() -> list[dict[str, Any]]:
        return [e for e in events_about(lab, name) if e.get("reason") == reason]

    lab.wait(
        lambda: bool(found()),
        what=f"a {reason} Event regarding {name}",
        timeout=30,
        describe=lambda: f"events: {events_about(lab, name)}",
    )
    return found()


def log_tail(lab: session.Session, process: str, lines: int = 30) -> str:
    """The end of a lab process's log, for failure messages."""
    record = lab.lab.processes.get(process)
    if record is None:
        return f"(no process {process})"
    path = pathlib.Path(record.log)
    text = path.read_text(errors="replace").splitlines() if path.exists() else []
    return "\n".join(text[-lines:])
