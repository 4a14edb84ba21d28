"""Injected failures, so the lab and the tests can see how clients survive a sick API server.

``latency`` delays every request; ``hang`` accepts connections and never answers (a frozen
apiserver or a black-holed network); ``down`` and ``restart`` are handled by :mod:`runtime`
(closing the listening socket so connections are refused, then reopening it with all state
kept); dropping every watch lives on the store.

``hold`` is the precise one, for tests that must interrupt one write at a known point (a
leader killed while its status write is in flight): requests matching a rule (method, path
pattern, optionally the authenticated user, optionally only the first N) are kept unanswered
until the test decides their fate. ``release`` lets them through: they are applied then, even
if their client has gone meanwhile, as kube-apiserver commits a request it has received
whatever became of the client (a slow etcd write lands after the caller died). ``drop``
answers them 503 without applying them (the write was lost on the way). No real server has a
switch for this; it imitates the two outcomes a real in-flight write can have. The same
control is served at ``/_faults/holds`` (not a Kubernetes path; ``system:masters`` only) so
that a test can drive the lab's API server process too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import fnmatch
import itertools
import json
import time
from typing import Any, Literal

Fate = Literal["release", "drop"]


@dataclasses.dataclass
class Caught:
    """One held request: what it was, when it arrived, and its answer's code once answered."""

    method: str
    path: str
    user: str | None
    time: float  # wall clock, when the server caught it (its body fully received)
    body: Any = None  # the decoded JSON body, so a test can tell which write it holds
    code: int | None = None  # None while pending
    _answered: asyncio.Event = dataclasses.field(default_factory=asyncio.Event, repr=False)

    def answer(self, code: int) -> None:
        self.code = code
        self._answered.set()

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("method", "path", "user", "time", "body", "code")}


@dataclasses.dataclass
class Hold:
    """Requests matching one rule, held until :meth:`release` or :meth:`drop`.

    ``path`` is an fnmatch pattern of the request path (``/apis/floatip.io/v1alpha1/
    virtualips/*/status``); ``user``, when given, limits it to that authenticated user;
    ``count``, when given, to the first ``count`` matching requests (later ones pass).
    """

    name: str
    method: str
    path: str
    user: str | None = None
    count: int | None = None
    caught: list[Caught] = dataclasses.field(default_factory=list)
    fate: Fate | None = None  # None while it holds
    _gate: asyncio.Event = dataclasses.field(default_factory=asyncio.Event, repr=False)
    _arrived: asyncio.Condition = dataclasses.field(default_factory=asyncio.Condition, repr=False)

    def matches(self, method: str, path: str, user: str | None) -> bool:
        return (
            self.fate is None
            and (self.count is None or len(self.caught) < self.count)
            and method.upper() == self.method.upper()
            and fnmatch.fnmatchcase(path, self.path)
            and (self.user is None or user == self.user)
        )

    def release(self) -> None:
        """Stop holding; the held requests go on and are applied."""
        self._end("release")

    def drop(self) -> None:
        """Stop holding; the held requests are answered 503 and never applied."""
        self._end("drop")

    def _end(self, fate: Fate) -> None:
        if self.fate is None:
            self.fate = fate
            self._gate.set()

    async def wait_caught(self, count: int = 1) -> None:
        """Until at least ``count`` requests were caught (callers bound it with a timeout)."""
        async with self._arrived:
            await self._arrived.wait_for(lambda: len(self.caught) >= count)

    async def wait_answered(self) -> None:
        """Until every caught request has its answer (after a release or a drop)."""
        for caught in list(self.caught):
            await caught._answered.wait()

    async def _catch(self, caught: Caught) -> Fate:
        self.caught.append(caught)
        async with self._arrived:
            self._arrived.notify_all()
        await self._gate.wait()
        assert self.fate is not None
        return self.fate

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "method": self.method,
            "path": self.path,
            "user": self.user,
            "count": self.count,
            "fate": self.fate,
            "caught": [c.as_dict() for c in self.caught],
        }


@dataclasses.dataclass
class Faults:
    """Request-path faults, checked before every request is handled."""

    latency: float = 0.0
    _hang: asyncio.Event | None = None
    holds: dict[str, Hold] = dataclasses.field(default_factory=dict)
    _names: itertools.count[int] = dataclasses.field(default_factory=lambda: itertools.count(1))

    @property
    def hanging(self) -> bool:
        return self._hang is not None

    def hang(self) -> None:
        """From now on, requests never get an answer (until :meth:`heal`)."""
        if self._hang is None:
            self._hang = asyncio.Event()

    def heal(self) -> None:
        """Stop hanging and remove latency; hung requests are released and then answered."""
        self.latency = 0.0
        if self._hang is not None:
            self._hang.set()
            self._hang = None

    async def before_request(self) -> None:
        if self._hang is not None:
            await self._hang.wait()
        if self.latency > 0:
            await asyncio.sleep(self.latency)

    def hold(
        self, method: str, path: str, *, user: str | None = None, count: int | None = None
    ) -> Hold:
        """From now on, hold requests matching the rule (see :class:`Hold`)."""
        found = Hold(f"hold-{next(self._names)}", method, path, user=user, count=count)
        self.holds[found.name] = found
        return found

    def holding(self, method: str, path: str, user: str | None) -> Hold | None:
        """The first active hold that catches this request, if any."""
        return next((h for h in self.holds.values() if h.matches(method, path, user)), None)

    async def held(
        self, hold: Hold, method: str, path: str, user: str | None, body: bytes
    ) -> Caught | None:
        """Hold one request until its fate is decided: its record, or None when dropped."""
        try:
            decoded = json.loads(body) if body else None
        except ValueError:
            decoded = None
        caught = Caught(method, path, user, time.time(), decoded)
        if await hold._catch(caught) == "drop":
            caught.answer(503)
            return None
        return caught

    def drop_holds(self) -> None:
        """Drop every hold still holding (the server is stopping)."""
        for found in self.holds.values():
            found.drop()
