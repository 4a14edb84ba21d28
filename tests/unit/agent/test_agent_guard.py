"""The claim guard: which claims on held addresses call for which nudge (floatip_agent.guard).

Proves, against fakes and without root: a claim on an address this node does not hold, or
holds on another interface, is no business of the guard's; our own frames are ignored; any
other MAC while unsure is a `Fenced` nudge (release at once, DESIGN.md safety 3); a peer's
MAC makes the intake re-read the VirtualIP; a foreign MAC is a `Foreign` nudge when the list
of peers is fresh, and when it is stale the guard looks at the peers first, in the
background, and re-reads instead if the MAC belongs to a peer that just started. A question
about a held address by another host is an `Asked` nudge; ours and a peer's are ignored (a
peer is never fought). The guard itself never releases, announces or writes: its only
outputs are nudges and re-reads.
"""

from __future__ import annotations

import asyncio

from floatip_agent import claims, decisions, guard, links, nudges, presence
from tests.unit.agent import fakes

R = decisions.ClaimResponse


class Rig:
    def __init__(self, *, peers_age: float = 0.0) -> None:
        self.world = fakes.World()
        self.world.table.hold("web", decisions.Held(fakes.VIP, "eth0", 1))
        self.world.wire.opened.add("eth0")
        self.nudges: list[tuple[str, nudges.Nudge]] = []
        self.rereads: list[str] = []
        self.age = peers_age
        self.guard = guard.ClaimGuard(
            node_facts=lambda: presence.Facts(own_macs=frozenset({"02:f1:00:00:01:01"})),
            peering=self.world.peers, peers_age=lambda: self.age, fence=self.world.fence,
            held=self.world.table, wire=self.world.wire,
            nudge=lambda name, n: self.nudges.append((name, n)), reread=self.rereads.append,
        )  # fmt: skip

    def judge(self, mac: str, *, ifname: str = "eth0", address: object = fakes.VIP) -> object:
        claim = claims.Claim(address, mac, claims.ClaimKind.ARP_ANNOUNCEMENT)  # type: ignore[arg-type]
        return self.guard.judge(links.Seen(ifname, claim))


def test_claims_on_addresses_not_held_here_are_ignored() -> None:
    rig = Rig()
    assert rig.judge(fakes.INTRUDER_MAC, ifname="eth1") is None
    assert rig.judge(fakes.INTRUDER_MAC, address=fakes.VIP + 1) is None
    assert rig.nudges == [] and rig.rereads == []


def test_own_frames_are_ignored() -> None:
    rig = Rig()
    assert rig.judge(fakes.ETH0_MAC) is R.IGNORE
    assert rig.judge("02:F1:00:00:01:01") is R.IGNORE  # another link of this node
    assert rig.nudges == []


def test_any_other_mac_while_unsure_fences() -> None:
    rig = Rig()
    rig.world.clock.now += 5
    assert rig.judge(fakes.PEER_MAC) is R.RELEASE
    assert [(name, type(n)) for name, n in rig.nudges] == [("web", nudges.Fenced)]


def test_a_peer_makes_the_intake_read_again() -> None:
    rig = Rig()
    assert rig.judge(fakes.PEER_MAC) is R.REREAD
    assert rig.rereads == ["web"] and rig.nudges == []


def test_a_foreign_mac_with_fresh_peers_is_a_conflict() -> None:
    rig = Rig()
    assert rig.judge(fakes.INTRUDER_MAC) is R.CONFLICT
    [(name, nudge)] = rig.nudges
    assert name == "web" and nudge == nudges.Foreign(
        claims.Claim(fakes.VIP, fakes.INTRUDER_MAC, claims.ClaimKind.ARP_ANNOUNCEMENT), "eth0"
    )
    assert rig.world.peers.refreshes == 0


async def test_with_stale_peers_the_guard_looks_first() -> None:
    rig = Rig(peers_age=5.0)
    newcomer = "02:f1:00:00:00:09"
    rig.world.peers.after_refresh = rig.world.peers.peers._replace(
        macs=frozenset({fakes.PEER_MAC, newcomer})
    )
    assert rig.judge(newcomer) is R.CONFLICT
    assert rig.judge(fakes.INTRUDER_MAC) is R.CONFLICT
    assert rig.nudges == []  # decided after the look, in the background
    for _ in range(10):
        await asyncio.sleep(0)
    assert rig.world.peers.refreshes == 1  # one look for both claims
    assert rig.rereads == ["web"]
    assert [(name, type(n)) for name, n in rig.nudges] == [("web", nudges.Foreign)]


def test_questions_by_others_are_noted_ours_and_peers_ignored() -> None:
    rig = Rig()
    for mac, response in (
        ("02:00:00:00:00:c1", decisions.QuestionResponse.NOTE),
        (fakes.PEER_MAC, decisions.QuestionResponse.IGNORE),
        (fakes.ETH0_MAC, decisions.QuestionResponse.IGNORE),
    ):
        question = claims.Question(fakes.VIP, mac)
        assert rig.guard.judge(links.Seen("eth0", question)) is response
    assert [(name, type(n)) for name, n in rig.nudges] == [("web", nudges.Asked)]
    other = claims.Question(fakes.VIP + 1, "02:00:00:00:00:c1")
    assert rig.guard.judge(links.Seen("eth0", other)) is None
