"""The control-plane VIP's address I/O against fakes of the kernel and the wire
(floatip_agent.controlplane.claiming), without root.

Proves, for the steps the kernel tests rarely or never reach:
- a claim refuses an unmarked copy of the VIP on the node without probing; a probe answered by
  a non-peer refuses with that MAC (a conflict), one answered only by peers does not; the
  election asked again after the probe can call the claim off (no add); a refused add is a
  refusal that names the kernel, not an exception; the probe uses the profile's count and
  window;
- a remove the kernel refuses is False, not an exception (the release goes on);
- the redirect names the best live holder's MAC by `election.rank` (healthy and not leaving
  first, then the higher term), sends nothing without a holder, and survives a send error;
- ``put_back`` re-adds only a VIP that is absent, and a refused re-add is False.
"""

from __future__ import annotations

import ipaddress
from typing import cast

import pytest

from floatip_agent import links, probing
from floatip_agent.controlplane import claiming, election, heartbeat, settings, vipaddress

VIP = ipaddress.ip_address("192.0.2.10")
PEER = "02:00:00:00:00:02"
INTRUDER = "02:00:00:00:00:99"
PROFILE = settings.PROFILES["default"]


class FakeVip:
    """The VIP in a kernel that answers what the test says."""

    def __init__(self, found: vipaddress.Found = vipaddress.Found.ABSENT) -> None:
        self.address = VIP
        self.found = found
        self.fail: OSError | None = None
        self.added = 0

    async def find(self) -> vipaddress.Found:
        return self.found

    async def add(self) -> bool:
        if self.fail is not None:
            raise self.fail
        self.added += 1
        self.found = vipaddress.Found.OURS
        return True

    async def remove(self) -> bool:
        if self.fail is not None:
            raise self.fail
        removed = self.found is vipaddress.Found.OURS
        self.found = vipaddress.Found.ABSENT
        return removed


class FakeAnnouncer:
    def __init__(self) -> None:
        self.redirected: list[str] = []
        self.fail: OSError | None = None

    async def redirect(self, address: object, *, to_mac: str, count: int = 2) -> None:
        if self.fail is not None:
            raise self.fail
        self.redirected.append(to_mac)


class FakeLink:
    """A link whose probe is answered by ``answers`` (MACs)."""

    def __init__(self, *answers: str) -> None:
        self.answers = answers
        self.probes: list[tuple[int, float]] = []  # (count, window) of each probe
        self.announcer = FakeAnnouncer()

    async def probe(
        self, address: object, *, peer_macs: set[str], count: int, window: float
    ) -> probing.ProbeResult:
        self.probes.append((count, window))
        macs = set(self.answers)
        return probing.ProbeResult(
            foreign=frozenset(macs - peer_macs), peers=frozenset(macs & peer_macs)
        )


def decided(action: election.Action) -> election.Decision:
    return election.Decision(action, 1, f"{action.value} for the test")


async def claim(vip: FakeVip, link: FakeLink, again: election.Action) -> object:
    return await claiming.claim(
        cast(vipaddress.VipAddress, vip), cast(links.Link, link), profile=PROFILE,
        peer_macs={PEER}, decide_again=lambda: decided(again),
    )  # fmt: skip


async def test_a_foreign_copy_on_the_node_is_refused_without_a_probe() -> None:
    vip, link = FakeVip(vipaddress.Found.FOREIGN), FakeLink()
    outcome = await claim(vip, link, election.Action.CLAIM)
    assert outcome == claiming.Refused("the VIP is on this node, not added by floatip")
    assert link.probes == [] and vip.added == 0


async def test_a_non_peer_answering_the_probe_refuses_with_its_mac() -> None:
    vip, link = FakeVip(), FakeLink(INTRUDER, PEER)
    outcome = await claim(vip, link, election.Action.CLAIM)
    assert isinstance(outcome, claiming.Refused)
    assert outcome.foreign == {INTRUDER} and INTRUDER in outcome.reason
    assert vip.added == 0


async def test_a_peer_answering_the_probe_is_no_refusal() -> None:
    vip, link = FakeVip(), FakeLink(PEER)
    outcome = await claim(vip, link, election.Action.CLAIM)
    assert outcome == claiming.Claimed(frozenset({PEER}))
    assert vip.added == 1
    assert link.probes == [(PROFILE.probe_count, PROFILE.probe_window_seconds)]


async def test_the_election_asked_again_after_the_probe_can_call_the_claim_off() -> None:
    vip, link = FakeVip(), FakeLink()
    outcome = await claim(vip, link, election.Action.WAIT)
    assert outcome == claiming.Abandoned("wait for the test")
    assert len(link.probes) == 1 and vip.added == 0


async def test_a_refused_add_is_a_refusal_naming_the_kernel() -> None:
    vip, link = FakeVip(), FakeLink()
    vip.fail = OSError(1, "cannot add 192.0.2.10 on eth0: Operation not permitted")
    outcome = await claim(vip, link, election.Action.CLAIM)
    assert isinstance(outcome, claiming.Refused) and outcome.foreign == frozenset()
    assert outcome.reason.startswith("the kernel refused the address: ")
    assert "Operation not permitted" in outcome.reason


@pytest.mark.parametrize(
    ("found", "fail", "removed"),
    [
        (vipaddress.Found.OURS, None, True),
        (vipaddress.Found.ABSENT, None, False),
        (vipaddress.Found.OURS, OSError(16, "Device or resource busy"), False),
    ],
)
async def test_remove_says_whether_it_removed_and_never_raises(
    found: vipaddress.Found, fail: OSError | None, removed: bool
) -> None:
    vip = FakeVip(found)
    vip.fail = fail
    assert await claiming.remove(cast(vipaddress.VipAddress, vip)) is removed


def beat(node: str, *, holding: bool, healthy: bool | None = True, term: int = 1,
         leaving: bool = False) -> heartbeat.Beat:  # fmt: skip
    mac = f"02:00:00:00:00:{sum(node.encode()) % 256:02x}"
    return heartbeat.Beat("c", node, healthy, holding, term, True, leaving, mac)


@pytest.mark.parametrize(
    ("live", "best"),
    [
        ([beat("cp2", holding=True), beat("cp1", holding=False)], "cp2"),
        ([beat("cp1", holding=True, healthy=False), beat("cp3", holding=True)], "cp3"),
        ([beat("cp1", holding=True, leaving=True), beat("cp3", holding=True)], "cp3"),
        ([beat("cp1", holding=True, term=2), beat("cp2", holding=True, term=5)], "cp2"),
        ([beat("cp2", holding=True), beat("cp1", holding=True)], "cp1"),
    ],
)
async def test_the_redirect_names_the_best_live_holder(
    live: list[heartbeat.Beat], best: str
) -> None:
    link = FakeLink()
    await claiming.redirect(cast(links.Link, link), cast(vipaddress.VipAddress, FakeVip()), live)
    assert link.announcer.redirected == [next(b.mac for b in live if b.node == best)]


async def test_no_holder_no_redirect_and_a_send_error_is_survived() -> None:
    link, vip = FakeLink(), cast(vipaddress.VipAddress, FakeVip())
    await claiming.redirect(cast(links.Link, link), vip, [beat("cp2", holding=False)])
    assert link.announcer.redirected == []
    link.announcer.fail = OSError(100, "Network is down")
    await claiming.redirect(cast(links.Link, link), vip, [beat("cp2", holding=True)])


@pytest.mark.parametrize(
    ("found", "fail", "put_back"),
    [
        (vipaddress.Found.ABSENT, None, True),
        (vipaddress.Found.OURS, None, False),
        (vipaddress.Found.FOREIGN, None, False),
        (vipaddress.Found.ABSENT, OSError(1, "Operation not permitted"), False),
    ],
)
async def test_put_back_re_adds_only_an_absent_vip(
    found: vipaddress.Found, fail: OSError | None, put_back: bool
) -> None:
    vip = FakeVip(found)
    vip.fail = fail
    assert await claiming.put_back(cast(vipaddress.VipAddress, vip), retry_in=1.0) is put_back
    assert vip.added == (1 if put_back else 0)
