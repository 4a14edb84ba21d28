"""``floatip lab demo``: the seed's story, told by a real lab, in under two minutes.

Two web servers share one address. The client asks it; server1 answers. server1 loses power
and the client's timeline shows when server2 took over. A planned switchover brings the
address back without one failed request. Then the intruder steals the address the way the
seed's prank does (``ip addr add`` and ``arping -U``): floatip shows the Conflict and keeps
the address. A summary table, and the lab is removed again.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from floatip_lab import lifecycle, session, state, timeline

Say = Callable[[str], None]


@dataclasses.dataclass
class Step:
    what: str
    result: str
    ok: bool


def _ms(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds * 1000:.0f} ms"


def narrate_timeline(requests: list[timeline.Request], fault: float, say: Say) -> None:
    """Print the client's view around the fault: last old answer, failures, first new answer."""
    before = [r for r in requests if r.ok and r.end <= fault]
    after = [r for r in requests if r.start >= fault]
    if before:
        say(f"    t={1000 * (before[-1].end - fault):+7.0f} ms  {before[-1].answer} answered")
    first_fail = next((r for r in after if not r.ok), None)
    if first_fail:
        at = 1000 * (first_fail.start - fault)
        say(f"    t={at:+7.0f} ms  first failed request ({first_fail.answer})")
    for run_server, count in timeline.answered_by(after):
        first = next(r for r in after if r.ok and r.answer == run_server)
        say(f"    t={1000 * (first.end - fault):+7.0f} ms  {run_server} answers ({count} answers)")


def run(say: Say = print, *, keep: bool = False) -> list[Step]:
    """The whole demo; returns the summary's steps. Tears the lab down unless ``keep``."""
    place = state.locate()
    steps: list[Step] = []
    started = time.monotonic()
    say("==> 1/6 building the lab: 2 web servers, a client, an intruder, API server, operator")
    lab = lifecycle.up(place, nodes=2, ipv6=False, say=lambda m: say(f"    {m}"))
    try:
        lab_session = session.Session(place, say=lambda m: say(f"    {m}"))
        vip = str(lab.host("server1").ip).rsplit(".", 1)[0] + ".100"
        say(f"==> 2/6 a VirtualIP is applied: web, address {vip}/24, prefer server1")
        lab_session.apply_vip("web", {"address": f"{vip}/24", "preferredNodes": ["server1"]})
        lab_session.wait_condition("web", "Ready", timeout=30)
        lab_session.wait_answer(vip, "server1")
        steps.append(
            Step(
                "VirtualIP web Ready on server1",
                f"epoch {lab_session.vip('web')['status']['epoch']}",
                True,
            )
        )
        say(f"    the client asks http://{vip}/ and server1 answers")

        say("==> 3/6 server1 loses power (every process killed, cables down)")
        with lab_session.prober(vip, duration=60) as prober:
            time.sleep(1.0)
            fault = lab_session.fault("kill-node", "server1")
            lab_session.wait_answer(vip, "server2", timeout=30)
            time.sleep(0.5)
        requests = prober.requests()
        failover = timeline.failover_seconds(requests, fault, "server2")
        narrate_timeline(requests, fault, say)
        steps.append(
            Step("server1 power loss -> server2 answers", _ms(failover), failover is not None)
        )

        say("==> 4/6 server1 powers on; planned switchover back (spec.node, as kubectl vip move)")
        lab_session.fault("heal")
        lab_session.wait_agents_sure()
        lab_session.wait_condition("web", "Ready", timeout=30)
        with lab_session.prober(vip, duration=60) as prober:
            time.sleep(0.5)
            lab_session.patch_spec("web", {"node": "server1"})
            lab_session.wait_holder("web", "server1", timeout=30)
            lab_session.wait_answer(vip, "server1", timeout=30)
            time.sleep(1.0)
        switchover = prober.requests()
        lost = timeline.failed(switchover)
        say(f"    {len(switchover)} requests during the switchover, {lost} failed")
        steps.append(
            Step("planned switchover back to server1", f"{lost} failed requests", lost == 0)
        )

        say(f"==> 5/6 the intruder steals {vip}: ip addr add {vip}/24 dev eth0; arping -U {vip}")
        lab_session.steal(vip)
        lab_session.wait_condition("web", "Conflict", "True", timeout=30)
        conflict = lab_session.condition("web", "Conflict") or {}
        say(f"    Conflict=True: {conflict.get('message', '')}")
        lab_session.wait_answer(vip, "server1", timeout=30)
        say("    floatip re-asserted: the client is answered by server1, the VIP did not move")
        steps.append(
            Step(
                "intruder steals the address",
                "Conflict raised, VIP kept on server1",
                lab_session.holder("web") == "server1",
            )
        )
        lab_session.give_back(vip)

        say("==> 6/6 summary")
        width = max(len(s.what) for s in steps)
        for step in steps:
            say(f"    {'ok ' if step.ok else 'BAD'}  {step.what.ljust(width)}  {step.result}")
        say(f"    ({time.monotonic() - started:.0f} s)")
    finally:
        if not keep:
            say("    removing the lab")
            lifecycle.down(place, say=lambda m: None)
    return steps
