"""One worker task per VirtualIP: started by its first nudge, gone once it has nothing to do.

kopf's per-object queueing (``_core/reactor/queueing.py``): whoever has news of a VirtualIP
calls `Workers.nudge`; the first nudge starts that VirtualIP's `worker.VipWorker`, later ones
join its queue. So no two tasks ever change one VirtualIP, and a slow VirtualIP (a probe, a
netlink call) never holds up another. A worker that crashes (a bug: its own steps catch
failures) is logged and restarted with its state after a second, as kopf restarts daemons.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from floatip_agent import decisions, nudges, worker

log = structlog.get_logger(__name__)
RESTART_DELAY = 1.0


class Workers:
    """The running workers by VirtualIP name; ``make`` builds a new one."""

    def __init__(self, make: Callable[[str], worker.VipWorker]) -> None:
        self.make = make
        self.workers: dict[str, worker.VipWorker] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def nudge(self, name: str, nudge: nudges.Nudge) -> None:
        """Queue ``nudge`` for VirtualIP ``name``'s worker, starting one if it has none."""
        self._worker(name).nudge(nudge)

    def adopt(self, name: str, held: decisions.Held) -> None:
        """A restarted agent keeps ``held`` for ``name`` (before any nudge reaches it)."""
        self._worker(name).adopt(held)

    def _worker(self, name: str) -> worker.VipWorker:
        found = self.workers.get(name)
        if found is None:
            found = self.workers[name] = self.make(name)
            self._tasks[name] = asyncio.create_task(self._supervise(found), name=f"vip-{name}")
        return found

    async def _supervise(self, one: worker.VipWorker) -> None:
        while True:
            try:
                await one.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("vip-worker-crashed", vip=one.name, restart_in=RESTART_DELAY)
                await asyncio.sleep(RESTART_DELAY)
                continue
            if one.finished:  # nothing between its last check and here could add a nudge
                self.workers.pop(one.name, None)
                self._tasks.pop(one.name, None)
                return

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
