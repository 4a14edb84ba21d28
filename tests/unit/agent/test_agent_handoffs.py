"""The handoffs in force (`handoffs.Handoffs`): loaded at begin, timed from arm, always ended."""

from __future__ import annotations

import asyncio
import ipaddress

from floatip_agent import handoff, handoffs, metrics

PLANNED = handoff.Handoff(
    address=ipaddress.ip_address("192.0.2.10"),
    ifname="eth0",
    previous=ipaddress.ip_address("192.0.2.12"),
    previous_mac="02:00:00:00:00:12",
)


class Loads:
    """Records every ruleset loaded, as `nftables.load` would apply it."""

    def __init__(self) -> None:
        self.scripts: list[str] = []

    async def __call__(self, script: str) -> None:
        self.scripts.append(script)


def timers(handing: handoffs.Handoffs) -> dict[str, asyncio.TimerHandle]:
    return handing._ends


async def test_the_window_starts_when_armed_not_when_loaded() -> None:
    loads = Loads()
    handing = handoffs.Handoffs(seconds=2.0, counters=metrics.Metrics(), load=loads)
    assert await handing.begin("web", PLANNED)
    assert "web" in handing.active and timers(handing) == {}  # a long probe costs no window
    loop = asyncio.get_running_loop()
    handing.arm("web")
    [timer] = timers(handing).values()
    assert 1.9 < timer.when() - loop.time() <= 2.0
    await handing.end("web")
    assert handing.active == {} and timers(handing) == {} and timer.cancelled()
    assert "192.0.2.12" in loads.scripts[0] and "192.0.2.12" not in loads.scripts[-1]


async def test_arming_what_was_never_begun_or_already_ended_does_nothing() -> None:
    handing = handoffs.Handoffs(seconds=2.0, counters=metrics.Metrics(), load=Loads())
    handing.arm("web")
    assert timers(handing) == {}
    await handing.begin("web", PLANNED)
    await handing.end("web")
    handing.arm("web")
    assert timers(handing) == {}


async def test_the_armed_window_ends_the_handoff_by_itself() -> None:
    loads = Loads()
    handing = handoffs.Handoffs(seconds=0.01, counters=metrics.Metrics(), load=loads)
    await handing.begin("web", PLANNED)
    handing.arm("web")
    for _ in range(200):
        if not handing.active:
            break
        await asyncio.sleep(0.01)
    assert handing.active == {} and "192.0.2.12" not in loads.scripts[-1]


async def test_a_failed_load_is_no_handoff() -> None:
    async def failing(script: str) -> None:
        raise OSError("nft: not found")

    counters = metrics.Metrics()
    handing = handoffs.Handoffs(seconds=2.0, counters=counters, load=failing)
    assert not await handing.begin("web", PLANNED)
    handing.arm("web")
    assert handing.active == {} and timers(handing) == {}
    failed = counters.registry.get_sample_value(
        "floatip_agent_flow_handoffs_total", {"result": "failed"}
    )
    assert failed == 1
