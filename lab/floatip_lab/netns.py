"""Building and tearing down a lab topology of network namespaces on the real kernel.

A topology is one *switch* namespace holding a Linux bridge per segment (``brdata`` for the
data LAN and, if any host asks for it, ``brmgmt`` for a management network apart from it) and
one namespace per host, joined to each bridge by a veth pair (host side ``eth0`` for data,
``eth1`` for management). Addresses and MACs follow `floatip_lab.naming`'s plan.

Usage::

    spec = netns.LanSpec.of("demo", "server1", "server2", "client", ipv6=True)
    with netns.build(spec) as topo:
        topo["client"].run(["ping", "-c1", str(topo["server1"].ip)])

    # management network: hosts opt in; a host may be on it alone (an API server)
    netns.LanSpec.of("lab", netns.HostSpec("server1", mgmt=True),
                     netns.HostSpec("api", data=False, mgmt=True), "client")

Decisions:
- IPv6: the hosts' fixed addresses are added with ``nodad`` so nothing waits on DAD. DAD
  itself stays at the kernel's default on every interface (link-local addresses still run
  it) so a test can tell whether the agent adds its own addresses without a DAD stall.
- Bridges run without STP (ports forward at once) and without multicast snooping (NDP
  multicast is flooded, as on a dumb switch).
- No sysctl is changed: ``arp_accept`` stays 0, as on real clients (see DESIGN.md).
- Namespaces are named ``fip-<pid>-<tag>-<role>``; `cleanup_stale` removes those whose
  owning pid is gone, after killing processes left inside them. A reused pid keeps a stale
  namespace alive until that process exits too; that errs on the side of not deleting.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType

from floatip_lab import commands, hosts, ipjson, naming


@dataclass(frozen=True)
class HostSpec:
    """A host to build: on the data LAN (eth0) unless `data` is False, on mgmt (eth1) if `mgmt`."""

    name: str
    data: bool = True
    mgmt: bool = False


@dataclass(frozen=True)
class LanSpec:
    """What to build. Host indexes (and so addresses) follow the order of `hosts`, from 1.

    `data_v4` is the data LAN's IPv4 network (`naming.check_data_network`).
    """

    tag: str
    hosts: tuple[HostSpec, ...]
    ipv6: bool = False
    data_v4: ipaddress.IPv4Network = naming.DATA_V4

    @classmethod
    def of(
        cls, tag: str, *hosts: str | HostSpec, ipv6: bool = False, mgmt: bool = False
    ) -> LanSpec:
        """A spec from host names and/or `HostSpec`s; `mgmt` puts the named ones on mgmt too."""
        specs = tuple(HostSpec(h, mgmt=mgmt) if isinstance(h, str) else h for h in hosts)
        return cls(tag=tag, hosts=specs, ipv6=ipv6)

    @property
    def has_mgmt(self) -> bool:
        """Whether any host joins the management network (so its bridge must exist)."""
        return any(h.mgmt for h in self.hosts)

    def validate(self) -> None:
        """Raise ValueError naming the problem if this spec cannot be built."""
        naming.check_tag(self.tag)
        naming.check_data_network(self.data_v4)
        if not self.hosts:
            raise ValueError(f"lab {self.tag!r} has no hosts: give at least one host name")
        if len(self.hosts) > naming.MAX_HOSTS:
            raise ValueError(
                f"lab {self.tag!r} has {len(self.hosts)} hosts; the address plan allows "
                f"{naming.MAX_HOSTS}"
            )
        seen: set[str] = set()
        for spec in self.hosts:
            naming.check_role(spec.name)
            if spec.name == naming.SWITCH_ROLE:
                raise ValueError(f"host name {spec.name!r} is reserved for the switch namespace")
            if spec.name in seen:
                raise ValueError(f"lab {self.tag!r} names host {spec.name!r} twice")
            if not (spec.data or spec.mgmt):
                raise ValueError(f"host {spec.name!r} is on no segment: set data or mgmt")
            seen.add(spec.name)


class Topology:
    """A built lab: the switch namespace and its hosts. Close it (or use `with`) to remove all."""

    def __init__(
        self, spec: LanSpec, owner: int, namer: Callable[[str], str] | None = None
    ) -> None:
        self.spec = spec
        self.owner = owner
        self._namer = namer or (lambda role: naming.namespace_name(owner, spec.tag, role))
        self.switch = self._namer(naming.SWITCH_ROLE)
        self.hosts: dict[str, hosts.Host] = {}
        self._created: list[str] = []  # namespaces in creation order, for teardown
        self._closed = False

    def __getitem__(self, name: str) -> hosts.Host:
        try:
            return self.hosts[name]
        except KeyError:
            raise KeyError(
                f"lab {self.spec.tag!r} has no host {name!r}; it has {sorted(self.hosts)}"
            ) from None

    def __iter__(self) -> Iterator[hosts.Host]:
        return iter(self.hosts.values())

    def namespaces(self) -> list[str]:
        """Every namespace this topology created (switch first)."""
        return list(self._created)

    def __enter__(self) -> Topology:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop processes started in the hosts and delete every namespace created.

        Runs every step even if one fails, then raises one `LabError` listing all failures.
        Calling it twice is harmless.
        """
        if self._closed:
            return
        self._closed = True
        failures: list[str] = []
        for host in self.hosts.values():
            try:
                host.stop_processes()
            except OSError as exc:
                failures.append(f"stopping processes of {host.name!r}: {exc}")
        for name in reversed(self._created):
            try:
                remove_namespace(name)
            except commands.LabError as exc:
                failures.append(str(exc))
        if failures:
            raise commands.LabError(
                f"teardown of lab {self.spec.tag!r} left things behind; remove them by hand "
                "(`ip netns del NAME`) or run cleanup_stale() after this process exits:\n  "
                + "\n  ".join(failures)
            )

    # -- building (called by `build`) ----------------------------------------------------

    def _add_namespace(self, name: str) -> None:
        commands.run(["ip", "netns", "add", name])
        self._created.append(name)
        commands.ip("link", "set", "dev", "lo", "up", netns=name)

    def _build(self) -> None:
        self._add_namespace(self.switch)
        bridges = [naming.DATA_BRIDGE] + ([naming.MGMT_BRIDGE] if self.spec.has_mgmt else [])
        for bridge in bridges:
            commands.ip(
                "link", "add", bridge, "type", "bridge", "stp_state", "0", "mcast_snooping", "0",
                netns=self.switch,
            )  # fmt: skip
            commands.ip("link", "set", "dev", bridge, "up", netns=self.switch)
        for index, spec in enumerate(self.spec.hosts, start=1):
            self._build_host(index, spec)

    def _build_host(self, index: int, spec: HostSpec) -> None:
        netns = self._namer(spec.name)
        self._add_namespace(netns)
        data = mgmt = None
        if spec.data:
            data = hosts.Attachment(
                ifname=naming.DATA_IFNAME,
                mac=naming.data_mac(index),
                ipv4=naming.data_ipv4(index, self.spec.data_v4),
                ipv6=naming.data_ipv6(index) if self.spec.ipv6 else None,
                switch_port=naming.switch_port(naming.DATA_IFNAME, index),
            )
            self._attach(netns, data, naming.DATA_BRIDGE)
        if spec.mgmt:
            mgmt = hosts.Attachment(
                ifname=naming.MGMT_IFNAME,
                mac=naming.mgmt_mac(index),
                ipv4=naming.mgmt_ipv4(index),
                ipv6=None,
                switch_port=naming.switch_port(naming.MGMT_IFNAME, index),
            )
            self._attach(netns, mgmt, naming.MGMT_BRIDGE)
        self.hosts[spec.name] = hosts.Host(
            name=spec.name,
            index=index,
            netns=netns,
            switch_netns=self.switch,
            data=data,
            mgmt=mgmt,
        )

    def _attach(self, netns: str, port: hosts.Attachment, bridge: str) -> None:
        commands.ip(
            "link", "add", port.switch_port, "type", "veth",
            "peer", "name", port.ifname, "address", port.mac, "netns", netns,
            netns=self.switch,
        )  # fmt: skip
        commands.ip(
            "link", "set", "dev", port.switch_port, "master", bridge, "up", netns=self.switch
        )
        commands.ip("link", "set", "dev", port.ifname, "up", netns=netns)
        commands.ip("addr", "add", str(port.ipv4), "dev", port.ifname, netns=netns)
        if port.ipv6 is not None:
            commands.ip("addr", "add", str(port.ipv6), "dev", port.ifname, "nodad", netns=netns)


def build(
    spec: LanSpec, *, owner: int | None = None, namer: Callable[[str], str] | None = None
) -> Topology:
    """Build `spec` and return the topology; on any failure remove what was built and re-raise.

    `owner` is the pid encoded in the namespace names (default: this process). Only pass
    another pid to simulate a run that died (the stale-cleanup test does). `namer` maps a
    role (host name or switch) to a namespace name instead: `floatip lab` outlives the
    process that built it, so it names its namespaces by a fixed prefix (`floatip_lab.state`).
    """
    spec.validate()
    topo = Topology(spec, owner if owner is not None else os.getpid(), namer)
    try:
        topo._build()
    except BaseException as exc:
        try:
            topo.close()
        except commands.LabError as teardown_exc:
            exc.add_note(f"and tearing down the partial lab failed too: {teardown_exc}")
        raise
    return topo


def list_namespaces() -> list[str]:
    """Every lab namespace (``fip-<pid>-...``) on this machine, of any owner."""
    names = ipjson.parse_netns_names(commands.ip("-j", "netns", "list"))
    return [name for name in names if naming.owner_pid(name) is not None]


def remove_namespace(name: str) -> None:
    """Kill the processes inside namespace `name`, then delete it. A missing name is fine."""
    hosts.kill_namespace_processes(name)
    done = commands.run(["ip", "netns", "del", name], check=False)
    if done.returncode != 0 and "No such file or directory" not in done.stderr:
        raise commands.LabCommandError(
            ["ip", "netns", "del", name], done.returncode, done.stdout, done.stderr
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def cleanup_stale() -> list[str]:
    """Remove lab namespaces whose owning process is gone; return their names.

    Namespaces of live owners (this process, a parallel test run) are left alone.
    """
    removed: list[str] = []
    for name in list_namespaces():
        pid = naming.owner_pid(name)
        if pid is None or _alive(pid):
            continue
        with contextlib.suppress(commands.LabCommandError):
            remove_namespace(name)  # a parallel cleanup may win the race; checked below
        removed.append(name)
    still_there = set(list_namespaces()) & set(removed)
    if still_there:
        raise commands.LabError(
            f"could not remove stale lab namespaces {sorted(still_there)}; "
            "remove them with `ip netns del NAME`"
        )
    return removed
