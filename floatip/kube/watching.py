"""List, then watch from the list's resourceVersion; list again on 410 Gone or any failure.

The informer pattern of client-go, as one async iterator: it yields `Listed` (the whole
collection, after every (re)list) and `Changed` (one ADDED, MODIFIED or DELETED object)
forever. Bookmarks only move the resourceVersion on. A failure is handed to ``on_error``
(the caller logs it or counts the outage) and retried after a back-off of 0.2 s doubling to
2 s; an expired watch (410, or an ERROR event) relists at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, NamedTuple

from floatip import logs
from floatip.kube import client

log = logs.get(__name__)


class Listed(NamedTuple):
    """The whole collection, as the API server listed it."""

    objects: list[dict[str, Any]]


class Changed(NamedTuple):
    """One object changed: ``type`` is ADDED, MODIFIED or DELETED."""

    type: str
    object: dict[str, Any]


async def list_and_watch(
    api: client.Api,
    path: str,
    *,
    on_error: Callable[[client.ApiError], None],
    watch_timeout_s: int = 60,
) -> AsyncIterator[Listed | Changed]:
    """`Listed`, then every `Changed`, forever (see the module docstring)."""
    backoff = 0.2
    while True:
        try:
            answer = await api.request("GET", path)
            backoff = 0.2
            version = str((answer.get("metadata") or {}).get("resourceVersion") or "")
            yield Listed([item for item in answer.get("items") or [] if isinstance(item, dict)])
            while True:
                expired = False
                async for event in api.watch(
                    path, resource_version=version, timeout_s=watch_timeout_s
                ):
                    kind, obj = event.get("type"), event.get("object") or {}
                    if kind == "ERROR":
                        log.info("watch-expired", path=path, code=obj.get("code"))
                        expired = True
                        break
                    version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                    if kind in ("ADDED", "MODIFIED", "DELETED"):
                        yield Changed(str(kind), obj)
                if expired:
                    break
        except client.ApiError as exc:
            if exc.gone:
                log.info("watch-expired", path=path, code=exc.code)
                continue
            on_error(exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)
