"""Deleting a VirtualIP: the holder removes the address before the object goes.

The finalizer (``floatip.io/release``, `finalizing`) holds the object until the leader
removes it, as soon as :func:`release_state` says the address is released: no holder; the
holder's agent is judged dead (nothing will ever answer for it); the agent no longer lists it
in ``/healthz`` ``held``; or it cleared ``status.announcement``. A holder that stays alive
but never releases does not block deletion forever: after ``delete_timeout_seconds``
(default 30 s, ``--delete-timeout-seconds``) deletion goes on with a Warning Event
``ReleaseTimeout``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

from floatip import logs
from floatip.api import status

log = logs.get(__name__)


@dataclasses.dataclass(frozen=True)
class Release:
    done: bool
    why: str


def release_state(
    current: Mapping[str, Any] | None, *, holder_alive: bool, holder_reports_it: bool | None
) -> Release:
    """Whether the address of a VirtualIP being deleted is released (pure).

    ``current`` is its status; ``holder_reports_it`` whether the holder's last /healthz lists
    it in ``held`` (None: no report yet).
    """
    current = current or {}
    holder = status.holder(current)
    if not holder:
        return Release(True, "no node holds it")
    if not holder_alive:
        return Release(True, f"its holder {holder} is judged dead")
    if holder_reports_it is False:
        return Release(True, f"{holder} no longer holds it")
    if status.announcement(current) is None:
        return Release(True, f"{holder} withdrew its announcement")
    return Release(False, f"waiting for {holder} to remove the address")


async def wait_released(
    *,
    name: str,
    state: Callable[[], Release],
    deadline: float,
    poll_s: float = 0.1,
) -> Release:
    """Poll ``state`` until it says done or the monotonic ``deadline`` passes."""
    while True:
        current = state()
        if current.done or time.monotonic() >= deadline:
            log.info("release", vip=name, done=current.done, why=current.why)
            return current
        await asyncio.sleep(poll_s)
