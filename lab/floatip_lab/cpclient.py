"""The client of the control-plane VIP, seen from this machine: who answered ``/readyz``, when.

`recording` starts `floatip_lab.readyzprobe` in the lab's client namespace (HTTPS ``GET
/readyz`` through the VIP every 10 ms) and returns a `Readyz` that reads, as they grow, the
prober's records and every control-plane stand-in's accept records, and joins them
(`floatip_lab.readyzjudge`) into `timeline.Request`s whose answer is the host that answered.
"""

from __future__ import annotations

import contextlib
import pathlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from floatip_lab import cpnodes, processes, readyzjudge, state, timeline, waiting

T = TypeVar("T")


class Tail(Generic[T]):
    """A JSON-lines file read as it grows: each complete line parsed once."""

    def __init__(self, path: pathlib.Path, parse: Callable[[str], T]) -> None:
        self.path = path
        self.parse = parse
        self.items: list[T] = []
        self._read = 0

    def read(self) -> list[T]:
        if self.path.exists():
            with self.path.open("rb") as lines:
                lines.seek(self._read)
                text = lines.read()
            complete = text[: text.rfind(b"\n") + 1]
            self._read += len(complete)
            self.items.extend(self.parse(line) for line in complete.decode().splitlines() if line)
        return self.items


class Readyz:
    """One running prober and what it saw, joined with who accepted each connection."""

    def __init__(
        self, process: subprocess.Popen[str], path: pathlib.Path, accepts: Iterable[pathlib.Path]
    ) -> None:
        self.process = process
        self.path = path
        self._probes = Tail(path, readyzjudge.Probe.from_json)
        self._accepts = [Tail(p, readyzjudge.Accept.from_json) for p in accepts]

    def requests(self) -> list[timeline.Request]:
        """Every request recorded so far, by start time, each named by the host that answered."""
        accepts = [a for tail in self._accepts for a in tail.read()]
        return readyzjudge.attribute(self._probes.read(), accepts)

    def wait_answer(
        self,
        since: float,
        *,
        excluding: Iterable[str] = (),
        timeout: float = 30,
        describe: Callable[[], str] | None = None,
    ) -> timeline.Request:
        """The first request started at or after `since` answered by a host not in `excluding`.

        When it gives up it says what the client saw since then and `describe` (the lab).
        """
        skip = list(excluding)

        def found() -> timeline.Request | None:
            return readyzjudge.first_answer(self.requests(), since, excluding=skip)

        def seen() -> str:
            after = [r for r in self.requests() if r.start >= since]
            errors = sorted({r.answer for r in after if not r.ok})
            own = (
                f"the client sent {len(after)} requests since then; answered by (host, count): "
                f"{timeline.answered_by(after)}; errors {errors}"
            )
            return own + ("\n" + describe() if describe else "")

        request: timeline.Request = waiting.wait_until(
            found, what=f"an answer through the VIP from a host other than {skip or 'none'}",
            timeout=timeout, interval=0.02, describe=seen,
        )  # fmt: skip
        return request

    def probes(self) -> list[readyzjudge.Probe]:
        """The prober's own records so far (who answered unknown)."""
        return list(self._probes.read())

    def wait_ok(self, since: float, *, timeout: float = 60) -> readyzjudge.Probe:
        """The first request started at or after `since` that was answered at all."""

        def found() -> readyzjudge.Probe | None:
            return next((p for p in self.probes() if p.start >= since and p.ok), None)

        def seen() -> str:
            after = [p for p in self.probes() if p.start >= since]
            return f"{len(after)} requests since then, errors {sorted({p.answer for p in after})}"

        probe: readyzjudge.Probe = waiting.wait_until(
            found, what="an answer through the VIP", timeout=timeout, interval=0.02, describe=seen
        )
        return probe

    def stop(self) -> None:
        processes.end(self.process)


_count = 0


@contextlib.contextmanager
def recording(
    place: state.Place,
    lab: state.LabState,
    cluster: state.ControlPlane,
    *,
    duration: float = 120,
    port: int = 6443,
) -> Iterator[Readyz]:
    """The client asking ``https://VIP:PORT/readyz`` every 10 ms until the block ends."""
    global _count  # noqa: PLW0603 -- one numbering of record files per process
    _count += 1
    path = place.path("records", f"readyz-{_count}-{time.time():.0f}.jsonl")
    path.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        ["ip", "netns", "exec", lab.host("client").netns, sys.executable, "-m",
         "floatip_lab.readyzprobe", "--target", cpnodes.vip_address(cluster), "--port", str(port),
         "--ca", str(cpnodes.ca_file(place)), "--duration", str(duration), "--out", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    hosts = [h for c in lab.control_planes for h in c.hosts]
    readyz = Readyz(process, path, [cpnodes.accepts_file(place, h) for h in hosts])
    try:
        yield readyz
    finally:
        readyz.stop()
