"""Long-running lab processes that outlive the `floatip lab` command that started them.

Each is started inside its host's namespace (``ip netns exec`` execs, so the pid we get is
the program's), in a new session (a Ctrl-C in the terminal that ran `lab up` does not reach
it) with its output in a log file under the state directory. Before signalling a recorded
pid we check it still lives in the lab namespace recorded with it, so a pid reused by an
unrelated program after a reboot or a crash is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import subprocess
import time
from collections.abc import Sequence

from floatip_lab import commands, state


def spawn(
    *,
    name: str,
    host: str,
    netns: str,
    argv: Sequence[str],
    log: pathlib.Path,
    enters_itself: bool = False,
) -> state.ProcessRecord:
    """Start `argv` inside `netns`, detached, appending its output to `log`.

    `enters_itself`: start it here; it moves into `netns` on its own (`floatip_lab.relay`).
    Its temporary files go to a ``tmp`` directory beside its log (`temporary_directory`).
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    wrapper = [] if enters_itself else ["ip", "netns", "exec", netns]
    with log.open("ab") as out:
        child = subprocess.Popen(
            [*wrapper, *argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "TMPDIR": str(temporary_directory(log))},
        )
    return state.ProcessRecord(
        name=name,
        host=host,
        netns=netns,
        pid=child.pid,
        argv=list(argv),
        log=str(log),
        enters_itself=enters_itself,
    )


def temporary_directory(log: pathlib.Path) -> pathlib.Path:
    """Where a lab process writes its temporary files: beside its log, in the lab's state.

    The programs remove their temporary files when they exit (the kubeconfig's certificates
    written for the TLS library, kopf's), but `floatip lab down`, a kill-node fault and a
    crash end them with SIGKILL, which runs no exit handler: in /tmp those files would stay
    forever. Here `floatip lab down` removes them with the rest of the lab.
    """
    directory = log.parent / "tmp"
    directory.mkdir(mode=0o700, exist_ok=True)
    return directory


def _netns_inode(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def exited(pid: int) -> bool:
    """Whether process `pid` is gone or a zombie (used right after `spawn`, by its parent)."""
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def alive(record: state.ProcessRecord) -> bool:
    """Whether the recorded process still runs (not a zombie) inside its recorded namespace.

    Just after `spawn` the process may not have entered its namespace yet: use `exited`.
    """
    want = _netns_inode(f"/run/netns/{record.netns}")
    have = _netns_inode(f"/proc/{record.pid}/ns/net")
    if want is None or have is None or want != have:
        return False
    return not exited(record.pid)


def send(record: state.ProcessRecord, sig: int) -> bool:
    """Send `sig` to the process if it is still the recorded one; return whether it was."""
    if not alive(record):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(record.pid, sig)
        return True
    return False


def stop(record: state.ProcessRecord, *, grace: float = 3.0) -> None:
    """SIGTERM (and SIGCONT, in case it is frozen), then SIGKILL if it outlives `grace` s."""
    if not send(record, signal.SIGTERM):
        return
    send(record, signal.SIGCONT)
    deadline = time.monotonic() + grace
    while alive(record) and time.monotonic() < deadline:
        time.sleep(0.05)
    send(record, signal.SIGKILL)
    deadline = time.monotonic() + grace
    while alive(record) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(record):
        raise commands.LabError(
            f"lab process {record.name} (pid {record.pid}) survived SIGKILL; "
            f"is it stuck in the kernel? See `cat /proc/{record.pid}/stack`"
        )


def restart(record: state.ProcessRecord) -> state.ProcessRecord:
    """Stop the process and start the same command again (same namespace, same log)."""
    stop(record)
    return spawn(
        name=record.name,
        host=record.host,
        netns=record.netns,
        argv=record.argv,
        log=pathlib.Path(record.log),
        enters_itself=record.enters_itself,
    )


def end(process: subprocess.Popen[str]) -> None:
    """End a child this process started (a client's recorder): SIGTERM, SIGKILL after 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def log_tail(record: state.ProcessRecord, lines: int = 15) -> str:
    """The last lines of the process's log, for error messages."""
    try:
        text = pathlib.Path(record.log).read_text(errors="replace")
    except OSError:
        return "(no log)"
    tail = [line if len(line) <= 300 else line[:300] + " ..." for line in text.splitlines()]
    return "\n".join(tail[-lines:]) or "(empty log)"
