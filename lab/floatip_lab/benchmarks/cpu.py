"""CPU seconds each process of a lab spent over a benchmark's window, read from ``/proc``.

On the 2-core machine a busy window's wall time is its processes' CPU over two cores, so where
the CPU went says what to make cheaper: floatip's own processes, or the lab's stand-ins for
what a cluster runs on other machines (the API server, the endpoints controller, kube-proxy).
A process's children count once they were waited for (``nft`` with the kube-proxy stand-in
that ran it); a process that exited, or was started, within the window is left out.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping
from typing import NamedTuple

TICK = os.sysconf("SC_CLK_TCK")


class Reading(NamedTuple):
    """Each named process's CPU seconds so far, and the machine's busy and total jiffies."""

    seconds: dict[str, float]
    busy: int
    total: int


def process_seconds(pid: int) -> float | None:
    """CPU seconds ``pid`` and its waited-for children spent (user + system); None if gone."""
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # after the name: state is field 3, utime 14, stime 15, cutime 16, cstime 17 (proc(5))
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICK


def read(pids: Mapping[str, int]) -> Reading:
    """The CPU of the processes ``pids`` (by name) and of the machine, now."""
    seconds = {name: s for name, pid in pids.items() if (s := process_seconds(pid)) is not None}
    jiffies = [int(x) for x in pathlib.Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = jiffies[3] + jiffies[4]  # idle, iowait
    return Reading(seconds, sum(jiffies) - idle, sum(jiffies))


def spent(before: Reading, after: Reading) -> tuple[dict[str, float], float]:
    """(CPU seconds each process spent between the readings, the machine's busy fraction)."""
    used = {
        name: after.seconds[name] - before.seconds.get(name, 0.0)
        for name in after.seconds
        if name in before.seconds
    }
    total = after.total - before.total
    return used, (after.busy - before.busy) / total if total else 0.0


def describe(used: Mapping[str, float], busy: float) -> str:
    """One line: the machine's load and each process's CPU seconds, the busiest first."""
    parts = ", ".join(
        f"{name} {seconds:.2f}" for name, seconds in sorted(used.items(), key=lambda kv: -kv[1])
    )
    return f"{sum(used.values()):.1f} CPU s in all, the machine {busy:.0%} busy: {parts}"
