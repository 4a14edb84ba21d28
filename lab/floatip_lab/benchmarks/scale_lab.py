"""What `floatip bench scale` does to its lab besides the fault: the I/O of its measurements.

- `StatusWatch`: a watch of every VirtualIP in a thread, filling a `scale_figures.StatusBook`
  with the time each event arrived (conditions carry whole seconds only);
- `neighbour_room`: the kernel's neighbour table raised for the run when the client must
  know more VIPs than its defaults allow, and put back afterwards;
- `start_whoami`: the nodes' UDP responders (`floatip_lab.whoami`), checked from the client;
- `create_all`: the VirtualIPs created at once, a few requests in flight;
- `operator_counter`: one counter of the operator replicas' ``/metrics``;
- `explain_missing`: what the lab looked like when VIPs never answered.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import pathlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from floatip_lab import commands, floatipd, kubeapi, processes, session, state, whoami
from floatip_lab.benchmarks import scale_figures, watching

Say = Callable[[str], None]
NEIGHBOUR_SYSCTLS = pathlib.Path("/proc/sys/net/ipv4/neigh/default")
CREATE_WORKERS = 8


class StatusWatch(watching.Watch[scale_figures.StatusBook]):
    """Every VirtualIP's status, kept current by a watch in a background thread."""

    def __init__(self, api: kubeapi.Client) -> None:
        super().__init__(api, session.VIPS, scale_figures.StatusBook())


@contextlib.contextmanager
def neighbour_room(vips: int, say: Say) -> Iterator[None]:
    """The kernel's neighbour table large enough for the client to know ``vips`` VIPs.

    The table is one for the whole machine (these sysctls exist only outside namespaces), so
    it is raised only when needed, only for the run, and put back only if still ours.
    """
    current = {
        key: int((NEIGHBOUR_SYSCTLS / key).read_text()) for key in ("gc_thresh2", "gc_thresh3")
    }
    raised = scale_figures.neighbour_limits(vips, current)
    if raised:
        change = ", ".join(f"{key} {current[key]} -> {value}" for key, value in raised.items())
        say(
            f"the client keeps a neighbour entry per VIP and the kernel's table is one for the "
            f"whole machine: raising net.ipv4.neigh.default {change} for this run"
        )
    for key in ("gc_thresh3", "gc_thresh2"):
        if key in raised:
            (NEIGHBOUR_SYSCTLS / key).write_text(f"{raised[key]}\n")
    try:
        yield
    finally:
        for key in ("gc_thresh2", "gc_thresh3"):
            path = NEIGHBOUR_SYSCTLS / key
            if key in raised and int(path.read_text()) == raised[key]:
                path.write_text(f"{current[key]}\n")
        if raised:
            say(f"net.ipv4.neigh.default put back: {current}")


def start_whoami(lab: session.Session, say: Say) -> None:
    """Start every node's UDP responder and wait until the client hears each one by name."""
    recorded = state.load(lab.place)
    nodes = recorded.nodes_names()
    for node in nodes:
        record = whoami.start(lab.place, recorded.host(node))
        recorded.processes[record.name] = record
    state.save(lab.place, recorded)
    say(f"UDP responders (floatip_lab.whoami, port {whoami.PORT}) started on {', '.join(nodes)}")
    own = {str(recorded.host(node).ip): node for node in nodes}
    with lab.asker(interval=0.1, duration=60) as asking:
        asking.feed(own)
        asking.end_input()

        def heard() -> bool:
            firsts = {a.vip: a.node for a in asking.answers()}
            return all(firsts.get(ip) == node for ip, node in own.items())

        lab.wait(
            heard,
            what=f"every node's whoami responder to answer the client with its name ({own})",
            timeout=30,
            interval=0.1,
            describe=lambda: (
                "answers: "
                + str([a.to_json() for a in asking.answers()])
                + "\n"
                + "\n".join(
                    f"whoami-{n} log: {processes.log_tail(recorded.processes[f'whoami-{n}'])}"
                    for n in nodes
                )
            ),
        )


def create_all(
    api: kubeapi.Client, specs: Mapping[str, dict[str, Any]]
) -> list[concurrent.futures.Future[str | None]]:
    """Start creating every VirtualIP, `CREATE_WORKERS` requests in flight; each future ends
    with None, or what went wrong."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=CREATE_WORKERS)
    futures = [pool.submit(_create, api, name, spec) for name, spec in specs.items()]
    pool.shutdown(wait=False)
    return futures


def _create(api: kubeapi.Client, name: str, spec: dict[str, Any]) -> str | None:
    try:
        api.request("POST", session.VIPS, session.vip_body(name, spec))
    except kubeapi.ApiError as exc:
        return f"{name}: {exc}"
    return None


def operator_counter(lab: session.Session, name: str) -> tuple[float | None, list[str]]:
    """Counter ``name`` summed over the operator replicas' ``/metrics`` (None: no replica
    showed it), and the replicas whose ``/metrics`` could not be read."""
    found, unread = [], []
    for record in floatipd.operators(lab.lab):
        done = lab.run(
            record.host,
            ["curl", "-sf", "--max-time", "2",
             f"http://127.0.0.1:{floatipd.OPERATOR_METRICS_PORT}/metrics"],
            check=False,
        )  # fmt: skip
        if done.returncode != 0:
            unread.append(record.name)
            continue
        value = scale_figures.counter_total(done.stdout, name)
        if value is not None:
            found.append(value)
    return (sum(found) if found else None), unread


def explain_missing(
    lab: session.Session, missing: Mapping[str, str], asking: session.Recording, *, what: str
) -> str:
    """What the lab looked like: the VIPs on each node, the missing VIPs' statuses, the
    client's counts and the logs' tails. ``missing``: address -> VirtualIP name; ``what``
    they miss."""
    parts = [f"--- {len(missing)} VIPs {what} (the first 50): {sorted(missing)[:50]}"]
    for node in lab.lab.nodes_names():
        try:
            held = lab.addresses_on(node)
        except commands.LabError as exc:
            parts.append(f"{node}: addresses unreadable ({exc})")
            continue
        mine = sorted(held & set(missing))
        parts.append(f"{node}: {len(held)} addresses on eth0, of the missing VIPs: {mine[:50]}")
    parts.append("--- statuses of the missing VirtualIPs (the first 20)")
    for name in sorted(missing.values())[:20]:
        try:
            parts.append(f"{name}: {json.dumps(lab.vip(name).get('status'), sort_keys=True)}")
        except commands.LabError as exc:
            parts.append(f"{name}: unreadable ({exc})")
    parts.append(f"--- the client's asker: {asking.log().strip() or '(still running)'}")
    parts.extend(lab.log_tails())
    return "\n".join(parts)
