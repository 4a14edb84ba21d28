"""Control-plane hosts for kernel tests: a readyz stub and a real agent process per host.

Each host gets a stand-in apiserver (`readyz_stub.py`, HTTPS on 127.0.0.1:6443 inside its
namespace; a mode file says 200 or 500) and ``floatip-control-plane-agent`` with its /state
on 127.0.0.1:9732. `CpLab.explain` says where the VIP is and what every agent thinks, for
every wait that gives up.
"""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio

from floatip.api import names
from floatip_agent import kernel_addresses
from floatip_apiserver import certs
from floatip_lab import hosts, netns
from tests.kernel import logs, nshttp
from tests.kernel.conftest import LanFactory

STUB = pathlib.Path(__file__).with_name("readyz_stub.py")
VIP = "192.0.2.200"
STATE_PORT = 9732


class CpHost:
    """One control-plane host: its stub apiserver and its agent (either may be stopped)."""

    def __init__(self, host: hosts.Host, workdir: pathlib.Path, cert: pathlib.Path,
                 key: pathlib.Path) -> None:  # fmt: skip
        self.host = host
        self.name = host.name
        self.mode = workdir / f"{host.name}.mode"
        self.mode.write_text("ok")
        self.cert, self.key = cert, key
        self.log_path = workdir / f"agent-{host.name}.log"
        self.address = VIP
        self.stub: subprocess.Popen[str] | None = None
        self.agent: subprocess.Popen[str] | None = None

    def start_stub(self) -> None:
        self.stub = self.host.popen(
            [sys.executable, str(STUB), "6443", str(self.cert), str(self.key), str(self.mode)],
            stdout=subprocess.PIPE,
        )
        assert self.stub.stdout is not None
        assert self.stub.stdout.readline().strip() == "listening", "readyz stub did not start"

    def stop_stub(self) -> None:
        if self.stub is not None:
            self.stub.kill()
            self.stub.wait(5)
            self.stub = None

    def start_agent(self, *extra: str, address: str = VIP, prefix: int = 24) -> None:
        self.address = address
        argv = [
            sys.executable, "-m", "floatip_agent.controlplane.main", "--address", f"{address}/{prefix}",
            "--node", self.name, "--listen", f"127.0.0.1:{STATE_PORT}", "--log-format", "json",
            *extra,
        ]  # fmt: skip
        log = self.log_path.open("a")
        self.agent = self.host.popen(argv, stdout=log, stderr=subprocess.STDOUT)

    def stop_agent(self, sig: int = signal.SIGTERM) -> int:
        assert self.agent is not None
        self.agent.send_signal(sig)
        code = self.agent.wait(10)
        self.agent = None
        return code

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def events(self, event: str) -> list[dict[str, Any]]:
        """The agent's JSON log records named `event` (every run of it on this host), in order."""
        return logs.events(self.log(), event)

    async def holds(self, address: str | None = None) -> bool:
        """Whether the host has `address` (default: its agent's VIP), marked as this program's."""
        address = address or self.address
        async with kernel_addresses.open_netlink(netns=self.host.netns) as ipr:
            snapshot = await kernel_addresses.read_snapshot(ipr)
        return any(
            str(entry.interface.ip) == address and entry.proto == names.CONTROL_PLANE_ADDRESS_PROTO
            for entry in snapshot.addresses
        )

    async def state(self) -> dict[str, Any]:
        """GET /state from inside the host's namespace."""
        return await nshttp.get_json(self.host.netns, "127.0.0.1", STATE_PORT, "/state")


class CpLab:
    def __init__(self, topo: netns.Topology, cps: list[CpHost]) -> None:
        self.topo = topo
        self.cps = {cp.name: cp for cp in cps}

    def __getitem__(self, name: str) -> CpHost:
        return self.cps[name]

    async def holders(self, address: str = VIP) -> list[str]:
        return [name for name, cp in self.cps.items() if await cp.holds(address)]

    async def explain(self) -> str:
        addresses = sorted({cp.address for cp in self.cps.values()})
        lines = [f"holders of {a}: {await self.holders(a)}" for a in addresses]
        for name, cp in self.cps.items():
            try:
                state: Any = await cp.state() if cp.agent is not None else "agent stopped"
            except (OSError, TimeoutError, ValueError) as exc:
                state = f"no /state: {exc!r}"
            lines.append(f"--- {name}: {state}\n{cp.log()[-3000:]}")
        return "\n".join(lines)

    async def until(
        self, check: Callable[[], Awaitable[bool]], *, what: str, within: float = 10.0
    ) -> float:
        """Seconds until `check` held; fail with `explain` after `within` s.

        A check that cannot ask yet (an agent still starting: connection refused) is false.
        """
        start = time.monotonic()
        error: BaseException | None = None
        while True:
            try:
                if await check():
                    return time.monotonic() - start
            except (OSError, TimeoutError) as exc:
                error = exc
            if time.monotonic() - start > within:
                pytest.fail(
                    f"gave up after {within} s waiting for {what} (last error: {error!r})\n"
                    f"{await self.explain()}"
                )
            await asyncio.sleep(0.02)

    async def agents_up(self, *names_: str) -> None:
        """Until the agents of `names_` (default: every running one) answer /state. A loaded
        machine (2 cores shared by several test runs) can take seconds to start Python."""
        chosen = names_ or tuple(name for name, cp in self.cps.items() if cp.agent is not None)

        async def answering() -> bool:
            for name in chosen:
                await self[name].state()
            return True

        await self.until(answering, what=f"agents {list(chosen)} to answer /state", within=30)

    async def only_holder(self, name: str, *, ignoring: tuple[str, ...] = ()) -> bool:
        """Whether `name` is the one host holding the VIP (hosts in `ignoring` not counted)."""
        return [h for h in await self.holders() if h not in ignoring] == [name]

    async def unhealthy(self, *names_: str) -> bool:
        """Whether the agents of `names_` all judge their apiserver unhealthy."""
        states = [await self[name].state() for name in names_]
        return all(state["healthy"] is False for state in states)


CpLabFactory = Callable[..., Awaitable[CpLab]]


@pytest_asyncio.fixture
async def cp_lab(lan: LanFactory) -> AsyncIterator[CpLabFactory]:
    """Factory: ``await cp_lab("cp1", "cp2", "cp3", ipv6=False)``: those hosts plus a
    ``client``, each cp with a running readyz stub (agents are started by the test)."""
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="floatip-cp-test-"))
    made: list[CpLab] = []
    credentials = certs.generate()
    cert, key = workdir / "serving.crt", workdir / "serving.key"
    cert.write_bytes(credentials.cert_pem + credentials.ca_pem)
    key.write_bytes(credentials.key_pem)

    async def make(*names_: str, ipv6: bool = False) -> CpLab:
        topo = lan(*names_, "client", ipv6=ipv6)
        lab = CpLab(topo, [CpHost(topo[name], workdir, cert, key) for name in names_])
        made.append(lab)
        for cp in lab.cps.values():
            cp.start_stub()
        return lab

    try:
        yield make
    finally:
        for lab in made:
            for cp in lab.cps.values():
                with contextlib.suppress(Exception):
                    if cp.agent is not None:
                        cp.stop_agent(signal.SIGKILL)
                cp.stop_stub()
        __import__("shutil").rmtree(workdir, ignore_errors=True)
