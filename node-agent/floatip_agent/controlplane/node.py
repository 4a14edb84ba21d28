"""One control-plane node at work: its heartbeat, its checks, the election and the VIP.

Loops on one event loop, sharing this node's state:

- ``_beats``: sends this node's heartbeat every beat (and at once after a change);
- ``_receive``: records the peers' heartbeats (other clusters' are counted, never used);
- `checking.Checker`: the local ``/readyz`` with rise/fall;
- ``_elect``: applies `election.decide` after every heard beat, verdict change, or half a beat,
  and carries out a claim (probe, add: `claiming`; then announce, say so) or a release (stop
  announcing, remove and redirect: `claiming`; say so);
- ``_verify``: while holding, puts the VIP back if something removed it (`claiming.put_back`);
- `guarding.Guard`: the wire (conflicts) and the announcements while holding.

Every change of role, health or peer set is one log line.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import structlog

from floatip_agent import carrier, links
from floatip_agent.controlplane import (
    beacon,
    checking,
    claiming,
    election,
    guarding,
    hearing,
    heartbeat,
    metrics,
    readiness,
    settings,
    stateview,
    vipaddress,
)

log = structlog.get_logger(__name__)


class ControlPlaneNode:
    """This node's part in holding the control-plane VIP."""

    def __init__(
        self,
        config: settings.Config,
        *,
        vip: vipaddress.VipAddress,
        link: links.Link,
        seen: asyncio.Queue[links.Seen],
        sock: beacon.Beacon,
        counters: metrics.Metrics,
    ) -> None:
        self.config = config
        self.profile = config.profile
        self.vip = vip
        self.link = link
        self.beacon = sock
        self.counters = counters
        self.readiness = readiness.Readiness(rise=self.profile.rise, fall=self.profile.fall)
        self.holding = False
        self.term = 0
        self.leaving = False
        self.hearing = hearing.Hearing(
            cluster_id=config.cluster_id, node=config.node, mac=link.mac, key=config.key
        )
        #: Called after a claim, a release or a health change (the status publisher's wake).
        self.notify: Callable[[], None] = lambda: None
        self._seq = 0
        self._backoff_until = 0.0
        self._started = 0.0
        self._wake = asyncio.Event()
        self._released = asyncio.Event()  # set when a release has finished
        self._acting = asyncio.Lock()  # a claim or a release in progress (never cut short)
        self._last_wait = ""
        self._live_names: frozenset[str] = frozenset()
        self.guard = guarding.Guard(
            address=config.address, link=link, seen=seen, counters=counters,
            live_peer_macs=self.live_peer_macs, known_peer_macs=self.peer_macs,
            holding=lambda: self.holding, stall_seconds=self.profile.dead_after_seconds,
        )  # fmt: skip
        self.checker = checking.Checker(
            config,
            self.readiness,
            counters=counters,
            on_change=self._health_changed,
            on_result=self._checked,
        )

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    # --- state -----------------------------------------------------------------------------

    def live_peers(self) -> list[heartbeat.Beat]:
        return self.hearing.live(now=self.now(), dead_after=self.profile.dead_after_seconds)

    def peer_macs(self) -> set[str]:
        """Every peer's MAC ever heard: their answers to a probe are no intruder's."""
        return self.hearing.macs()

    def live_peer_macs(self) -> set[str]:
        return {beat.mac for beat in self.live_peers()}

    def eligible(self) -> bool:
        return carrier.carrier(self.vip.ifname) is not False and self.now() >= self._backoff_until

    def confirmed(self) -> bool:
        """Election "Confirm": our newest check passed after every failing holder said so, and
        we have been healthy for ``takeover_after_healthy_seconds``."""
        since = self.hearing.failure_reported()
        settled = self.now() - self.checker.healthy_since
        return (
            self.checker.fresh_pass(since)
            and settled >= self.profile.takeover_after_healthy_seconds
        )

    def me(self) -> election.Me:
        return election.Me(
            node=self.config.node, healthy=self.readiness.healthy, holding=self.holding,
            term=self.term, eligible=self.eligible(),
            ready=self.now() - self._started >= self.profile.dead_after_seconds,
            leaving=self.leaving, confirmed=self.confirmed(),
        )  # fmt: skip

    def beat(self) -> heartbeat.Beat:
        me = self.me()
        self._seq += 1
        return heartbeat.Beat(
            cluster=self.config.cluster_id, node=me.node, healthy=me.healthy, holding=me.holding,
            term=me.term, eligible=me.eligible, leaving=me.leaving, mac=self.link.mac,
            seq=self._seq,
        )  # fmt: skip

    def state(self) -> dict[str, Any]:
        """The JSON of ``GET /state`` (`stateview`)."""
        return stateview.state(self)

    def send_beat(self) -> None:
        self.beacon.send(heartbeat.encode(self.beat(), key=self.config.key))
        self.counters.sent.inc()

    # --- running ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Adopt the VIP if a previous run of ours left it here (a restart keeps it)."""
        self._started = self.now()
        found = await self.vip.find()
        if found is vipaddress.Found.OURS:
            self.holding = True
            self.counters.holding.set(1)
            self.guard.start_announcing()
            log.info("vip-adopted", address=str(self.config.address), interface=self.vip.ifname)
        elif found is vipaddress.Found.FOREIGN:
            log.warning(
                "vip-foreign", address=str(self.config.address),
                detail="the VIP is on this node but not added by floatip (by hand, keepalived, "
                "kube-vip?); this node will not claim it until it is removed",
            )  # fmt: skip

    async def run(self) -> None:
        """Every loop, until cancelled."""
        loops = [self._beats(), self._receive(), self.checker.run(), self._elect(), self._verify()]
        tasks = [asyncio.create_task(coro) for coro in loops]
        tasks.append(asyncio.create_task(self.guard.run()))
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self.guard.stop_announcing()

    async def _beats(self) -> None:
        while True:
            self.send_beat()
            await asyncio.sleep(self.profile.beat_seconds)

    async def _receive(self) -> None:
        while True:
            data, sender = await self.beacon.receive()
            heard = self.hearing.hear(data, sender, now=self.now())
            if heard is hearing.Heard.PEER:
                self.counters.received.inc()
                self._wake.set()
            elif heard is hearing.Heard.FOREIGN:
                self.counters.foreign_cluster.inc()
            elif heard is hearing.Heard.REJECTED:
                self.counters.rejected.inc()

    def _checked(self) -> None:
        if self.hearing.failed_since and not self.holding:
            self._wake.set()  # a takeover waiting for a fresh pass: decide now, not next tick

    def _health_changed(self) -> None:
        healthy = self.readiness.healthy
        log.info("apiserver-ready" if healthy else "apiserver-unready", port=self.config.port,
                 holding=self.holding)  # fmt: skip
        self.send_beat()
        self._wake.set()
        self.notify()

    async def _verify(self) -> None:
        """While holding, put the VIP back if something removed it (an admin, a reboot script)."""
        while True:
            await asyncio.sleep(self.config.verify_seconds)
            async with self._acting:
                if self.holding and await claiming.put_back(
                    self.vip, retry_in=self.config.verify_seconds
                ):
                    self.guard.start_announcing()

    async def _elect(self) -> None:
        counters = self.counters
        counters.healthy.set(-1)
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.profile.beat_seconds / 2):
                    await self._wake.wait()
            self._wake.clear()
            live = self.live_peers()
            self._note_peers(live)
            decision = election.decide(self.me(), live, known_term=self.hearing.known_term)
            if decision.action is election.Action.CLAIM:
                async with self._acting:
                    await self._claim(decision)
            elif decision.action is election.Action.RELEASE:
                async with self._acting:
                    await self.release(decision.reason, why="outranked", successor=live)
            elif decision.action is election.Action.WAIT and decision.reason != self._last_wait:
                self._last_wait = decision.reason
                log.info("waiting", reason=decision.reason)

    def _note_peers(self, live: list[heartbeat.Beat]) -> None:
        names = frozenset(beat.node for beat in live)
        for name in sorted(names - self._live_names):
            log.info("peer-up", peer=name)
        for name in sorted(self._live_names - names):
            log.info(
                "peer-down",
                peer=name,
                silent_for=round(self.now() - self.hearing.peers[name][1], 3),
            )
        self._live_names = names
        self.counters.peers_live.set(len(names))

    async def _claim(self, decision: election.Decision) -> None:
        outcome = await claiming.claim(
            self.vip, self.link, profile=self.profile, peer_macs=self.peer_macs(),
            decide_again=lambda: election.decide(
                self.me(), self.live_peers(), known_term=self.hearing.known_term
            ),
        )  # fmt: skip
        if isinstance(outcome, claiming.Refused):
            if outcome.foreign:
                self.counters.probe_refusals.inc()
                self.counters.conflicts.inc()
            self._backoff(outcome.reason)
            return
        if isinstance(outcome, claiming.Abandoned):
            log.info("claim-abandoned", reason=outcome.reason)
            return
        self.holding, self.term = True, decision.term
        self.hearing.known_term = max(self.hearing.known_term, decision.term)
        self._last_wait = ""
        self.send_beat()
        self.guard.start_announcing()
        self.notify()
        self.counters.claims.inc()
        self.counters.holding.set(1)
        self.counters.term.set(decision.term)
        log.info(
            "vip-claimed", address=str(self.config.address), interface=self.vip.ifname,
            term=decision.term, reason=decision.reason, peers_answered=sorted(outcome.peers),
        )  # fmt: skip

    def _backoff(self, reason: str) -> None:
        self._backoff_until = self.now() + self.profile.claim_backoff_seconds
        log.warning("claim-refused", address=str(self.config.address), reason=reason,
                    retry_in=self.profile.claim_backoff_seconds)  # fmt: skip

    async def release(
        self, reason: str, *, why: str, successor: list[heartbeat.Beat] | None = None
    ) -> None:
        """Stop announcing, remove the VIP, and tell the peers at once.

        With the live peers in `successor`, the best of those holding is the new holder, and
        the LAN is told that the VIP is at its MAC (`claiming.redirect`).
        """
        self.guard.stop_announcing()
        self.holding = False
        removed = await claiming.remove(self.vip)
        self._released.set()
        self.send_beat()
        await claiming.redirect(self.link, self.vip, successor or ())
        self.counters.holding.set(0)
        self.notify()
        self.counters.releases.labels(why=why).inc()
        log.info("vip-released", address=str(self.config.address), reason=reason,
                 removed=removed, term=self.term)  # fmt: skip

    async def leave(self) -> bool:
        """SIGTERM: hand the VIP to a healthy live peer if there is one; else keep it.

        Returns whether the VIP was let go. With a healthy peer this node says it is leaving;
        the peer claims (make-before-break) and the election releases ours; if the peer has
        not claimed within ``leave_timeout_seconds`` the VIP is removed anyway.
        """
        async with self._acting:
            pass  # a claim or release under way finishes first
        if not self.holding:
            return False
        healthy = [b.node for b in self.live_peers() if b.healthy and b.eligible]
        if not healthy:
            log.info("leaving-keeps-vip", reason="no healthy live peer: a restart must not drop it")
            return False
        self.leaving = True
        self._released.clear()
        self.send_beat()
        self._wake.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.config.leave_timeout_seconds):
                await self._released.wait()
        async with self._acting:  # a release under way finishes first
            if self.holding:
                await self.release("leaving; no peer claimed in time", why="leaving")
        return True
