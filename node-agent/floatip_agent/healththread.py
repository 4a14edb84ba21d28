"""The health endpoint on a thread of its own: a busy agent is not a dead one.

The operator judges an agent dead after three polls of ``/healthz`` in a row go unanswered
for 0.15 s (the default profile). Served from the agent's own event loop, an answer waits for
the loop's turn, and a turn can last longer than that: a node given 1,000 VIPs at once runs
1,000 takes in a few turns, and on a starved 2-core machine its polls went unanswered for half
a second (bench scale: the node was failed over while alive, and had to release 1,000 VIPs).

So the endpoint runs on a thread with its own small event loop, which Python's interpreter
switches to within milliseconds however busy the agent's loop is. It still reports the agent's
loop, not merely the process:

- each request asks the agent's loop for a fresh document and waits `ASK_S` for it; if the
  loop is busy, it answers with the last document the loop built;
- the agent's loop beats every `BEAT_S` (`Health.beat`); when it has not beaten for
  `STALL_S`, the answer is 503: a wedged loop is reported dead, two seconds late instead of
  half a second early;
- a process that is stopped, frozen or gone answers nothing at all, as before.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from typing import Any, Final

import prometheus_client
from prometheus_client import CollectorRegistry

from floatip_agent import healthserver

#: How long a request waits for the agent's loop to build a fresh document.
ASK_S: Final = 0.05
#: How often the agent's loop shows it turns.
BEAT_S: Final = 0.1
#: A loop that has not turned for this long is reported dead (503).
STALL_S: Final = 2.0
#: How long `start` waits for the thread to listen, and `stop` for it to end.
THREAD_S: Final = 5.0


class Health:
    """The endpoint's thread and what the agent's loop shares with it."""

    def __init__(
        self,
        *,
        healthz: Callable[[], dict[str, Any]],
        registry: CollectorRegistry,
        stall_s: float = STALL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.healthz = healthz
        self.registry = registry
        self.stall_s = stall_s
        self.clock = clock
        self.beaten = clock()  # when the agent's loop last turned (written by that loop)
        self.document: bytes | None = None  # the last /healthz body the agent's loop built
        self.port = 0
        self.server: healthserver.Server | None = None  # the HTTP side, in the thread
        self._agent_loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._own_loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._listening = threading.Event()
        self._failed: BaseException | None = None

    async def start(self, *, host: str, port: int) -> None:
        """Listen on host:port from the thread; raise what stopped it (a port in use)."""
        self._agent_loop = asyncio.get_running_loop()
        self._refresh()
        self._thread = threading.Thread(
            target=self._run, args=(host, port), name="floatip-health", daemon=True
        )
        self._thread.start()
        await asyncio.to_thread(self._listening.wait, THREAD_S)
        if self._failed is not None:
            raise self._failed
        if not self._listening.is_set():
            raise TimeoutError(f"the health server did not listen on {host}:{port} within 5 s")

    async def beat(self) -> None:
        """Run in the agent's loop: show that it turns (until cancelled)."""
        while True:
            self.beaten = self.clock()
            await asyncio.sleep(BEAT_S)

    async def stop(self) -> None:
        """Stop listening, close every connection and end the thread."""
        own, stopping = self._own_loop, self._stopping
        if own is not None and stopping is not None and not own.is_closed():
            own.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, THREAD_S)

    # -- in the agent's loop --------------------------------------------------------------

    def _refresh(self) -> None:
        self.beaten = self.clock()
        self.document = json.dumps(self.healthz()).encode()

    # -- in the thread ----------------------------------------------------------------------

    def _run(self, host: str, port: int) -> None:
        try:
            asyncio.run(self._serve(host, port))
        except BaseException as exc:  # reported to `start`, which re-raises it
            self._failed = exc
            self._listening.set()

    async def _serve(self, host: str, port: int) -> None:
        self._own_loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self.server = server = healthserver.Server(
            {"/healthz": self._healthz, "/metrics": self._metrics}
        )
        server.server = await asyncio.start_server(server.serve, host, port, reuse_address=True)
        self.port = server.server.sockets[0].getsockname()[1]
        self._listening.set()
        try:
            await self._stopping.wait()
        finally:
            await server.cleanup()

    def _healthz(self) -> healthserver.Answer:
        asked = threading.Event()
        agent_loop = self._agent_loop
        if agent_loop is not None and not agent_loop.is_closed():

            def refresh() -> None:
                try:
                    self._refresh()
                finally:
                    asked.set()

            try:
                agent_loop.call_soon_threadsafe(refresh)
            except RuntimeError:  # the agent's loop closed meanwhile: the process is ending
                asked.set()
            asked.wait(ASK_S)  # busy: serve the last document (its loop still beats)
        silent = self.clock() - self.beaten
        if silent > self.stall_s or self.document is None:
            note = f"the agent's event loop has not run for {silent:.1f} s"
            return healthserver.Answer(503, healthserver.TEXT, note.encode())
        return healthserver.Answer(200, healthserver.JSON, self.document)

    def _metrics(self) -> healthserver.Answer:
        body = prometheus_client.generate_latest(self.registry)
        return healthserver.Answer(200, prometheus_client.CONTENT_TYPE_LATEST, body)
