"""Watch streams: ADDED/MODIFIED/DELETED in revision order, bookmarks, 410, timeouts.

A watch from resourceVersion N replays the kept history after N, then streams live changes;
from no (or "0") resourceVersion it starts with a synthetic ADDED for every existing object.
Selector-filtered watches turn "stopped matching" into DELETED and "started matching" into
ADDED, as the real watch cache does. Streams are newline-delimited JSON with Content-Type
``application/json`` (what client-go, kopf and the kubernetes client expect).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from floatip_apiserver import status, tables
from floatip_apiserver.resources import Resource
from floatip_apiserver.store import Event, Store

Predicate = Callable[[Mapping[str, Any]], bool]


def _event_type(event: Event, match: Predicate) -> str | None:
    now = match(event.obj)
    before = event.old is not None and match(event.old)
    if event.type == "DELETED":
        return "DELETED" if now else None
    if event.type == "MODIFIED" and event.old is not None:
        if now and before:
            return "MODIFIED"
        if now:
            return "ADDED"
        return "DELETED" if before else None
    return event.type if now else None


async def stream(
    request: web.Request,
    *,
    store: Store,
    res: Resource,
    namespace: str | None,
    match: Predicate,
    since: str,
    bookmarks: bool,
    timeout: float | None,  # noqa: ASYNC109
    bookmark_interval: float,
    as_table: bool,
    initial_events: bool = False,
    view: Callable[[dict[str, Any]], dict[str, Any]],
) -> web.StreamResponse:
    """Serve one watch request until timeout, client disconnect, or a dropped-watch fault."""
    if initial_events:  # WatchList (client-go's streaming list): replay state, then a bookmark
        since = ""
    if since in ("", "0"):
        initial = [
            Event(store.revision, "ADDED", res.key, obj)
            for obj in store.items(res.key, namespace)
            if match(obj)
        ]
    else:
        try:
            rv = int(since)
        except ValueError:
            raise status.bad_request(f"invalid resourceVersion {since!r}: not a number") from None
        try:
            initial = store.since(res.key, namespace, rv)
        except status.ApiError as exc:  # like the watch cache: 200, then one ERROR event
            expired = web.StreamResponse(headers={"Content-Type": "application/json"})
            await expired.prepare(request)
            await expired.write(
                json.dumps({"type": "ERROR", "object": exc.status()}).encode() + b"\n"
            )
            await expired.write_eof()
            return expired
    watcher = store.subscribe(res.key, namespace)
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    first_table = [True]

    async def send(kind: str, obj: dict[str, Any]) -> None:
        payload: dict[str, Any] = obj
        if as_table and kind != "BOOKMARK":
            payload = tables.table(
                res,
                [obj],
                request.query.get("includeObject", "Metadata"),
                {"resourceVersion": obj["metadata"]["resourceVersion"]},
                with_columns=first_table[0],
            )
            first_table[0] = False
        line = json.dumps({"type": kind, "object": payload}, separators=(",", ":"))
        await response.write(line.encode() + b"\n")

    async def bookmark(end_of_initial: bool = False) -> None:
        meta: dict[str, Any] = {"resourceVersion": str(store.revision)}
        if end_of_initial:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        await send("BOOKMARK", {"kind": res.kind, "apiVersion": res.api_version, "metadata": meta})

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout if timeout else None
    try:
        for event in initial:
            kind = event.type if since in ("", "0") else _event_type(event, match)
            if kind:
                await send(kind, view(event.obj))
        if bookmarks:
            await bookmark(end_of_initial=initial_events)
        while True:
            wait = bookmark_interval if bookmarks else None
            if deadline is not None:
                left = deadline - loop.time()
                if left <= 0:
                    break
                wait = min(wait, left) if wait is not None else left
            try:
                item = await asyncio.wait_for(watcher.queue.get(), wait)
            except TimeoutError:
                if bookmarks:
                    await bookmark()
                continue
            if item is None:
                break
            kind = _event_type(item, match)
            if kind:
                await send(kind, view(item.obj))
    except ConnectionResetError:  # the client went away: nothing more to say
        return response
    finally:
        store.unsubscribe(watcher)
    with contextlib.suppress(ConnectionResetError):
        await response.write_eof()
    return response
