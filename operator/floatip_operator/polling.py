"""The fast liveness path: poll every agent's ``/healthz`` and keep a verdict per node.

Lease renewals every 10 s cannot give sub-second failover within 0.2 API writes/s per node
(DESIGN.md, Performance), so the operator asks each agent directly, at the profile's interval,
and feeds :class:`liveness.AgentLiveness` (hysteresis: ``fall`` failures in a row to judge it
dead, ``rise`` successes to judge it alive). Polls cost no API writes. The answer also carries
the agent's health-check verdicts and the VirtualIPs it holds, which placement and deletion use.

``settled`` tells the reconcile loop when every agent has a verdict: a leader that acted
before that would see live nodes as dead and move healthy VirtualIPs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from floatip import logs
from floatip_operator import liveness, views

log = logs.get(__name__)


@dataclasses.dataclass
class _Agent:
    url: str
    verdict: liveness.AgentLiveness
    task: asyncio.Task[None] | None = None
    failures: int = 0
    judged: bool = False
    report: dict[str, Any] | None = None
    reported_at: float = 0.0  # monotonic time of the last good answer


class Poller:
    """One polling task per agent endpoint; ``on_change`` when a verdict or a report changes."""

    def __init__(self, policy: liveness.PollPolicy, *, on_change: Callable[[], None]) -> None:
        self.policy = policy
        self.on_change = on_change
        self.agents: dict[str, _Agent] = {}
        self._session: aiohttp.ClientSession | None = None

    def sync(self, endpoints: Mapping[str, str]) -> None:
        """Poll exactly these ``node -> http://IP:PORT`` endpoints from now on."""
        for node in list(self.agents):
            if endpoints.get(node) != self.agents[node].url:
                agent = self.agents.pop(node)
                if agent.task is not None:
                    agent.task.cancel()
        for node, url in endpoints.items():
            if node not in self.agents:
                agent = _Agent(url, liveness.AgentLiveness(self.policy))
                agent.task = asyncio.create_task(self._poll_loop(node, agent))
                self.agents[node] = agent

    def states(self) -> dict[str, views.AgentState]:
        return {
            node: views.AgentState(agent.verdict.alive, agent.report)
            for node, agent in self.agents.items()
        }

    def settled(self) -> bool:
        """Whether every known agent has been judged alive or dead at least once."""
        return all(agent.judged for agent in self.agents.values())

    def holds(self, node: str, vip: str, *, since: float) -> bool | None:
        """Whether ``node``'s agent reports holding ``vip`` (None: no report after ``since``)."""
        agent = self.agents.get(node)
        if agent is None or agent.report is None or agent.reported_at < since:
            return None
        held = agent.report.get("held")
        return isinstance(held, Mapping) and vip in held

    async def close(self) -> None:
        for agent in self.agents.values():
            if agent.task is not None:
                agent.task.cancel()
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, force_close=False)
            )
        return self._session

    async def _poll_once(self, url: str) -> dict[str, Any] | None:
        timeout = aiohttp.ClientTimeout(total=self.policy.timeout_s)
        try:
            async with self.session.get(f"{url}/healthz", timeout=timeout) as response:
                if response.status != 200:
                    return None
                answer = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return None
        return answer if isinstance(answer, dict) else None

    async def _poll_loop(self, node: str, agent: _Agent) -> None:
        while True:
            started = time.monotonic()
            answer = await self._poll_once(agent.url)
            ok = answer is not None
            agent.failures = 0 if ok else agent.failures + 1
            flipped = agent.verdict.observe(ok, started)
            changed = flipped
            if ok and _reported(answer) != _reported(agent.report):
                changed = True
            if ok:
                agent.report = answer
                agent.reported_at = started
            if not agent.judged and (flipped or agent.failures >= self.policy.fall):
                agent.judged = True
                changed = True
            if flipped:
                log.info("agent verdict", node=node, alive=agent.verdict.alive, url=agent.url)
            if changed:
                self.on_change()
            elapsed = time.monotonic() - started
            await asyncio.sleep(max(0.0, self.policy.interval_s - elapsed))


def _reported(answer: Mapping[str, Any] | None) -> tuple[object, object, object]:
    """The parts of a report that matter to decisions (health, held VirtualIPs, carriers)."""
    if answer is None:
        return (None, None, None)
    return (answer.get("health"), answer.get("held"), answer.get("links"))
