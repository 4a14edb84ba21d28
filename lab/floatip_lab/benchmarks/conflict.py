"""``floatip bench conflict``: a VIP on a hostile, unstable LAN, as a client sees it.

One lab of its own (two nodes, IPv4 and IPv6), four scenarios, one JSON line at the end:

- ``silent_intruder``: the intruder only runs ``ip addr add VIP/24 dev eth0`` (its kernel
  answers ARP like any host); a fresh client (it forgets the VIP's MAC every 2 s) asks every
  50 ms. ``holder_share``: the part of its requests the holder answered; ``detect_ms``: from
  the intruder's ``ip addr add`` to ``Conflict=True`` (null: never within the scenario);
  ``conflict_held``: whether Conflict stayed True for as long as the intruder held it.
- ``garp_battle``: the same, and the intruder sends a gratuitous ARP every second;
  ``frames_per_s_per_vip``: the frames the holder's agent sent about the VIP (announcements,
  defence and verification probes), as the client's ARP log counts them.
- ``flap``: ``preferredNodes: [server1, server2]`` with ``preempt``; server1's data cable is
  pulled for 1 s and put back for 2.5 s, six times: ``moves`` (epoch bumps) and the client's
  ``failed_requests``.
- ``ipv6_silent_intruder``: the silent intruder on an IPv6 VIP.

Builds and removes its own lab; needs root. Figures are printed, never asserted.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import click

from floatip_lab import session, timeline, waiting
from floatip_lab.benchmarks import failover

Say = Callable[[str], None]
FRESH_CLIENT_FLUSH = 2.0  # seconds: the client forgets the VIP's MAC this often
INTERVAL = 0.05  # seconds between the client's requests


def _conflict(lab: session.Session, name: str) -> bool:
    condition = lab.condition(name, "Conflict")
    return condition is not None and condition.get("status") == "True"


def _settle(lab: session.Session, name: str, spec: dict[str, Any], vip: str) -> str:
    lab.apply_vip(name, spec)
    lab.wait_condition(name, "Ready", timeout=60)
    holder = lab.holder(name)
    assert holder is not None
    lab.wait_answer(vip, holder, timeout=60)
    lab.wait_agents_sure()
    return holder


@contextlib.contextmanager
def _garps(lab: session.Session, vip: str, seconds: float) -> Iterator[None]:
    """The intruder sends a gratuitous ARP for ``vip`` every second (real arping)."""
    netns = lab.lab.host("intruder").netns
    process = subprocess.Popen(
        ["ip", "netns", "exec", netns, "arping", "-U", "-I", "eth0", "-i", "1",
         "-c", str(int(seconds)), vip],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


def intruder_scenario(
    lab: session.Session,
    *,
    name: str,
    vip: str,
    prefix: int,
    seconds: float,
    garps: bool,
    say: Say,
) -> dict[str, Any]:
    """An intruder holds ``vip`` for ``seconds`` while a fresh client asks it."""
    holder = _settle(lab, name, {"address": f"{vip}/{prefix}"}, vip)
    holder_mac = lab.lab.host(holder).mac
    intruder_mac = lab.lab.host("intruder").mac
    arp = lab.arp_log(vip, duration=seconds + 30) if vip.count(".") == 3 else None
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(arp) if arp is not None else None
        prober = stack.enter_context(
            lab.prober(
                vip, duration=seconds + 30, interval=INTERVAL, flush_every=FRESH_CLIENT_FLUSH
            )
        )
        time.sleep(1.0)
        started = time.time()
        lab.squat(vip, prefix)
        if garps:
            stack.enter_context(_garps(lab, vip, seconds))
        detected: float | None = None
        with contextlib.suppress(waiting.WaitTimeoutError):  # a figure too: never detected
            detected = lab.wait(
                lambda: _conflict(lab, name) and time.time(),
                what=f"Conflict=True on {name} after the intruder took {vip}",
                timeout=seconds,
                interval=0.02,
            )
        samples = []
        while time.time() < started + seconds:
            samples.append(_conflict(lab, name))
            time.sleep(0.5)
        ended = time.time()
    lab.give_back(vip, prefix)
    lab.wait(lambda: not _conflict(lab, name), what=f"Conflict=False on {name} after", timeout=60)
    requests = [r for r in prober.requests() if started <= r.start < ended]
    share = sum(1 for r in requests if r.ok and r.answer == holder) / max(1, len(requests))
    result: dict[str, Any] = {
        "requests": len(requests),
        "holder_share": round(share, 3),
    }
    if not garps:
        result["detect_ms"] = None if detected is None else round(1000 * (detected - started), 1)
        result["conflict_held"] = detected is not None and all(samples)
    if log is not None:
        frames = [f for f in log.frames() if started <= f.time < ended]
        ours = [f for f in frames if f.sender_mac == holder_mac and _agent_frame(f, vip)]
        theirs = [f for f in frames if f.sender_mac == intruder_mac and f.sender_ip == f.target_ip]
        if garps:
            result["intruder_garps_per_s"] = round(len(theirs) / (ended - started), 2)
            result["frames_per_s_per_vip"] = round(len(ours) / (ended - started), 2)
    say(f"{name}: {json.dumps(result)}")
    return result


def _agent_frame(frame: timeline.ArpFrame, vip: str) -> bool:
    """A frame the agent sent about ``vip``: an announcement (sender IP == target IP) or a
    verification probe (sender 0.0.0.0); the kernel's answers to questions are not."""
    return frame.target_ip == vip and frame.sender_ip in (vip, "0.0.0.0")


def flap_scenario(lab: session.Session, *, vip: str, flaps: int, say: Say) -> dict[str, Any]:
    """server1's data cable pulled 1 s and put back 2.5 s, ``flaps`` times."""
    spec = {"address": f"{vip}/24", "preferredNodes": ["server1", "server2"], "preempt": True}
    holder = _settle(lab, "flap", spec, vip)
    assert holder == "server1", f"the preferred node does not hold it: {holder}"
    before = int((lab.vip("flap").get("status") or {}).get("epoch") or 0)
    with lab.prober(vip, duration=flaps * 3.5 + 30, interval=INTERVAL) as prober:
        time.sleep(1.0)
        started = time.time()
        for _ in range(flaps):
            lab.fault("cut-data", "server1")
            time.sleep(1.0)
            lab.fault("heal")
            time.sleep(2.5)
        time.sleep(2.0)
        ended = time.time()
    after = int((lab.vip("flap").get("status") or {}).get("epoch") or 0)
    requests = [r for r in prober.requests() if started <= r.start < ended]
    result = {"flaps": flaps, "moves": after - before, "failed_requests": timeline.failed(requests)}
    say(f"flap: {json.dumps(result)}")
    lab.delete_vip("flap")
    return result


def run(*, profile: str, seconds: float, say: Say) -> dict[str, Any]:
    with failover.bench_lab(profile, say, ipv6=True) as place:
        lab = session.Session(place, say=lambda m: None)
        v4 = str(lab.lab.host("server1").ip).rsplit(".", 1)[0]
        result = {
            "silent_intruder": intruder_scenario(
                lab, name="silent", vip=f"{v4}.100", prefix=24, seconds=seconds, garps=False,
                say=say,
            ),
            "garp_battle": intruder_scenario(
                lab, name="battle", vip=f"{v4}.101", prefix=24, seconds=seconds, garps=True,
                say=say,
            ),
            "flap": flap_scenario(lab, vip=f"{v4}.102", flaps=6, say=say),
            "ipv6_silent_intruder": intruder_scenario(
                lab, name="silent6", vip="2001:db8:f1::100", prefix=64, seconds=seconds,
                garps=False, say=say,
            ),
        }  # fmt: skip
    return result


@click.command("conflict")
@click.option("--profile", type=click.Choice(["default", "fast"]), default="default")
@click.option(
    "--seconds", type=float, default=20.0, show_default=True, help="how long each intruder stays"
)
@click.option("--json", "as_json", is_flag=True, help="end with one JSON line only")
def conflict_command(profile: str, seconds: float, as_json: bool) -> None:
    """A VIP against a silent intruder, a gratuitous-ARP battle and a flapping node.

    Needs root (it builds its own lab in network namespaces and removes it afterwards).
    """

    def say(message: str) -> None:
        click.echo(message, err=as_json)

    click.echo(json.dumps(run(profile=profile, seconds=seconds, say=say)))
