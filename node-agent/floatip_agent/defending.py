"""One VirtualIP's defence against a foreign host: its conflict record and its bounded answers.

Owned by the VirtualIP's worker (only it calls in here). DESIGN.md safety 5 and "Defending the
address", and docs/design/defence.md for the Linux behaviour this relies on:

- A foreign claim (`foreign`: a gratuitous ARP, an answer to a verification probe or to the
  take's probe) opens or extends the conflict, reports it (``status.conflict``, an Event at
  its start, metrics) and re-asserts the address with a gratuitous ARP / unsolicited NA.
- While the conflict lasts, every host that resolves the address (`asked`) gets the same
  announcement right after its question: the asker's neighbour entry may hold the intruder's
  answer, and a gratuitous ARP overrides it even within the entry's ``locktime``.
- Every frame costs a token of this VIP's bucket and of the node's (`ports.Ports.budget`);
  a foreign claim that finds no token is answered once one is back (`due`), a question is not.
- The conflict ends once the verification probes drew no foreign answer for `conflicts.quiet`
  (three rounds): ``status.conflict`` goes back to null.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog

from floatip.api import times
from floatip_agent import claims, conflicts, decisions, metrics, ports, problems, verifying

log = structlog.get_logger(__name__)

Report = Callable[[problems.Reason, str, problems.Action, bool], None]


class Defence:
    """The conflict of one held address, and the frames that defend it."""

    def __init__(
        self,
        name: str,
        *,
        node: str,
        io: ports.Ports,
        report: Report,
        verify_interval: float,
        verify_budget: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.node = node
        self.io = io
        self.report = report
        self.verify_interval = verify_interval
        self.verify_budget = verify_budget
        self.clock = clock
        self.conflict: conflicts.Conflict | None = None
        self.due_at: float | None = None  # a re-assertion waiting for a token

    def quiet_for(self) -> float:
        held = len(self.io.table.held)
        every = verifying.period(held, interval=self.verify_interval, budget=self.verify_budget)
        return conflicts.quiet(every)

    def _record(self, mac: str) -> bool:
        """Count one foreign claim by ``mac``; True when it opens the conflict."""
        first = self.conflict is None
        self.conflict = conflicts.record(
            self.conflict, mac=mac, now=self.clock(), wall=times.now(), clock=self.clock
        )
        self.io.counters.conflicts.labels(vip=self.name).inc()
        if first:
            self.io.counters.in_conflict.inc()
        return first

    def refused(self, mac: str) -> None:
        """The take's probe drew ``mac``'s answer: the address is not taken (no defence)."""
        self._record(mac)
        assert self.conflict is not None
        self.io.reports.conflict(self.name, self.conflict.to_report(node=self.node))

    async def foreign(self, claim: claims.Claim, ifname: str, held: decisions.Held) -> None:
        """A foreign host claims the held address."""
        if self._record(claim.mac):
            log.warning("conflict", vip=self.name, mac=claim.mac, address=str(claim.address))
            self.report(
                problems.Reason.CONFLICT,
                f"{claim.mac} claims {claim.address} on {ifname} ({claim.kind}); this node keeps "
                "it and defends it at a bounded rate. Find the host with that MAC",
                problems.Action.REASSERT,
                False,
            )
        if not await self._announce(held, metrics.AnnounceKind.REASSERT) and self.due_at is None:
            assert self.conflict is not None
            self.due_at = self.clock() + max(
                self.conflict.bucket.wait_time(), self.io.budget.wait_time()
            )
        self._report()

    async def asked(self, question: claims.Question, held: decisions.Held) -> None:
        """A host resolves the held address: answer after it while a conflict is known."""
        if self.conflict is not None:
            await self._announce(held, metrics.AnnounceKind.ANSWER)

    async def due(self, held: decisions.Held | None) -> None:
        """Send a re-assertion that waited for a token, if its time has come."""
        if self.due_at is None or self.clock() < self.due_at:
            return
        self.due_at = None
        if held is None or self.conflict is None:
            return
        if await self._announce(held, metrics.AnnounceKind.REASSERT):
            self._report()
        else:  # still no token (the node's budget went to other VIPs): wait for the next
            self.due_at = self.clock() + max(
                self.conflict.bucket.wait_time(), self.io.budget.wait_time(), 0.01
            )

    def keep(self) -> float | None:
        """End a conflict gone quiet; return when to look again (None: no conflict)."""
        if self.conflict is None:
            return None
        quiet = self.quiet_for()
        if conflicts.over(self.conflict, now=self.clock(), quiet_for=quiet):
            log.info("conflict-over", vip=self.name, mac=self.conflict.mac,
                     count=self.conflict.count)  # fmt: skip
            self.clear()
            self.io.reports.conflict(self.name, None)
            return None
        return quiet / 4

    def clear(self) -> None:
        """No conflict any more (it went quiet, or the address was released or taken anew)."""
        if self.conflict is not None:
            self.io.counters.in_conflict.dec()
        self.conflict = None
        self.due_at = None

    async def _announce(self, held: decisions.Held, kind: metrics.AnnounceKind) -> bool:
        """One defending frame if this VIP's and the node's budgets allow it."""
        assert self.conflict is not None
        if self.conflict.bucket.tokens < 1 or not self.io.budget.try_take():
            return False
        self.conflict.bucket.try_take()
        self.conflict.reasserted += 1
        try:
            await self.io.wire.announce(held.ifname, [held.address])
            self.io.counters.announcements.labels(kind=kind.value).inc()
        except OSError as exc:
            log.warning("announce-failed", interface=held.ifname, error=str(exc))
        return True

    def _report(self) -> None:
        if self.conflict is not None:
            self.io.reports.conflict(self.name, self.conflict.to_report(node=self.node))
