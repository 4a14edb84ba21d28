"""`floatip_lab.benchmarks.cpu`: where a benchmark's window went, read from /proc."""

from __future__ import annotations

import os
import time

from floatip_lab.benchmarks import cpu


def test_a_process_that_works_shows_its_cpu_and_a_gone_one_is_left_out() -> None:
    before = cpu.read({"this test": os.getpid(), "gone": 2**22 + 1})
    assert set(before.seconds) == {"this test"}
    end = time.process_time() + 0.05
    while time.process_time() < end:  # spend some CPU
        pass
    used, busy = cpu.spent(before, cpu.read({"this test": os.getpid()}))
    assert used["this test"] >= 0.03  # /proc counts in ticks (1/100 s)
    assert 0 < busy <= 1


def test_what_each_spent_is_the_difference_and_the_busiest_comes_first() -> None:
    before = cpu.Reading({"apiserver": 1.0, "operator-1": 2.0, "exited": 1.0}, 100, 400)
    after = cpu.Reading({"apiserver": 6.5, "operator-1": 4.0, "new": 3.0}, 300, 600)
    used, busy = cpu.spent(before, after)
    assert used == {"apiserver": 5.5, "operator-1": 2.0} and busy == 1.0
    assert cpu.describe(used, 0.93) == (
        "7.5 CPU s in all, the machine 93% busy: apiserver 5.50, operator-1 2.00"
    )
