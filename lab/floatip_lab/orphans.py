"""Labs nobody will take down: ``fip-lab-<tag>-*`` namespaces with no process left in them.

`floatip lab down` removes a lab by its state directory, and the test harness's namespaces
(``fip-<pid>-...``) go with their owner pid (`floatip_lab.netns.cleanup_stale`). A lab whose
`floatip lab up`, test or benchmark was SIGKILLed, or whose state directory was deleted with a
test's temporary files, has neither: its namespaces would stay until reboot, and the next lab
on the same addresses would fight them. Such a lab is recognised by what it no longer has:

- no process in any of its namespaces (a lab that is up runs at least its API server, its
  operators and its agents; a fault stops some of them, never every one);
- and none of its namespaces younger than `MIN_AGE_SECONDS` (a lab being built has namespaces
  for a moment before its first process starts; building one takes seconds, not minutes).

`sweep` removes those, whoever built them, and says which; `floatip lab up` runs it first.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterable

from floatip_lab import commands, hosts, ipjson, state

MIN_AGE_SECONDS = 120.0
#: Overrides `MIN_AGE_SECONDS` (the tests make a namespace count as old at once with "0").
MIN_AGE_ENV = "FLOATIP_LAB_ABANDONED_AFTER_SECONDS"
NETNS_DIR = "/run/netns"


@dataclasses.dataclass(frozen=True)
class Seen:
    """What the machine says of one lab namespace."""

    name: str
    processes: int
    created: float  # seconds since the epoch


def tag_of(name: str) -> str | None:
    """The lab tag of namespace `name` (``fip-lab-<tag>-<role>``), or None if not a lab's."""
    if not name.startswith(state.NAME_PREFIX):
        return None
    tag, _, role = name[len(state.NAME_PREFIX) :].partition("-")
    return tag if tag and role else None


def abandoned(
    seen: Iterable[Seen], *, now: float, min_age: float = MIN_AGE_SECONDS
) -> dict[str, list[str]]:
    """Every lab with no process anywhere and nothing younger than `min_age`: its tag and its
    namespaces (pure: the decision `sweep` acts on)."""
    labs: dict[str, list[Seen]] = {}
    for namespace in seen:
        tag = tag_of(namespace.name)
        if tag is not None:
            labs.setdefault(tag, []).append(namespace)
    return {
        tag: sorted(member.name for member in members)
        for tag, members in sorted(labs.items())
        if all(m.processes == 0 and now - m.created >= min_age for m in members)
    }


def look() -> list[Seen]:
    """Every ``fip-lab-*`` namespace on this machine: its processes and when it was made."""
    names = ipjson.parse_netns_names(commands.ip("-j", "netns", "list"))
    seen = []
    for name in names:
        if tag_of(name) is None:
            continue
        try:
            created = os.stat(os.path.join(NETNS_DIR, name)).st_mtime
        except FileNotFoundError:
            continue  # removed meanwhile
        seen.append(Seen(name, len(hosts.namespace_pids(name)), created))
    return seen


def sweep(*, now: float | None = None, min_age: float | None = None) -> dict[str, list[str]]:
    """Remove every abandoned lab's namespaces; return them by lab tag. `min_age` defaults to
    ``$FLOATIP_LAB_ABANDONED_AFTER_SECONDS``, else `MIN_AGE_SECONDS`."""
    if min_age is None:
        min_age = float(os.environ.get(MIN_AGE_ENV) or MIN_AGE_SECONDS)
    found = abandoned(look(), now=time.time() if now is None else now, min_age=min_age)
    removed: dict[str, list[str]] = {}
    for tag, names in found.items():
        if any(hosts.namespace_pids(name) for name in names):
            continue  # a process arrived since we looked: not abandoned after all
        for name in names:
            done = commands.run(["ip", "netns", "del", name], check=False)
            if done.returncode != 0 and "No such file or directory" not in done.stderr:
                raise commands.LabError(
                    f"could not remove namespace {name} of abandoned lab {tag} (no process in "
                    f"any of its namespaces, made over {min_age:.0f} s ago): "
                    f"{done.stderr.strip()}; "
                    f"remove it with `ip netns del {name}`"
                )
        removed[tag] = names
    return removed
