"""Knowing when the agent can no longer be sure it is the holder (pure, clock injected).

protocol.md "Fencing": the agent is *unsure* when it has had no successful API request (a
watch event or bookmark, a Lease renewal, a cheap GET tried every second) for
`unsure_after` seconds. Unsure, it keeps every address (an API outage must not drop a VIP,
DESIGN.md safety 4) but yields at once to any claim from another MAC (safety 3): the
operator may have moved the address while this node could not hear about it.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable


class Fence:
    """Tracks the last successful API contact. Starts unsure until the first contact."""

    def __init__(
        self,
        *,
        unsure_after: float,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
    ) -> None:
        if unsure_after <= 0:
            raise ValueError(f"unsure_after must be positive seconds, got {unsure_after}")
        self.unsure_after = unsure_after
        self._clock = clock
        self._wall = wall
        self._last: float | None = None
        self.last_contact: datetime.datetime | None = None

    def contact(self) -> None:
        """A request to the API server just succeeded."""
        self._last = self._clock()
        self.last_contact = self._wall()

    @property
    def unsure(self) -> bool:
        """Whether the last contact is older than `unsure_after` (or there was none)."""
        return self._last is None or self._clock() - self._last >= self.unsure_after

    def silence(self) -> float | None:
        """Seconds since the last contact, or None if there was none."""
        return None if self._last is None else self._clock() - self._last
