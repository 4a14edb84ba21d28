"""``floatip lab demo``: the seed's story, told by a real lab, in under two minutes.

Two web servers share one address. The client asks it; server1 answers. server1 loses power
and the client's timeline shows when server2 took over. A planned switchover brings the
address back without one failed request. Then the intruder steals the address the way the
seed's prank does (``ip addr add`` and ``arping -U``): floatip shows the Conflict and keeps
the address. Then Services: a VirtualIPPool and a LoadBalancer Service, ``kubectl get svc``
showing the EXTERNAL-IP floatip gave it, the client answered through the lab's kube-proxy by
every web Pod, and with the holder's pod not ready the answers keep coming from the other
one; then a Local Service, held only where a web Pod is ready, follows its pod: with the
holder's pod stopped the address moves to the other node (``kubectl get vip`` shows it) and
the client is answered there. A summary table, and the lab is removed again.
"""

from __future__ import annotations

import dataclasses
import pathlib
import shutil
import subprocess
import time
from collections.abc import Callable

from floatip.api import model, services, status
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


def kubectl() -> str | None:
    """The repository's ``.tools/bin/kubectl`` (scripts/install.sh), else one on PATH."""
    local = pathlib.Path(__file__).resolve().parents[2] / ".tools" / "bin" / "kubectl"
    return str(local) if local.is_file() else shutil.which("kubectl")


def _asked(lab_session: session.Session, address: str, count: int) -> list[str]:
    """The bodies of ``count`` requests to ``address`` ("failed: why" for a failure)."""
    asked = [lab_session.ask(address) for _ in range(count)]
    return [body if ok else f"failed: {body}" for ok, body in asked]


def show_kubectl(lab_session: session.Session, args: list[str], say: Say) -> bool:
    """Run the real ``kubectl ARGS`` against the lab and print what it says; False without
    a kubectl."""
    binary = kubectl()
    if binary is None:
        return False
    say(f"    $ kubectl {' '.join(args)}      (KUBECONFIG={lab_session.place.kubeconfig})")
    shown = subprocess.run(
        [binary, "--kubeconfig", str(lab_session.place.kubeconfig), *args],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    for line in (shown.stdout + shown.stderr).strip().splitlines():
        say(f"    {line}")
    return True


def local_step(lab_session: session.Session, web: str, say: Say) -> Step:
    """A Local Service follows its pod: held only where a web Pod is ready, and with the
    holder's pod stopped the operator moves the address to the other node (EndpointsMoved)."""
    say("    Service web-local (externalTrafficPolicy Local): only a node with a ready pod may")
    say("    hold it, since kube-proxy there delivers its traffic to that node's own pods only")
    lab_session.wait(
        lambda: set(_asked(lab_session, web, 4)) == {"server1", "server2"},
        what=f"both web Pods ready again (the client answered at {web} by both)",
        timeout=30,
        interval=0.2,
    )
    lab_session.create_service(
        "web-local", loadBalancerClass=services.CLASS, externalTrafficPolicy="Local"
    )
    address = lab_session.wait_ingress("web-local")
    vip = services.vip_name("default", "web-local", 4)
    lab_session.wait_condition(vip, "Ready", timeout=30)
    holder = lab_session.holder(vip) or "?"
    lab_session.wait_answer(address, holder, timeout=30)
    say(f"    the client asks http://{address}/ : {', '.join(_asked(lab_session, address, 4))}")
    say(f"    stop-pod {holder}: its pod not ready, so {holder} may not hold {address} any more")
    other = "server2" if holder == "server1" else "server1"
    lab_session.fault("stop-pod", holder)
    lab_session.wait_holder(vip, other, timeout=30)
    lab_session.wait_answer(address, other, timeout=30)
    if not show_kubectl(lab_session, ["get", "vip", vip], say):
        say(f"    VirtualIP {vip} is now held by {lab_session.holder(vip)}")
    reason = status.last_move_reason(lab_session.vip(vip).get("status") or {})
    bodies = _asked(lab_session, address, 4)
    say(f"    the client asks again: {', '.join(bodies)} (the address moved: {reason})")
    lab_session.fault("start-pod", holder)
    return Step(
        "Local Service follows its pod",
        f"{holder} -> {other} ({reason}), answered by {other}",
        set(bodies) == {other} and reason == model.MoveReason.ENDPOINTS_MOVED,
    )


def services_chapter(lab_session: session.Session, say: Say) -> list[Step]:
    """Chapter 6: a pool, a Service, its EXTERNAL-IP, the client answered through it."""
    prefix = str(lab_session.lab.host("server1").ip).rsplit(".", 1)[0]
    pool = f"{prefix}.120-{prefix}.129"
    say(f"==> 6/7 Services: VirtualIPPool demo ({pool}) and Service web (LoadBalancer, app=web)")
    lab_session.apply_pool("demo", {"addresses": [pool]})
    lab_session.create_service("web", loadBalancerClass=services.CLASS)
    address = lab_session.wait_ingress("web")
    vip = services.vip_name("default", "web", 4)
    lab_session.wait_condition(vip, "Ready", timeout=30)
    holder = lab_session.holder(vip) or "?"
    if not show_kubectl(lab_session, ["get", "svc", "web"], say):
        say(f"    (no kubectl: scripts/install.sh puts one in .tools/bin) EXTERNAL-IP {address}")
    say(f"    floatip recorded it as VirtualIP {vip}, held by {holder}")
    lab_session.wait(
        lambda: set(_asked(lab_session, address, 4)) == {"server1", "server2"},
        what=f"the client to be answered at {address} by both web Pods",
        timeout=30,
        interval=0.2,
    )
    say(f"    the client asks http://{address}/ : {', '.join(_asked(lab_session, address, 4))}")
    say(f"    ({holder} holds the address; the lab's kube-proxy there sends to every ready pod)")
    steps = [Step("Service web gets an EXTERNAL-IP", f"{address}, held by {holder}", True)]
    say(f"    stop-pod {holder}: its web Pod not ready (its readiness probe fails)")
    lab_session.fault("stop-pod", holder)
    other = "server2" if holder == "server1" else "server1"
    lab_session.wait(
        lambda: set(_asked(lab_session, address, 4)) == {other},
        what=f"the client to be answered at {address} by {other}'s pod only",
        timeout=30,
        interval=0.2,
    )
    bodies = _asked(lab_session, address, 4)
    say(f"    the client asks again: {', '.join(bodies)} (the address stayed on {holder})")
    steps.append(
        Step(
            f"pod on {holder} not ready",
            f"answers keep coming from {other}",
            set(bodies) == {other} and lab_session.holder(vip) == holder,
        )
    )
    lab_session.fault("start-pod", holder)
    steps.append(local_step(lab_session, address, say))
    return steps


def run(say: Say = print, *, keep: bool = False) -> list[Step]:
    """The whole demo; returns the summary's steps. Tears the lab down unless ``keep``."""
    place = state.locate()
    steps: list[Step] = []
    started = time.monotonic()
    say("==> 1/7 building the lab: 2 web servers, a client, an intruder, API server, operator")
    lab = lifecycle.up(place, nodes=2, ipv6=False, say=lambda m: say(f"    {m}"))
    try:
        lab_session = session.Session(place, say=lambda m: say(f"    {m}"))
        vip = str(lab.host("server1").ip).rsplit(".", 1)[0] + ".100"
        say(f"==> 2/7 a VirtualIP is applied: web, address {vip}/24, prefer server1")
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

        say("==> 3/7 server1 loses power (every process killed, cables down)")
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

        say("==> 4/7 server1 powers on; planned switchover back (spec.node, as kubectl vip move)")
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

        say(f"==> 5/7 the intruder steals {vip}: ip addr add {vip}/24 dev eth0; arping -U {vip}")
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

        steps.extend(services_chapter(lab_session, say))

        say("==> 7/7 summary")
        width = max(len(s.what) for s in steps)
        for step in steps:
            say(f"    {'ok ' if step.ok else 'BAD'}  {step.what.ljust(width)}  {step.result}")
        say(f"    ({time.monotonic() - started:.0f} s)")
    finally:
        if not keep:
            say("    removing the lab")
            lifecycle.down(place, say=lambda m: None)
    return steps
