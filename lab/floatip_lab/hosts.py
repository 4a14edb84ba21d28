"""One lab host: a network namespace joined to the lab's segments by veth pairs.

A `Host` runs commands inside its namespace (`ip netns exec`), reads its addresses and its
neighbour table (the judge of every failover test: which MAC does a client hold for the VIP?)
and can cut or restore its links. It is created by `floatip_lab.netns.build`; it never
creates or deletes namespaces itself.
"""

from __future__ import annotations

import contextlib
import enum
import ipaddress
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from floatip_lab import commands, ipjson, naming


class LinkEnd(enum.StrEnum):
    """Which end of a host's veth pair to set up or down."""

    HOST = "host"  # the host's own eth0/eth1: the host sees its link go down, routes vanish
    SWITCH = "switch"  # the bridge port: the host keeps its addresses but loses carrier


@dataclass(frozen=True)
class Attachment:
    """A host's port on one segment: its interface, MAC, addresses and the switch-side port."""

    ifname: str
    mac: str
    ipv4: ipaddress.IPv4Interface
    ipv6: ipaddress.IPv6Interface | None
    switch_port: str


@dataclass
class Host:
    """A lab host. `data` is its data LAN port (eth0), `mgmt` its management port (eth1)."""

    name: str
    index: int
    netns: str
    switch_netns: str
    data: Attachment | None
    mgmt: Attachment | None
    _children: list[subprocess.Popen[str]] = field(default_factory=list, repr=False)

    # -- identity -------------------------------------------------------------------------

    def _data(self) -> Attachment:
        if self.data is None:
            raise commands.LabError(
                f"lab host {self.name!r} is not on the data LAN; "
                "build it with HostSpec(..., data=True)"
            )
        return self.data

    @property
    def ip(self) -> ipaddress.IPv4Address:
        """The host's own IPv4 address on the data LAN."""
        return self._data().ipv4.ip

    @property
    def ip6(self) -> ipaddress.IPv6Address:
        """The host's own IPv6 address on the data LAN (the LAN must be built with ipv6=True)."""
        ipv6 = self._data().ipv6
        if ipv6 is None:
            raise commands.LabError(
                f"lab host {self.name!r} has no IPv6 address: build the LAN with ipv6=True"
            )
        return ipv6.ip

    @property
    def mac(self) -> str:
        """The MAC of the host's data LAN interface (eth0)."""
        return self._data().mac

    @property
    def mgmt_ip(self) -> ipaddress.IPv4Address:
        """The host's IPv4 address on the management network."""
        if self.mgmt is None:
            raise commands.LabError(
                f"lab host {self.name!r} is not on the management network; "
                "build it with HostSpec(..., mgmt=True)"
            )
        return self.mgmt.ipv4.ip

    # -- processes ------------------------------------------------------------------------

    def _wrap(self, argv: Sequence[str]) -> list[str]:
        if not argv:
            raise ValueError(f"empty command for lab host {self.name!r}")
        return ["ip", "netns", "exec", self.netns, *argv]

    def run(
        self,
        argv: Sequence[str],
        *,
        check: bool = True,
        timeout: float = 30.0,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run `argv` inside the host and wait; raise `LabCommandError` if `check` and it fails."""
        return commands.run(self._wrap(argv), check=check, timeout=timeout, input=input)

    def popen(
        self,
        argv: Sequence[str],
        *,
        stdout: int | None = subprocess.DEVNULL,
        stderr: int | None = subprocess.DEVNULL,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.Popen[str]:
        """Start `argv` inside the host without waiting (text mode).

        The process is stopped when the topology is torn down (`stop_processes`); callers
        may stop it earlier themselves.
        """
        child = subprocess.Popen(
            self._wrap(argv),
            stdout=stdout,
            stderr=stderr,
            text=True,
            env=dict(env) if env is not None else None,
        )
        self._children.append(child)
        return child

    def stop_processes(self, *, grace: float = 2.0) -> None:
        """SIGTERM every process started with `popen`, SIGKILL those alive after `grace` s."""
        for child in self._children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in self._children:
            try:
                child.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self._children.clear()

    def pids(self) -> list[int]:
        """Pids of every process inside the host's namespace (ours and any others)."""
        return namespace_pids(self.netns)

    # -- kernel state ---------------------------------------------------------------------

    def addresses(self, ifname: str | None = None) -> list[ipjson.Address]:
        """The host's addresses (on `ifname` only, if given), from `ip -j addr show`."""
        args = ["-j", "addr", "show", *(["dev", ifname] if ifname else [])]
        return ipjson.parse_addresses(commands.ip(*args, netns=self.netns))

    def neighbours(self, ifname: str | None = None) -> dict[ipjson.IPAddress, ipjson.Neighbour]:
        """The host's neighbour table: address -> (MAC or None, NUD states, interface)."""
        args = ["-j", "neigh", "show", *(["dev", ifname] if ifname else [])]
        return ipjson.parse_neighbours(commands.ip(*args, netns=self.netns))

    def neighbour_mac(self, address: ipjson.IPAddress | str) -> str | None:
        """The MAC the host currently holds for `address`, or None if it holds none."""
        entry = self.neighbours().get(ipaddress.ip_address(address))
        return entry.mac if entry else None

    def set_link(
        self, up: bool, *, ifname: str = naming.DATA_IFNAME, end: LinkEnd = LinkEnd.HOST
    ) -> None:
        """Set one of the host's links up or down, at the host's end or at the switch port.

        Cutting at `LinkEnd.SWITCH` is the pulled cable: the host keeps its addresses and
        sees only a lost carrier, as a holder cut off from the LAN would.
        """
        attachment = {naming.DATA_IFNAME: self.data, naming.MGMT_IFNAME: self.mgmt}.get(ifname)
        if attachment is None:
            raise commands.LabError(
                f"lab host {self.name!r} has no lab link {ifname!r}; "
                f"it has {[a.ifname for a in (self.data, self.mgmt) if a]}"
            )
        state = "up" if up else "down"
        if end is LinkEnd.HOST:
            commands.ip("link", "set", "dev", ifname, state, netns=self.netns)
        else:
            port = attachment.switch_port
            commands.ip("link", "set", "dev", port, state, netns=self.switch_netns)


def namespace_pids(netns: str) -> list[int]:
    """Pids of the processes inside namespace `netns` (`ip netns pids`); [] if it is gone."""
    done = commands.run(["ip", "netns", "pids", netns], check=False)
    if done.returncode != 0:
        return []
    return [int(word) for word in done.stdout.split()]


def kill_namespace_processes(netns: str) -> list[int]:
    """SIGKILL every process inside `netns` except this one; return the pids signalled."""
    killed: list[int] = []
    for pid in namespace_pids(netns):
        if pid == os.getpid():
            continue
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    return killed
