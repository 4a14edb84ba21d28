"""Injected failures, so the lab and the tests can see how clients survive a sick API server.

``latency`` delays every request; ``hang`` accepts connections and never answers (a frozen
apiserver or a black-holed network); ``down`` and ``restart`` are handled by :mod:`runtime`
(closing the listening socket so connections are refused, then reopening it with all state
kept); dropping every watch lives on the store.
"""

from __future__ import annotations

import asyncio
import dataclasses


@dataclasses.dataclass
class Faults:
    """Request-path faults, checked before every request is handled."""

    latency: float = 0.0
    _hang: asyncio.Event | None = None

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
