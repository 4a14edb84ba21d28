"""``floatip bench services``' Local move: a Service with externalTrafficPolicy Local follows its
pod to another node, and where the time goes.

A Service with externalTrafficPolicy Local, held by a node with a ready endpoint; its Pod on the
holder stops being ready (`Stop`: ``stop-pod`` on the holder for the web Pods; the endpoints
controller marks the endpoint, the operator moves the address to a node with a ready one, a
planned ``EndpointsMoved`` move), then the ms from the fault until the client's first answer
through another node (the client asks back to back, 100 ms timeout). Null, with a line saying
why, when no other node answered within `LOCAL_WAIT` s.

The parts are measured apart on the way (`services_figures.LocalMove`): watches of the
EndpointSlices, the operator's move record and the VirtualIPs note when each first said the
move (when the benchmark's watch saw it, a little after the write), and the new holder's agent
log says when it took the address.
"""

from __future__ import annotations

import dataclasses
import pathlib
import time
from collections.abc import Callable

from floatip.api import moves, names, status
from floatip_lab import floatipd, session, timeline
from floatip_lab.benchmarks import scale_lab, watching
from floatip_lab.benchmarks import services_figures as figures

Say = Callable[[str], None]
#: makes the Service's Pod on a node (its argument) not ready (True) or ready again (False);
#: returns the wall-clock time just before it acted
Stop = Callable[[str, bool], float]
NAME = "bench-local"  # selects the web Pods, which no other Service of the benchmark selects
SHARED_NAME = "bench-local-shared"  # selects the Pods every other Service selects too


@dataclasses.dataclass(frozen=True)
class Case:
    """One Local move to measure: the figure ``key``, of Service ``name`` selecting the Pods
    ``app=<app>``, whose Pod on the holder ``stop`` stops."""

    key: str
    name: str
    app: str
    stop: Stop


POLL = 0.2
LOCAL_WAIT = 10.0  # seconds a Local Service may take to be answered through another node
SLICES = f"/apis/discovery.k8s.io/v1/namespaces/{figures.NAMESPACE}/endpointslices"
RECORDS = f"/api/v1/namespaces/{floatipd.NAMESPACE}/configmaps"
VIPS = f"/apis/{names.GROUP}/{names.VERSION}/virtualips"


def _agent_taken(lab: session.Session, node: str | None, vip: str) -> float | None:
    record = lab.lab.processes.get(floatipd.agent_name(node)) if node else None
    if record is None:
        return None
    try:
        lines = pathlib.Path(record.log).read_text(errors="replace").splitlines()
    except OSError:
        return None
    return figures.taken_at(lines, vip)


def etp_local_move(
    lab: session.Session,
    vips: scale_lab.StatusWatch,
    case: Case,
    *,
    address: str,
    holder: str,
    say: Say,
) -> float | None:
    """The Local Service's Pod on ``holder`` stopped: ms until answered through another node."""
    name, stop = case.name, case.stop
    vip = figures.vip_name(name)
    books = (
        figures.FirstSeen(figures.endpoint_not_ready(name, holder)),
        figures.FirstSeen(figures.recorded_elsewhere(vip, holder)),
        figures.FirstSeen(figures.status_elsewhere(vip, holder)),
    )
    watches = [watching.Watch(lab.api, path, book)
               for path, book in zip((SLICES, RECORDS, VIPS), books, strict=True)]  # fmt: skip
    for watch in watches:
        watch.start()
    try:
        with lab.prober(address, duration=LOCAL_WAIT + 10) as prober:
            time.sleep(0.5)
            for watch, book in zip(watches, books, strict=True):
                with watch.lock:
                    book.since = time.time()
            fault = stop(holder, True)
            end = fault + LOCAL_WAIT
            while time.time() < end:
                later = [r for r in prober.requests() if r.start >= fault and r.ok]
                if any(r.answer != holder for r in later):
                    break
                time.sleep(POLL)
    finally:
        for watch in watches:
            watch.stop()
    requests = [r for r in prober.requests() if r.start >= fault]
    stop(holder, False)
    first = next((r for r in requests if r.ok and r.answer != holder), None)
    now_holder = vips.read(lambda b: b.holder.get(vip))
    not_ready, recorded, in_status = (book.at for book in books)
    parts = figures.LocalMove(
        fault, not_ready, recorded, in_status, taken=_agent_taken(lab, now_holder, vip),
        answered=first.end if first else None,
    )  # fmt: skip
    say(f"{name}'s move, its parts after its pod on {holder} stopped: {parts.line()}")
    if first is not None:
        history = status.history(lab.vip(vip).get("status") or {})
        last = history[-1] if history else {}
        failed = timeline.failed([r for r in requests if r.end <= first.end])
        say(
            f"{name}'s pod on {holder} stopped: answered through {first.answer} after "
            f"{1000 * (first.end - fault):.0f} ms ({failed} requests failed before); VirtualIP "
            f"{vip} now held by {now_holder}, its last move {last.get('from')} -> "
            f"{last.get('to')} {last.get('reason')}"
        )
        return 1000 * (first.end - fault)
    if not timeline.failed(requests):
        say(
            f"after its pod on {holder} stopped, {name} was still answered there for "
            f"{LOCAL_WAIT:g} s: the lab's endpoints controller and kube-proxy had not yet "
            "caught up with the pod"
        )
    say(
        f"{name}: after its pod on {holder} stopped no other node answered {address} within "
        f"{LOCAL_WAIT:g} s ({timeline.failed(requests)} of {len(requests)} requests "
        f"failed; VirtualIP {vip} names holder {now_holder}; the move record "
        f"{moves.CONFIGMAP}): the operator should have moved it to a node with a ready "
        "endpoint (EndpointsMoved, docs/services.md); the logs:\n" + "\n".join(lab.log_tails())
    )
    return None
