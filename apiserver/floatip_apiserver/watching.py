"""Watch streams: ADDED/MODIFIED/DELETED in revision order, bookmarks, 410, timeouts.

A watch from resourceVersion N replays the kept history after N, then streams live changes;
from no (or "0") resourceVersion it starts with a synthetic ADDED for every existing object.
Selector-filtered watches turn "stopped matching" into DELETED and "started matching" into
ADDED, as the real watch cache does. Streams are newline-delimited JSON with Content-Type
``application/json`` (what client-go, kopf and the kubernetes client expect).

Like the real watch cache, an event is encoded once per served shape and event type and that
line goes to every watcher (`Store.encoded`, the last `ENCODED` lines), and the events queued
for a watcher when it wakes go out in one write (up to `BATCH`), not one TLS record each.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from floatip_apiserver import jsonwire, status, tables
from floatip_apiserver.resources import Resource
from floatip_apiserver.store import Event, Store

Predicate = Callable[[Mapping[str, Any]], bool]
BATCH = 256  # events written at once at most
ENCODED = 4096  # encoded lines kept for the other watchers of the same event


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
            await expired.write(_encode("ERROR", exc.status()))
            await expired.write_eof()
            return expired
    watcher = store.subscribe(res.key, namespace)
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    first_table = [True]
    shape = res.api_version + "/" + res.plural

    def line(kind: str, obj: dict[str, Any], event: Event | None = None) -> bytes:
        if as_table and kind != "BOOKMARK":
            payload = tables.table(
                res,
                [view(obj)],
                request.query.get("includeObject", "Metadata"),
                {"resourceVersion": obj["metadata"]["resourceVersion"]},
                with_columns=first_table[0],
            )
            first_table[0] = False
            return _encode(kind, payload)
        if event is None:
            return _encode(kind, view(obj) if kind != "BOOKMARK" else obj)
        key = (event.rv, shape, kind)
        cached = store.encoded.get(key)
        if cached is None:
            cached = store.encoded[key] = _encode(kind, view(obj))
            if len(store.encoded) > ENCODED:
                store.encoded.popitem(last=False)
        return cached

    async def bookmark(end_of_initial: bool = False) -> None:
        meta: dict[str, Any] = {"resourceVersion": str(store.revision)}
        if end_of_initial:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        body = {"kind": res.kind, "apiVersion": res.api_version, "metadata": meta}
        await response.write(line("BOOKMARK", body))

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout if timeout else None
    try:
        lines: list[bytes] = []
        replay = since in ("", "0")  # synthetic events, all at the current revision
        for event in initial:
            kind = event.type if replay else _event_type(event, match)
            if kind:
                lines.append(line(kind, event.obj, None if replay else event))
            if len(lines) >= BATCH:
                await response.write(b"".join(lines))
                lines = []
        if lines:
            await response.write(b"".join(lines))
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
                async with asyncio.timeout(wait):  # no task per event, as wait_for makes
                    item = await watcher.queue.get()
            except TimeoutError:
                if bookmarks:
                    await bookmark()
                continue
            items = [item]
            while item is not None and len(items) < BATCH and not watcher.queue.empty():
                item = watcher.queue.get_nowait()
                items.append(item)
            lines = []
            for queued in items:
                if queued is None:
                    break
                kind = _event_type(queued, match)
                if kind:
                    lines.append(line(kind, queued.obj, queued))
            if lines:
                await response.write(b"".join(lines))
            if items[-1] is None:
                break
    except ConnectionResetError:  # the client went away: nothing more to say
        return response
    finally:
        store.unsubscribe(watcher)
    with contextlib.suppress(ConnectionResetError):
        await response.write_eof()
    return response


def _encode(kind: str, payload: dict[str, Any]) -> bytes:
    return jsonwire.dumps({"type": kind, "object": payload}) + b"\n"
