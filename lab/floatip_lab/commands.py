"""Running iproute2 (and programs inside namespaces) with errors that say what to do.

Every lab command goes through `run` so a failure names the command, its exit status, what it
printed and, for the usual causes, the fix.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence


class LabError(RuntimeError):
    """The lab could not build, use or remove its namespaces."""


class LabCommandError(LabError):
    """A command the lab ran failed."""

    def __init__(self, argv: Sequence[str], returncode: int, stdout: str, stderr: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        detail = stderr.strip() or stdout.strip() or "(no output)"
        message = f"`{shlex.join(self.argv)}` exited with status {returncode}: {detail}"
        hint = _hint(stderr)
        super().__init__(f"{message}. {hint}" if hint else message)


def _hint(stderr: str) -> str:
    if "Operation not permitted" in stderr or "Permission denied" in stderr:
        return "The lab needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to manage namespaces"
    if "File exists" in stderr:
        return (
            "A namespace or link of that name already exists: a run of this process leaked it, "
            "or remove it with `ip netns del NAME` (floatip_lab.netns.cleanup_stale removes "
            "namespaces of dead runs)"
        )
    if "No such file or directory" in stderr and "netns" in stderr:
        return "The namespace is gone: was the topology already torn down?"
    return ""


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    timeout: float = 30.0,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `argv`, capture its output as text; raise `LabCommandError` if `check` and it fails."""
    try:
        done = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
            check=False,
        )
    except FileNotFoundError as exc:
        raise LabError(
            f"cannot run `{shlex.join(argv)}`: {argv[0]!r} is not installed "
            "(the lab needs iproute2, iputils-ping and iputils-arping: run scripts/install.sh)"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"`{shlex.join(argv)}` did not finish within {timeout} s") from exc
    if check and done.returncode != 0:
        raise LabCommandError(argv, done.returncode, done.stdout, done.stderr)
    return done


def ip(*args: str, netns: str | None = None, check: bool = True) -> str:
    """Run `ip [-n NETNS] ARGS...` and return its standard output."""
    argv = ["ip", *(["-n", netns] if netns else []), *args]
    return run(argv, check=check).stdout
