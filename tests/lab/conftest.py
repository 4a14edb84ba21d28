"""Fixtures for the lab CLI tests: a private lab (own state directory and namespace prefix).

Every test's lab lives in its own ``FLOATIP_LAB_STATE_DIR`` so it never meets a lab a person
is running on the same machine (``/run/floatip-lab``), and is always taken down afterwards.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from floatip_lab import commands, ipjson, state

REPO = pathlib.Path(__file__).resolve().parents[2]
FLOATIP = REPO / ".venv" / "bin" / "floatip"


@dataclass
class Lab:
    """Runs ``floatip lab ...`` as a subprocess against one private state directory."""

    place: state.Place
    env: dict[str, str]

    def run(
        self, *args: str, check: bool = True, timeout: float = 90
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(FLOATIP), "lab", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            pytest.fail(
                f"`floatip lab {' '.join(args)}` exited {done.returncode}:\n"
                f"stdout: {done.stdout}\nstderr: {done.stderr}"
            )
        return done

    def namespaces(self) -> list[str]:
        names = ipjson.parse_netns_names(commands.ip("-j", "netns", "list"))
        return [n for n in names if n.startswith(self.place.prefix)]

    def pids(self) -> set[int]:
        """Every process inside this lab's namespaces."""
        found: set[int] = set()
        for name in self.namespaces():
            done = commands.run(["ip", "netns", "pids", name], check=False)
            found.update(int(word) for word in done.stdout.split())
        return found


def make_lab(directory: pathlib.Path) -> Lab:
    env = {**os.environ, state.STATE_DIR_ENV: str(directory)}
    return Lab(place=state.locate(env), env=env)


def running(pids: set[int]) -> set[int]:
    """The pids of `pids` that still exist (and are not zombies)."""
    alive = set()
    for pid in pids:
        try:
            stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if stat.rpartition(")")[2].split()[0] != "Z":
            alive.add(pid)
    return alive


@pytest.fixture
def lab(tmp_path: pathlib.Path) -> Iterator[Lab]:
    """A private, not yet built lab; taken down after the test whatever happened."""
    handle = make_lab(tmp_path / "lab-state")
    try:
        yield handle
    finally:
        handle.run("down", check=False)
