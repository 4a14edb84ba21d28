"""The claim guard: who claims an address this node holds, and what that calls for.

It reads every claim the link pool sees (`links.Seen`), keeps those on addresses this node
holds (the table), and asks `decisions.respond_to_claim` (protocol.md "Fencing"):

- our own frame: nothing;
- any other MAC while unsure of the API: ``Fenced`` for the VirtualIP's worker, which
  releases at once (DESIGN.md safety 3);
- a cluster peer's MAC: the intake reads the VirtualIP again (the newest epoch decides);
- a foreign MAC: ``Foreign`` for the worker (report, re-assert at a bounded rate, never move;
  safety 5), unless a fresh look at the peers' Leases shows it is a peer that just started.
  The answers to the node's own verification probes (`verifying`) arrive here the same way.

A question about a held address (a host resolving it) by any MAC but ours and the peers' is
``Asked`` for the worker, which defends the address after it while a conflict is known.
  Those looks happen at most once a second, so an intruder's flood costs no API load, and in
  the background, so a fencing claim is never held up behind one.

It never releases, re-asserts or writes anything itself: it only nudges.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog

from floatip_agent import claims, decisions, fencing, links, nudges, ports, presence, table

log = structlog.get_logger(__name__)
PEERS_FRESH_FOR = 1.0  # seconds a look at the peers' Leases is trusted for a foreign claim


class ClaimGuard:
    """Claims in, nudges out."""

    def __init__(
        self,
        *,
        node_facts: Callable[[], presence.Facts],
        peering: ports.Peering,
        peers_age: Callable[[], float],
        fence: fencing.Fence,
        held: table.Table,
        wire: ports.Wire,
        nudge: Callable[[str, nudges.Nudge], None],
        reread: Callable[[str], None],
    ) -> None:
        self.node_facts = node_facts
        self.peering = peering
        self.peers_age = peers_age
        self.fence = fence
        self.table = held
        self.wire = wire
        self.nudge = nudge
        self.reread = reread
        self._suspects: list[tuple[str, claims.Claim, str]] = []
        self._looking: asyncio.Task[None] | None = None

    async def run(self, seen: asyncio.Queue[links.Seen]) -> None:
        """Judge every claim from ``seen``, forever."""
        while True:
            self.judge(await seen.get())

    def judge(
        self, seen: links.Seen
    ) -> decisions.ClaimResponse | decisions.QuestionResponse | None:
        """Act on one sighting; return the response (None: not about an address held here)."""
        claim = seen.claim
        name = self.table.holding(claim.address, seen.ifname)
        if name is None:
            return None
        own = set(self.node_facts().own_macs)
        if (mac := self.wire.mac(seen.ifname)) is not None:
            own.add(mac)
        if isinstance(claim, claims.Question):
            asked = decisions.respond_to_question(
                claim.mac, own_macs=own, peer_macs=self.peering.peers.macs
            )
            if asked is decisions.QuestionResponse.NOTE:
                self.nudge(name, nudges.Asked(claim, seen.ifname))
            return asked
        response = decisions.respond_to_claim(
            claim.mac, own_macs=own, peer_macs=self.peering.peers.macs, unsure=self.fence.unsure
        )
        if response is decisions.ClaimResponse.RELEASE:
            self.nudge(name, nudges.Fenced(claim))
        elif response is decisions.ClaimResponse.REREAD:
            self.reread(name)
        elif response is decisions.ClaimResponse.CONFLICT:
            if self.peers_age() <= PEERS_FRESH_FOR:
                self.nudge(name, nudges.Foreign(claim, seen.ifname))
            else:
                self._suspect(name, claim, seen.ifname)
        return response

    def _suspect(self, name: str, claim: claims.Claim, ifname: str) -> None:
        self._suspects.append((name, claim, ifname))
        if self._looking is None or self._looking.done():
            self._looking = asyncio.create_task(self._look_at_peers(), name="guard-peers")

    async def _look_at_peers(self) -> None:
        started = time.monotonic()
        fresh = await self.peering.refresh_peers()
        suspects, self._suspects = self._suspects, []
        for name, claim, ifname in suspects:
            if fresh and claim.mac.lower() in self.peering.peers.macs:
                log.info("claim-by-new-peer", vip=name, mac=claim.mac,
                         looked_in=round(time.monotonic() - started, 3))  # fmt: skip
                self.reread(name)
            else:
                self.nudge(name, nudges.Foreign(claim, ifname))
