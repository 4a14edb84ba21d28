"""The control-plane VIP with real ``floatip-control-plane-agent`` processes on a bridge.

Three hosts, each with a readyz stub on 127.0.0.1:6443 in its own namespace. Proves, in order:
the VIP appears on exactly one host and stays there (the agents start within a second of each
other, so which one depends on who was ready first: there is no preemption); the holder's
apiserver stopping moves it to the first healthy host in order; the holder losing power
(agent killed, cable pulled) moves it to the remaining healthy host; every apiserver
unready (the store down) leaves it where it is, with no flapping; the client reaches the VIP
at the holder's MAC all along.
"""

from __future__ import annotations

import asyncio
import signal

import pytest

from floatip_lab import hosts
from tests.kernel.controlplane.conftest import VIP, CpLab, CpLabFactory

pytestmark = pytest.mark.kernel


async def test_elects_one_moves_on_failures_and_stays_when_store_down(cp_lab: CpLabFactory) -> None:
    lab = await cp_lab("cp1", "cp2", "cp3")
    client = lab.topo["client"]
    for cp in lab.cps.values():
        cp.start_agent()
    await lab.agents_up()
    await lab.until(lambda: _one_holder(lab), what="one host to hold the VIP")
    first = (await lab.holders())[0]
    await asyncio.sleep(0.5)  # and nobody else takes it meanwhile
    assert await lab.holders() == [first], await lab.explain()
    client.run(["ping", "-c", "1", "-W", "1", VIP])
    assert client.neighbour_mac(VIP) == lab[first].host.mac

    second, third = [name for name in ("cp1", "cp2", "cp3") if name != first]
    lab[first].stop_stub()  # the holder's apiserver stops: the first healthy node takes over
    took = await lab.until(lambda: lab.only_holder(second), what=f"{second} to take over")
    print(f"apiserver stopped -> {second} holds alone: {took:.3f} s", _timeline(lab, first, second))
    assert took < 2.0, f"took {took:.2f} s\n{await lab.explain()}"
    client.run(["ping", "-c", "1", "-W", "1", VIP])
    assert client.neighbour_mac(VIP) == lab[second].host.mac

    lab[second].stop_agent(signal.SIGKILL)  # it loses power: silent, and off the LAN
    lab[second].host.set_link(False, end=hosts.LinkEnd.SWITCH)
    took = await lab.until(
        lambda: lab.only_holder(third, ignoring=(second,)), what=f"{third} to claim"
    )
    print(f"holder lost power -> {third} holds: {took:.3f} s")
    assert took < 2.0, f"took {took:.2f} s\n{await lab.explain()}"

    for cp in lab.cps.values():
        cp.mode.write_text("unready")  # the store is down: every /readyz answers 500
    lab[first].start_stub()
    await lab.until(lambda: lab.unhealthy(first, third), what="every agent to judge unhealthy")
    for _ in range(10):  # 2 s: the VIP stays, nobody claims or drops it
        assert await lab.only_holder(third, ignoring=(second,)), await lab.explain()
        await asyncio.sleep(0.2)
    assert (await lab[third].state())["role"] == "holder"
    client.run(["ping", "-c", "1", "-W", "1", VIP])
    assert client.neighbour_mac(VIP) == lab[third].host.mac


async def _one_holder(lab: CpLab) -> bool:
    return len(await lab.holders()) == 1


def _timeline(lab: CpLab, old: str, new: str) -> str:
    """When the old holder judged its apiserver failed, the new one claimed, the old released."""
    marks = [
        (old, "apiserver-unready"), (new, "vip-claimed"), (old, "vip-released"),
    ]  # fmt: skip
    found = []
    for name, event in marks:
        records = lab[name].events(event)
        if records:
            found.append(f"{name} {event} {records[-1]['timestamp'][17:26]}")
    return "; ".join(found)
