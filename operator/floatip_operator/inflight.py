"""Writes side by side with a bounded number in flight: a sliding window.

A pass that writes hundreds of objects must not send them all at once (the API server, and
the client's 32 kept connections, would queue them). In a window the next write starts as
soon as any write is done, where a batch waits for its slowest (a conflict's reread, a
request the API server holds). The Service loop's writes use it; the reconciler's status
writes stay in batches, which measured better there (a batch spreads a burst out, so most
Ready writes wait past it: `reconciling`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import TypeVar

T = TypeVar("T")


async def each(window: asyncio.Semaphore, jobs: Iterable[Awaitable[T]]) -> list[T]:
    """Await ``jobs`` side by side, at most ``window``'s count at a time; their results, in
    order. The window may be shared: jobs of several callers then share its bound."""

    async def one(job: Awaitable[T]) -> T:
        async with window:
            return await job

    return list(await asyncio.gather(*(one(job) for job in jobs)))
