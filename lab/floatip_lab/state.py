"""Where a running `floatip lab` lives and what it is made of: its state directory and file.

The lab outlives the `floatip lab up` process that built it, so the test harness's naming by
owner pid (`floatip_lab.naming`) cannot tell a live lab from a dead one. Instead every lab has
a *tag* and a fixed namespace prefix ``fip-lab-<tag>-`` (``fip-lab-main-server1``), and a
state directory holding ``state.json`` (namespaces, hosts, addresses, processes, faults),
the kubeconfigs and every process's config and log:

- default state directory ``/run/floatip-lab`` (tmpfs: it goes at reboot, as namespaces do),
  tag ``main``;
- ``FLOATIP_LAB_STATE_DIR=/some/dir`` runs a separate lab (the tests do) whose tag is a
  short hash of that directory, so two labs never share a namespace name.

`floatip lab down` removes what the state file lists *and* every namespace with the prefix,
so it also works when the state file is missing, half written or corrupt.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import json
import os
import pathlib
from typing import Any

from floatip_lab import commands, naming

STATE_DIR_ENV = "FLOATIP_LAB_STATE_DIR"
DEFAULT_STATE_DIR = pathlib.Path("/run/floatip-lab")
DEFAULT_TAG = "main"
NAME_PREFIX = "fip-lab-"
FORMAT_VERSION = 1


class StateError(commands.LabError):
    """The state file is missing or cannot be read."""


@dataclasses.dataclass(frozen=True)
class Place:
    """A lab's state directory and the tag its namespace names carry."""

    directory: pathlib.Path
    tag: str

    @property
    def prefix(self) -> str:
        """Every namespace of this lab starts with this (``fip-lab-<tag>-``)."""
        return f"{NAME_PREFIX}{self.tag}-"

    def namespace(self, role: str) -> str:
        """The namespace of `role` (a host name or the switch)."""
        return f"{self.prefix}{role}"

    @property
    def state_file(self) -> pathlib.Path:
        return self.directory / "state.json"

    @property
    def kubeconfig(self) -> pathlib.Path:
        """Admin kubeconfig for this machine's own namespace (through the 127.0.0.1 relay)."""
        return self.directory / "kubeconfig"

    @property
    def lab_kubeconfig(self) -> pathlib.Path:
        """Admin kubeconfig for processes inside the lab (the API's management address)."""
        return self.directory / "kubeconfig.mgmt"

    def account_kubeconfig(self, account: str) -> pathlib.Path:
        """Kubeconfig for processes inside the lab authenticating as ServiceAccount ``account``."""
        return self.directory / f"kubeconfig.mgmt.{account}"

    def agent_kubeconfig(self, node: str, *, local: bool = False) -> pathlib.Path:
        """Kubeconfig of the agent on ``node``: a token bound to its Pod, so to its node.

        ``local``: the same credentials through the 127.0.0.1 relay, for this machine's own
        tools (to see, with kubectl, what that node's agent may and may not write).
        """
        return self.directory / "agents" / f"kubeconfig.{node}{'.local' if local else ''}"

    def path(self, *parts: str) -> pathlib.Path:
        """A file or directory under the state directory."""
        return self.directory.joinpath(*parts)


def locate(environ: dict[str, str] | None = None) -> Place:
    """The lab this invocation means: `STATE_DIR_ENV` if set, else the default one."""
    env = os.environ if environ is None else environ
    configured = env.get(STATE_DIR_ENV)
    if not configured:
        return Place(DEFAULT_STATE_DIR, DEFAULT_TAG)
    directory = pathlib.Path(configured).absolute()
    if directory == DEFAULT_STATE_DIR:
        return Place(directory, DEFAULT_TAG)
    digest = hashlib.sha256(str(directory).encode()).hexdigest()[:8]
    return Place(directory, digest)


@dataclasses.dataclass
class HostRecord:
    """One lab host as `status --json` reports it (data LAN fields are None off the LAN)."""

    name: str
    role: str  # node | client | intruder | api | operator | cp (a control-plane host)
    netns: str
    ip: str | None
    ip6: str | None
    mac: str | None
    mgmt_ip: str | None
    data_port: str | None  # its port on the switch's data bridge
    mgmt_port: str | None


@dataclasses.dataclass
class ProcessRecord:
    """A long-running lab process: how to find it, check it and start it again."""

    name: str
    host: str
    netns: str
    pid: int
    argv: list[str]
    log: str
    enters_itself: bool = False


@dataclasses.dataclass
class Faults:
    """Faults in force, so `heal` can undo them all."""

    cut: list[list[str]] = dataclasses.field(default_factory=list)  # [host, ifname]
    frozen: list[str] = dataclasses.field(default_factory=list)
    killed: list[str] = dataclasses.field(default_factory=list)  # powered-off nodes
    dead: list[str] = dataclasses.field(default_factory=list)  # killed processes (kill-leader)
    stopped_pods: list[str] = dataclasses.field(default_factory=list)  # nodes (stop-pod)
    api_down: bool = False
    stopped_apiservers: list[str] = dataclasses.field(default_factory=list)  # cp hosts


@dataclasses.dataclass
class ControlPlane:
    """One lab cluster's control plane (`floatip lab up --control-plane N`): its hosts, each
    running a stand-in kube-apiserver and the control-plane agent, its VIP and identity."""

    cluster_id: str
    vip: str  # ADDRESS/PREFIX on the data LAN
    hosts: list[str]


@dataclasses.dataclass
class LabState:
    """Everything `down`, `status`, `exec` and `fault` need to know about a running lab."""

    tag: str
    phase: str  # building | ready
    nodes: int
    ipv6: bool
    switch: str
    namespaces: list[str]
    hosts: dict[str, HostRecord] = dataclasses.field(default_factory=dict)
    processes: dict[str, ProcessRecord] = dataclasses.field(default_factory=dict)
    api_url: str = ""
    api_port: int = 0
    relay_port: int = 0
    faults: Faults = dataclasses.field(default_factory=Faults)
    profile: str = "default"  # the operator's and the agents' timing preset
    agent_args: list[str] = dataclasses.field(default_factory=list)  # extra agent flags (bench)
    data_network: str = str(naming.DATA_V4)  # the data LAN (`floatip lab up --data-network`)
    control_planes: list[ControlPlane] = dataclasses.field(default_factory=list)

    def host(self, name: str) -> HostRecord:
        """The host called `name`, or a LabError listing the hosts there are."""
        try:
            return self.hosts[name]
        except KeyError:
            raise commands.LabError(
                f"the lab has no host {name!r}; its hosts are {', '.join(sorted(self.hosts))}"
            ) from None

    def nodes_names(self) -> list[str]:
        return [h.name for h in self.hosts.values() if h.role == "node"]

    def data_v4(self) -> ipaddress.IPv4Network:
        """The data LAN's IPv4 network."""
        return ipaddress.IPv4Network(self.data_network)


def save(place: Place, lab: LabState) -> None:
    """Write the state file atomically (a crash leaves the old or the new one, never half)."""
    place.directory.mkdir(parents=True, exist_ok=True)
    data = {"version": FORMAT_VERSION, **dataclasses.asdict(lab)}
    tmp = place.state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(place.state_file)


def load(place: Place) -> LabState:
    """Read the state file; StateError says what is wrong and that `down` still works."""
    path = place.state_file
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise StateError(
            f"no lab is up here: {path} does not exist (start one with `floatip lab up`)"
        ) from None
    except (OSError, ValueError) as exc:
        raise StateError(
            f"the lab's state file {path} is unreadable ({exc}); "
            "`floatip lab down` still removes the lab by its namespace prefix"
        ) from exc
    try:
        return _from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise StateError(
            f"the lab's state file {path} is corrupt ({type(exc).__name__}: {exc}); "
            "`floatip lab down` still removes the lab by its namespace prefix"
        ) from exc


def _from_dict(data: Any) -> LabState:
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        raise ValueError(f"expected a version {FORMAT_VERSION} state object")
    fields = {k: v for k, v in data.items() if k != "version"}
    fields["hosts"] = {k: HostRecord(**v) for k, v in fields["hosts"].items()}
    fields["processes"] = {k: ProcessRecord(**v) for k, v in fields["processes"].items()}
    fields["faults"] = Faults(**fields["faults"])
    fields["control_planes"] = [ControlPlane(**c) for c in fields.get("control_planes", ())]
    return LabState(**fields)
