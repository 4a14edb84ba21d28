"""``floatip bench scale``: N VIPs on one node, applied at once, then that node loses power.

In a lab of its own (M nodes; a data LAN with room for N VIPs, `naming.scale_network`):

1. ``rss_mib.agent_idle``: the first server's agent, settled, before any VIP exists;
2. N VirtualIPs, every one preferring the first server, created at once
   (`scale_lab.create_all`); ``ready_s`` runs from the first create until every one is Ready
   (a watch of their statuses, `scale_lab.StatusWatch`) *and* answers the client;
3. ``agent_loaded`` / ``operator_loaded``: that agent, and the larger operator replica, then;
4. kill-node of the first server while the client asks every VIP. A VIP's failover is the time
   from the fault to its first answer from another node; ``held_by_failed_node`` counts the
   VIPs on that node's eth0 at the fault, ``never`` those no other node answered within the
   deadline (what the lab looked like is printed then);
5. ``api_writes.total``: write requests the API server counted (``apiserver_request_total``)
   from the fault until every moved VIP's status names its new holder and is Ready;
   ``critical_path``: the operator's ``floatip_operator_failover_critical_writes_total`` over
   the same window, null while the operator does not export it.

With ``--group`` every VIP is in one group (``spec.group``): the figures are a group's failover
(its members all move to one successor in one pass), and the JSON names the group.

The client asks over UDP (`floatip_lab.udpclient` to each node's `floatip_lab.whoami`, which
answers with its node name): each VIP not yet answered by the node awaited is asked every
max(10 ms, N / 20,000 s) (10 ms up to 200 VIPs, 50 ms at 1,000), the resolution of every
figure it times. Progress goes to stderr; the last stdout line is the JSON object. Needs root.
"""

from __future__ import annotations

import collections
import json
import resource
import signal
import time
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any

import click

from floatip_lab import commands, floatipd, naming, session, timeline, waiting
from floatip_lab.benchmarks import failover, scale_figures, scale_lab, watching

Say = Callable[[str], None]
SETTLE_SECONDS = 2.0  # after the agents are sure of the API, before reading an RSS
POLL = 0.2
PROGRESS_EVERY = 2.0
QUIET_S = 2.0  # no write but Lease renewals for this long: the failover's writes are done
QUIET_LIMIT_S = 20.0  # the longest the count waits for that (Events follow within 10 s)
GROUP = "bench"  # spec.group of every VIP with --group


def _addresses(specs: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """VirtualIP name -> its address without the prefix."""
    return {name: str(spec["address"]).split("/")[0] for name, spec in specs.items()}


def apply_all(
    lab: session.Session,
    watch: scale_lab.StatusWatch,
    specs: Mapping[str, dict[str, Any]],
    interval: float,
    say: Say,
) -> float:
    """Create every VirtualIP at once; seconds until all are Ready and answer the client.

    The client asks a VIP from the moment its status names a holder (before that no node can
    answer it, and asking would only fill the LAN with ARP requests).
    """
    count, address = len(specs), _addresses(specs)
    deadline = 60 + 0.5 * count
    with lab.asker(interval=interval, duration=deadline + 30) as asking:
        writes_before = failover.write_counts(lab.api.text("/metrics"))
        start = time.time()
        creates = scale_lab.create_all(lab.api, specs)
        fed: set[str] = set()
        created: float | None = None  # seconds the creates took, once they all returned
        progress = watching.Every(PROGRESS_EVERY)
        while True:
            assigned = watch.read(lambda book: [n for n in specs if book.holder.get(n)])
            asking.feed(address[n] for n in assigned if n not in fed)
            fed.update(assigned)
            if len(fed) == count:
                asking.end_input()
            if created is None and all(f.done() for f in creates):
                created = time.time() - start
                failures = [f.result() for f in creates if f.result()]
                if failures:
                    raise commands.LabError(f"{len(failures)} creates failed: {failures[:5]}")
                say(
                    f"{count} VirtualIPs created in {created:.2f} s "
                    f"({scale_lab.CREATE_WORKERS} requests in flight)"
                )
            ready = watch.read(lambda book: book.ready_names(specs))
            answered = timeline.first_answers(asking.answers())
            if created is not None and len(ready) == count and len(answered) == count:
                break
            if time.time() - start > deadline:
                missing = {
                    address[n]: n for n in specs if n not in ready or address[n] not in answered
                }
                raise waiting.WaitTimeoutError(
                    f"gave up after {deadline:.0f} s waiting for {count} VIPs to be Ready and "
                    f"answer: {len(ready)} Ready, {len(answered)} answering; last seen:\n"
                    + scale_lab.explain_missing(lab, missing, asking, what="not Ready or silent")
                )
            if progress():
                say(
                    f"applying: {len(fed)} assigned, {len(ready)} Ready, {len(answered)} "
                    f"answering, of {count}, after {time.time() - start:.1f} s"
                )
            time.sleep(POLL)
        writes = failover.writes_since(
            writes_before, failover.write_counts(lab.api.text("/metrics"))
        )
    say(f"the client's asker while applying: {asking.log().strip()}")
    say(f"API writes from the first create until then: {sum(writes.values())} {writes}")
    ready_at = watch.read(lambda book: book.settled_at(specs)) or start
    answering_at = max(a.time for a in answered.values())
    say(
        f"applied: the creates took {created:.2f} s; all Ready after {ready_at - start:.2f} s, all "
        f"answering the client after {answering_at - start:.2f} s"
    )
    return max(ready_at, answering_at) - start


def settle(
    lab: session.Session,
    watch: scale_lab.StatusWatch,
    specs: Mapping[str, dict[str, Any]],
    say: Say,
) -> None:
    """Wait until every VIP is on exactly the node its Ready status names, and the agents are
    sure of the API: a failover measured from any other state would measure something else."""
    address = _addresses(specs)
    nodes = lab.lab.nodes_names()
    lab.wait_agents_sure()
    found: list[str] = []

    def consistent() -> bool:
        on = {node: lab.addresses_on(node) for node in nodes}
        found[:] = watch.read(lambda book: scale_figures.mismatches(address, book, on))
        return not found

    waiting.wait_until(
        consistent,
        what=f"each of the {len(specs)} VIPs to be on exactly the node its Ready status names",
        timeout=30 + 0.05 * len(specs),
        interval=0.5,
        describe=lambda: "\n".join(
            [f"{len(found)} VIPs are not (the first 20): {found[:20]}", *lab.log_tails()]
        ),
    )
    held = watch.read(lambda book: collections.Counter(book.holder[n] for n in specs))
    say(f"settled: every VIP on exactly its Ready holder ({dict(sorted(held.items()))})")
    time.sleep(SETTLE_SECONDS)


def fail_over(
    lab: session.Session,
    watch: scale_lab.StatusWatch,
    specs: Mapping[str, dict[str, Any]],
    interval: float,
    say: Say,
) -> tuple[dict[str, Any], int, int | None]:
    """kill-node of the first server: (the failover figures, API writes, critical writes)."""
    address = _addresses(specs)
    name_of = {vip: name for name, vip in address.items()}
    first, *others = lab.lab.nodes_names()
    held = sorted(lab.addresses_on(first) & set(name_of))
    writes_before = failover.write_counts(lab.api.text("/metrics"))
    critical_before, unread = scale_lab.operator_counter(lab, scale_figures.CRITICAL_WRITES)
    deadline = 30 + 0.1 * len(specs)
    with lab.asker(until=others, interval=interval, duration=deadline + 30) as asking:
        asking.feed(address.values())
        asking.end_input()
        time.sleep(0.5)
        fault = lab.fault("kill-node", first)
        say(f"kill-node {first}: it held {len(held)} of the {len(specs)} VIPs")
        progress = watching.Every(PROGRESS_EVERY)
        while True:
            firsts = timeline.first_answers(asking.answers(), since=fault, excluding=[first])
            moved = [vip for vip in held if vip in firsts]
            if len(moved) == len(held) or time.time() - fault > deadline:
                break
            if progress():
                say(
                    f"failing over: {len(moved)} of {len(held)} answered by another node "
                    f"after {time.time() - fault:.1f} s"
                )
            time.sleep(POLL)
    say(f"the client's asker while failing over: {asking.log().strip()}")
    summary = scale_figures.failover_summary(held, firsts, fault)
    say(f"failover: {json.dumps(summary)}")
    if summary["never"]:
        missing = {vip: name_of[vip] for vip in held if vip not in firsts}
        say(
            f"{summary['never']} VIPs were never answered by another node within {deadline:.0f} s "
            "of the fault; what the lab looked like:\n"
            + scale_lab.explain_missing(lab, missing, asking, what="not answered by another node")
        )
    moving = [name_of[vip] for vip in held]
    while True:
        settled = watch.read(lambda book: book.moved_away(moving, first))
        if len(settled) == len(moving) or time.time() - fault > 2 * deadline:
            break
        time.sleep(POLL)
    writes_after = failover.write_counts(lab.api.text("/metrics"))
    critical_after, unread_after = scale_lab.operator_counter(lab, scale_figures.CRITICAL_WRITES)
    if len(settled) < len(moving):
        missing = {address[n]: n for n in moving if n not in settled}
        say(
            f"gave up after {2 * deadline:.0f} s waiting for every moved VIP's status to name its "
            f"new holder and be Ready ({len(settled)} of {len(moving)}); API writes are counted "
            "until then. What the lab looked like:\n"
            + scale_lab.explain_missing(lab, missing, asking, what="without a new Ready holder")
        )
    else:
        at = watch.read(lambda book: book.settled_at(moving)) or fault
        say(
            f"statuses: every moved VIP names its new holder and is Ready {at - fault:.2f} s "
            "after the fault"
        )
    by_kind = failover.writes_since(writes_before, writes_after)
    say(f"API writes from the fault until then: {sum(by_kind.values())} {by_kind}")
    by_kind = failover.writes_since(writes_before, _writes_once_quiet(lab))
    total = sum(by_kind.values())
    say(f"API writes of the failover with the Events that follow the statuses: {total} {by_kind}")
    return (
        summary,
        total,
        critical_writes(critical_before, critical_after, unread + unread_after, say),
    )


def _writes_once_quiet(lab: session.Session) -> dict[str, int]:
    """The API's write counts once nothing but Lease renewals was written for `QUIET_S` (at
    most `QUIET_LIMIT_S`): the operator posts a burst's Events after its status writes pause,
    up to 10 s later, and they belong to the failover's writes."""
    start = changed = time.time()
    counts = failover.write_counts(lab.api.text("/metrics"))
    while time.time() - changed < QUIET_S and time.time() - start < QUIET_LIMIT_S:
        time.sleep(POLL)
        now = failover.write_counts(lab.api.text("/metrics"))
        if any(kind.split()[-1] != "leases" for kind in failover.writes_since(counts, now)):
            changed = time.time()
        counts = now
    return counts


def critical_writes(
    before: float | None, after: float | None, unread: list[str], say: Say
) -> int | None:
    """The critical-path writes of the failover, or None (and a line saying why)."""
    name = scale_figures.CRITICAL_WRITES
    if unread:
        say(f"could not read /metrics of {sorted(set(unread))}: api_writes.critical_path is null")
        return None
    if before is None or after is None:
        say(f"the operator does not export {name}: api_writes.critical_path is null")
        return None
    if after < before:
        say(f"{name} went down ({before:g} -> {after:g}: a replica restarted): it is null")
        return None
    return round(after - before)


def run(
    *, vips: int, nodes: int, profile: str, say: Say, group: str | None = None
) -> dict[str, Any]:
    network = naming.scale_network(vips)
    interval = scale_figures.ask_interval(vips)
    with (
        scale_lab.neighbour_room(vips, say),
        failover.bench_lab(profile, say, nodes=nodes, data_network=network) as place,
    ):
        lab = session.Session(place, say=lambda m: None)
        first = lab.lab.nodes_names()[0]
        say(
            f"lab up: {nodes} nodes, profile {profile}, data LAN {network}; the client asks each "
            f"VIP every {1000 * interval:.0f} ms (the resolution)"
        )
        scale_lab.start_whoami(lab, say)
        lab.wait_agents_sure()
        time.sleep(SETTLE_SECONDS)
        agent = lab.lab.processes[floatipd.agent_name(first)]
        rss = {"agent_idle": failover.rss_mib(agent.pid)}
        specs = scale_figures.vip_specs(network, vips, first, group=group)
        watch = scale_lab.StatusWatch(lab.api)
        watch.start()
        try:
            grouped = f", all in group {group}" if group else ""
            say(f"applying {vips} VirtualIPs at once, each preferring {first}{grouped}")
            ready_s = apply_all(lab, watch, specs, interval, say)
            settle(lab, watch, specs, say)
            rss["agent_loaded"] = failover.rss_mib(agent.pid)
            rss["operator_loaded"] = max(
                failover.rss_mib(p.pid) for p in floatipd.operators(lab.lab)
            )
            say(f"RSS (MiB): {rss}")
            summary, total, critical = fail_over(lab, watch, specs, interval, say)
        finally:
            watch.stop()
    return scale_figures.result(
        vips=vips,
        nodes=nodes,
        ready_s=ready_s,
        failover=summary,
        critical_writes=critical,
        total_writes=total,
        rss_mib=rss,
        group=group,
    )


def _exit_on_term(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@click.command("scale")
@click.option("--vips", type=click.IntRange(1, 100_000), default=1000, show_default=True)
@click.option("--nodes", type=click.IntRange(2, 50), default=3, show_default=True)
@click.option("--profile", type=click.Choice(["default", "fast"]), default="default")
@click.option("--json", "as_json", is_flag=True, help="end with the JSON line only")
@click.option(
    "--group",
    "grouped",
    is_flag=True,
    help=f"put every VIP in one group (spec.group: {GROUP}): they fail over as one",
)
def scale_command(vips: int, nodes: int, profile: str, as_json: bool, grouped: bool) -> None:
    """N VIPs on the first node, applied at once; then it loses power (kill-node).

    Prints how long until all were Ready and answering, each VIP's failover (fault to the
    first answer from another node), the API writes of the failover and the programs' RSS.
    Needs root (it builds its own lab in network namespaces and removes it afterwards).
    """

    def say(message: str) -> None:
        click.echo(f"bench scale: {message}", err=True)

    signal.signal(signal.SIGTERM, _exit_on_term)  # cleans up as Ctrl-C does
    started = time.monotonic()
    try:
        result = run(
            vips=vips, nodes=nodes, profile=profile, say=say, group=GROUP if grouped else None
        )
    except (commands.LabError, waiting.WaitTimeoutError) as exc:
        say(f"gave up after {time.monotonic() - started:.0f} s; its lab is removed")
        raise click.ClickException(str(exc)) from exc
    used = resource.getrusage(resource.RUSAGE_SELF)
    say(
        f"done in {time.monotonic() - started:.0f} s; this process (creates, status watch, "
        f"polls) used {used.ru_utime + used.ru_stime:.1f} s of CPU"
    )
    if not as_json:
        figures = result["failover"]
        click.echo(
            f"{vips} VIPs: Ready and answering after {result['ready_s']} s; failover p50 "
            f"{figures['p50_ms']} ms, last {figures['last_ms']} ms, never {figures['never']}"
        )
    click.echo(json.dumps(result))
