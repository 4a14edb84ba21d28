"""`inflight.each`: a sliding window of writes, not batches."""

from __future__ import annotations

import asyncio

from floatip_operator import inflight


async def test_a_slow_job_holds_up_no_other_and_the_bound_holds() -> None:
    window = asyncio.Semaphore(2)
    slow_may_end = asyncio.Event()
    running: list[str] = []
    most = 0
    done: list[str] = []

    async def job(name: str) -> str:
        nonlocal most
        running.append(name)
        most = max(most, len(running))
        if name == "slow":
            await slow_may_end.wait()
        else:
            await asyncio.sleep(0)
        running.remove(name)
        done.append(name)
        return name.upper()

    names = ["slow", "a", "b", "c", "d"]
    every = asyncio.create_task(inflight.each(window, (job(n) for n in names)))
    for _ in range(100):  # loop turns; in batches of 2, "b" would wait for "slow" for good
        await asyncio.sleep(0)
    assert done == ["a", "b", "c", "d"] and running == ["slow"]
    slow_may_end.set()
    assert await every == ["SLOW", "A", "B", "C", "D"]
    assert most == 2
