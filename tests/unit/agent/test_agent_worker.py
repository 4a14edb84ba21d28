"""One VirtualIP's worker against fakes of every port, without root (floatip_agent.worker, and
the `releasing`, `taking` and `defending` it drives).

Proves, for the only code that acts on a VirtualIP:
- an assignment here is probed, added, announced once and handed to the schedule, which
  reports it; a foreign answer to the probe refuses the take (no add), reports the conflict
  and an Event and probes again later; a MAC that a fresh look shows to be a peer does not;
- nothing is taken while the fence is unsure, nor after a fenced release until the API
  speaks again (`Reassigned`), which the worker asks for (once) as soon as it is sure again;
- a claim while unsure (`Fenced`) releases at once, with its cause label and an Event;
- foreign claims (`Foreign`) are recorded and answered at a bounded rate (the VIP's burst,
  then its rate, and never past the node's budget), with one Event, and the conflict clears
  after three quiet rounds of verification; while it lasts, a host that resolves the address
  (`Asked`) gets an announcement right after, and with no conflict it gets nothing;
- a planned move away waits (no refresh, address kept) until the new holder announces, then
  releases naming the new holder's MAC; a failover away releases at once; a group's member
  also waits until the new holder announced every member held here (`GroupMoved` wakes it);
- a planned take begins the flow handoff first, its rules loading while the probe listens;
  a take called off after all (a foreign answer to the probe, news) ends that handoff again;
  a previous holder whose Lease this agent has not read yet (it started before that peer) is
  looked up before the handoff is planned, and one still without an address on the VIP's
  subnet is taken from without a handoff, said in a warning;
  a deletion releases and the worker ends;
- a failing step is reported once and retried, and the worker keeps running; an address
  whose remove the kernel refused is removed at the next turn (never forgotten on the node
  beside its new holder's), is kept if it is taken here again meanwhile, and keeps the
  worker of a deleted VirtualIP running until it is gone;
- a move in the operator's move record is acted on as if the status said it (taken at once
  here, released at once after a recorded failover away, waited for after a planned one), and
  an announcement taken on the record's word is reported only once the status names this node
  (the admission policy would refuse it before); a move of another object, or no newer than
  the status, changes nothing;
- a failover's take adds without a probe; a first assignment's and a planned move's probe;
- the status write of a recorded planned move, landing during the take's probe, does not make
  the worker probe again (one probe, one add); news of another epoch does (decided afresh).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import structlog.testing

from floatip.api import moves
from floatip_agent import assignments, claims, conflicts, decisions, nudges, probing, problems
from tests.unit.agent import fakes

HERE = fakes.vip_object(holder="me", epoch=1)


def assigned(obj: dict[str, object]) -> nudges.Reassigned:
    parsed = assignments.parse(obj)
    assert isinstance(parsed, assignments.Assignment)
    return nudges.Reassigned(parsed)


def claim(mac: str) -> claims.Claim:
    return claims.Claim(fakes.VIP, mac, claims.ClaimKind.ARP_REPLY)


async def holding(world: fakes.World) -> object:
    one = world.worker()
    one.nudge(assigned(HERE))
    await drain(one)
    assert one.held == decisions.Held(fakes.VIP, "eth0", 1)
    return one


async def drain(one: object) -> float | None:
    """Apply the queued nudges and take one step, as the worker's loop does."""
    assert hasattr(one, "_inbox")
    while one._inbox:
        await one._apply(one._inbox.popleft())
    return await one.step()


async def test_take_probes_adds_announces_and_schedules() -> None:
    world = fakes.World()
    one = world.worker()
    one.nudge(assigned(HERE))
    assert await drain(one) is None
    assert world.wire.probes == [fakes.VIP]
    assert world.kernel.added == [fakes.VIP]
    assert world.wire.announced == [("eth0", (fakes.VIP,))]
    held = decisions.Held(fakes.VIP, "eth0", 1)
    assert world.announcements.started == [("web", held, True, True)]
    assert world.table.holding(fakes.VIP, "eth0") == "web"
    assert world.sample("floatip_agent_vips_held") == 1
    assert world.sample("floatip_agent_announcements_sent_total", kind="burst") == 1


async def test_a_foreign_answer_to_the_probe_refuses_the_take() -> None:
    world = fakes.World()
    world.wire.answering = {fakes.INTRUDER_MAC}
    one = world.worker()
    one.nudge(assigned(HERE))
    assert await drain(one) == world.config.probe_retry_seconds
    assert world.kernel.added == [] and one.held is None
    assert world.reports.reasons() == [problems.Reason.PROBE_CONFLICT]
    [report] = world.reports.conflicts
    assert report is not None and report.mac == fakes.INTRUDER_MAC
    assert world.peers.refreshes == 1  # a stale list of peers is never the reason to refuse


async def test_a_peer_that_started_since_the_last_look_does_not_refuse() -> None:
    world = fakes.World()
    newcomer = "02:f1:00:00:00:09"
    world.wire.answering = {newcomer}
    world.peers.after_refresh = world.peers.peers._replace(macs=frozenset({newcomer}))
    one = world.worker()
    one.nudge(assigned(HERE))
    await drain(one)
    assert world.kernel.added == [fakes.VIP] and world.reports.events == []


async def test_nothing_is_taken_while_unsure() -> None:
    world = fakes.World()
    world.clock.now += 5  # no API contact for 5 s
    one = world.worker()
    one.nudge(assigned(HERE))
    assert await drain(one) == world.config.ping_interval_seconds
    assert world.wire.probes == [] and world.kernel.added == []


async def test_a_claim_while_unsure_releases_and_fences_until_the_api_speaks() -> None:
    world = fakes.World()
    one = await holding(world)
    world.clock.now += 5
    one.nudge(nudges.Fenced(claim(fakes.PEER_MAC)))
    await drain(one)
    assert world.kernel.removed == [fakes.VIP] and one.held is None
    assert world.sample("floatip_agent_releases_total", why="unsure") == 1
    assert world.reports.reasons() == [problems.Reason.FENCED]
    world.fence.contact()  # the API answers again, but says nothing of this VirtualIP yet
    assert await drain(one) == world.config.ping_interval_seconds
    assert await drain(one) == world.config.ping_interval_seconds
    assert world.kernel.added == [fakes.VIP]
    assert world.rereads == ["web"]  # once: an unchanged VirtualIP sends no watch event
    one.nudge(assigned(HERE))  # word of the API: take it again
    await drain(one)
    assert world.kernel.added == [fakes.VIP, fakes.VIP]


async def test_foreign_claims_are_answered_at_a_bounded_rate() -> None:
    world = fakes.World()
    one = await holding(world)
    before = len(world.wire.announced)
    for _ in range(6):
        one.nudge(nudges.Foreign(claim(fakes.INTRUDER_MAC), "eth0"))
    await drain(one)
    assert len(world.wire.announced) - before == conflicts.REASSERT_BURST
    assert world.reports.reasons() == [problems.Reason.CONFLICT]  # one Event, not six
    assert one.held is not None  # never moved
    assert world.sample("floatip_agent_conflicts_total", vip="web") == 6
    assert world.sample("floatip_agent_vips_in_conflict") == 1
    report = world.reports.conflicts[-1]
    assert report is not None and (report.count, report.reasserted) == (6, 5)
    assert one.defence.due_at is not None  # the sixth waits for a token
    world.clock.now += one.defence.quiet_for() - 0.1
    assert await drain(one) is not None  # still in conflict: look again
    world.clock.now += 0.1
    assert await drain(one) is None  # a keep step: three rounds drew no foreign answer
    assert world.reports.conflicts[-1] is None and one.defence.conflict is None
    assert world.sample("floatip_agent_vips_in_conflict") == 0


async def test_during_a_conflict_askers_get_an_answer_and_not_before() -> None:
    world = fakes.World()
    one = await holding(world)
    question = claims.Question(fakes.VIP, "02:00:00:00:00:c1")
    one.nudge(nudges.Asked(question, "eth0"))
    await drain(one)
    assert len(world.wire.announced) == 1  # only the take's own first announcement
    one.nudge(nudges.Foreign(claim(fakes.INTRUDER_MAC), "eth0"))
    await drain(one)
    one.nudge(nudges.Asked(question, "eth0"))
    await drain(one)
    assert len(world.wire.announced) == 3
    assert world.sample("floatip_agent_announcements_sent_total", kind="answer") == 1


async def test_the_nodes_budget_bounds_every_vips_defence() -> None:
    world = fakes.World()
    one = await holding(world)
    while world.budget.try_take():  # other VIPs of this node spent the node's budget
        pass
    before = len(world.wire.announced)
    one.nudge(nudges.Foreign(claim(fakes.INTRUDER_MAC), "eth0"))
    await drain(one)
    assert len(world.wire.announced) == before and one.defence.due_at is not None
    world.clock.now = one.defence.due_at + 0.001
    await one.defence.due(one.held)
    assert len(world.wire.announced) == before + 1


async def test_a_planned_move_away_waits_for_the_new_holders_announcement() -> None:
    world = fakes.World()
    one = await holding(world)
    moved = fakes.vip_object(holder="other", epoch=2, reason="Pinned")
    one.nudge(assigned(moved))
    wait = await drain(one)
    assert wait == world.config.handover_timeout_seconds
    assert world.announcements.stopped == ["web"] and world.kernel.removed == []
    announced = {"node": "other", "epoch": 2, "mac": fakes.PEER_MAC, "time": "2026-01-01T00:00:01Z"}
    one.nudge(assigned(fakes.vip_object(holder="other", epoch=2, reason="Pinned",
                                        announcement=announced)))  # fmt: skip
    await drain(one)
    assert world.wire.redirected == [(fakes.VIP, fakes.PEER_MAC)]
    assert world.kernel.removed == [fakes.VIP]
    assert world.sample("floatip_agent_releases_total", why="announced") == 1


async def test_a_group_member_is_released_only_once_every_member_held_here_is_announced() -> None:
    world = fakes.World()
    one = world.worker()
    grouped = fakes.vip_object(holder="me", epoch=1)
    grouped["spec"]["group"] = "edge"
    one.nudge(assigned(grouped))
    await drain(one)
    peer = assigned(grouped | {"metadata": {"name": "peer", "uid": "u2"}}).assignment
    assert peer is not None
    world.table.assign(peer._replace(address=fakes.VIP + 1))
    world.table.hold("peer", decisions.Held(fakes.VIP + 1, "eth0", 1))
    announced = {"node": "other", "epoch": 2, "mac": fakes.PEER_MAC, "time": "2026-01-01T00:00:01Z"}
    moved = fakes.vip_object(holder="other", epoch=2, reason="Pinned", announcement=announced)
    moved["spec"]["group"] = "edge"
    world.table.assign(peer._replace(holder="other", epoch=2, last_reason="Pinned"))
    one.nudge(assigned(moved))
    assert await drain(one) == world.config.handover_timeout_seconds
    assert world.kernel.removed == []  # announced here, but the peer is not yet
    world.table.assign(peer._replace(holder="other", epoch=2, announced_epoch=2))
    one.nudge(nudges.GroupMoved("peer"))
    await drain(one)
    assert world.kernel.removed == [fakes.VIP]
    assert world.sample("floatip_agent_releases_total", why="announced") == 1


async def test_a_failover_away_releases_at_once() -> None:
    world = fakes.World()
    one = await holding(world)
    one.nudge(assigned(fakes.vip_object(holder="other", epoch=2, reason="Failover")))
    await drain(one)
    assert world.kernel.removed == [fakes.VIP] and world.wire.redirected == []
    assert world.sample("floatip_agent_releases_total", why="failed-over") == 1


async def test_a_planned_take_begins_the_flow_handoff_first() -> None:
    world = fakes.World()
    one = world.worker()
    one.nudge(planned_here(world))
    await drain(one)
    [planned] = world.handoffs.begun
    assert (str(planned.previous), planned.previous_mac) == ("192.0.2.12", fakes.PEER_MAC)
    assert world.kernel.added == [fakes.VIP] and world.peers.refreshes == 0  # it knew "old"
    one.nudge(nudges.Reassigned(None))
    await drain(one)
    assert world.handoffs.ended == ["web"]


async def test_a_planned_take_looks_up_a_previous_holder_it_does_not_know_yet() -> None:
    world = fakes.World()  # this agent started before "old" wrote its Lease
    world.peers.after_refresh = world.peers.peers._replace(interfaces=OLD_INTERFACES)
    one = world.worker()
    one.nudge(planned_move(epoch=2))
    await drain(one)
    [planned] = world.handoffs.begun
    assert (str(planned.previous), planned.previous_mac) == ("192.0.2.12", fakes.PEER_MAC)
    assert world.peers.refreshes == 1 and world.kernel.added == [fakes.VIP]
    assert world.handoffs.armed == ["web"]


async def test_a_planned_take_from_an_unknown_holder_goes_on_without_a_handoff() -> None:
    world = fakes.World()  # the Leases, read again, still name no address of "old"
    one = world.worker()
    with structlog.testing.capture_logs() as logs:
        one.nudge(planned_move(epoch=2))
        await drain(one)
    assert world.peers.refreshes == 1 and world.handoffs.begun == []
    assert world.kernel.added == [fakes.VIP] and world.handoffs.armed == []
    [skipped] = [entry for entry in logs if entry["event"] == "flow-handoff-skipped"]
    assert (skipped["vip"], skipped["previous"]) == ("web", "old")
    assert "no address of old" in skipped["why"]


#: What node "old"'s Lease publishes (`floatip.io/interfaces`): its address on the VIP's LAN.
OLD_INTERFACES = {"old": "eth0=192.0.2.12/24"}


def planned_move(epoch: int) -> nudges.Reassigned:
    """A planned move (Pinned) here from node "old", which announced the address before."""
    announced = {"node": "old", "epoch": 1, "mac": fakes.PEER_MAC, "time": "2026-01-01T00:00:00Z"}
    return assigned(fakes.vip_object(holder="me", epoch=epoch, reason="Pinned",
                                     announcement=announced))  # fmt: skip


def planned_here(world: fakes.World, epoch: int = 2) -> nudges.Reassigned:
    """`planned_move`, "old"'s Lease already read."""
    world.peers.peers = world.peers.peers._replace(interfaces=OLD_INTERFACES)
    return planned_move(epoch)


def probing_slowly(world: fakes.World, during: Callable[[], None] = lambda: None) -> list[int]:
    """Make the fake probe take a few turns of the loop (calling ``during`` first), as the
    real one listens for its window; returns the handoffs begun when each probe ended."""
    probe, seen = world.wire.probe, []

    async def slow(*args: Any, **kwargs: Any) -> probing.ProbeResult:
        during()
        for _ in range(3):
            await asyncio.sleep(0)
        seen.append(len(world.handoffs.begun))
        return await probe(*args, **kwargs)

    world.wire.probe = slow  # type: ignore[method-assign]
    return seen


async def test_a_planned_takes_handoff_loads_while_the_probe_listens() -> None:
    world = fakes.World()
    seen = probing_slowly(world)
    one = world.worker()
    one.nudge(planned_here(world))
    await drain(one)
    assert seen == [1] and world.kernel.added == [fakes.VIP] and world.handoffs.ended == []
    assert world.handoffs.armed == ["web"]  # its window starts once the address is added


async def test_a_take_called_off_ends_the_handoff_begun_for_it() -> None:
    world = fakes.World()  # a foreign host answers the probe
    world.wire.answering = {"02:99:99:99:99:99"}
    one = world.worker()
    one.nudge(planned_here(world))
    await drain(one)
    assert (world.kernel.added, world.handoffs.ended, world.handoffs.armed) == ([], ["web"], [])
    world = fakes.World()  # news of another epoch comes during the probe
    one = world.worker()
    newer = planned_here(world, epoch=3)
    probing_slowly(world, during=lambda: one.nudge(newer))
    one.nudge(planned_here(world))
    assert await drain(one) == 0.0  # decide again at once
    assert (world.kernel.added, world.handoffs.ended) == ([], ["web"])
    await drain(one)
    assert world.kernel.added == [fakes.VIP] and len(world.handoffs.begun) == 2


async def test_deletion_releases_and_the_worker_ends() -> None:
    world = fakes.World()
    one = world.worker()
    one.nudge(assigned(HERE))
    runner = asyncio.create_task(one.run())
    for _ in range(50):
        await asyncio.sleep(0)
    assert world.kernel.added == [fakes.VIP]
    one.nudge(nudges.Reassigned(None))
    await asyncio.wait_for(runner, 5)
    assert world.kernel.removed == [fakes.VIP] and one.finished
    assert world.sample("floatip_agent_releases_total", why="deleted") == 1


async def test_a_failing_step_is_reported_once_and_retried() -> None:
    world = fakes.World()
    world.kernel.fail_add = OSError(1, "Operation not permitted")
    one = world.worker()
    one.nudge(assigned(HERE))
    runner = asyncio.create_task(one.run())
    for _ in range(50):
        await asyncio.sleep(0)
    assert world.reports.reasons() == [problems.Reason.APPLY_FAILED]
    assert not runner.done()
    world.kernel.fail_add = None
    one.nudge(assigned(HERE))  # any nudge: look again now instead of after the retry delay
    for _ in range(50):
        await asyncio.sleep(0)
    assert world.kernel.added == [fakes.VIP]
    assert world.reports.reasons() == [problems.Reason.APPLY_FAILED]
    runner.cancel()


async def test_a_remove_the_kernel_refuses_is_retried_until_the_address_is_gone() -> None:
    world = fakes.World()
    one = await holding(world)
    world.kernel.fail_remove = OSError(16, "Device or resource busy")
    runner = asyncio.create_task(one.run())
    one.nudge(assigned(fakes.vip_object(holder="other", epoch=2, reason="Failover")))
    for _ in range(50):
        await asyncio.sleep(0)
    assert world.reports.reasons() == [problems.Reason.APPLY_FAILED]
    assert world.kernel.addresses == [("eth0", fakes.VIP)] and one.releaser.leftover is not None
    assert one.held is None and not one.io.announcements.active("web")  # released, not kept
    world.kernel.fail_remove = None
    one.nudge(assigned(fakes.vip_object(holder="other", epoch=2, reason="Failover")))
    for _ in range(50):
        await asyncio.sleep(0)
    assert world.kernel.addresses == [] and one.releaser.leftover is None
    assert world.sample("floatip_agent_releases_total", why="failed-over") == 1
    runner.cancel()


async def test_a_leftover_taken_again_is_kept_not_removed() -> None:
    world = fakes.World()
    one = await holding(world)
    world.kernel.fail_remove = OSError(16, "Device or resource busy")
    one.nudge(assigned(fakes.vip_object(holder="other", epoch=2, reason="Failover")))
    with contextlib.suppress(OSError):
        await drain(one)
    assert one.releaser.leftover is not None
    one._hold(decisions.Held(fakes.VIP, "eth0", 3))  # as a take of it here again would
    assert one.releaser.leftover is None


async def test_a_worker_with_a_leftover_is_not_finished() -> None:
    world = fakes.World()
    one = await holding(world)
    world.kernel.fail_remove = OSError(16, "Device or resource busy")
    runner = asyncio.create_task(one.run())
    one.nudge(nudges.Reassigned(None))  # deleted
    for _ in range(50):
        await asyncio.sleep(0)
    assert not runner.done() and not one.finished
    world.kernel.fail_remove = None
    one.nudge(nudges.Reassigned(None))
    await asyncio.wait_for(runner, 5)
    assert world.kernel.addresses == [] and one.finished


def recorded(obj: dict[str, object], move: moves.Move) -> nudges.Reassigned:
    """The assignment the intake makes of ``obj`` when the move record moves it on."""
    parsed = assignments.parse(obj)
    assert isinstance(parsed, assignments.Assignment)
    return nudges.Reassigned(assignments.moved(parsed, move))


async def test_a_recorded_move_here_is_taken_and_reported_once_the_status_names_us() -> None:
    world = fakes.World()
    one = world.worker()
    elsewhere = fakes.vip_object(holder="dead", epoch=3)
    move = moves.Move("web", "u1", "me", 4, "Failover", "dead")
    one.nudge(recorded(elsewhere, move))
    await drain(one)
    held = decisions.Held(fakes.VIP, "eth0", 4)
    assert world.kernel.added == [fakes.VIP] and one.held == held
    # taken at once, but not reported: the status still names the dead node
    assert world.announcements.started == [("web", held, True, False)]
    one.nudge(recorded(elsewhere, move))  # the object changed, its status not yet
    await drain(one)
    assert world.announcements.reported == []
    one.nudge(assigned(fakes.vip_object(holder="me", epoch=4, reason="Failover")))
    await drain(one)
    assert world.announcements.reported == ["web"]
    assert world.kernel.added == [fakes.VIP] and world.kernel.removed == []


async def test_a_recorded_failover_away_releases_at_once() -> None:
    world = fakes.World()
    one = await holding(world)
    one.nudge(recorded(HERE, moves.Move("web", "u1", "other", 2, "Failover", "me")))
    await drain(one)
    assert world.kernel.removed == [fakes.VIP]
    assert world.sample("floatip_agent_releases_total", why="failed-over") == 1


async def test_a_recorded_planned_move_away_still_waits_for_the_announcement() -> None:
    world = fakes.World()
    one = await holding(world)
    one.nudge(recorded(HERE, moves.Move("web", "u1", "other", 2, "Pinned", "me")))
    assert await drain(one) == world.config.handover_timeout_seconds
    assert world.kernel.removed == []


async def test_a_move_of_another_object_or_older_than_the_status_changes_nothing() -> None:
    parsed = assignments.parse(HERE)
    assert isinstance(parsed, assignments.Assignment)
    for move in (
        moves.Move("web", "u-other", "other", 2, "Failover"),  # deleted and created again
        moves.Move("web", "u1", "other", 1, "Failover"),  # the status is as new
    ):
        assert assignments.moved(parsed, move) == parsed
    assert assignments.moved(parsed, None) == parsed


async def test_a_failovers_take_does_not_probe_and_a_first_or_planned_one_does() -> None:
    for reason, probed in (("Failover", []), ("Assigned", [fakes.VIP]), ("Pinned", [fakes.VIP])):
        world = fakes.World()
        one = world.worker()
        one.nudge(assigned(fakes.vip_object(holder="me", epoch=2, reason=reason)))
        await drain(one)
        assert (world.wire.probes, world.kernel.added) == (probed, [fakes.VIP]), reason


async def probes_with_news_during_the_probe(news: nudges.Reassigned) -> int:
    """Take a recorded EndpointsMoved move here while ``news`` arrives during the first probe;
    how many probes the take took."""
    world = fakes.World()
    one = world.worker()
    probe = world.wire.probe

    async def probe_hearing_news(*args: Any, **kwargs: Any) -> probing.ProbeResult:
        if not world.wire.probes:
            one.nudge(news)
        return await probe(*args, **kwargs)

    world.wire.probe = probe_hearing_news  # type: ignore[method-assign]
    elsewhere = fakes.vip_object(holder="old", epoch=3)
    one.nudge(recorded(elsewhere, moves.Move("web", "u1", "me", 4, "EndpointsMoved", "old")))
    while one.held is None:
        await drain(one)
    assert world.kernel.added == [fakes.VIP]
    return len(world.wire.probes)


async def test_the_status_of_a_recorded_move_during_the_probe_does_not_probe_again() -> None:
    confirmed = fakes.vip_object(holder="me", epoch=4, reason="EndpointsMoved")
    assert await probes_with_news_during_the_probe(assigned(confirmed)) == 1
    newer = fakes.vip_object(holder="me", epoch=5, reason="EndpointsMoved")
    assert await probes_with_news_during_the_probe(assigned(newer)) == 2
