"""The store down and back, with real processes: the VIP never moves. Proves:

three hosts healthy, one holding; every /readyz starts answering 500 at the same moment (the
agents' checks run at different phases, so some fail a check or two before the others); the
holder keeps the VIP and nobody claims. Every /readyz recovers at once; the holder keeps it
again, although a backup may recover a moment earlier. Three rounds, no claim at all.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.kernel.controlplane.conftest import CpLab, CpLabFactory

pytestmark = pytest.mark.kernel

NAMES = ("cp1", "cp2", "cp3")


async def _healthy_all(lab: CpLab, healthy: bool) -> bool:
    states = [await lab[name].state() for name in NAMES]
    return all(state["healthy"] is healthy for state in states)


async def _one(lab: CpLab) -> bool:
    return len(await lab.holders()) == 1


def _claims(lab: CpLab) -> int:
    return sum(len(lab[name].events("vip-claimed")) for name in NAMES)


async def test_store_down_and_back_moves_nothing(cp_lab: CpLabFactory) -> None:
    lab = await cp_lab(*NAMES)
    for name in NAMES:
        lab[name].start_agent()
    await lab.agents_up()
    await lab.until(lambda: _one(lab), what="one host to hold the VIP")
    await lab.until(lambda: _healthy_all(lab, True), what="every agent healthy")
    [holder] = await lab.holders()
    claims = _claims(lab)
    for round_ in range(3):
        for name in NAMES:
            lab[name].mode.write_text("unready")
        await lab.until(lambda: _healthy_all(lab, False), what=f"round {round_}: all unhealthy")
        for name in NAMES:
            lab[name].mode.write_text("ok")
        await lab.until(lambda: _healthy_all(lab, True), what=f"round {round_}: all healthy")
        for _ in range(8):  # the takeover delay (1 s) and more: still nobody claims
            assert await lab.holders() == [holder], await lab.explain()
            await asyncio.sleep(0.2)
        assert _claims(lab) == claims, await lab.explain()
