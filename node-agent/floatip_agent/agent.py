"""The agent's state and loops: from assignments to addresses on the wire, and back to the API.

`Agent` glues the pure decisions (`assignments`, `decisions`, `fencing`, `conflicts`) to the
adapters (`kernel_addresses` for netlink, `links` for the wire, `kube` for the API). Loops:

- the VirtualIP watch (a thread in `kube`), feeding `_on_watch` with the newest epochs only;
- one *controller* task per VirtualIP, serialising everything done to that VIP: it asks
  `decisions.decide` what to do and does it (probe + add + announce, keep, hand over, release);
- one *announcer* task per held VIP: the rest of the first burst, the `status.announcement`
  write, the late second burst and the periodic refresh (`spec.announce`);
- the wire: every claim on a held address goes to `_on_claim` (fencing and conflicts);
- liveness: the Lease renewal, a cheap GET every second (the fence), the Node's labels and
  the local health checks.

Nothing here removes an address the agent did not add, and no failure of one VIP (a missing
interface, a netlink error, a foreign host) disturbs another: each controller catches,
reports (log + Event) and retries. Stopping the agent (SIGTERM) cancels the loops and leaves
every address in place: a rolling update must not drop VIPs (protocol.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from kubernetes.client.exceptions import ApiException
from pyroute2 import AsyncIPRoute

from floatip.api import model, names
from floatip_agent import (
    addressing,
    announcing,
    assignments,
    carrier,
    claims,
    conflicts,
    decisions,
    fencing,
    handoff,
    healthchecks,
    kernel_addresses,
    kube,
    leasing,
    links,
    metrics,
    nftables,
    probing,
    reporting,
    settings,
)

log = structlog.get_logger(__name__)
Reason = reporting.Reason
SNAPSHOT_AGE = 0.5  # seconds a kernel snapshot is shared between takes


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class Agent:
    """One node's agent. `run()` until cancelled."""

    def __init__(self, config: settings.Settings, *, api: kube.Kube | None = None) -> None:
        self.config = config
        self.node = config.node
        self.started_at = time.monotonic()
        self.fence = fencing.Fence(unsure_after=config.unsure_after_seconds)
        self.kube = api or kube.Kube(kube.load_config(config.kubeconfig), on_contact=self.contact)
        self.metrics = metrics.Metrics()
        self.book = assignments.EpochBook()
        self.assignments: dict[str, assignments.Assignment] = {}
        self.held: dict[str, decisions.Held] = {}
        self.waiting: dict[str, tuple[int, float]] = {}
        self.fenced: set[str] = set()
        self.conflicts: dict[str, conflicts.Conflict] = {}
        self.health: dict[str, healthchecks.Verdict] = {}
        self.peer_macs: set[str] = set()
        self.peer_interfaces: dict[str, str] = {}  # node -> its Lease's floatip.io/interfaces
        self.handoffs: dict[str, handoff.Handoff] = {}
        self._handoff_ends: dict[str, asyncio.TimerHandle] = {}
        self._nft_lock = asyncio.Lock()
        self._peers_read_at = 0.0
        self.own_macs: set[str] = set()
        self.node_labels: dict[str, str] = {}
        self.internal_ip: str | None = None
        self.links: dict[str, links.LinkIO] = {}
        self._ipr: AsyncIPRoute | None = None
        self._controllers: dict[str, asyncio.Task[None]] = {}
        self._wakes: dict[str, asyncio.Event] = {}
        self._announcers: dict[str, asyncio.Task[None]] = {}
        self._health_tasks: dict[str, tuple[model.HealthCheck, asyncio.Task[None]]] = {}
        self._problems: dict[str, str] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._conflict_writes: dict[str, asyncio.Task[None]] = {}
        self._reasserts: dict[str, asyncio.Task[None]] = {}
        self._stop_watch = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watch_thread: threading.Thread | None = None
        self._snapshot_cache: tuple[float, addressing.Snapshot] | None = None
        self.link_names: list[str] = []  # reported with their carrier in /healthz
        self._snapshot_lock = asyncio.Lock()
        self.ready = asyncio.Event()

    # -- lifecycle ------------------------------------------------------------------------

    def contact(self) -> None:
        """A request to the API server succeeded (called from worker threads too)."""
        self.fence.contact()

    @property
    def ipr(self) -> AsyncIPRoute:
        if self._ipr is None:
            raise RuntimeError("the agent's netlink socket is not open: call run() first")
        return self._ipr

    async def run(self) -> None:
        """Rebuild from kernel + API, then run every loop until cancelled (addresses stay)."""
        self._loop = asyncio.get_running_loop()
        async with kernel_addresses.open_netlink() as ipr:
            self._ipr = ipr
            try:
                await self._restart()
                self.ready.set()
                self._watch_thread = self.kube.watch_vips(
                    deliver=self._deliver, stop=self._stop_watch
                )
                await asyncio.gather(
                    self._forever(self._renew_lease, self.config.lease_renew_seconds),
                    self._forever(self._ping, self.config.ping_interval_seconds),
                    self._forever(self._refresh_node, self.config.node_refresh_seconds),
                )
            finally:
                await self._shutdown()

    async def _shutdown(self) -> None:
        self._stop_watch.set()
        tasks = [
            *self._controllers.values(),
            *self._announcers.values(),
            *(task for _, task in self._health_tasks.values()),
            *self._background,
            *self._conflict_writes.values(),
            *self._reasserts.values(),
        ]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for link in list(self.links.values()):
            await link.close()
        self.links.clear()
        for timer in self._handoff_ends.values():
            timer.cancel()
        self._handoff_ends.clear()
        if self.handoffs:
            self.handoffs.clear()
            await self._load_handoffs()
        log.info("agent-stopped", held=sorted(self.held), note="addresses left in place")

    async def _forever(self, step: Callable[[], Awaitable[None]], every: float) -> None:
        while True:
            started = time.monotonic()
            try:
                await step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("loop-step-failed", step=step.__name__, error=_describe(exc))
            await asyncio.sleep(max(0.05, started + every - time.monotonic()))

    async def _restart(self) -> None:
        """protocol.md "Restart": keep owned addresses assigned here, remove other owned ones."""
        snapshot = await kernel_addresses.read_snapshot(self.ipr)
        self.own_macs = {link.mac.lower() for link in snapshot.links if link.mac}
        owned = addressing.owned_by_link(snapshot)
        while True:
            try:
                objects = await self.kube.list_vips()
                await self._refresh_node()
                await self._renew_lease()
                break
            except Exception as exc:
                log.warning(
                    "api-unreachable-at-start", error=_describe(exc),
                    held_kept=sum(len(v) for v in owned.values()),
                )  # fmt: skip
                await asyncio.sleep(self.config.retry_seconds)
        if nftables.available():  # a handoff of a killed predecessor would outlive its window
            await self._load_handoffs()
        current = self._accept_all(objects)
        plan = decisions.restart_plan(owned, current, node=self.node)
        for ifname, address in plan.remove:
            result = await kernel_addresses.remove_vip(self.ipr, address=address, ifname=ifname)
            log.info("restart-removed", address=str(address), interface=ifname, result=result)
        for name, held in plan.keep.items():
            log.info("restart-kept", vip=name, address=str(held.address), interface=held.ifname)
            self.held[name] = held
            self._start_announcer(name, first_sent=False)
        self.metrics.vips_held.set(len(self.held))
        for name in self.assignments:
            self._wake(name)

    # -- assignments ----------------------------------------------------------------------

    def _deliver(self, event: kube.WatchEvent) -> None:
        """Called in the watch thread: hand the event to the event loop."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._on_watch, event)

    def _on_watch(self, event: kube.WatchEvent) -> None:
        kind, payload = event
        if kind == "SYNC":
            listed = self._accept_all(payload)
            present = {a.name for a in listed}
            self.fenced.clear()
            for name in list(self.assignments):
                if name not in present:
                    self._deleted(name)
            for name in present:
                self._wake(name)
        elif kind == "DELETED":
            self._deleted(str((payload.get("metadata") or {}).get("name") or ""))
        elif kind in ("ADDED", "MODIFIED"):
            accepted = self._accept(payload)
            if accepted is not None:
                self.fenced.discard(accepted.name)
                self._wake(accepted.name)
        self._sync_health_checks()

    def _accept_all(self, objects: list[dict[str, Any]]) -> list[assignments.Assignment]:
        return [a for obj in objects if (a := self._accept(obj)) is not None]

    def _accept(self, obj: dict[str, Any]) -> assignments.Assignment | None:
        parsed = assignments.parse(obj)
        if isinstance(parsed, assignments.Invalid):
            log.info("vip-skipped", vip=parsed.name, problem=parsed.problem)
            return None
        if not self.book.accept(parsed):
            log.info(
                "stale-epoch-ignored", vip=parsed.name, epoch=parsed.epoch,
                newest=self.book.newest(parsed.name),
            )  # fmt: skip
            return None
        self.assignments[parsed.name] = parsed
        return parsed

    def _deleted(self, name: str) -> None:
        self.assignments.pop(name, None)
        self.book.forget(name)
        self._wake(name)

    def _wake(self, name: str) -> None:
        if not name:
            return
        wake = self._wakes.setdefault(name, asyncio.Event())
        wake.set()
        task = self._controllers.get(name)
        if task is None or task.done():
            self._controllers[name] = asyncio.create_task(self._control(name), name=f"vip-{name}")

    # -- one VirtualIP's controller -------------------------------------------------------

    async def _control(self, name: str) -> None:
        wake = self._wakes[name]
        while True:
            wake.clear()
            try:
                recheck = await self._step(name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("vip-step-failed", vip=name)
                await self._problem(name, Reason.APPLY_FAILED, _describe(exc), "Apply")
                recheck = self.config.retry_seconds
            if name not in self.assignments and name not in self.held:
                self._wakes.pop(name, None)
                self._controllers.pop(name, None)
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), recheck)

    async def _step(self, name: str) -> float | None:
        """Decide and act once; return when to look again at the latest (None: on a wake)."""
        assignment = self.assignments.get(name)
        held = self.held.get(name)
        waiting = self.waiting.get(name)
        since = waiting[1] if waiting and assignment and waiting[0] == assignment.epoch else None
        decision = decisions.decide(
            assignment, node=self.node, held=held, waiting_since=since,
            now=time.monotonic(), handover_timeout=self.config.handover_timeout_seconds,
        )  # fmt: skip
        action = decision.action
        if action is not decisions.Action.WAIT:
            self.waiting.pop(name, None)
        if action is decisions.Action.TAKE and assignment is not None:
            if self.fence.unsure or name in self.fenced:
                return self.config.ping_interval_seconds  # no take on a possibly stale word
            return await self._take(assignment)
        if action is decisions.Action.KEEP and assignment is not None and held is not None:
            return await self._keep(assignment, held)
        if action is decisions.Action.RELEASE:
            handover = assignment is not None and assignment.holder not in (None, self.node)
            redirect = _new_holder_mac(assignment) if handover else None
            await self._release(name, decision.reason, redirect_to=redirect)
            return 0.0 if assignment is not None and assignment.holder == self.node else None
        if action is decisions.Action.WAIT and assignment is not None:
            if since is None:
                log.info("handover-waiting", vip=name, epoch=assignment.epoch, why=decision.reason)
                self.waiting[name] = (assignment.epoch, time.monotonic())
                announcer = self._announcers.pop(name, None)
                if announcer is not None:  # stop refreshing: clients are moving to the new holder
                    announcer.cancel()
            return decision.recheck_after
        return None

    async def _take(self, assignment: assignments.Assignment) -> float | None:
        name, address = assignment.name, assignment.address
        snapshot = await self._snapshot()
        try:
            placement = addressing.plan(snapshot, address, ifname=assignment.interface)
        except addressing.NodeAddressError as exc:
            await self._problem(name, Reason.NODE_ADDRESS, str(exc), "Refuse")
            return self.config.probe_retry_seconds
        except addressing.AddressingError as exc:
            await self._problem(name, Reason.NO_INTERFACE, str(exc), "Apply")
            return self.config.retry_seconds
        link = self._link(placement.link.name)
        result = await link.probe(
            address,
            peer_macs=self.peer_macs,
            count=self.config.probe_count,
            window=self.config.probe_window_seconds,
        )
        if not result.free and await self._refresh_peers():
            # An unknown MAC may be a peer that started after our last look at the Leases:
            # never refuse an address because our list of peers was stale.
            late_peers = result.foreign & self.peer_macs
            result = probing.ProbeResult(result.foreign - late_peers, result.peers | late_peers)
        if not result.free:
            mac = sorted(result.foreign)[0]
            self.metrics.conflicts.labels(vip=name).inc()
            record = conflicts.record(
                self.conflicts.get(name), mac=mac, now=time.monotonic(), wall=_now()
            )
            self.conflicts[name] = record
            note = (
                f"{address} is already answered for by {', '.join(sorted(result.foreign))} "
                f"on {link.ifname}: not taking it. Find the host with that MAC and remove the "
                "address there; floatip probes again and takes it once it is free"
            )
            await self._problem(name, Reason.PROBE_CONFLICT, note, "Probe")
            self._write_conflict(name)
            return self.config.probe_retry_seconds
        current = self.assignments.get(name)
        if current is None or current.holder != self.node or current.epoch != assignment.epoch:
            return 0.0  # the assignment changed while probing: decide again
        await self._hand_off(current, placement.link.name)
        started = time.monotonic()
        await kernel_addresses.add_vip(
            self.ipr, address=address, ifname=placement.link.name, snapshot=snapshot
        )
        self.held[name] = decisions.Held(address, placement.link.name, assignment.epoch)
        await link.announce_once([address])
        self.metrics.apply_seconds.observe(time.monotonic() - started)
        self.metrics.announcements.labels(kind="burst").inc()
        self.metrics.vips_held.set(len(self.held))
        self._problems.pop(name, None)
        self.conflicts.pop(name, None)
        log.info("vip-taken", vip=name, address=str(address), epoch=assignment.epoch,
                 interface=link.ifname, peers_answered=sorted(result.peers))  # fmt: skip
        self._start_announcer(name, first_sent=True)
        return None

    async def _snapshot(self) -> addressing.Snapshot:
        """The kernel's links and addresses, shared by takes within `SNAPSHOT_AGE` seconds.

        One dump per take would cost N² for N VIPs taken at once. A slightly old snapshot is
        safe: an address added since makes the add fail with EEXIST, and `add_vip` then
        re-reads the kernel and refuses an address it does not own.
        """
        async with self._snapshot_lock:
            cached = self._snapshot_cache
            if cached is None or time.monotonic() - cached[0] > SNAPSHOT_AGE:
                cached = (time.monotonic(), await kernel_addresses.read_snapshot(self.ipr))
                self._snapshot_cache = cached
            return cached[1]

    async def _keep(self, assignment: assignments.Assignment, held: decisions.Held) -> float | None:
        name = assignment.name
        if assignment.epoch > held.epoch:  # re-assigned here at a newer epoch: announce it anew
            self.held[name] = held._replace(epoch=assignment.epoch)
            self._start_announcer(name, first_sent=False)
        elif name not in self._announcers:  # held but silent (a handover was called off)
            self._start_announcer(name, first_sent=False)
        conflict = self.conflicts.get(name)
        if conflict is not None:
            if conflicts.over(conflict, now=time.monotonic()):
                del self.conflicts[name]
                log.info("conflict-over", vip=name, mac=conflict.mac, count=conflict.count)
                self._write_conflict(name)
                return None
            return conflicts.QUIET / 4
        if assignment.conflict_node == self.node:
            self._write_conflict(name)  # a report of ours from before a restart: clear it
        return None

    async def _release(self, name: str, why: str, *, redirect_to: str | None = None) -> None:
        held = self.held.pop(name, None)
        announcer = self._announcers.pop(name, None)
        if announcer is not None:
            announcer.cancel()
        for tasks in (self._reasserts,):
            task = tasks.pop(name, None)
            if task is not None:
                task.cancel()
        self.conflicts.pop(name, None)
        self.metrics.vips_held.set(len(self.held))
        if name in self.handoffs:
            await self._end_handoff(name)
        if held is None:
            return
        link = self.links.get(held.ifname)
        if redirect_to is not None and link is not None:
            with contextlib.suppress(OSError):
                await link.announcer.redirect(held.address, to_mac=redirect_to)
        result = await kernel_addresses.remove_vip(
            self.ipr, address=held.address, ifname=held.ifname
        )
        self.metrics.releases.labels(why=_why(why)).inc()
        log.info("vip-released", vip=name, address=str(held.address), why=why, result=result)

    # -- flow handoff (planned takes) -----------------------------------------------------

    async def _hand_off(self, assignment: assignments.Assignment, ifname: str) -> None:
        """Before a planned take: send stray segments of the previous holder's flows there."""
        seconds = self.config.flow_handoff_seconds
        if seconds <= 0:
            return
        name = assignment.name
        planned = handoff.plan(
            assignment, node=self.node, ifname=ifname, peer_interfaces=self.peer_interfaces
        )
        if planned is None:
            return
        self.handoffs[name] = planned
        if not await self._load_handoffs():
            self.handoffs.pop(name, None)
            self.metrics.handoffs.labels(result="failed").inc()
            return
        self.metrics.handoffs.labels(result="started").inc()
        log.info(
            "flow-handoff-started", vip=name, previous=assignment.announced_node,
            to=str(planned.previous), seconds=seconds,
        )  # fmt: skip
        old = self._handoff_ends.pop(name, None)
        if old is not None:
            old.cancel()
        self._handoff_ends[name] = asyncio.get_running_loop().call_later(
            seconds, lambda: self._spawn(self._end_handoff(name))
        )

    async def _end_handoff(self, name: str) -> None:
        timer = self._handoff_ends.pop(name, None)
        if timer is not None:
            timer.cancel()
        if self.handoffs.pop(name, None) is not None:
            await self._load_handoffs()
            log.info("flow-handoff-ended", vip=name)

    async def _load_handoffs(self) -> bool:
        """Make the kernel's floatip tables hold exactly `self.handoffs`; False on failure."""
        async with self._nft_lock:
            try:
                await nftables.load(handoff.ruleset(self.handoffs.values()))
            except (nftables.NftablesError, OSError) as exc:
                log.warning(
                    "flow-handoff-failed", error=_describe(exc), handoffs=len(self.handoffs)
                )
                return False
            return True

    def _link(self, ifname: str) -> links.LinkIO:
        link = self.links.get(ifname)
        if link is None:
            link = links.LinkIO(ifname=ifname, on_claim=self._on_claim, on_lost=self._link_lost)
            self.links[ifname] = link
        return link

    def _link_lost(self, ifname: str) -> None:
        link = self.links.pop(ifname, None)
        if link is not None:
            self._spawn(link.close())

    # -- announcing -----------------------------------------------------------------------

    def _start_announcer(self, name: str, *, first_sent: bool) -> None:
        old = self._announcers.pop(name, None)
        if old is not None:
            old.cancel()
        self._announcers[name] = asyncio.create_task(
            self._announce(name, first_sent=first_sent), name=f"announce-{name}"
        )

    async def _announce(self, name: str, *, first_sent: bool) -> None:
        """status.announcement, the rest of the first burst, second burst, refresh forever.

        The announcement is written as soon as the first frame is out (not after the whole
        burst): the old holder of a planned handover waits for it, so writing it early keeps
        the make-before-break overlap, when both hosts answer ARP, to tens of milliseconds.
        """
        held = self.held[name]
        assignment = self.assignments.get(name)
        tuning = assignment.announce if assignment else model.Announce()
        link = self._link(held.ifname)
        offsets = announcing.schedule(tuning)
        loop = asyncio.get_running_loop()
        start = loop.time()
        for index, offset in enumerate(offsets):
            if not (index == 0 and first_sent):
                await asyncio.sleep(max(0.0, start + offset - loop.time()))
                await self._send(link, held.address, "burst")
            if index == 0:
                self._spawn(self._write_announcement(name, held, link.mac))
        while tuning.refresh_interval_seconds:
            await asyncio.sleep(tuning.refresh_interval_seconds)
            await self._send(link, held.address, "refresh")

    async def _send(self, link: links.LinkIO, address: addressing.IPAddress, kind: str) -> None:
        try:
            await link.announce_once([address])
            self.metrics.announcements.labels(kind=kind).inc()
        except OSError as exc:
            log.warning("announce-failed", interface=link.ifname, error=str(exc))

    async def _write_announcement(self, name: str, held: decisions.Held, mac: str) -> None:
        assignment = self.assignments.get(name)
        if assignment is not None and (assignment.announced_node, assignment.announced_epoch) == (
            self.node,
            held.epoch,
        ):
            return
        patch = reporting.announcement_patch(
            node=self.node, epoch=held.epoch, mac=mac, time=conflicts.timestamp(_now())
        )
        for _ in range(5):
            try:
                await self.kube.patch_vip_status(name, patch)
                log.info("announcement-written", vip=name, epoch=held.epoch, mac=mac)
                return
            except Exception as exc:
                log.warning("announcement-write-failed", vip=name, error=_describe(exc))
                await asyncio.sleep(self.config.retry_seconds)

    # -- the wire: fencing and conflicts --------------------------------------------------

    def _on_claim(self, ifname: str, claim: claims.Claim) -> None:
        name = next(
            (n for n, h in self.held.items() if h.address == claim.address and h.ifname == ifname),
            None,
        )
        if name is None:
            return
        response = decisions.respond_to_claim(
            claim.mac, own_macs=self.own_macs | {self.links[ifname].mac},
            peer_macs=self.peer_macs, unsure=self.fence.unsure,
        )  # fmt: skip
        if response is decisions.ClaimResponse.IGNORE:
            return
        if response is decisions.ClaimResponse.RELEASE:
            log.warning("fenced-release", vip=name, mac=claim.mac, silence=self.fence.silence())
            self.fenced.add(name)
            self._spawn(self._release(name, f"unsure and {claim.mac} claims it"))
            self._spawn(
                self._problem(
                    name, Reason.FENCED,
                    f"{claim.mac} claimed {claim.address} while this node had no API contact "
                    "for too long: released it at once (DESIGN.md safety 3)", "Release",
                )
            )  # fmt: skip
        elif response is decisions.ClaimResponse.REREAD:
            self._spawn(self._reread(name))
        else:
            self._spawn(self._check_foreign(name, ifname, claim))

    async def _check_foreign(self, name: str, ifname: str, claim: claims.Claim) -> None:
        """A MAC not known as a peer claims a held address: a peer that just started, or not?

        The Leases are re-read at most once a second, so an intruder's flood costs no API load.
        """
        stale = time.monotonic() - self._peers_read_at > 1.0
        if stale and await self._refresh_peers() and claim.mac.lower() in self.peer_macs:
            await self._reread(name)
            return
        if name in self.held:
            self._foreign_claim(name, ifname, claim)

    async def _reread(self, name: str) -> None:
        obj = await self.kube.get_vip(name)
        self._on_watch(
            ("DELETED", {"metadata": {"name": name}}) if obj is None else ("MODIFIED", obj)
        )

    def _foreign_claim(self, name: str, ifname: str, claim: claims.Claim) -> None:
        first = name not in self.conflicts
        record = conflicts.record(
            self.conflicts.get(name), mac=claim.mac, now=time.monotonic(), wall=_now()
        )
        self.conflicts[name] = record
        self.metrics.conflicts.labels(vip=name).inc()
        if first:
            log.warning("conflict", vip=name, mac=claim.mac, address=str(claim.address))
            self._spawn(
                self._problem(
                    name, Reason.CONFLICT,
                    f"{claim.mac} claims {claim.address} on {ifname} ({claim.kind}); this node "
                    "keeps it and re-asserts at a bounded rate. Find the host with that MAC",
                    "Reassert", dedupe=False,
                )
            )  # fmt: skip
        if record.bucket.try_take():
            self._reassert(name, record)
        elif name not in self._reasserts:
            delay = record.bucket.wait_time()
            self._reasserts[name] = asyncio.create_task(self._deferred_reassert(name, delay))
        self._wake(name)

    def _reassert(self, name: str, record: conflicts.Conflict) -> None:
        held = self.held.get(name)
        link = self.links.get(held.ifname) if held else None
        if held is None or link is None:
            return
        record.reasserted += 1
        self._spawn(self._send(link, held.address, "reassert"))
        self._write_conflict(name)

    async def _deferred_reassert(self, name: str, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
            record = self.conflicts.get(name)
            if record is not None and record.bucket.try_take():
                self._reassert(name, record)
        finally:
            self._reasserts.pop(name, None)

    def _write_conflict(self, name: str) -> None:
        """Write status.conflict soon; at most one write in flight per VIP, one a second."""
        if name in self._conflict_writes:
            return
        self._conflict_writes[name] = asyncio.create_task(self._conflict_writer(name))

    async def _conflict_writer(self, name: str) -> None:
        try:
            record = self.conflicts.get(name)
            report = record.to_report(node=self.node) if record else None
            await self.kube.patch_vip_status(name, reporting.conflict_patch(report))
            await asyncio.sleep(1.0)
        except Exception as exc:
            log.warning("conflict-write-failed", vip=name, error=_describe(exc))
        finally:
            self._conflict_writes.pop(name, None)
        record = self.conflicts.get(name)
        if record is not None and record.to_report(node=self.node) != report:
            self._write_conflict(name)

    # -- reports --------------------------------------------------------------------------

    async def _problem(
        self, name: str, reason: Reason, note: str, action: str, *, dedupe: bool = True
    ) -> None:
        """Log a problem with VIP `name` and post an Event (once per distinct problem)."""
        log.warning("vip-problem", vip=name, reason=reason.value, note=note)
        key = f"{reason}:{note}"
        if dedupe and self._problems.get(name) == key:
            return
        self._problems[name] = key
        assignment = self.assignments.get(name)
        body = reporting.event(
            vip=name, uid=assignment.uid if assignment else "", node=self.node,
            reason=reason, note=note, action=action, now=_now(),
        )  # fmt: skip
        try:
            await self.kube.create_event(body)
        except Exception as exc:
            log.warning("event-failed", vip=name, reason=reason.value, error=_describe(exc))

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- liveness: Lease, ping, Node, health checks ---------------------------------------

    async def _ping(self) -> None:
        silence = self.fence.silence()
        if silence is None or silence >= self.config.ping_interval_seconds * 0.9:
            with contextlib.suppress(Exception):
                await self.kube.ping()
        self.metrics.unsure.set(1 if self.fence.unsure else 0)

    async def _renew_lease(self) -> None:
        snapshot = await kernel_addresses.read_snapshot(self.ipr)
        self.own_macs = {link.mac.lower() for link in snapshot.links if link.mac}
        self.link_names = sorted(link.name for link in snapshot.links if link.name != "lo")
        annotations = {
            names.ENDPOINT_ANNOTATION: f"http://{self._endpoint_host(snapshot)}:{self.config.listen_port}",
            names.INTERFACES_ANNOTATION: leasing.interfaces_annotation(snapshot),
            names.MACS_ANNOTATION: leasing.macs_annotation(snapshot),
        }
        now = _now()
        duration = leasing.duration_for(self.config.lease_renew_seconds)
        try:
            await self.kube.renew_lease(
                name=leasing.lease_name(self.node), namespace=self.config.namespace,
                patch=leasing.renewal_patch(
                    node=self.node, annotations=annotations, now=now, duration=duration,
                    clear_restart_mark=time.monotonic() - self.started_at
                    >= leasing.RESTART_MARK_KEPT_SECONDS,
                ),
                body=lambda: leasing.lease_body(
                    node=self.node, namespace=self.config.namespace,
                    annotations=annotations, now=now, duration=duration,
                ),
            )  # fmt: skip
        except Exception:
            self.metrics.lease_failures.inc()
            raise
        await self._refresh_peers()

    async def _refresh_peers(self) -> bool:
        """Re-read the agents' Leases for their MACs; False when the API could not say."""
        try:
            leases = await self.kube.list_leases(self.config.namespace)
        except Exception as exc:
            log.warning("peer-refresh-failed", error=_describe(exc))
            return False
        self.peer_macs = leasing.peer_macs(leases, node=self.node) - self.own_macs
        self.peer_interfaces = leasing.peer_interfaces(leases, node=self.node)
        self._peers_read_at = time.monotonic()
        return True

    def _endpoint_host(self, snapshot: addressing.Snapshot) -> str:
        if self.config.advertise_address:
            return self.config.advertise_address
        if self.config.listen_host not in ("0.0.0.0", "::"):
            return self.config.listen_host
        if self.internal_ip:
            return self.internal_ip
        for entry in sorted(
            snapshot.addresses, key=lambda e: addressing.link_name(snapshot, e.link_index)
        ):
            ip = entry.interface.ip
            if not entry.owned and ip.version == 4 and not ip.is_loopback:
                return str(ip)
        return "127.0.0.1"

    async def _refresh_node(self) -> None:
        node = await self.kube.get_node(self.node)
        if node is None:
            return
        self.node_labels = dict((node.get("metadata") or {}).get("labels") or {})
        for entry in (node.get("status") or {}).get("addresses") or []:
            if entry.get("type") == "InternalIP":
                self.internal_ip = str(entry.get("address"))
                break
        self._sync_health_checks()

    def _sync_health_checks(self) -> None:
        """Run a check for every VirtualIP with one whose nodeSelector selects this node."""
        wanted: dict[str, model.HealthCheck] = {}
        for name, a in self.assignments.items():
            if a.health_check is None:
                continue
            if a.node_selector is None or a.node_selector.matches(self.node_labels):
                wanted[name] = a.health_check
        for name in list(self._health_tasks):
            check, task = self._health_tasks[name]
            if wanted.get(name) != check:
                task.cancel()
                del self._health_tasks[name]
                self.health.pop(name, None)
        for name, check in wanted.items():
            if name not in self._health_tasks:
                verdict = healthchecks.Verdict(rise=check.rise, fall=check.fall)
                self.health[name] = verdict
                task = asyncio.create_task(healthchecks.run(check, verdict), name=f"check-{name}")
                self._health_tasks[name] = (check, task)

    async def announce_restart(self, grace_seconds: float) -> None:
        """Tell the operator this is a clean stop: hold failover for ``grace_seconds``."""
        until = _now() + datetime.timedelta(seconds=grace_seconds)
        try:
            await self.kube.patch_lease(
                name=leasing.lease_name(self.node),
                namespace=self.config.namespace,
                patch=leasing.restarting_patch(until),
            )
        except Exception as exc:
            log.warning("restart-announcement-failed", error=_describe(exc))
        else:
            log.info("restart-announced", until=until.isoformat(), grace_seconds=grace_seconds)

    def healthz(self) -> dict[str, Any]:
        """The /healthz document (protocol.md)."""
        last = self.fence.last_contact
        return {
            "node": self.node,
            "unsure": self.fence.unsure,
            "lastApiContact": conflicts.timestamp(last) if last else None,
            "held": {name: held.epoch for name, held in sorted(self.held.items())},
            "health": {name: v.healthy for name, v in sorted(self.health.items())},
            "links": carrier.carriers(self.link_names),
        }


def _new_holder_mac(assignment: assignments.Assignment | None) -> str | None:
    """The MAC of the node that announced this VirtualIP at its current epoch, if another did."""
    if (
        assignment is None
        or assignment.announced_mac is None
        or assignment.announced_epoch is None
        or assignment.announced_epoch < assignment.epoch
        or assignment.announced_node != assignment.holder
    ):
        return None
    return assignment.announced_mac


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ApiException):
        return f"API answered {exc.status} {exc.reason}"
    return str(exc) or type(exc).__name__


def _why(reason: str) -> str:
    for word in ("deleted", "nobody", "announced", "failed over", "did not announce", "unsure",
                 "changed"):  # fmt: skip
        if word in reason:
            return word.replace(" ", "-")
    return "other"
