"""A simulated cluster for the operator's tests: Nodes, agent Leases, fake agents, operators.

Fake agents are aiohttp servers on 127.0.0.1 serving ``/healthz`` per docs/design/protocol.md,
with JSON the test controls (``held``, ``health``) and a switch that kills them (the port then
refuses connections, as a crashed agent's would). The test plays the agent's API part itself
(Lease, ``status.announcement``); a :class:`Renewer` renews an agent's Lease in the background
as the agent would, for tests whose Leases are short enough to expire. Operators run as real
subprocesses (``python -m floatip_operator``), each as a user of its own (in
``system:masters``) so that the API server's hold fault can single out one replica's writes;
their logs go to files shown on failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import os
import pathlib
import signal
import socket
import ssl
import sys
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from floatip_apiserver import rbac
from floatip_apiserver.runtime import RunningServer

VIPS = "/apis/floatip.io/v1alpha1/virtualips"
LEASES = "/apis/coordination.k8s.io/v1/namespaces/floatip/leases"
DEADLINE = 20.0
T = TypeVar("T")


def free_port() -> int:
    """A TCP port on loopback nobody listens on now (for an operator's --metrics-port)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def scrape(port: int) -> str | None:
    """The operator's /metrics on loopback ``port``; None while it does not answer."""
    async with aiohttp.ClientSession() as session:
        try:
            async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                return await response.text()
        except aiohttp.ClientError:
            return None


async def metrics_showing(
    port: int,
    wanted: Sequence[str],
    what: str,
    *,
    about: Sequence[str] = ("floatip_operator_",),
    cluster: Cluster | None = None,
) -> str:
    """Poll the operator's /metrics on ``port`` until it has every line of ``wanted``; fail
    naming ``what`` with its lines containing any of ``about`` (and ``cluster``'s state)."""

    async def probe() -> str | None:
        text = await scrape(port)
        return text if text is not None and all(w in text for w in wanted) else None

    async def seen() -> str:
        text = await scrape(port) or "(no answer)"
        lines = [line for line in text.splitlines() if any(a in line for a in about)]
        state = await cluster.describe()() if cluster is not None else ""
        return "\n".join(lines) + "\n" + state

    return await eventually(what, probe, describe=seen)


async def eventually(
    what: str,
    probe: Callable[[], Awaitable[T]],
    deadline: float = DEADLINE,
    *,
    describe: Callable[[], Awaitable[str]] | None = None,
) -> T:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` at the deadline.

    ``describe`` says what was seen instead (statuses, log tails) in the failure message.
    """
    end = time.monotonic() + deadline
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > end:
            seen = f"; saw:\n{await describe()}" if describe is not None else ""
            raise AssertionError(f"timed out after {deadline} s waiting for {what}{seen}")
        await asyncio.sleep(0.05)


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class FakeAgent:
    """One node's agent health endpoint; ``kill()`` makes it refuse connections."""

    def __init__(self, node: str) -> None:
        self.node = node
        self.held: dict[str, int] = {}
        self.health: dict[str, bool] = {}
        self.links: dict[str, bool] | None = None  # carriers, when the test reports them
        self.port = 0
        self._runner: web.AppRunner | None = None
        self.probes = 0
        self.failures_left = 0  # answer this many probes with 503 (lost probes)

    async def _healthz(self, request: web.Request) -> web.Response:
        self.probes += 1
        if self.failures_left > 0:
            self.failures_left -= 1
            return web.json_response({"error": "injected"}, status=503)
        body = {
            "node": self.node,
            "unsure": False,
            "lastApiContact": now(),
            "held": self.held,
            "health": self.health,
        }
        if self.links is not None:
            body["links"] = self.links
        return web.json_response(body)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        if not self.port:
            server = site._server
            assert server is not None
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def kill(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Cluster:
    """The API server, a REST client with the admin token, fake agents and operators."""

    def __init__(self, server: RunningServer, session: aiohttp.ClientSession, tmp: pathlib.Path):
        self.server = server
        self.session = session
        self.tmp = tmp
        self.agents: dict[str, FakeAgent] = {}
        self.operators: list[Operator] = []
        self.renewers: list[Renewer] = []

    @classmethod
    @contextlib.asynccontextmanager
    async def start(cls, server: RunningServer, tmp: pathlib.Path) -> AsyncIterator[Cluster]:
        context = ssl.create_default_context(cadata=(server.ca_pem or b"").decode())
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as session:
            lab = cls(server, session, tmp)
            await lab.call("POST", "/api/v1/namespaces", {"metadata": {"name": "floatip"}})
            try:
                yield lab
            finally:
                # pytest shows captured output only for failed tests
                for op in lab.operators:
                    print(f"---- operator {op.identity} log ----\n{op.log_text()[-20000:]}")
                for renewer in lab.renewers:
                    await renewer.stop()
                for op in lab.operators:
                    await op.stop()
                for agent in lab.agents.values():
                    await agent.kill()

    async def call(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        content_type: str = "application/json",
        ok: tuple[int, ...] = (200, 201),
    ) -> dict[str, Any]:
        headers = {
            "Authorization": f"Bearer {self.server.admin_token}",
            "Content-Type": content_type,
        }
        data = None if body is None else json.dumps(body)
        async with self.session.request(
            method, self.server.url + path, data=data, headers=headers
        ) as response:
            payload: dict[str, Any] = await response.json(content_type=None)
            if response.status not in ok:
                raise AssertionError(f"{method} {path}: {response.status} {payload}")
            payload["_code"] = response.status
            return payload

    async def service_event_reasons(self, name: str) -> list[str]:
        """The reasons of the Events regarding Service ``name`` (namespace ``default``)."""
        found = await self.call("GET", "/apis/events.k8s.io/v1/namespaces/default/events")
        return [
            e["reason"]
            for e in found["items"]
            if e.get("regarding", {}).get("kind") == "Service" and e["regarding"]["name"] == name
        ]

    # -- nodes and agents -------------------------------------------------------------

    async def add_node(
        self,
        name: str,
        *,
        labels: dict[str, str] | None = None,
        interfaces: str = "eth0=192.0.2.{n}/24",
        agent: bool = True,
        lease_seconds: int = 30,
    ) -> FakeAgent | None:
        index = len(self.agents) + 11
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": labels or {}},
        }
        await self.call("POST", "/api/v1/nodes", node)
        await self.set_ready(name, True)
        if not agent:
            return None
        fake = FakeAgent(name)
        await fake.start()
        self.agents[name] = fake
        lease = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": f"floatip-agent-{name}",
                "namespace": "floatip",
                "annotations": {
                    "floatip.io/endpoint": fake.url,
                    "floatip.io/interfaces": interfaces.format(n=index),
                    "floatip.io/macs": f"eth0=02:f1:00:00:00:{index:02x}",
                },
            },
            "spec": {
                "holderIdentity": name,
                "leaseDurationSeconds": lease_seconds,
                "renewTime": now(),
            },
        }
        await self.call("POST", LEASES, lease)
        return fake

    async def renew(self, name: str, annotations: dict[str, str] | None = None) -> str:
        """Renew node ``name``'s agent Lease as its agent would; return the renewTime written."""
        stamp = now()
        body: dict[str, Any] = {"spec": {"renewTime": stamp}}
        if annotations:
            body["metadata"] = {"annotations": annotations}
        await self.call(
            "PATCH",
            f"{LEASES}/floatip-agent-{name}",
            body,
            content_type="application/merge-patch+json",
        )
        return stamp

    def keep_renewed(self, name: str, every: float) -> Renewer:
        """Renew node ``name``'s agent Lease every ``every`` s from now on (see :class:`Renewer`)."""
        renewer = Renewer(self, name, every).start()
        self.renewers.append(renewer)
        return renewer

    async def set_ready(self, name: str, ready: bool) -> None:
        condition = {"type": "Ready", "status": "True" if ready else "False", "reason": "Test"}
        await self.call(
            "PATCH",
            f"/api/v1/nodes/{name}/status",
            {"status": {"conditions": [condition]}},
            content_type="application/merge-patch+json",
        )

    async def label_node(self, name: str, labels: dict[str, str | None]) -> None:
        await self.call(
            "PATCH",
            f"/api/v1/nodes/{name}",
            {"metadata": {"labels": labels}},
            content_type="application/merge-patch+json",
        )

    # -- VirtualIPs ---------------------------------------------------------------------

    async def create_vip(self, name: str, **spec: Any) -> dict[str, Any]:
        body = {
            "apiVersion": "floatip.io/v1alpha1",
            "kind": "VirtualIP",
            "metadata": {"name": name},
            "spec": spec,
        }
        return await self.call("POST", VIPS, body)

    async def vip(self, name: str) -> dict[str, Any] | None:
        answer = await self.call("GET", f"{VIPS}/{name}", ok=(200, 404))
        return None if answer["_code"] == 404 else answer

    async def status(self, name: str) -> dict[str, Any]:
        vip = await self.vip(name)
        return (vip or {}).get("status") or {}

    async def announce(self, name: str, *, node: str, epoch: int) -> None:
        """Play the holder's agent: hold the address, then report it announced at ``epoch``."""
        if node in self.agents:
            self.agents[node].held[name] = epoch
        body = {
            "status": {
                "announcement": {
                    "node": node,
                    "epoch": epoch,
                    "mac": "02:f1:00:00:00:01",
                    "time": now(),
                }
            }
        }
        await self.call(
            "PATCH", f"{VIPS}/{name}/status", body, content_type="application/merge-patch+json"
        )

    async def wait_status(
        self,
        name: str,
        check: Callable[[dict[str, Any]], bool],
        what: str,
        deadline: float = DEADLINE,
    ) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            status = await self.status(name)
            return status if status and check(status) else None

        return await eventually(f"{name}: {what}", probe, deadline, describe=self.describe(name))

    def describe(self, *names: str) -> Callable[[], Awaitable[str]]:
        """A ``describe`` for :func:`eventually`: these VirtualIPs' status, operators' log tails."""

        async def seen() -> str:
            lines = [f"status of {name}: {await self.status(name)}" for name in names]
            for op in self.operators:
                lines.append(f"---- operator {op.identity} log tail ----\n{op.log_tail()}")
            return "\n".join(lines)

        return seen

    async def placed_and_announced(self, name: str) -> dict[str, Any]:
        """Wait for a holder, announce as its agent would, and wait for Ready."""
        status = await self.wait_status(name, lambda s: bool(s.get("holder")), "a holder")
        await self.announce(name, node=status["holder"], epoch=status["epoch"])
        return await self.wait_status(name, ready, "Ready")

    async def events(self, name: str) -> list[dict[str, Any]]:
        found = await self.call("GET", "/apis/events.k8s.io/v1/namespaces/default/events")
        return [e for e in found["items"] if e.get("regarding", {}).get("name") == name]

    # -- operators ---------------------------------------------------------------------

    async def run_operator(self, identity: str = "op-a", *extra: str) -> Operator:
        op = Operator(self, identity, list(extra))
        await op.start()
        self.operators.append(op)
        return op


def condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    for item in status.get("conditions") or []:
        if item["type"] == kind:
            return dict(item)
    return {}


def ready(status: dict[str, Any]) -> bool:
    return condition(status, "Ready").get("status") == "True"


class Renewer:
    """Renews one agent Lease every ``every`` s in the background while ``running`` is set.

    Failed renewals (the API server down) are counted and retried at the next period, as the
    agent does; ``renewed`` is the renewTime of the last renewal the API server accepted.
    """

    def __init__(self, lab: Cluster, node: str, every: float) -> None:
        self.lab = lab
        self.node = node
        self.every = every
        self.running = asyncio.Event()
        self.running.set()
        self.renewed: datetime.datetime | None = None
        self.failures = 0
        self._task: asyncio.Task[None] | None = None
        self._busy = asyncio.Lock()

    def start(self) -> Renewer:
        self._task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        while True:
            await self.running.wait()
            async with self._busy:
                if self.running.is_set():
                    await self._renew()
            await asyncio.sleep(self.every)

    async def _renew(self) -> None:
        try:
            stamp = await self.lab.renew(self.node)
        except (aiohttp.ClientError, AssertionError):
            self.failures += 1
            return
        self.renewed = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))

    async def pause(self) -> None:
        """Stop renewing; returns once no renewal is in flight any more."""
        self.running.clear()
        async with self._busy:
            pass

    def resume(self) -> None:
        self.running.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


#: How long an operator may take to exit on SIGTERM before it is killed (0.2 s is usual).
STOP_GRACE_S = 10.0


class Operator:
    """``python -m floatip_operator`` as a subprocess; SIGTERM (or SIGKILL) stops it."""

    def __init__(self, lab: Cluster, identity: str, extra: list[str]) -> None:
        self.lab = lab
        self.identity = identity
        self.extra = extra
        self.log = lab.tmp / f"operator-{identity}.log"
        self.proc: asyncio.subprocess.Process | None = None
        #: the API user it authenticates as (its own, so that faults can single it out)
        self.user = f"operator-{identity}"
        self.kubeconfig = lab.server.kubeconfig_for(
            rbac.User(self.user, (rbac.MASTERS,)), path=lab.tmp / f"operator-{identity}.kubeconfig"
        )

    async def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "floatip_operator",
                "--kubeconfig",
                str(self.kubeconfig),
                "--id",
                self.identity,
                "--metrics-port",
                "0",
                "--leader-lease-seconds",
                "3",
                "--log-format",
                "json",
                "--log-level",
                "debug" if os.environ.get("FLOATIP_TEST_DEBUG") else "info",
                *self.extra,
                env=env,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )

    async def stop(self, *, kill: bool = False) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), STOP_GRACE_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            # Not a failure of the test, but never silent: the warnings summary shows it, with
            # the log's end (kopf names the tasks it still waits for).
            warnings.warn(
                f"operator {self.identity} outlived SIGTERM by {STOP_GRACE_S:g} s and was "
                f"killed; its log ends:\n{self.log_tail(25)}",
                stacklevel=1,
            )

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def log_tail(self, lines: int = 15) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def log_events(self) -> list[dict[str, Any]]:
        found = []
        for line in self.log_text().splitlines():
            with contextlib.suppress(ValueError):
                found.append(json.loads(line))
        return found
