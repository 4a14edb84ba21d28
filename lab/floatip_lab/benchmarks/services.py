"""``floatip bench services``: N LoadBalancer Services at once, from one pool, in a lab of its own.

In a lab of M nodes (3 unless told) on a data LAN with room for N addresses
(`naming.scale_network`), with the lab's web Pods, endpoints controller and kube-proxy
stand-ins (`floatip_lab.standins`), and a Pod ``bench-<node>`` beside each web Pod (label
``app=bench``, the same nginx behind it: `bulk_pods`), the N Services' own backends:

1. a VirtualIPPool ``bench`` of N + 3 addresses, then N Services (class floatip.io/l2,
   selector app=bench, port 80, externalTrafficPolicy Cluster) created at once, a few requests
   in flight (`create_all`). ``allocate_s`` runs from the first create until a watch of the
   Services (`IngressWatch`) has seen every one with ``status.loadBalancer.ingress``;
   ``answer_s`` until each address answered the client over HTTP: a GET from the client to
   the ingress IP, port 80, through the holder's kube-proxy DNAT to a Pod's nginx
   (`floatip_lab.httpsweep`; an address is asked once its VirtualIP names a holder, and
   again every max(0.2 s, N / 1,000 s) until it answers: the resolution of ``answer_s``,
   keeping the client's connections under 1,000 a second beside the system measured);
2. ``api_writes_per_s_per_node``: the API server's own write counters
   (``apiserver_request_total``) over ``--steady-seconds`` once every VirtualIP is Ready,
   every agent sure of the API and the creation's Events posted (the operator posts them from
   a queue behind its writes: no Event POST for a second, `EVENTS_QUIET_TIMEOUT` s at most, so
   Events that never stop still count), divided by the nodes;
3. ``restart_moves``: every operator replica restarted (the lab's ``restart-operator``
   fault); once the new leader has given a Service created after the restart an address,
   the Services whose address is not what it was (must be 0);
4. ``etp_local_move_ms``: one Service with externalTrafficPolicy Local selecting the web Pods
   (which no other Service selects), held by a node with a ready endpoint; the lab's
   ``stop-pod`` on its holder (its web Pod not ready: the endpoints controller marks the
   endpoint, the operator moves the address to a node with a ready one, a planned
   ``EndpointsMoved`` move), then the ms from the fault until the client's first answer
   through another node (the client asks back to back, 100 ms timeout), and its parts apart
   (`services_local`). Null, with a line saying why, when no other node answered within
   `services_local.LOCAL_WAIT` s;
5. ``etp_local_move_shared_pod_ms``: the same for a Local Service selecting the ``bench`` Pods,
   which the N Services select too: the holder's ``bench`` Pod not ready changes N + 1
   Services' EndpointSlices, which the endpoints controller rewrites in random order
   (`floatip_lab.endpoints`), so this one's slice comes after half of them on average. It
   measures the lab's endpoints controller more than floatip: kube-controller-manager, at
   its default 20 requests a second, would take N / 20 s to rewrite them all.

Progress goes to stderr, with what the creation cost until every Service had an address: the
API writes by kind, and each lab process's CPU seconds and the machine's load (`cpu`). The
last stdout line is the JSON object. Needs root.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import json
import os
import resource
import signal
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

import click

from floatip.api import names
from floatip_lab import commands, kubeapi, naming, session, timeline, waiting, webpods
from floatip_lab.benchmarks import (
    cpu,
    failover,
    scale_figures,
    scale_lab,
    services_local,
    watching,
)
from floatip_lab.benchmarks import services_figures as figures

Say = Callable[[str], None]
SERVICES = f"/api/v1/namespaces/{figures.NAMESPACE}/services"
POOLS = f"/apis/{names.GROUP}/{names.VERSION}/{names.POOL_PLURAL}"
POLL = 0.2
PROGRESS_EVERY = 2.0
SETTLE_SECONDS = 2.0
EVENTS_QUIET_TIMEOUT = 30.0  # seconds the steady state waits for the creation's Events, at most
SWEEP_INTERVAL = 0.2  # seconds before the client asks a silent address again (at least)
SWEEP_BUDGET = 1000  # and at most this many questions a second in all: each is a TCP connection
EXTRA = 3  # addresses beyond the N Services': the restart's probe and the two Local Services


class IngressWatch(watching.Watch[figures.IngressBook]):
    """Every Service's ingress addresses, kept current by a watch in a background thread."""

    def __init__(self, api: kubeapi.Client) -> None:
        super().__init__(api, SERVICES, figures.IngressBook())


def create_all(
    api: kubeapi.Client, bodies: Sequence[dict[str, Any]]
) -> list[concurrent.futures.Future[str | None]]:
    """Start creating every Service, `scale_lab.CREATE_WORKERS` requests in flight; each
    future ends with None, or what went wrong."""

    def create(body: dict[str, Any]) -> str | None:
        try:
            api.request("POST", SERVICES, body)
        except kubeapi.ApiError as exc:
            return f"{body['metadata']['name']}: {exc}"
        return None

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=scale_lab.CREATE_WORKERS)
    futures = [pool.submit(create, body) for body in bodies]
    pool.shutdown(wait=False)
    return futures


def _holder_and_ready(vip: str, book: scale_figures.StatusBook) -> tuple[str | None, bool | None]:
    return book.holder.get(vip), book.ready.get(vip)


def explain(
    lab: session.Session,
    ingress: IngressWatch,
    vips: scale_lab.StatusWatch,
    missing: Sequence[str],
    sweep: session.Recording | None,
    *,
    what: str,
) -> str:
    """What the lab looked like: the Services ``missing`` something, their conditions and
    VirtualIPs' statuses, the pool's status, the client's counts and the logs' tails."""
    parts = [f"--- {len(missing)} Services {what} (the first 50): {list(missing)[:50]}"]
    parts.append("--- the first 20 of them: ingress, floatip's conditions, VirtualIP status")
    for name in list(missing)[:20]:
        try:
            svc = lab.api.request("GET", f"{SERVICES}/{name}")
            conditions = (svc.get("status") or {}).get("conditions")
            vip = figures.vip_name(name)
            holder = vips.read(functools.partial(_holder_and_ready, vip))
            parts.append(
                f"{name}: ingress {figures.ingress(svc)}, conditions {json.dumps(conditions)}; "
                f"VirtualIP {vip} (holder, Ready) {holder}"
            )
        except commands.LabError as exc:
            parts.append(f"{name}: unreadable ({exc})")
    with contextlib.suppress(commands.LabError):
        pool = lab.api.request("GET", f"{POOLS}/{figures.POOL}")
        parts.append(f"--- pool {figures.POOL} status: {json.dumps(pool.get('status'))}")
    for node in lab.lab.nodes_names():
        try:
            parts.append(f"{node}: {len(lab.addresses_on(node))} addresses on eth0")
        except commands.LabError as exc:
            parts.append(f"{node}: addresses unreadable ({exc})")
    if sweep is not None:
        parts.append(f"--- the client's HTTP sweep: {sweep.log().strip() or '(still running)'}")
    parts.extend(lab.log_tails())
    return "\n".join(parts)


def allocate_and_answer(
    lab: session.Session,
    ingress: IngressWatch,
    vips: scale_lab.StatusWatch,
    service_names: Sequence[str],
    say: Say,
) -> tuple[float, float]:
    """Create the Services at once: (seconds until all had an address, until all answered)."""
    count = len(service_names)
    deadline = 120 + 0.3 * count
    bodies = [figures.service_body(name) for name in service_names]
    interval = max(SWEEP_INTERVAL, count / SWEEP_BUDGET)  # the resolution of answer_s
    say(f"the client asks each silent address again after {interval:g} s (the resolution)")
    writes_before = failover.write_counts(lab.api.text("/metrics"))
    writes: dict[str, int] | None = None
    with lab.sweeper(interval=interval, duration=deadline + 30) as sweep:
        pids = {name: record.pid for name, record in lab.lab.processes.items()}
        pids |= {"benchmark": os.getpid(), "the client's sweep": sweep.process.pid}
        cpu_before = cpu.read(pids)
        used: tuple[dict[str, float], float] | None = None
        start = time.time()
        creates = create_all(lab.api, bodies)
        fed: set[str] = set()
        created: float | None = None
        progress = watching.Every(PROGRESS_EVERY)
        while True:
            addresses = ingress.read(lambda book: {n: book.ingress.get(n) for n in service_names})
            held = vips.read(lambda book: {n for n in service_names
                                           if book.holder.get(figures.vip_name(n))})  # fmt: skip
            ready = [n for n in service_names if addresses[n] and n in held and n not in fed]
            sweep.feed(addresses[n][0] for n in ready)
            fed.update(ready)
            if len(fed) == count:
                sweep.end_input()
            if created is None and all(f.done() for f in creates):
                created = time.time() - start
                failures = [f.result() for f in creates if f.result()]
                if failures:
                    raise commands.LabError(f"{len(failures)} creates failed: {failures[:5]}")
                say(f"{count} Services created in {created:.2f} s "
                    f"({scale_lab.CREATE_WORKERS} requests in flight)")  # fmt: skip
            allocated = [n for n in service_names if addresses[n]]
            if writes is None and len(allocated) == count:
                used = cpu.spent(cpu_before, cpu.read(pids))
                writes = failover.writes_since(
                    writes_before, failover.write_counts(lab.api.text("/metrics"))
                )
            answered = timeline.first_answers(sweep.answers())
            if created is not None and len(answered) == count:
                break
            if time.time() - start > deadline:
                silent = [n for n in service_names
                          if not addresses[n] or addresses[n][0] not in answered]  # fmt: skip
                raise waiting.WaitTimeoutError(
                    f"gave up after {deadline:.0f} s waiting for {count} Services to get an "
                    f"address and answer: {len(allocated)} with an address, {len(held)} "
                    f"VirtualIPs with a holder, {len(answered)} answering; last seen:\n"
                    + explain(lab, ingress, vips, silent, sweep, what="without an answer")
                )
            if progress():
                say(
                    f"applying: {len(allocated)} with an address, {len(held)} held, "
                    f"{len(answered)} answering, of {count}, after {time.time() - start:.1f} s"
                )
            time.sleep(POLL)
    say(f"the client's HTTP sweep: {sweep.log().strip()}")
    allocated_at = ingress.read(lambda book: book.allocated_at(service_names)) or start
    answered_at = max(a.time for a in answered.values())
    by = sorted({a.node for a in answered.values()})
    wanted = [figures.vip_name(n) for n in service_names]
    held_at = vips.read(lambda book: book.settled_at(wanted)) or start
    say(
        f"every Service's VirtualIP had its present holder and readiness {held_at - start:.2f} s "
        "after the first create; answer_s adds the lab's stand-ins (the endpoints controller "
        "writes 5 EndpointSlices at a time, each kube-proxy loads its table at most once a "
        "second after a burst of 2)"
    )
    if writes is not None:
        say(
            f"API writes until every Service had an address: {sum(writes.values())} "
            f"{dict(sorted(writes.items(), key=lambda kv: -kv[1]))}"
        )
    if used is not None:
        say(f"CPU until every Service had an address: {cpu.describe(*used)}")
    say(
        f"every Service had an address after {allocated_at - start:.2f} s and answered the "
        f"client after {answered_at - start:.2f} s (first answers from the web Pods on {by})"
    )
    return allocated_at - start, answered_at - start


def settle(lab: session.Session, vips: scale_lab.StatusWatch, service_names: Sequence[str],
           say: Say) -> None:  # fmt: skip
    """Every Service's VirtualIP Ready, and every agent sure of the API."""
    wanted = [figures.vip_name(n) for n in service_names]
    lab.wait(
        lambda: len(vips.read(lambda book: book.ready_names(wanted))) == len(wanted),
        what=f"the {len(wanted)} Services' VirtualIPs to be Ready",
        timeout=60 + 0.05 * len(wanted),
        interval=0.5,
        describe=lambda: (
            f"not Ready: {vips.read(lambda b: [n for n in wanted if not b.ready.get(n)])[:20]}"
        ),
    )
    lab.wait_agents_sure()
    time.sleep(SETTLE_SECONDS)
    events_posted(lab, say)
    say("settled: every Service's VirtualIP Ready, every agent sure of the API")


def events_posted(lab: session.Session, say: Say) -> None:
    """Until a second passes with no Event posted (`EVENTS_QUIET_TIMEOUT` s at most)."""

    def posted() -> int:
        return failover.write_counts(lab.api.text("/metrics")).get("POST events", 0)

    started, last = time.monotonic(), posted()
    while time.monotonic() - started < EVENTS_QUIET_TIMEOUT:
        time.sleep(1.0)
        now = posted()
        if now == last:
            say(f"the creation's Events posted ({time.monotonic() - started:.1f} s after settling)")
            return
        last = now
    say(f"Events still posted after {EVENTS_QUIET_TIMEOUT:g} s: the steady state counts them")


def steady_writes(lab: session.Session, seconds: float, say: Say) -> float:
    """API writes per second per node over ``seconds`` of steady state."""
    before = failover.write_counts(lab.api.text("/metrics"))
    time.sleep(seconds)
    after = failover.write_counts(lab.api.text("/metrics"))
    by_kind = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
    total = sum(by_kind.values())
    nodes = len(lab.lab.nodes_names())
    say(f"API writes over {seconds:g} s of steady state: {total} {by_kind} ({nodes} nodes)")
    return total / seconds / nodes


def snapshot(lab: session.Session) -> dict[str, tuple[str, ...]]:
    items = lab.api.request("GET", SERVICES).get("items") or []
    return {str(s["metadata"]["name"]): figures.ingress(s) for s in items}


def restart_moves(lab: session.Session, say: Say) -> int:
    """Restart every operator replica; the Services whose address changed."""
    before = {n: a for n, a in snapshot(lab).items() if a}
    lab.fault("restart-operator")
    say(f"every operator replica restarted; {len(before)} Services had an address")
    probe = "bench-after-restart"
    lab.api.request("POST", SERVICES, figures.service_body(probe))
    got = lab.wait(
        lambda: snapshot(lab).get(probe) or None,
        what=f"the new leader to give Service {probe} (created after the restart) an address",
        timeout=120,
        interval=0.5,
    )
    taken = {a for addresses in before.values() for a in addresses}
    say(f"the new leader gave {probe} {list(got)} ("
        f"{'an address already in use!' if set(got) & taken else 'a free address'})")  # fmt: skip
    time.sleep(SETTLE_SECONDS)
    changed = figures.moved(before, snapshot(lab))
    say(f"Services whose address changed across the restart: {len(changed)}"
        + (f" (the first 10: {dict(list(changed.items())[:10])})" if changed else ""))  # fmt: skip
    return len(changed) + (1 if set(got) & taken else 0)


def etp_local_move(
    lab: session.Session, vips: scale_lab.StatusWatch, case: services_local.Case, say: Say
) -> float | None:
    """The ``case``'s Service with externalTrafficPolicy Local, Ready and answered by its
    holder's pod; then `services_local.etp_local_move` (its pod there stopped, ms until
    answered through another node)."""
    name, app = case.name, case.app
    vip = figures.vip_name(name)
    lab.api.request("POST", SERVICES, figures.service_body(name, policy="Local", app=app))
    [address] = lab.wait(
        lambda: snapshot(lab).get(name) or None,
        what=f"Service {name} (externalTrafficPolicy Local) to get an address",
        timeout=60,
    )
    holder = lab.wait(lambda: vips.read(lambda b: b.ready.get(vip) and b.holder.get(vip)),
                      what=f"VirtualIP {vip} Ready", timeout=60)  # fmt: skip
    lab.wait_answer(address, holder, timeout=30)
    say(f"Service {name} (Local, app={app}): {address}, held by {holder}, answered by its pod "
        "there")  # fmt: skip
    found = services_local.etp_local_move(lab, vips, case, address=address, holder=holder, say=say)
    if found is None:
        say(f"{case.key} is null: {name} was not answered through another node (above)")
    return found


def stop_web_pod(lab: session.Session) -> services_local.Stop:
    """The lab's own fault: ``stop-pod`` on a node (``start-pod`` to undo it)."""
    return lambda node, stopped: lab.fault("stop-pod" if stopped else "start-pod", node)


def stop_bulk_pod(lab: session.Session) -> services_local.Stop:
    """What ``stop-pod`` does, to a node's ``bench`` Pod: the kubelet's readiness report."""

    def stop(node: str, stopped: bool) -> float:
        at = time.time()
        webpods.set_ready(lab.api, node, ready=not stopped, app=figures.BULK_APP)
        return at

    return stop


def bulk_pods(lab: session.Session) -> list[str]:
    """Create a Pod ``bench-<node>`` beside every web Pod (the same nginx behind it)."""
    nodes = lab.lab.nodes_names()
    for node in nodes:
        pod_ips, host_ip = webpods.addresses(lab.api, node)
        webpods.create(lab.api, node, pod_ips=pod_ips, host_ip=host_ip, app=figures.BULK_APP)
    return [webpods.pod_name(node, figures.BULK_APP) for node in nodes]


def run(*, count: int, nodes: int, steady_seconds: float, say: Say) -> dict[str, Any]:
    network = naming.scale_network(count + EXTRA)
    with (
        scale_lab.neighbour_room(count + EXTRA, say),
        failover.bench_lab("default", say, nodes=nodes, data_network=network) as place,
    ):
        lab = session.Session(place, say=lambda m: None)
        say(f"lab up: {nodes} nodes, data LAN {network}, web Pods app=web on every node")
        say(f"the Services' own Pods app={figures.BULK_APP}: {', '.join(bulk_pods(lab))}")
        lab.wait_agents_sure()
        pool = figures.pool_body(network, count + EXTRA)
        lab.api.request("POST", POOLS, pool)
        say(f"pool {figures.POOL}: {pool['spec']['addresses']}")
        ingress, vips = IngressWatch(lab.api), scale_lab.StatusWatch(lab.api)
        ingress.start()
        vips.start()
        try:
            names_ = figures.service_names(count)
            say(f"creating {count} Services (class floatip.io/l2, app={figures.BULK_APP}, port 80) "
                "at once")  # fmt: skip
            allocate_s, answer_s = allocate_and_answer(lab, ingress, vips, names_, say)
            settle(lab, vips, names_, say)
            writes = steady_writes(lab, steady_seconds, say)
            moves = restart_moves(lab, say)
            own = services_local.Case(
                "etp_local_move_ms", services_local.NAME, webpods.APP, stop_web_pod(lab)
            )
            shared = services_local.Case(
                "etp_local_move_shared_pod_ms", services_local.SHARED_NAME, figures.BULK_APP,
                stop_bulk_pod(lab),
            )  # fmt: skip
            local_ms = etp_local_move(lab, vips, own, say)
            shared_ms = etp_local_move(lab, vips, shared, say)
        finally:
            ingress.stop()
            vips.stop()
    return figures.result(
        services_=count,
        allocate_s=allocate_s,
        answer_s=answer_s,
        writes_per_s_per_node=writes,
        etp_local_move_ms=local_ms,
        etp_local_move_shared_pod_ms=shared_ms,
        restart_moves=moves,
    )


def _exit_on_term(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@click.command("services")
@click.option("--services", "count", type=click.IntRange(1, 3000), default=1000,
              show_default=True, help="how many Services to create at once")  # fmt: skip
@click.option("--nodes", type=click.IntRange(2, 50), default=3, show_default=True)
@click.option("--steady-seconds", type=float, default=30.0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="end with the JSON line only")
def services_command(count: int, nodes: int, steady_seconds: float, as_json: bool) -> None:
    """N LoadBalancer Services at once from one pool: until all have an address and answer,
    API writes in steady state, addresses moved by an operator restart, a Local Service
    following its pod.

    Needs root (it builds its own lab in network namespaces and removes it afterwards).
    """

    def say(message: str) -> None:
        click.echo(f"bench services: {message}", err=True)

    signal.signal(signal.SIGTERM, _exit_on_term)
    started = time.monotonic()
    try:
        result = run(count=count, nodes=nodes, steady_seconds=steady_seconds, say=say)
    except (commands.LabError, waiting.WaitTimeoutError) as exc:
        say(f"gave up after {time.monotonic() - started:.0f} s; its lab is removed")
        raise click.ClickException(str(exc)) from exc
    used = resource.getrusage(resource.RUSAGE_SELF)
    say(f"done in {time.monotonic() - started:.0f} s; this process used "
        f"{used.ru_utime + used.ru_stime:.1f} s of CPU")  # fmt: skip
    if not as_json:
        click.echo(
            f"{count} Services: addresses after {result['allocate_s']} s, answering after "
            f"{result['answer_s']} s; {result['api_writes_per_s_per_node']} API writes/s/node; "
            f"restart moves {result['restart_moves']}; Local move {result['etp_local_move_ms']} ms"
        )
    click.echo(json.dumps(result))
