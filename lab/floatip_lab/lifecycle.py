"""Bringing the whole lab up and down: `floatip lab up` and `floatip lab down`.

`up` checks the machine, removes labs nobody will take down (`floatip_lab.orphans`: no
process left in any of their namespaces), refuses if a lab (or the remains of one) is
already there, then builds in an order where every step can be undone: the state file first
(so an interrupted `up` leaves a trail), the namespaces (`floatip_lab.netns`), the API
server and the relay, the Nodes, nginx on each node, the stand-ins for Kubernetes' Service
parts (`floatip_lab.standins`), then floatip's own processes. Any failure, Ctrl-C included,
removes what was built. `down` removes namespaces listed in the state file *and* found by
the lab's name prefix (killing every process inside them), then the files it wrote.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import pathlib
import shutil
import signal
import sys
from collections.abc import Callable, Sequence

from floatip.api import names
from floatip_lab import (
    admission,
    agentpods,
    commands,
    cpnodes,
    floatipd,
    hosts,
    ipjson,
    kubeapi,
    naming,
    netns,
    orphans,
    prereqs,
    processes,
    rbac,
    seeding,
    standins,
    state,
    waiting,
    webservers,
)

Say = Callable[[str], None]
API_PORT = 6443
#: files and directories `up` writes into the state directory; `down` removes only these
STATE_ENTRIES = (
    "state.json",
    "state.tmp",
    "kubeconfig",
    "kubeconfig.mgmt",
    "kubeconfig.mgmt.tmp",  # the API server writes it whole, then renames it (apiserving)
    "relay.port",
    "relay.tmp",
    "logs",
    "nginx",
    "records",  # the client's recordings (floatip_lab.session)
    "ask.jsonl",
    "agents",  # each agent's kubeconfig (floatip_lab.agentpods)
    "cp",  # the control-plane hosts' CA copy, ready marks and accept records (cpnodes)
    standins.READY_DIR,
    *(f"kubeconfig.mgmt.{account}" for account in rbac.ACCOUNTS.values()),
)


def lab_namespaces(place: state.Place) -> list[str]:
    """Every namespace on this machine carrying the lab's prefix."""
    names = ipjson.parse_netns_names(commands.ip("-j", "netns", "list"))
    return sorted(n for n in names if n.startswith(place.prefix))


def plan(
    nodes: int,
    ipv6: bool,
    data_network: ipaddress.IPv4Network = naming.DATA_V4,
    control_planes: Sequence[state.ControlPlane] = (),
) -> tuple[netns.LanSpec, dict[str, str]]:
    """The lab's topology and each host's role.

    Servers are on both networks; the API server and each operator replica (one host per
    replica, as pods on different machines) on the management network only. The data LAN is
    `data_network` (192.0.2.0/24 unless a benchmark needs room for more VIPs). Control-plane
    hosts (`cpnodes`) come last, on both networks, so every other host keeps its address.
    """
    if not 1 <= nodes <= 50:
        raise commands.LabError(f"--nodes {nodes}: the lab builds 1 to 50 nodes")
    roles = {f"server{i}": "node" for i in range(1, nodes + 1)}
    roles |= {"client": "client", "intruder": "intruder", "api": "api"}
    roles |= {floatipd.operator_name(k): "operator" for k in floatipd.REPLICAS}
    roles |= {host: cpnodes.ROLE for cluster in control_planes for host in cluster.hosts}
    mgmt_only = {"api", "operator"}
    specs = [
        netns.HostSpec(
            name, data=role not in mgmt_only, mgmt=role in {"node", cpnodes.ROLE, *mgmt_only}
        )
        for name, role in roles.items()
    ]
    try:
        naming.check_data_network(data_network)
    except ValueError as exc:
        raise commands.LabError(str(exc)) from None
    spec = netns.LanSpec(tag="lab", hosts=tuple(specs), ipv6=ipv6, data_v4=data_network)
    return spec, roles


def up(
    place: state.Place,
    *,
    nodes: int,
    ipv6: bool,
    say: Say,
    with_floatip: bool = True,
    profile: str = "default",
    agent_args: Sequence[str] = (),
    data_network: ipaddress.IPv4Network = naming.DATA_V4,
    control_plane: int = 0,
    second_cluster: bool = False,
) -> state.LabState:
    """Build the lab and return when every part answers; on failure remove it and re-raise.

    `with_floatip=False` builds the ground only: no agent or operator is started.
    `agent_args` are appended to every agent's command line (a benchmark comparing settings).
    `data_network`: the data LAN's IPv4 network (`naming.check_data_network`).
    `control_plane` N > 0 adds hosts cp1..cpN, each with a stand-in kube-apiserver and the
    control-plane agent (`cpnodes`); `second_cluster` a second such cluster cpb1..cpbN.
    """
    prereqs.check()
    for tag, swept in orphans.sweep().items():
        say(f"removed abandoned lab {tag} (no process left in it): {', '.join(swept)}")
    refuse_if_present(place)
    clusters = cpnodes.plan(control_plane, second_cluster, data_network)
    spec, roles = plan(nodes, ipv6, data_network, clusters)
    lab = state.LabState(
        tag=place.tag,
        phase="building",
        nodes=nodes,
        ipv6=ipv6,
        switch=place.namespace(naming.SWITCH_ROLE),
        namespaces=[place.namespace(naming.SWITCH_ROLE)] + [place.namespace(h) for h in roles],
        profile=profile,
        agent_args=list(agent_args),
        data_network=str(data_network),
        control_planes=clusters,
    )
    state.save(place, lab)
    try:
        say(f"building {len(spec.hosts)} hosts and the switch (namespaces {place.prefix}*)")
        topo = netns.build(spec, namer=place.namespace)
        for host in topo:
            lab.hosts[host.name] = _record(host, roles[host.name])
        state.save(place, lab)
        _start_api(place, lab, say)
        say(f"registering Nodes {', '.join(lab.nodes_names())} and Namespace floatip")
        client = kubeapi.Client(place.kubeconfig)
        seeding.apply_nodes(
            client, {n: (str(lab.host(n).mgmt_ip), lab.host(n).ip) for n in lab.nodes_names()}
        )
        seeding.apply_namespace(client)
        say(
            "granting the operator and the agents the chart's RBAC (charts/floatip/files/rbac.yaml)"
        )
        rbac.apply_objects(client, rbac.build_objects(rbac.load_rules()))
        _bind_agents_to_nodes(place, lab, client, say)
        _start_webservers(place, lab, say)
        standins.start(place, lab, client, say)  # web Pods, endpoints controller, kube-proxy
        cpnodes.start(place, lab, say)  # stand-in apiservers and control-plane agents, if any
        if with_floatip:
            floatipd.start_agents_and_operators(place, lab, say)
        else:
            say("--no-floatip: not starting agents or operators")
        state.save(place, lab)
        _wait_floatip(place, lab, say)
        lab.phase = "ready"
        state.save(place, lab)
    except BaseException as exc:
        say(f"lab up failed ({type(exc).__name__}); removing the partial lab")
        try:
            down(place, say=say)
        except commands.LabError as cleanup:
            exc.add_note(f"and removing the partial lab failed too: {cleanup}")
        raise
    return lab


def _bind_agents_to_nodes(
    place: state.Place, lab: state.LabState, client: kubeapi.Client, say: Say
) -> None:
    """Each agent's Pod and Pod-bound token, and the chart's policies that key on its node."""
    say(
        "binding each agent to its node: a Pod and a Pod-bound token per node, and the "
        "chart's admission policies (charts/floatip/files/admission.yaml)"
    )
    admission.apply_objects(client, admission.build_objects(admission.policy_file().read_text()))
    for node in lab.nodes_names():
        pod = agentpods.start_pod(client, node, str(lab.host(node).mgmt_ip))
        agentpods.write_kubeconfigs(
            client,
            pod,
            {
                place.agent_kubeconfig(node): place.lab_kubeconfig,
                place.agent_kubeconfig(node, local=True): place.kubeconfig,
            },
        )


def refuse_if_present(place: state.Place) -> None:
    """LabError if this lab's state file or any of its namespaces exist."""
    existing = lab_namespaces(place)
    if place.state_file.exists() or existing:
        with contextlib.suppress(state.StateError):
            if state.load(place).phase == "ready":
                raise commands.LabError(
                    f"the lab is already up (state {place.state_file}): see `floatip lab "
                    "status`, or remove it with `floatip lab down` before `floatip lab up`"
                )
        found = ", ".join(existing) or str(place.state_file)
        raise commands.LabError(
            f"remains of an earlier lab are here ({found}): run `floatip lab down` first"
        )


def _record(host: hosts.Host, role: str) -> state.HostRecord:
    return state.HostRecord(
        name=host.name,
        role=role,
        netns=host.netns,
        ip=str(host.data.ipv4.ip) if host.data else None,
        ip6=str(host.data.ipv6.ip) if host.data and host.data.ipv6 else None,
        mac=host.data.mac if host.data else None,
        mgmt_ip=str(host.mgmt.ipv4.ip) if host.mgmt else None,
        data_port=host.data.switch_port if host.data else None,
        mgmt_port=host.mgmt.switch_port if host.mgmt else None,
    )


def _start_api(place: state.Place, lab: state.LabState, say: Say) -> None:
    api = lab.host("api")
    lab.api_port = API_PORT
    lab.api_url = f"https://{api.mgmt_ip}:{API_PORT}"
    say(f"starting the API server on {lab.api_url} (host api)")
    server = processes.spawn(
        name="apiserver",
        host="api",
        netns=api.netns,
        argv=[
            sys.executable, "-m", "floatip_lab.apiserving", "--host", str(api.mgmt_ip),
            "--port", str(API_PORT),
            "--kubeconfig", str(place.lab_kubeconfig),
            *(arg for name in rbac.ACCOUNTS.values()
              for arg in ("--service-account", f"{rbac.NAMESPACE}/{name}")),
        ],
        log=place.path("logs", "apiserver.log"),
    )  # fmt: skip
    lab.processes[server.name] = server
    port_file = place.path("relay.port")
    relay = processes.spawn(
        name="relay",
        host="api",
        netns=api.netns,
        argv=[
            sys.executable, "-m", "floatip_lab.relay", "--netns", api.netns,
            "--target", f"{api.mgmt_ip}:{API_PORT}", "--port-file", str(port_file),
        ],
        log=place.path("logs", "relay.log"),
        enters_itself=True,
    )  # fmt: skip
    lab.processes[relay.name] = relay
    state.save(place, lab)
    for record, path in ((server, place.lab_kubeconfig), (relay, port_file)):
        waiting.wait_until(
            functools.partial(_file_written, path, record),
            what=f"{record.name} to start (log {record.log})",
            timeout=30,
            interval=0.05,
            describe=functools.partial(processes.log_tail, record),
        )
    lab.relay_port = int(port_file.read_text())
    text = place.lab_kubeconfig.read_text().replace(
        lab.api_url, f"https://127.0.0.1:{lab.relay_port}"
    )
    place.kubeconfig.write_text(text)
    place.kubeconfig.chmod(0o600)
    client = kubeapi.Client(place.kubeconfig, timeout=2)
    waiting.wait_until(
        client.answers,
        what=f"the API server to answer through 127.0.0.1:{lab.relay_port}",
        timeout=30,
        interval=0.1,
        describe=lambda: processes.log_tail(server),
    )
    say(f"API server ready; kubeconfig {place.kubeconfig}")


def _died(record: state.ProcessRecord) -> bool:
    """False while the just-started process runs; a LabError with its log once it exited."""
    if not processes.exited(record.pid):
        return False
    raise commands.LabError(
        f"lab process {record.name} exited at start; its log {record.log} ends:\n"
        + processes.log_tail(record)
    )


def _start_webservers(place: state.Place, lab: state.LabState, say: Say) -> None:
    client = lab.host("client")
    for node in lab.nodes_names():
        host = lab.host(node)
        say(f"starting nginx on {node} ({host.ip}:80)")
        record = webservers.start(place, host, ipv6=lab.ipv6)
        lab.processes[record.name] = record
        state.save(place, lab)
        waiting.wait_until(
            functools.partial(_serves, client, host, record),
            what=f"nginx on {node} to answer the client (log {record.log})",
            timeout=20,
            interval=0.05,
            describe=functools.partial(processes.log_tail, record),
        )


def _file_written(path: pathlib.Path, record: state.ProcessRecord) -> bool:
    return path.exists() or _died(record)


def _serves(client: state.HostRecord, node: state.HostRecord, record: state.ProcessRecord) -> bool:
    if _died(record):
        return False  # not reached: _died raises
    done = commands.run(
        ["ip", "netns", "exec", client.netns, "curl", "-s", "--max-time", "1",
         f"http://{node.ip}/"],
        check=False,
    )  # fmt: skip
    return done.returncode == 0 and done.stdout.strip() == node.name


def _wait_floatip(place: state.Place, lab: state.LabState, say: Say) -> None:
    """Wait for each started agent's Lease and the operators' leader Lease to appear."""
    client = kubeapi.Client(place.kubeconfig)
    leases = [
        (names.AGENT_LEASE_PREFIX + n, lab.processes[floatipd.agent_name(n)])
        for n in lab.nodes_names()
        if floatipd.agent_name(n) in lab.processes
    ]
    if floatipd.operator_name(1) in lab.processes:
        leases.append((floatipd.OPERATOR_LEASE, lab.processes[floatipd.operator_name(1)]))
    for lease, record in leases:
        say(f"waiting for Lease {floatipd.NAMESPACE}/{lease} ({record.name})")
        path = f"/apis/coordination.k8s.io/v1/namespaces/{floatipd.NAMESPACE}/leases/{lease}"
        waiting.wait_until(
            functools.partial(_lease_exists, client, path, record),
            what=f"Lease {floatipd.NAMESPACE}/{lease} from {record.name} (log {record.log})",
            timeout=60,
            interval=0.2,
            describe=functools.partial(processes.log_tail, record),
        )


def _lease_exists(client: kubeapi.Client, path: str, record: state.ProcessRecord) -> bool:
    return _exists(client, path) or _died(record)


def _exists(client: kubeapi.Client, path: str) -> bool:
    try:
        client.request("GET", path)
    except kubeapi.ApiError:
        return False
    return True


def down(place: state.Place, *, say: Say) -> list[str]:
    """Remove the lab: its processes, namespaces and files. Returns the namespaces removed."""
    names: set[str] = set()
    try:
        lab = state.load(place)
    except state.StateError as exc:
        if place.state_file.exists():
            say(f"{exc}; removing by prefix {place.prefix}")
    else:
        names.update(n for n in lab.namespaces if n.startswith(place.prefix))
        for record in lab.processes.values():
            processes.send(record, signal.SIGKILL)
    names.update(lab_namespaces(place))
    existing = set(lab_namespaces(place))
    switch = place.namespace(naming.SWITCH_ROLE)
    for name in sorted(names, key=lambda n: (n == switch, n)):
        if name in existing:
            say(f"removing namespace {name} and its processes")
        netns.remove_namespace(name)
    left = lab_namespaces(place)
    if left:
        raise commands.LabError(
            f"namespaces {left} are still there after `floatip lab down`; "
            "remove them with `ip netns del NAME`"
        )
    _remove_files(place)
    return sorted(names & existing)


def _remove_files(place: state.Place) -> None:
    for entry in STATE_ENTRIES:
        path = place.path(entry)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        place.directory.rmdir()  # only if empty: never remove what the lab did not write
