"""The lab's control-plane hosts: `floatip lab up --control-plane N [--second-cluster]`.

Each cluster is N hosts on the data LAN (and the management network, to reach the lab's API
server): ``cp1`` .. ``cpN``, and with ``--second-cluster`` a second cluster ``cpb1`` ..
``cpbN`` with its own VIP and identity on the same LAN and the same heartbeat port. Each host
runs two lab processes, recorded in the state file like every other (so `floatip lab down`
removes them, also after an interrupted `up`):

- ``apiserver-HOST``: the stand-in kube-apiserver on :6443 (`floatip_lab.apistandin`, a relay
  to the lab's API server; TLS passes through);
- ``cpagent-HOST``: ``floatip-control-plane-agent`` for the cluster's VIP (no --peer: both
  clusters find their peers by broadcast, so each agent hears the other cluster's heartbeats
  and must ignore them).

Cluster ``lab-a``'s VIP is the data LAN's broadcast address minus 10 (192.0.2.245/24),
cluster ``lab-b``'s minus 9 (192.0.2.246/24): far from the .100 and up that tests and demos use.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import json
import os
import pathlib
import shlex
import signal
import sys
import time
from collections.abc import Callable

import yaml

from floatip_lab import commands, processes, state, waiting

Say = Callable[[str], None]
ROLE = "cp"
AGENT_MODULES = ("floatip_agent.controlplane.__main__", "floatip_agent.controlplane.main")
AGENT_ENV = "FLOATIP_LAB_CP_AGENT"
HEARTBEAT_PORT = 9731
STATE_PORT = 9732
CLUSTER_IDS = ("lab-a", "lab-b")
_PREFIXES = ("cp", "cpb")
MAX_HOSTS = 5


def host_names(count: int, cluster: int) -> list[str]:
    """The hosts of cluster `cluster` (0 or 1): cp1..cpN, cpb1..cpbN."""
    return [f"{_PREFIXES[cluster]}{i}" for i in range(1, count + 1)]


def plan(count: int, second: bool, network: ipaddress.IPv4Network) -> list[state.ControlPlane]:
    """The clusters `up` builds (none for count 0)."""
    if not 0 <= count <= MAX_HOSTS:
        raise commands.LabError(
            f"--control-plane {count}: the lab builds 0 (none) to {MAX_HOSTS} control-plane hosts"
        )
    if second and not count:
        raise commands.LabError("--second-cluster needs --control-plane N (N hosts in each)")
    clusters = []
    for index in range(2 if second else 1 if count else 0):
        vip = network.broadcast_address - 10 + index
        clusters.append(
            state.ControlPlane(
                cluster_id=CLUSTER_IDS[index],
                vip=f"{vip}/{network.prefixlen}",
                hosts=host_names(count, index),
            )
        )
    return clusters


def standin_name(host: str) -> str:
    return f"apiserver-{host}"


def agent_name(host: str) -> str:
    return f"cpagent-{host}"


def vip_address(cluster: state.ControlPlane) -> str:
    return cluster.vip.partition("/")[0]


def cluster_of(lab: state.LabState, host: str) -> state.ControlPlane:
    """The cluster `host` belongs to; LabError if it is no control-plane host."""
    for cluster in lab.control_planes:
        if host in cluster.hosts:
            return cluster
    hosts = [h for c in lab.control_planes for h in c.hosts]
    raise commands.LabError(
        f"{host!r} is not a control-plane host of this lab; they are {hosts or 'none'} "
        "(build them with `floatip lab up --control-plane 3`)"
    )


def agent_argv() -> list[str] | None:
    """How to run the control-plane agent with this interpreter, or None if not installed.

    ``$FLOATIP_LAB_CP_AGENT`` (a command line) runs that instead: an agent from another
    checkout, say, while it is being written.
    """
    import importlib.util

    if os.environ.get(AGENT_ENV):
        return shlex.split(os.environ[AGENT_ENV])
    for module in AGENT_MODULES:
        try:
            found = importlib.util.find_spec(module) is not None
        except ImportError:
            found = False
        if found and module.endswith("__main__"):
            return [sys.executable, "-m", module.rpartition(".")[0]]
        if found:
            code = f"import sys; from {module} import main; sys.exit(main())"
            return [sys.executable, "-c", code]
    return None


def ca_file(place: state.Place) -> pathlib.Path:
    return place.path("cp", "ca.pem")


def write_ca(place: state.Place) -> pathlib.Path:
    """The lab API server's CA as a PEM file (the agents and the client verify with it)."""
    config = yaml.safe_load(place.lab_kubeconfig.read_text())
    data = config["clusters"][0]["cluster"]["certificate-authority-data"]
    path = ca_file(place)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(data))
    return path


def accepts_file(place: state.Place, host: str) -> pathlib.Path:
    return place.path("cp", f"{host}.accepts.jsonl")


def _ready_file(place: state.Place, host: str) -> pathlib.Path:
    return place.path("cp", f"{host}.ready")


def spawn_standin(place: state.Place, lab: state.LabState, host: str) -> None:
    """Start HOST's stand-in kube-apiserver (not waiting for it: `wait_standin`)."""
    record = lab.host(host)
    _ready_file(place, host).unlink(missing_ok=True)
    api = lab.host("api")
    lab.processes[standin_name(host)] = processes.spawn(
        name=standin_name(host),
        host=host,
        netns=record.netns,
        argv=[sys.executable, "-m", "floatip_lab.apistandin", "--name", host,
              "--target", f"{api.mgmt_ip}:{lab.api_port}",
              "--accepts", str(accepts_file(place, host)),
              "--ready", str(_ready_file(place, host))],
        log=place.path("logs", f"{standin_name(host)}.log"),
    )  # fmt: skip


def wait_standin(place: state.Place, lab: state.LabState, host: str) -> float:
    """Until HOST's stand-in listens; the wall-clock time it started listening."""
    record = lab.processes[standin_name(host)]
    path = _ready_file(place, host)

    def listening() -> float | None:
        if path.exists():
            return float(json.loads(path.read_text())["time"])
        if processes.exited(record.pid):
            raise commands.LabError(
                f"{record.name} exited at start; its log {record.log} ends:\n"
                + processes.log_tail(record)
            )
        return None

    found: float = waiting.wait_until(
        listening, what=f"{record.name} to listen on :6443 (log {record.log})", timeout=20,
        interval=0.01, describe=lambda: processes.log_tail(record),
    )  # fmt: skip
    return found


def spawn_agent(place: state.Place, lab: state.LabState, host: str) -> bool:
    """Start HOST's control-plane agent; False (and nothing started) if it is not installed."""
    command = agent_argv()
    if command is None:
        return False
    cluster = cluster_of(lab, host)
    lab.processes[agent_name(host)] = processes.spawn(
        name=agent_name(host),
        host=host,
        netns=lab.host(host).netns,
        argv=[*command, "--address", cluster.vip, "--interface", "eth0", "--port", "6443",
              "--ca-file", str(ca_file(place)), "--profile", lab.profile, "--node", host,
              "--cluster-id", cluster.cluster_id, "--heartbeat-port", str(HEARTBEAT_PORT),
              "--listen", f"0.0.0.0:{STATE_PORT}", "--log-level", "info"],
        log=place.path("logs", f"{agent_name(host)}.log"),
    )  # fmt: skip
    return True


def stop(lab: state.LabState, name: str) -> None:
    """Stop the recorded process `name` (SIGTERM, then SIGKILL), if it runs."""
    record = lab.processes.get(name)
    if record is not None:
        processes.stop(record)


def crash(lab: state.LabState, name: str) -> None:
    """SIGKILL the recorded process `name`, if it runs (a crash: it cleans nothing up)."""
    record = lab.processes.get(name)
    if record is not None:
        processes.send(record, signal.SIGKILL)
        waiting.wait_until(lambda: not processes.alive(record), what=f"{name} to die", timeout=10)


def start(place: state.Place, lab: state.LabState, say: Say) -> None:
    """`up`'s part: every cluster's stand-ins and agents, then one holder per cluster."""
    if not lab.control_planes:
        return
    write_ca(place)
    for cluster in lab.control_planes:
        say(f"control plane {cluster.cluster_id}: VIP {cluster.vip} on {', '.join(cluster.hosts)}"
            " (stand-in kube-apiserver on :6443 each)")  # fmt: skip
        for host in cluster.hosts:
            spawn_standin(place, lab, host)
        state.save(place, lab)
        for host in cluster.hosts:
            wait_standin(place, lab, host)
    if agent_argv() is None:
        say("the control-plane agent (floatip_agent.controlplane) is not installed: "
            "the control-plane hosts run their stand-in apiservers only")  # fmt: skip
        return
    for cluster in lab.control_planes:
        for host in cluster.hosts:
            spawn_agent(place, lab, host)
    state.save(place, lab)
    for cluster in lab.control_planes:
        say(f"waiting for one holder of {cluster.vip} ({cluster.cluster_id})")
        wait_one_holder(lab, cluster, timeout=30)


def holders(lab: state.LabState, cluster: state.ControlPlane) -> frozenset[str]:
    """The hosts (of any cluster) whose eth0 carries `cluster`'s VIP: the kernel's word."""
    vip = vip_address(cluster)
    found = set()
    for cp in lab.control_planes:
        for host in cp.hosts:
            with contextlib.suppress(commands.LabError, ValueError):
                out = commands.ip("-j", "addr", "show", "dev", "eth0", netns=lab.host(host).netns)
                if any(a.get("local") == vip for link in json.loads(out or "[]")
                       for a in link.get("addr_info", ())):  # fmt: skip
                    found.add(host)
    return frozenset(found)


def wait_one_holder(lab: state.LabState, cluster: state.ControlPlane, timeout: float) -> str:
    """Until exactly one host carries the cluster's VIP; that host."""

    def one() -> str | None:
        found = holders(lab, cluster)
        return next(iter(found)) if len(found) == 1 else None

    holder: str = waiting.wait_until(
        one, what=f"exactly one host to carry {cluster.vip} ({cluster.cluster_id})",
        timeout=timeout, interval=0.05, describe=lambda: explain(lab),
    )  # fmt: skip
    return holder


def agent_state(lab: state.LabState, host: str) -> dict[str, object] | None:
    """HOST's agent's ``/state``, asked over the management network from the api host."""
    done = commands.run(
        ["ip", "netns", "exec", lab.host("api").netns, "curl", "-s", "--max-time", "1",
         f"http://{lab.host(host).mgmt_ip}:{STATE_PORT}/state"],
        check=False,
    )  # fmt: skip
    try:
        found = json.loads(done.stdout) if done.returncode == 0 else None
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def explain(lab: state.LabState, *, log_lines: int = 8) -> str:
    """What the control planes look like now, for a wait that gave up: the addresses on every
    control-plane host, each agent's /state, the tails of the agents' and stand-ins' logs."""
    parts = [f"--- control planes at {time.time():.3f}"]
    for cluster in lab.control_planes:
        parts.append(f"{cluster.cluster_id}: VIP {cluster.vip}")
        for host in cluster.hosts:
            try:
                out = commands.ip("-j", "addr", "show", "dev", "eth0", netns=lab.host(host).netns)
                addresses = sorted(a["local"] for link in json.loads(out or "[]")
                                   for a in link.get("addr_info", ()))  # fmt: skip
            except (commands.LabError, ValueError) as exc:
                addresses = [f"unreadable ({exc})"]
            parts.append(f"  {host}: eth0 {addresses}; /state {agent_state(lab, host)}")
    for name, record in sorted(lab.processes.items()):
        if name.startswith(("cpagent-", "apiserver-")):
            alive = "alive" if processes.alive(record) else "not running"
            parts.append(f"--- {name} ({alive}) log tail, {record.log}")
            parts.append(processes.log_tail(record, log_lines))
    return "\n".join(parts)
