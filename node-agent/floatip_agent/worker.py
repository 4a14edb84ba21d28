"""One VirtualIP's worker: the only code that changes what this node does about that VIP.

Other components only nudge it (`floatip_agent.nudges`): the intake with each new word of the
API, the claim guard with claims on its address. It applies the nudges in order, asks
`decisions.decide` what to do and does it, then sleeps until the next nudge or until the
decision says to look again:

- **take** (`taking.take`: probe, flow handoff, add), then the first announcement and the
  schedule;
- **keep**: announce anew at a newer epoch; end a conflict that went quiet;
- **wait**: a planned move away (make before break): stop refreshing, keep the address (a
  group's member also until the new holder announced every member held here);
- **release**: stop announcing, then `releasing.Releaser`: end a handoff, name the new
  holder's MAC to the LAN (after a planned move), remove the address (one the kernel refused
  to remove stays a leftover, removed first at every turn until it is gone).

A foreign claim (`nudges.Foreign`) and, during a conflict, a host resolving the address
(`nudges.Asked`) go to the VIP's `defending.Defence` (report, defend at a bounded rate, never
move); a claim while unsure (`nudges.Fenced`) releases at once and takes nothing until the
API speaks of the VirtualIP again (once sure again, the worker asks the intake to read it
anew: an unchanged VirtualIP sends no watch event). No failure of one VIP disturbs another:
a failed step is logged, reported once (Event) and retried. Every I/O goes through `Ports`,
so the unit tests drive a worker against fakes, without root.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import Callable

import structlog

from floatip.api import events
from floatip_agent import (
    assignments,
    decisions,
    defending,
    metrics,
    nudges,
    ports,
    problems,
    releasing,
    settings,
    taking,
)

log = structlog.get_logger(__name__)
Action = decisions.Action


Ports = ports.Ports


class VipWorker:
    """The state of one VirtualIP on this node, and the loop that acts on it (`run`)."""

    def __init__(
        self,
        name: str,
        *,
        config: settings.Settings,
        io: Ports,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.config = config
        self.io = io
        self.clock = clock
        self.assignment: assignments.Assignment | None = None
        self.held: decisions.Held | None = None
        self.releaser = releasing.Releaser(name, io=io)
        self.waiting: tuple[int, float] | None = None  # (epoch, since) of a move away
        self.fenced = False
        self.asked_anew = False  # a re-read was asked for since the fence
        #: the epoch taken on a recorded move whose announcement waits for the status to agree
        self.unreported: int | None = None
        self.defence = defending.Defence(
            name, node=config.node, io=io, report=self._report, clock=clock,
            verify_interval=config.verify_interval_seconds,
            verify_budget=config.verify_budget_per_second,
        )  # fmt: skip
        self.problem: str | None = None  # the last problem reported (each one Event, once)
        self._inbox: collections.deque[nudges.Nudge] = collections.deque()
        self._nudged = asyncio.Event()

    @property
    def node(self) -> str:
        return self.config.node

    def nudge(self, nudge: nudges.Nudge) -> None:
        self._inbox.append(nudge)
        self._nudged.set()

    def adopt(self, held: decisions.Held) -> None:
        """An address a restarted agent keeps for this VirtualIP (`decisions.restart_plan`)."""
        self._hold(held)

    @property
    def pending(self) -> bool:
        """Whether nudges wait to be applied."""
        return bool(self._inbox)

    @property
    def finished(self) -> bool:
        """Nothing assigned, nothing held, nothing to read: the worker may go."""
        return (
            self.assignment is None
            and self.held is None
            and self.releaser.leftover is None
            and not self._inbox
        )

    async def run(self) -> None:
        """Apply nudges and decide until `finished`."""
        recheck: float | None = 0.0
        while True:
            await self._sleep(recheck)
            while self._inbox:
                await self._apply(self._inbox.popleft())
            await self.defence.due(self.held)
            try:
                await self.releaser.remove_leftover()
                recheck = await self.step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("vip-step-failed", vip=self.name)
                self.report(problems.Reason.APPLY_FAILED, _describe(exc), problems.Action.APPLY)
                recheck = self.config.retry_seconds
            if self.finished:
                return

    async def _sleep(self, recheck: float | None) -> None:
        deadlines = [d for d in (recheck, self._until(self.defence.due_at)) if d is not None]
        if self._inbox or (deadlines and min(deadlines) <= 0):
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._nudged.wait(), min(deadlines) if deadlines else None)
        self._nudged.clear()

    def _until(self, moment: float | None) -> float | None:
        return None if moment is None else moment - self.clock()

    # -- nudges ---------------------------------------------------------------------------------

    async def _apply(self, nudge: nudges.Nudge) -> None:
        if isinstance(nudge, nudges.Reassigned):
            self.assignment = nudge.assignment
            self.fenced = self.asked_anew = False
            return
        if isinstance(nudge, nudges.GroupMoved):
            return  # `step` reads the group's members from the table
        held = self.held
        if held is None or held.address != nudge[0].address:
            return  # about an address this worker no longer holds
        if isinstance(nudge, nudges.Fenced):
            await self._fenced(nudge)
        elif isinstance(nudge, nudges.Foreign):
            await self.defence.foreign(nudge.claim, nudge.ifname, held)
        else:
            await self.defence.asked(nudge.question, held)

    async def _fenced(self, nudge: nudges.Fenced) -> None:
        claim = nudge.claim
        log.warning("fenced-release", vip=self.name, mac=claim.mac, silence=self.io.fence.silence())
        self.fenced = True
        await self.release(decisions.Cause.FENCED, f"unsure and {claim.mac} claims it")
        self.report(
            problems.Reason.FENCED,
            f"{claim.mac} claimed {claim.address} while this node had no API contact for too "
            "long: released it at once (DESIGN.md safety 3)",
            problems.Action.RELEASE,
        )

    # -- deciding and acting --------------------------------------------------------------------

    async def step(self) -> float | None:
        """Decide and act once; return when to look again at the latest (None: on a nudge)."""
        assignment, waiting = self.assignment, self.waiting
        since = waiting[1] if waiting and assignment and waiting[0] == assignment.epoch else None
        pending = None
        if assignment is not None and assignment.group is not None and self.held is not None:
            table = self.io.table
            held = table.group_held(assignment.group)
            pending = decisions.group_pending(
                assignment, node=self.node, assigned=table.assignments, held=held
            )
        decision = decisions.decide(
            assignment, node=self.node, held=self.held, waiting_since=since,
            now=self.clock(), handover_timeout=self.config.handover_timeout_seconds,
            group_pending=pending,
        )  # fmt: skip
        if decision.action is not Action.WAIT:
            self.waiting = None
        if decision.action is Action.TAKE and assignment is not None:
            if self.io.fence.unsure:
                return self.config.ping_interval_seconds  # no take on a possibly stale word
            if self.fenced:  # sure again, but the last word is from before: hear it anew
                if not self.asked_anew:
                    self.asked_anew = True
                    self.io.reread(self.name)
                return self.config.ping_interval_seconds
            return await self._take(assignment)
        if decision.action is Action.KEEP and assignment is not None:
            return self._keep(assignment)
        if decision.action is Action.RELEASE:
            redirect = decisions.new_holder_mac(assignment, node=self.node)
            await self.release(decision.cause, decision.reason, redirect_to=redirect)
            return 0.0 if assignment is not None and assignment.holder == self.node else None
        if decision.action is Action.WAIT and assignment is not None:
            if since is None:
                log.info("handover-waiting", vip=self.name, epoch=assignment.epoch,
                         why=decision.reason)  # fmt: skip
                self.waiting = (assignment.epoch, self.clock())
                self.io.announcements.stop(self.name)  # clients are moving to the new holder
            return decision.recheck_after
        return None

    async def _take(self, assignment: assignments.Assignment) -> float | None:
        outcome = await taking.take(
            assignment, io=self.io, config=self.config, news=lambda: self._news_for(assignment),
            clock=self.clock,
        )  # fmt: skip
        if outcome is None:
            log.info("take-deferred", vip=self.name, epoch=assignment.epoch,
                     why="news of the VirtualIP came during the take: deciding again")  # fmt: skip
            return 0.0  # the assignment may have changed meanwhile: decide again
        if isinstance(outcome, taking.Refused):
            if outcome.foreign is not None:
                self.defence.refused(outcome.foreign)
            self.report(outcome.reason, outcome.note, outcome.action)
            return outcome.retry_after
        held = outcome.held
        self._hold(held)
        await self.io.wire.announce(held.ifname, [held.address])
        self.io.counters.apply_seconds.observe(self.clock() - outcome.started)
        self.io.counters.announcements.labels(kind=metrics.AnnounceKind.BURST.value).inc()
        self.problem = None
        self.defence.clear()
        log.info("vip-taken", vip=self.name, address=str(held.address), epoch=held.epoch,
                 interface=held.ifname, peers_answered=sorted(outcome.peers),
                 ms=round(1000 * (self.clock() - outcome.started), 1))  # fmt: skip
        self.announce(assignment, first_sent=True)
        return None

    def _news_for(self, taking: assignments.Assignment) -> bool:
        """Whether a nudge waiting in the inbox may change the take of ``taking`` under way
        (`decisions.same_take`: the status write that follows a recorded move does not)."""
        return any(
            not (isinstance(n, nudges.Reassigned) and decisions.same_take(taking, n.assignment))
            for n in self._inbox
        )

    def _keep(self, assignment: assignments.Assignment) -> float | None:
        held = self.held
        assert held is not None
        if assignment.epoch > held.epoch:  # re-assigned here at a newer epoch: announce anew
            self._hold(held._replace(epoch=assignment.epoch))
            self.announce(assignment, first_sent=False)
        elif not self.io.announcements.active(self.name):  # held but silent (handover called off)
            self.announce(assignment, first_sent=False)
        elif self.unreported == held.epoch and assignment.confirmed:  # the status caught up
            self.unreported = None
            self.io.announcements.report(self.name)
        if self.defence.conflict is not None:
            return self.defence.keep()
        if assignment.conflict_node == self.node:
            self.io.reports.conflict(self.name, None)  # our report from before a restart
        return None

    def announce(self, assignment: assignments.Assignment, *, first_sent: bool) -> None:
        """Put the held address on its announcement schedule (report it unless it is)."""
        held = self.held
        assert held is not None
        reported = (assignment.announced_node, assignment.announced_epoch) == (
            self.node, held.epoch
        )  # fmt: skip
        # Taken on the move record's word alone: the status does not name this node yet, and
        # the admission policy refuses an announcement until it does (`assignments.moved`).
        self.unreported = held.epoch if not reported and not assignment.confirmed else None
        self.io.announcements.start(
            self.name, held, assignment.announce, first_sent=first_sent,
            report=not reported and assignment.confirmed,
        )  # fmt: skip

    async def release(
        self, cause: decisions.Cause, why: str, *, redirect_to: str | None = None
    ) -> None:
        """Stop treating the address as held, then let the `releaser` take it off the node.

        Forgotten here first (table, schedule, defence) so that nothing announces or defends
        it while the kernel removes it; an address the kernel refuses to remove is the
        releaser's `leftover`, removed at the next turn before anything is decided.
        """
        held = self.held
        self._hold(None)
        self.io.announcements.stop(self.name)
        self.defence.clear()
        await self.releaser.release(held, cause, why, redirect_to=redirect_to)

    def _hold(self, held: decisions.Held | None) -> None:
        if held is not None:
            self.releaser.kept(held)  # taken again: it is ours to keep, not to remove
        self.held = held
        self.io.table.hold(self.name, held)
        self.io.counters.vips_held.set(len(self.io.table.held))

    def _report(
        self, reason: problems.Reason, note: str, action: problems.Action, once: bool
    ) -> None:
        self.report(reason, note, action, once=once)

    def report(
        self, reason: problems.Reason, note: str, action: problems.Action, *, once: bool = True
    ) -> None:
        """Log a problem with this VirtualIP and post an Event (once per distinct problem)."""
        log.warning("vip-problem", vip=self.name, reason=reason.value, note=note)
        key = f"{reason}:{note}"
        if once and self.problem == key:
            return
        self.problem = key
        uid = self.assignment.uid if self.assignment else ""
        self.io.reports.event(events.Regarding(self.name, uid), reason=reason, action=action,
                              note=note)  # fmt: skip


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
