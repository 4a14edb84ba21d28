"""Fixtures for the agent's end-to-end tests: real `floatip-agent` processes in lab nodes, talking
to floatip's own API server over the lab's management network.

How the agents reach the API server: the server runs in this test process (so the test keeps
its fault controls, ``down()``/``up()``/``hang()``), but its listening socket is created inside
an ``api`` lab host that sits only on the management network (198.51.100.0/24, ``eth1``). A
socket stays in the namespace it was created in, so the agents, each inside its node's
namespace with its own ``eth1`` on the same bridge, connect to ``https://198.51.100.x:PORT``
like to any API server, and nothing is added to the machine's root namespace (no address, no
veth): parallel test runs cannot collide. The TLS certificate names that address.

The test plays the operator: it writes VirtualIPs and their status (holder, epoch, history)
straight into the server's object layer, which emits the same watch events an HTTP write
would. The agents are the real clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from floatip_agent import kernel_addresses, namespaces
from floatip_apiserver import runtime
from floatip_apiserver.objects import WriteOptions
from floatip_apiserver.server import ApiServer
from floatip_apiserver.testing import CRDS
from floatip_lab import hosts, netns
from tests.kernel import logs, nshttp

LanFactory = Callable[..., netns.Topology]
AGENT_PORT = 9720
OPTS = WriteOptions(field_validation="Strict", manager="test-operator")


class NamespacedServer(runtime.RunningServer):
    """A `RunningServer` whose listening socket lives in network namespace `netns`."""

    def __init__(self, api: ApiServer, workdir: pathlib.Path, host: str, port: int, netns: str):
        self.netns = netns
        super().__init__(api, workdir, host, port, tls=True)

    async def up(self) -> None:
        if self._runner is not None:
            return
        self._runner = web.AppRunner(self.api.app(), handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        assert self.credentials is not None
        context = self.credentials.server_context(self.workdir)
        with namespaces.entered(self.netns):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(128)
        sock.setblocking(False)
        self._site = web.SockSite(self._runner, sock, ssl_context=context)  # type: ignore[assignment]
        await self._site.start()


class Cluster:
    """The API server as the test (playing the operator) sees it."""

    def __init__(self, server: NamespacedServer) -> None:
        self.server = server
        self.api = server.api

    def _res(self, group: str, version: str, plural: str) -> Any:
        res = self.api.registry.get(group, version, plural)
        assert res is not None, f"{group}/{version}/{plural} not served"
        return res

    @property
    def vips(self) -> Any:
        return self._res("floatip.io", "v1alpha1", "virtualips")

    def create_node(
        self, name: str, *, internal_ip: str, labels: dict[str, str] | None = None
    ) -> None:
        body = {
            "metadata": {"name": name, "labels": labels or {}},
            "status": {"addresses": [{"type": "InternalIP", "address": internal_ip}]},
        }
        self.api.objects.create(self._res("", "v1", "nodes"), "", body, OPTS)

    def create_namespace(self, name: str) -> None:
        self.api.objects.create(
            self._res("", "v1", "namespaces"), "", {"metadata": {"name": name}}, OPTS
        )

    def create_vip(self, name: str, spec: dict[str, Any]) -> None:
        body = {"apiVersion": "floatip.io/v1alpha1", "kind": "VirtualIP",
                "metadata": {"name": name}, "spec": spec}  # fmt: skip
        self.api.objects.create(self.vips, "", body, OPTS)

    def patch_status(self, name: str, status: dict[str, Any]) -> None:
        self.api.objects.patch(
            self.vips, "", name, "application/merge-patch+json", {"status": status}, OPTS,
            subresource="status",
        )  # fmt: skip

    def assign(self, name: str, holder: str | None, epoch: int, reason: str = "Assigned") -> None:
        """Play the operator: holder at epoch, with a history entry saying why."""
        current = self.vip(name).get("status") or {}
        move = {"time": "2026-01-01T00:00:00Z", "from": current.get("holder"), "to": holder,
                "reason": reason, "epoch": epoch}  # fmt: skip
        move = {k: v for k, v in move.items() if v is not None}
        history = [*(current.get("history") or []), move][-10:]
        self.patch_status(name, {"holder": holder, "epoch": epoch, "history": history})

    def vip(self, name: str) -> dict[str, Any]:
        obj = self.api.store.get(self.vips.key, "", name)
        assert obj is not None, f"VirtualIP {name} is gone"
        return obj

    def delete_vip(self, name: str) -> None:
        self.api.objects.delete(self.vips, "", name, OPTS)

    def events(self, *, reason: str | None = None) -> list[dict[str, Any]]:
        res = self._res("events.k8s.io", "v1", "events")
        # One store behind both Event APIs: read them as events.k8s.io/v1 serves them.
        found = [self.api.objects.view(res, e) for e in self.api.store.items(res.key, "default")]
        return [e for e in found if reason is None or e.get("reason") == reason]

    def lease(self, node: str) -> dict[str, Any] | None:
        res = self._res("coordination.k8s.io", "v1", "leases")
        return self.api.store.get(res.key, "floatip", f"floatip-agent-{node}")


class AgentProcess:
    """A `floatip-agent` process inside a lab node."""

    def __init__(self, host: hosts.Host, kubeconfig: pathlib.Path, logdir: pathlib.Path,
                 extra: list[str]) -> None:  # fmt: skip
        self.host = host
        self.log_path = logdir / f"agent-{host.name}-{time.monotonic_ns()}.log"
        self._log = self.log_path.open("w")
        argv = [
            sys.executable, "-m", "floatip_agent.main", "--node", host.name,
            "--kubeconfig", str(kubeconfig), "--listen", f"{host.mgmt_ip}:{AGENT_PORT}",
            "--lease-renew-seconds", "1", "--log-format", "json",
            *extra,
        ]  # fmt: skip
        self.process = host.popen(argv, stdout=self._log, stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_path.read_text()

    def log_events(self, event: str) -> list[dict[str, Any]]:
        """The agent's JSON log records named ``event``, in order."""
        return logs.events(self.log(), event)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Send `sig`, wait for the exit and return the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)

    async def healthz(self) -> dict[str, Any]:
        """GET /healthz from inside the node's namespace."""
        return await nshttp.get_json(
            self.host.netns, str(self.host.mgmt_ip), AGENT_PORT, "/healthz"
        )


async def eventually(
    check: Callable[[], Any],
    *,
    timeout: float = 15.0,  # noqa: ASYNC109 - a polling deadline, not a call timeout
    what: str = "condition",
) -> Any:
    """Poll `check` (sync or async) until it returns a truthy value; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        with contextlib.suppress(AssertionError, OSError, TimeoutError, ConnectionError):
            last = check()
            if isinstance(last, Awaitable):
                last = await last
            if last:
                return last
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}; last value: {last!r}")
        await asyncio.sleep(0.1)


class AgentLab:
    """A LAN with agent nodes, an API server on the management network, a client, an intruder."""

    def __init__(self, topo: netns.Topology, server: NamespacedServer, logdir: pathlib.Path,
                 nodes: list[str]) -> None:  # fmt: skip
        self.topo = topo
        self.server = server
        self.cluster = Cluster(server)
        self.logdir = logdir
        self.nodes = nodes
        self.agents: list[AgentProcess] = []

    def __getitem__(self, name: str) -> hosts.Host:
        return self.topo[name]

    def start_agent(self, node: str, *extra: str) -> AgentProcess:
        agent = AgentProcess(self.topo[node], self.server.kubeconfig, self.logdir, list(extra))
        self.agents.append(agent)
        return agent

    async def wait_ready(self, agent: AgentProcess) -> dict[str, Any]:
        """Until the agent answers /healthz and is not unsure."""
        return await eventually(
            lambda: _not_unsure(agent), timeout=20, what=f"agent {agent.host.name} ready"
        )

    def dump_logs(self) -> str:
        return "\n".join(f"--- {a.host.name} ---\n{a.log()[-6000:]}" for a in self.agents)


async def _not_unsure(agent: AgentProcess) -> dict[str, Any] | None:
    doc = await agent.healthz()
    return doc if not doc["unsure"] else None


async def kernel_addresses_of(host: hosts.Host) -> dict[str, int]:
    """Every address in `host` (text, no prefix) -> its IFA_PROTO (99: added by floatip)."""
    async with kernel_addresses.open_netlink(netns=host.netns) as ipr:
        snapshot = await kernel_addresses.read_snapshot(ipr)
    return {str(entry.interface.ip): entry.proto for entry in snapshot.addresses}


async def holds(host: hosts.Host, address: str) -> bool:
    """Whether `host` has `address` as floatip's (marked) address."""
    return (await kernel_addresses_of(host)).get(address) == 99


async def lacks(host: hosts.Host, address: str) -> bool:
    return address not in await kernel_addresses_of(host)


AgentLabFactory = Callable[..., Awaitable[AgentLab]]


@pytest_asyncio.fixture
async def agent_lab(
    lan: LanFactory, request: pytest.FixtureRequest
) -> AsyncIterator[AgentLabFactory]:
    """Factory: ``await agent_lab("server1", "server2", ipv6=True)`` builds nodes (data + mgmt),
    an ``api`` host (mgmt only), a ``client`` and an ``intruder`` (data only), and starts the
    API server in ``api``. Agents are started by the test (`AgentLab.start_agent`).
    """
    stack = contextlib.AsyncExitStack()
    labs: list[AgentLab] = []

    async def make(*nodes: str, ipv6: bool = False, bookmark_interval: float = 0.5) -> AgentLab:
        topo = lan(
            *(netns.HostSpec(n, mgmt=True) for n in nodes),
            netns.HostSpec("api", data=False, mgmt=True), "client", "intruder",
            ipv6=ipv6,
        )  # fmt: skip
        workdir = pathlib.Path(tempfile.mkdtemp(prefix="floatip-agent-test-"))
        stack.callback(lambda: __import__("shutil").rmtree(workdir, ignore_errors=True))
        api = ApiServer(history=10_000, bookmark_interval=bookmark_interval)
        runtime.seed(api, runtime.load_crds(CRDS))
        host = str(topo["api"].mgmt_ip)
        server = NamespacedServer(api, workdir, host, 6443, topo["api"].netns)
        api.address = f"{host}:6443"
        await server.start()
        stack.push_async_callback(server.stop)
        lab = AgentLab(topo, server, workdir, list(nodes))
        lab.cluster.create_namespace("floatip")
        for node in nodes:
            lab.cluster.create_node(node, internal_ip=str(topo[node].mgmt_ip))
        labs.append(lab)
        return lab

    try:
        yield make
    finally:
        failed = request.node.stash.get(_failed_key, False)
        for lab in labs:
            for agent in lab.agents:
                with contextlib.suppress(Exception):
                    agent.stop(signal.SIGKILL, timeout=5)
            if failed:
                print(lab.dump_logs())
        await stack.aclose()


_failed_key = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call" and report.failed:
        item.stash[_failed_key] = True
    return report
