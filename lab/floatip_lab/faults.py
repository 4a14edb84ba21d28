"""Faults injected into a running lab for real: `floatip lab fault FAULT [HOST]`.

Each fault acts on the kernel or on processes, never on floatip's internals, and records
itself in the state file so that `heal` can undo every one still in force:

- ``kill-node``: power loss. Every process of the node is stopped at once (SIGSTOP), its
  links go down at the node's end, then every process is SIGKILLed. ``heal`` powers it
  back on: links up, its nginx (and agent) started again.
- ``freeze-node``: SIGSTOP every process of the node (a hung machine); ``heal`` sends SIGCONT.
- ``cut-data`` / ``cut-mgmt``: the host's cable pulled at the switch end (its data or
  management port down); the host keeps its addresses and sees only a lost carrier.
- ``api-down`` / ``api-up``: the API server stops listening (connections refused, watches
  drop) and comes back with every object kept.
- ``restart-operator``: every operator replica stopped (SIGTERM) and started again.
- ``kill-leader``: the replica holding the leader Lease is SIGKILLed; ``heal`` starts it.
- ``restart-agent [HOST]``: the agent of HOST (default: every node) stopped and started.
- ``stop-pod`` / ``start-pod``: the node's web Pod (`floatip_lab.webpods`) reported not Ready
  / Ready, as its kubelet does when the readiness probe fails / passes; the lab's endpoints
  controller then marks its endpoint so and the lab's kube-proxies follow. nginx keeps
  running. ``heal`` starts every stopped pod.
- ``stop-apiserver HOST`` / ``start-apiserver HOST``: a control-plane host's stand-in
  kube-apiserver (`floatip_lab.apistandin`) stopped (its :6443 refuses connections) / started
  again. ``heal`` (and a power-on) starts every stopped one. ``api-down`` is the store down
  for the control plane: every stand-in's ``/readyz`` fails at once.

``kill-node``, ``freeze-node`` and the cuts act on control-plane hosts (``cp1`` ...) too.
"""

from __future__ import annotations

import enum
import pathlib
import signal
import sys
from collections.abc import Callable

from floatip_lab import (
    apiserving,
    commands,
    cpnodes,
    floatipd,
    hosts,
    kubeapi,
    naming,
    processes,
    state,
    waiting,
    webpods,
)

Say = Callable[[str], None]


class Fault(enum.StrEnum):
    KILL_NODE = "kill-node"
    FREEZE_NODE = "freeze-node"
    CUT_DATA = "cut-data"
    CUT_MGMT = "cut-mgmt"
    HEAL = "heal"
    API_DOWN = "api-down"
    API_UP = "api-up"
    RESTART_OPERATOR = "restart-operator"
    KILL_LEADER = "kill-leader"
    RESTART_AGENT = "restart-agent"
    STOP_POD = "stop-pod"
    START_POD = "start-pod"
    STOP_APISERVER = "stop-apiserver"
    START_APISERVER = "start-apiserver"


NEEDS_HOST = {
    Fault.KILL_NODE, Fault.FREEZE_NODE, Fault.CUT_DATA, Fault.CUT_MGMT, Fault.STOP_POD,
    Fault.START_POD, Fault.STOP_APISERVER, Fault.START_APISERVER,
}  # fmt: skip
#: the roles of the hosts each host-bound fault may act on (any host with the link: the cuts)
ROLES = {
    Fault.KILL_NODE: {"node", cpnodes.ROLE},
    Fault.FREEZE_NODE: {"node", cpnodes.ROLE},
    Fault.STOP_POD: {"node"},
    Fault.START_POD: {"node"},
    Fault.STOP_APISERVER: {cpnodes.ROLE},
    Fault.START_APISERVER: {cpnodes.ROLE},
}


def inject(
    place: state.Place, lab: state.LabState, fault: Fault, host: str | None, say: Say
) -> None:
    """Inject `fault` (on `host` where it takes one) and record it in the state file."""
    if fault in NEEDS_HOST and host is None:
        raise commands.LabError(f"fault {fault} needs a HOST: `floatip lab fault {fault} server1`")
    target = lab.host(host) if host else None
    roles = ROLES.get(fault)
    if roles and target is not None and target.role not in roles:
        can = sorted(h.name for h in lab.hosts.values() if h.role in roles)
        raise commands.LabError(
            f"fault {fault} acts on a {' or '.join(sorted(roles))} host; {host!r} is the lab's "
            f"{target.role}. It can act on: {', '.join(can) or 'no host of this lab'}"
        )
    try:
        _ACTIONS[fault](place, lab, target, say)
    finally:
        state.save(place, lab)


def _kill_node(
    place: state.Place, lab: state.LabState, host: state.HostRecord | None, say: Say
) -> None:
    assert host is not None
    pids = _stop_all(host)
    for ifname in _links(host):
        commands.ip("link", "set", "dev", ifname, "down", netns=host.netns)
    hosts.kill_namespace_processes(host.netns)
    if host.name not in lab.faults.killed:
        lab.faults.killed.append(host.name)
    say(f"{host.name} powered off: {len(pids)} processes killed, links {_links(host)} down")


def _stop_all(host: state.HostRecord) -> list[int]:
    """SIGSTOP every process of the node at once; return their pids."""
    pids = hosts.namespace_pids(host.netns)
    for pid in pids:
        _signal_pid(pid, signal.SIGSTOP)
    return pids


def _freeze_node(
    place: state.Place, lab: state.LabState, host: state.HostRecord | None, say: Say
) -> None:
    assert host is not None
    pids = _stop_all(host)
    if host.name not in lab.faults.frozen:
        lab.faults.frozen.append(host.name)
    say(f"{host.name} frozen: {len(pids)} processes stopped (SIGSTOP); `heal` resumes them")


def _cut(
    ifname: str,
) -> Callable[[state.Place, state.LabState, state.HostRecord | None, Say], None]:
    def cut(
        place: state.Place, lab: state.LabState, host: state.HostRecord | None, say: Say
    ) -> None:
        assert host is not None
        port = host.data_port if ifname == naming.DATA_IFNAME else host.mgmt_port
        if port is None:
            raise commands.LabError(
                f"{host.name} has no {'data' if ifname == naming.DATA_IFNAME else 'management'}"
                " link to cut"
            )
        commands.ip("link", "set", "dev", port, "down", netns=lab.switch)
        if [host.name, ifname] not in lab.faults.cut:
            lab.faults.cut.append([host.name, ifname])
        say(f"{host.name}'s {ifname} cable pulled (switch port {port} down)")

    return cut


def _heal(place: state.Place, lab: state.LabState, host: state.HostRecord | None, say: Say) -> None:
    for name, ifname in lab.faults.cut:
        record = lab.host(name)
        port = record.data_port if ifname == naming.DATA_IFNAME else record.mgmt_port
        commands.ip("link", "set", "dev", str(port), "up", netns=lab.switch)
        say(f"{name}'s {ifname} cable back (switch port {port} up)")
    lab.faults.cut.clear()
    for name in lab.faults.frozen:
        for pid in hosts.namespace_pids(lab.host(name).netns):
            _signal_pid(pid, signal.SIGCONT)
        say(f"{name} resumed (SIGCONT)")
    lab.faults.frozen.clear()
    for name in lab.faults.killed:
        _power_on(place, lab, lab.host(name), say)
    lab.faults.killed.clear()
    for name in lab.faults.dead:
        lab.processes[name] = processes.restart(lab.processes[name])
        say(f"{name} started again")
    lab.faults.dead.clear()
    if lab.faults.api_down:
        _api_up(place, lab, None, say)
    for name in list(lab.faults.stopped_pods):
        _start_pod(place, lab, lab.host(name), say)
    for name in list(lab.faults.stopped_apiservers):
        _start_apiserver(place, lab, lab.host(name), say)
    say("healed: no fault in force")


def _power_on(place: state.Place, lab: state.LabState, host: state.HostRecord, say: Say) -> None:
    for ifname in _links(host):
        commands.ip("link", "set", "dev", ifname, "up", netns=host.netns)
    # A real power cycle wipes the RAM: floatip's addresses and the node's TCP state go too.
    own = [f"{host.ip}/{lab.data_v4().prefixlen}"]
    own += [f"{host.ip6}/{naming.DATA_V6.prefixlen}"] if host.ip6 else []
    commands.run(
        ["ip", "netns", "exec", host.netns, sys.executable, "-m", "floatip_lab.reboot",
         *(arg for address in own for arg in ("--own", address))],
    )  # fmt: skip
    started = []
    for name, record in list(lab.processes.items()):
        if record.host == host.name and not processes.alive(record):
            lab.processes[name] = processes.spawn(
                name=record.name,
                host=record.host,
                netns=record.netns,
                argv=record.argv,
                log=pathlib.Path(record.log),
            )
            started.append(name)
    if host.name in lab.faults.stopped_apiservers:  # a boot starts its apiserver too
        lab.faults.stopped_apiservers.remove(host.name)
    say(f"{host.name} powered on: links up, started {', '.join(started) or 'nothing'}")


def _api_down(
    place: state.Place, lab: state.LabState, host: state.HostRecord | None, say: Say
) -> None:
    _switch_api(place, lab, up=False)
    say("API server down (connections refused; objects kept); `api-up` or `heal` restores it")


def _api_up(
    place: state.Place, lab: state.LabState, host: state.HostRecord | None, say: Say
) -> None:
    _switch_api(place, lab, up=True)
    say("API server up again")


def _switch_api(place: state.Place, lab: state.LabState, *, up: bool) -> None:
    """Signal the API server down or up, and wait until it stops or starts answering.

    The fault is in force from the signal on, also when the wait gives up: `heal` then still
    brings the server up, and the tests after a failed one find it serving."""
    server = _apiserver(lab)
    processes.send(server, apiserving.UP_SIGNAL if up else apiserving.DOWN_SIGNAL)
    lab.faults.api_down = not up
    client = kubeapi.Client(place.kubeconfig, timeout=2 if up else 1)
    waiting.wait_until(
        lambda: client.answers() == up,
        what=f"the API server to {'answer again' if up else 'stop answering'}",
        timeout=15,
        describe=lambda: _api_seen(lab, server, client),
    )


def _api_seen(lab: state.LabState, server: state.ProcessRecord, client: kubeapi.Client) -> str:
    """What a wait on the API server saw last: its answer through the relay, the sockets on
    its port inside the lab, and the logs of the server and the relay."""
    try:
        answer = f"GET /version through the relay answered {client.request('GET', '/version')}"
    except kubeapi.ApiError as exc:
        answer = f"GET /version through the relay failed: {exc}"
    sockets = commands.run(["ip", "netns", "exec", server.netns, "ss", "-tanp"], check=False)
    relay = lab.processes.get("relay")
    return "\n".join([
        answer,
        f"--- sockets in the API server's namespace (ss -tanp)\n{sockets.stdout.strip()}",
        f"--- API server log (pid {server.pid})\n{processes.log_tail(server)}",
        f"--- relay log\n{processes.log_tail(relay) if relay else '(no relay)'}",
    ])  # fmt: skip


def _restart_operator(
    place: state.Place, lab: state.LabState, host: state.HostRecord | None, say: Say
) -> None:
    for record in floatipd.operators(lab):
        lab.processes[record.name] = processes.restart(record)
        say(f"{record.name} restarted (pid {lab.processes[record.name].pid})")


def _kill_leader(
    place: state.Place, lab: state.LabState, host: state.HostRecord | None, say: Say
) -> None:
    record = floatipd.leader(place, lab)
    floatipd.kill(record)
    lab.faults.dead.append(record.name)
    say(f"leader {record.name} (pid {record.pid}) killed; `heal` starts it again")


def _restart_agent(
    place: state.Place, lab: state.LabState, host: state.HostRecord | None, say: Say
) -> None:
    for record in floatipd.agents(lab, host.name if host else None):
        lab.processes[record.name] = processes.restart(record)
        say(f"{record.name} restarted (pid {lab.processes[record.name].pid})")


def _stop_pod(
    place: state.Place, lab: state.LabState, host: state.HostRecord | None, say: Say
) -> None:
    assert host is not None
    webpods.set_ready(kubeapi.Client(place.kubeconfig), host.name, ready=False)
    if host.name not in lab.faults.stopped_pods:
        lab.faults.stopped_pods.append(host.name)
    say(f"{webpods.pod_name(host.name)} not ready (its readiness probe fails); `start-pod` or "
        "`heal` makes it ready")  # fmt: skip


def _start_pod(
    place: state.Place, lab: state.LabState, host: state.HostRecord | None, say: Say
) -> None:
    assert host is not None
    webpods.set_ready(kubeapi.Client(place.kubeconfig), host.name, ready=True)
    if host.name in lab.faults.stopped_pods:
        lab.faults.stopped_pods.remove(host.name)
    say(f"{webpods.pod_name(host.name)} ready again")


def _stop_apiserver(
    place: state.Place, lab: state.LabState, host: state.HostRecord | None, say: Say
) -> None:
    assert host is not None
    cpnodes.stop(lab, cpnodes.standin_name(host.name))
    if host.name not in lab.faults.stopped_apiservers:
        lab.faults.stopped_apiservers.append(host.name)
    say(f"{host.name}'s kube-apiserver stopped (:6443 refuses connections); `start-apiserver "
        f"{host.name}` or `heal` starts it")  # fmt: skip


def _start_apiserver(
    place: state.Place, lab: state.LabState, host: state.HostRecord | None, say: Say
) -> None:
    assert host is not None
    name = cpnodes.standin_name(host.name)
    if name in lab.processes and processes.alive(lab.processes[name]):
        say(f"{host.name}'s kube-apiserver already runs")
    else:
        cpnodes.spawn_standin(place, lab, host.name)
        state.save(place, lab)
        cpnodes.wait_standin(place, lab, host.name)
        say(f"{host.name}'s kube-apiserver listens on :6443 again")
    if host.name in lab.faults.stopped_apiservers:
        lab.faults.stopped_apiservers.remove(host.name)


def _apiserver(lab: state.LabState) -> state.ProcessRecord:
    server = lab.processes.get("apiserver")
    if server is None or not processes.alive(server):
        raise commands.LabError(
            "the lab's API server process is not running; rebuild the lab "
            "(`floatip lab down && floatip lab up`)"
        )
    return server


def _links(host: state.HostRecord) -> list[str]:
    return [
        ifname
        for ifname, port in (
            (naming.DATA_IFNAME, host.data_port),
            (naming.MGMT_IFNAME, host.mgmt_port),
        )
        if port is not None
    ]


def _signal_pid(pid: int, sig: signal.Signals) -> None:
    import contextlib
    import os

    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


_ACTIONS: dict[
    Fault, Callable[[state.Place, state.LabState, state.HostRecord | None, Say], None]
] = {
    Fault.KILL_NODE: _kill_node,
    Fault.FREEZE_NODE: _freeze_node,
    Fault.CUT_DATA: _cut(naming.DATA_IFNAME),
    Fault.CUT_MGMT: _cut(naming.MGMT_IFNAME),
    Fault.HEAL: _heal,
    Fault.API_DOWN: _api_down,
    Fault.API_UP: _api_up,
    Fault.RESTART_OPERATOR: _restart_operator,
    Fault.KILL_LEADER: _kill_leader,
    Fault.RESTART_AGENT: _restart_agent,
    Fault.STOP_POD: _stop_pod,
    Fault.START_POD: _start_pod,
    Fault.STOP_APISERVER: _stop_apiserver,
    Fault.START_APISERVER: _start_apiserver,
}
