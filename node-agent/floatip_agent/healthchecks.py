"""Local health checks of a VirtualIP's service (spec.healthCheck), like keepalived's track_script.

The verdict goes into ``/healthz`` (protocol.md: ``health`` maps VirtualIP name to a bool for
every VirtualIP that has a check and selects this node, holder or not); the operator reads it
when it polls the agent, so checks cost no API writes. `Verdict` is the pure rise/fall
hysteresis; `check_once` is one TCP connect or HTTP GET to 127.0.0.1:port with a timeout.
A node starts unhealthy and must pass `rise` checks in a row first.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping

from floatip.api import model
from floatip_agent import assignments, risefall


class Verdict(risefall.RiseFall):
    """Healthy after `rise` successes in a row, unhealthy after `fall` failures in a row;
    unhealthy until then."""

    def __init__(self, *, rise: int, fall: int, healthy: bool = False) -> None:
        super().__init__(rise=rise, fall=fall, healthy=healthy)


async def check_once(check: model.HealthCheck, *, host: str = "127.0.0.1") -> bool:
    """One check: a TCP connect, or an HTTP GET answered 2xx/3xx, within the timeout."""
    try:
        return await asyncio.wait_for(_probe(check, host), timeout=check.timeout_seconds)
    except (OSError, TimeoutError, ValueError):
        return False


async def _probe(check: model.HealthCheck, host: str) -> bool:
    reader, writer = await asyncio.open_connection(host, check.port)
    try:
        if check.type is model.HealthCheckType.TCP:
            return True
        path = check.path or "/"
        writer.write(
            f"GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: floatip-agent\r\n\r\n".encode()
        )
        await writer.drain()
        status_line = await reader.readline()
        parts = status_line.split()
        return len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1][:1] in (b"2", b"3")
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def run(check: model.HealthCheck, verdict: Verdict) -> None:
    """Check every `interval_seconds` forever, updating `verdict`. Cancel to stop."""
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        verdict.record(await check_once(check))
        await asyncio.sleep(max(0.0, started + check.interval_seconds - loop.time()))


class HealthChecks:
    """A running check for every VirtualIP with one whose nodeSelector selects this node.

    ``wanted`` says which those are now (from the table's assignments and the node's labels);
    `poke` asks for them to be matched again (an assignment or the labels changed). The
    verdicts go to ``/healthz``, which the operator polls: checks cost no API writes.
    """

    def __init__(self, wanted: Callable[[], Mapping[str, model.HealthCheck]]) -> None:
        self.wanted = wanted
        self.verdicts: dict[str, Verdict] = {}
        self._running: dict[str, tuple[model.HealthCheck, asyncio.Task[None]]] = {}
        self._poked = asyncio.Event()

    def poke(self) -> None:
        self._poked.set()

    def sync(self) -> None:
        """Start, stop or restart checks so that exactly the wanted ones run."""
        wanted = self.wanted()
        for name in list(self._running):
            check, task = self._running[name]
            if wanted.get(name) != check:
                task.cancel()
                del self._running[name]
                self.verdicts.pop(name, None)
        for name, check in wanted.items():
            if name not in self._running:
                verdict = Verdict(rise=check.rise, fall=check.fall)
                self.verdicts[name] = verdict
                task = asyncio.create_task(run(check, verdict), name=f"check-{name}")
                self._running[name] = (check, task)

    async def run(self) -> None:
        """Match the running checks to the wanted ones whenever poked, forever."""
        try:
            while True:
                await self._poked.wait()
                self._poked.clear()
                self.sync()
        finally:
            for _, task in self._running.values():
                task.cancel()
            self._running.clear()


def wanted(
    assigned: Mapping[str, assignments.Assignment], labels: Mapping[str, str]
) -> dict[str, model.HealthCheck]:
    """The checks this node runs: VirtualIPs with one whose nodeSelector selects it (pure)."""
    return {
        name: a.health_check
        for name, a in assigned.items()
        if a.health_check is not None
        and (a.node_selector is None or a.node_selector.matches(dict(labels)))
    }
