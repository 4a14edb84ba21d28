"""List, then watch from the list's resourceVersion; list again on 410 Gone or any failure.

The informer pattern of client-go, as one async iterator: it yields `Listed` (the whole
collection, after every (re)list) and `Changed` (one ADDED, MODIFIED or DELETED object)
forever. Bookmarks only move the resourceVersion on. A failure is handed to ``on_error``
(the caller logs it or counts the outage) and retried after a back-off of 0.2 s doubling to
2 s; an expired watch (410, or an ERROR event) relists at once.

The list is read in pages of `PAGE` objects (``limit`` and ``continue``, as client-go's
reflector pages its lists): every page is one snapshot, at the first page's
resourceVersion, so the pages make one consistent list. A page is a small answer, within
the client's request timeout however large the collection (one answer of 10,000
VirtualIPs took longer than that on a busy operator), and the JSON text of only one page
is in memory at a time; ``shape`` (say, dropping managedFields) is applied to each object as
its page arrives, so the decoded list never exists whole. A continue token that expired (410)
starts the list again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, NamedTuple

from floatip import logs
from floatip.kube import client

log = logs.get(__name__)

PAGE = 500  # objects per list page: client-go's reflector pages by 500 too


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
    shape: Callable[[dict[str, Any]], dict[str, Any]] = lambda obj: obj,
) -> AsyncIterator[Listed | Changed]:
    """`Listed`, then every `Changed`, forever (see the module docstring)."""
    backoff = 0.2
    while True:
        try:
            objects, version = await list_all(api, path, shape=shape)
            backoff = 0.2
            yield Listed(objects)
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
                        yield Changed(str(kind), shape(obj))
                if expired:
                    break
        except client.ApiError as exc:
            if exc.gone:
                log.info("watch-expired", path=path, code=exc.code)
                continue
            on_error(exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)


async def list_all(
    api: client.Api,
    path: str,
    *,
    shape: Callable[[dict[str, Any]], dict[str, Any]] = lambda obj: obj,
) -> tuple[list[dict[str, Any]], str]:
    """Every object of the collection at ``path`` (each ``shape``d as its page arrives), paged,
    and the list's resourceVersion."""
    objects: list[dict[str, Any]] = []
    params = {"limit": str(PAGE)}
    version = ""
    while True:
        answer = await api.request("GET", path, params=params)
        meta = answer.get("metadata") or {}
        if not version:  # every page is of the first page's snapshot
            version = str(meta.get("resourceVersion") or "")
        objects += [shape(item) for item in answer.get("items") or [] if isinstance(item, dict)]
        del answer  # the page's other objects
        token = meta.get("continue")
        if not token:
            return objects, version
        params = {"limit": str(PAGE), "continue": str(token)}
