"""The one reconcile loop: the leader places every VirtualIP and writes what changed.

Placement is global (a node's load counts every VirtualIP on it), so instead of one decision
per object the leader recomputes all of them whenever anything changes: a VirtualIP, a Node
or an agent Lease (the informers), an agent verdict or health report (the poller), a Lease
that expires with no event at all (checked every tick), or leadership itself. Changes within
``debounce_seconds`` are decided together. Every move a pass decides goes first into the move
record (`moverecord`, one write however many VirtualIPs move: what a failover's successors wait
for), then only VirtualIPs whose status changed are written (`statuswriting`: each write
guarded by its epoch, so a replica that lost the leadership in the middle of a failover can
never bump an epoch twice), except a Service VirtualIP's Ready, which waits while the others
are written (`deferring`). Until a status has caught up with its recorded move, the pass
decides from the move (`statuses.overlay`).

The leader trusts only a holder and epoch it wrote (`trust`: its book of its own writes, and
``status.history``): any other is put back at a new epoch, with a ``ForgedAssignment`` Warning
Event, a log line and ``floatip_operator_forged_assignments_total``.

The leader does nothing until its caches have been fully listed and every agent has been
judged: deciding from half a picture would move healthy VirtualIPs.

externalTrafficPolicy Local (`endpoints`): a Service-backed VirtualIP may be held only where its
Local Service(s) have a ready endpoint (`localnodes`, recomputed only after a Service or an
EndpointSlice changed); a change that leaves every Local Service's nodes as they were decides
nothing, and a pass looks them up per VirtualIP.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import time
from collections.abc import Hashable, Mapping
from typing import Any

from floatip import logs
from floatip.api import leases, services, status, times
from floatip.kube import client
from floatip_operator import (
    damping,
    deferring,
    eligibility,
    endpoints,
    informing,
    leadership,
    localnodes,
    metrics,
    moverecord,
    passloop,
    placement,
    polling,
    posting,
    recording,
    statuses,
    statuswriting,
    trust,
    views,
)

log = logs.get(__name__)

_Write = tuple[dict[str, Any], dict[str, Any], trust.Verdict]  # body, new status, verdict

FULL_PASS_EVERY_S = 10.0  # a safety net: decide everything again now and then
WRITE_BATCH = 32  # status writes in flight at once (each VirtualIP's write is independent)


class Reconciler:
    """Owns the loop; its parts (informers, poller, elector) are set up by :mod:`runtime`."""

    def __init__(
        self,
        *,
        api: client.Api,
        vips: informing.Informer,
        nodes: informing.Informer,
        leases: informing.Informer,
        poller: polling.Poller,
        elector: leadership.Elector,
        contact: informing.Contact,
        poster: posting.Poster,
        record: moverecord.MoveRecord,
        debounce_s: float,
        services_: informing.Informer | None = None,
        slices: informing.Informer | None = None,
    ) -> None:
        self.vips = vips
        self.local = localnodes.LocalNodes(services_, slices)
        self.last_endpoints: endpoints.Constraints | None = None
        self.forced = False  # a poke (not a nudge) since the last pass
        self.nodes = nodes
        self.leases = leases
        self.poller = poller
        self.elector = elector
        self.contact = contact
        self.record = record
        self.loop = passloop.PassLoop(
            "reconcile", self._pass, debounce_s=debounce_s, idle_s=0.5, retry=self.poke
        )
        self.specs: dict[str, views.ParsedSpec] = {}
        self.last_nodes: dict[str, eligibility.NodeView] | None = None
        self.last_full = 0.0
        self.full_pass = False  # the pass under way is the periodic safety net
        self.pass_began = 0.0  # perf_counter at the start of the pass under way
        self.damping = damping.Damping()
        self.deferral = deferring.Deferral()
        self.book = trust.Book()
        self.recording = recording.Recording(record=record, book=self.book, vips=vips)
        self.writer = statuswriting.StatusWriter(
            api=api, vips=vips, elector=elector, poster=poster, book=self.book
        )

    def poke(self) -> None:
        """Decide everything again (soon, debounced)."""
        self.forced = True
        self.loop.poke()

    def endpoints_changed(self) -> None:
        """A Service or an EndpointSlice changed: decide again only if a Local Service's nodes
        with a ready endpoint did (`pass_once`)."""
        self.local.changed()
        self.loop.poke()

    async def run(self) -> None:
        """Pass after pass: when poked, and every 0.5 s (a full pass is due every 10 s)."""
        await self.loop.run()

    async def _pass(self) -> None:
        forced, self.forced = self.forced, False
        await self.pass_once(forced=forced)

    # -- inputs -----------------------------------------------------------------------

    def agent_leases(self) -> dict[str, Mapping[str, Any]]:
        return dict(leases.agents(self.leases.store.values()))

    def agent_states(
        self, agent_leases: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, views.AgentState]:
        """The poller's verdicts, restart grace applied (an agent being updated is not dead)."""
        return views.with_restart_grace(self.poller.states(), agent_leases, now=times.now())

    def node_views(
        self, agent_leases: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, eligibility.NodeView]:
        now = times.now()
        # Without API contact the caches are frozen: no Lease in them could have been renewed,
        # so none has expired as far as we know (the grace then runs from the contact's return).
        since = (
            now - datetime.timedelta(seconds=time.monotonic() - self.contact.restored_at)
            if self.contact.reachable
            else now
        )
        return views.node_views(
            self.nodes.store,
            agent_leases,
            self.agent_states(agent_leases),
            now=now,
            contact_since=since,
        )

    def parsed(self, body: Mapping[str, Any]) -> views.ParsedSpec:
        name = str(body["metadata"]["name"])
        generation = int(body["metadata"].get("generation") or 0)
        cached = self.specs.get(name)
        if cached is None or cached.generation != generation:
            cached = views.parse_spec(body)
            self.specs[name] = cached
        return cached

    # -- one pass ---------------------------------------------------------------------

    async def pass_once(self, *, forced: bool) -> None:
        agent_leases = self.agent_leases()
        endpoints = {n: url for n, lease in agent_leases.items() if (url := leases.endpoint(lease))}
        self.poller.sync(endpoints)
        if not all(i.synced.is_set() for i in (self.vips, self.nodes, self.leases)):
            return
        nodes = self.node_views(agent_leases)
        metrics.AGENTS_ALIVE.set(sum(1 for n in nodes.values() if n.agent_alive))
        self.observe(nodes, views.health_results(self.agent_states(agent_leases)))
        if not self.elector.is_leader or not self.poller.settled():
            return  # a standby only observes: what the endpoints allow is the leader's question
        due = time.monotonic() - self.last_full > FULL_PASS_EVERY_S
        constraints = self.local.constraints()
        if (
            not forced
            and not due
            and nodes == self.last_nodes
            and constraints == self.last_endpoints
        ):
            return
        self.last_nodes = nodes
        self.last_endpoints = constraints
        self.last_full = time.monotonic()
        self.full_pass = due
        await self.decide_and_write(nodes, constraints)

    def observe(
        self, nodes: Mapping[str, eligibility.NodeView], health: eligibility.HealthResults
    ) -> None:
        """Feed flap damping, every pass, leader or not (a new leader starts with history)."""
        fitness: dict[Hashable, bool] = {name: node.fit for name, node in nodes.items()}
        for vip, verdicts in health.items():
            for node, passing in verdicts.items():
                fitness[(vip, node)] = passing
        self.damping.observe(fitness, now=time.monotonic())

    async def decide_and_write(
        self,
        nodes: Mapping[str, eligibility.NodeView],
        constraints: endpoints.Constraints | None = None,
    ) -> None:
        """Place every VirtualIP; record the moves in one write, then write the statuses.

        ``constraints``: `localnodes.LocalNodes.constraints` (none: nothing is confined)."""
        self.pass_began = time.perf_counter()
        try:
            await self.record.fence(self.book.term)
        except client.ApiError as exc:
            log.warning(
                "move record unreadable; deciding nothing yet", error=str(exc),
                note="the operator needs get, create and update on ConfigMap floatip-moves in "
                "its namespace (chart RBAC)" if exc.refused else "retrying",
            )  # fmt: skip
            self.last_nodes = None
            return
        health = views.health_results(self.agent_states(self.agent_leases()))
        bodies = [b for b in self.vips.store.values() if not b["metadata"].get("deletionTimestamp")]
        self.specs = {n: s for n, s in self.specs.items() if n in self.vips.store}
        self.book.keep_only(trust.key_of(b) for b in bodies)
        bases = {trust.key_of(b): self.recording.base(b) for b in bodies}
        verdicts = {
            key: self.book.judge(key, base, now=time.monotonic()) for key, base in bases.items()
        }
        placeable = []
        for body in bodies:
            spec = self.parsed(body).spec
            if spec is not None:
                base = bases[trust.key_of(body)]
                allowed = (
                    endpoints.allowed_nodes(
                        services.listed(body["metadata"].get("annotations")), constraints
                    )
                    if constraints
                    else None
                )
                view = dataclasses.replace(
                    views.vip_view(body, spec), holder=status.holder(base), endpoint_nodes=allowed
                )
                verdict = verdicts[trust.key_of(body)]
                if not verdict.trusted:  # place from the operator's own assignment
                    view = dataclasses.replace(view, holder=verdict.assigned.holder)
                placeable.append(view)
        started = time.perf_counter()
        unrest = self.damping.unrest(now=time.monotonic())
        decisions = placement.place(placeable, nodes, health, unrest)
        metrics.PLACEMENT.observe(time.perf_counter() - started)
        now = times.timestamp(times.now())

        def inputs_of(body: dict[str, Any]) -> statuses.Inputs:
            parsed = self.parsed(body)
            spec = parsed.spec
            verdict = verdicts[trust.key_of(body)]
            return statuses.Inputs(
                generation=parsed.generation,
                now=now,
                decision=decisions.get(str(body["metadata"]["name"])),
                invalid=parsed.problems,
                has_health_check=spec is not None and spec.health_check is not None,
                health=health.get(str(body["metadata"]["name"]), {}),
                pinned=spec.node if spec is not None else None,
                pinned_exists=spec is None or spec.node is None or spec.node in nodes,
                restore=None if verdict.trusted else verdict,
            )

        # The moves first: their one record write is what a failover's successors wait for,
        # so every status is built after it (the record needs only the assignments).
        moving = [
            b for b in bodies if recording.moves_now(b, bases[trust.key_of(b)], decisions, verdicts)
        ]
        moved = [
            move
            for body in moving
            if (
                move := statuses.recorded_move(
                    *trust.key_of(body),
                    bases[trust.key_of(body)],
                    statuses.assignment(bases[trust.key_of(body)], inputs_of(body)),
                )
            )
        ]
        recorded = await self.recording.write(
            moved, full_pass=self.full_pass, began=self.pass_began
        )
        if recorded is None:
            self.last_nodes = None
            self.poke()
            return
        if pause := recording.follow_pause(recorded):
            await asyncio.sleep(pause)
        counts: dict[statuses.State, int] = {}
        writes: list[_Write] = []
        for body in bodies:
            new = statuses.build(bases[trust.key_of(body)], inputs_of(body))
            state = statuses.state(new)
            counts[state] = counts.get(state, 0) + 1
            if statuses.changed(body.get("status"), new):
                writes.append((body, new, verdicts[trust.key_of(body)]))
        metrics.set_states(counts)
        writes = self._not_held(writes)
        # Batches, not a window (`inflight`): at 1,000 Services a window let 500-1,000 Ready
        # writes into the burst (140-420 so), and the Services' addresses came later.
        for start in range(0, len(writes), WRITE_BATCH):
            await asyncio.gather(
                *(self.write(b, n, v) for b, n, v in writes[start : start + WRITE_BATCH])
            )

    def _not_held(self, writes: list[_Write]) -> list[_Write]:
        """``writes`` less the Service VirtualIPs' Ready writes that wait for a burst of others
        (`deferring`); a pass is due once the burst may be over."""
        now = time.monotonic()
        held = self.deferral.hold(
            {
                str(body["metadata"]["name"]): deferring.may_wait(body, new)
                for body, new, _ in writes
            },
            now,
        )
        if not held:
            return writes
        asyncio.get_running_loop().call_later(deferring.QUIET_S, self.poke)
        return [w for w in writes if str(w[0]["metadata"]["name"]) not in held]

    async def write(
        self, body: dict[str, Any], new: dict[str, Any], verdict: trust.Verdict
    ) -> None:
        """Write one status; when it did not land, decide again (soon, or at once on a refusal)."""
        outcome = await self.writer.write(body, new, verdict)
        if outcome is statuswriting.Outcome.UNANSWERED:
            self.last_nodes = None
        elif outcome is statuswriting.Outcome.REFUSED:
            self.poke()
