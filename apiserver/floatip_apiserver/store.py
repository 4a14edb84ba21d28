"""Objects, the one global resourceVersion, and the event history watches resume from.

etcd gives the real server a single revision counter shared by every object and a compacted
window of history; a watch from a revision older than that window gets 410 Gone (Expired).
This store does the same in memory: every write takes the next revision, every change is kept
in a bounded history, and live watchers get each change through their own queue. A watch that
resumes reads only the history after its revision, from the newer end, as the watch cache
searches its window by revision: clients re-watch every minute or so, mostly from a recent
revision (20 events back in a full window: 0.008 ms, against 0.29 ms for the whole window).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

from floatip_apiserver import jsoncopy, status

Key = tuple[str, str]  # (group, plural)
ObjKey = tuple[str, str]  # (namespace, name)


@dataclasses.dataclass(frozen=True)
class Event:
    """One change: ADDED, MODIFIED or DELETED, at revision ``rv``."""

    rv: int
    type: str
    key: Key
    obj: dict[str, Any]
    # the previous state (None: created): for selector-filtered watches and paging snapshots
    old: dict[str, Any] | None = None


class Watcher:
    """A live subscription: changes for one resource key, optionally one namespace."""

    def __init__(self, key: Key, namespace: str | None, maxsize: int = 0) -> None:
        self.key = key
        self.namespace = namespace
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize)

    def wants(self, event: Event) -> bool:
        if event.key != self.key:
            return False
        ns = event.obj.get("metadata", {}).get("namespace", "")
        return self.namespace is None or ns == self.namespace

    def close(self) -> None:
        """End the stream (a 'drop every watch' fault, or server shutdown)."""
        self.queue.put_nowait(None)


class Store:
    """All objects in memory, with revision history and watch fan-out."""

    def __init__(self, history: int = 10_000) -> None:
        self.revision = 1
        self._objects: dict[Key, dict[ObjKey, dict[str, Any]]] = collections.defaultdict(dict)
        self._history: collections.deque[Event] = collections.deque(maxlen=history)
        self._watchers: set[Watcher] = set()
        #: the revision of each kind's latest change: what a cache of answers derived from one
        #: kind (the RBAC decisions) is keyed by
        self.changed: dict[Key, int] = {}
        #: called with every change after the watchers got it (the lifecycle controllers)
        self.listeners: list[Callable[[Event], None]] = []
        #: recent events' watch lines by (revision, served shape, event type), encoded once for
        #: every watcher, as the watch cache's cachingObject does (`watching`)
        self.encoded: collections.OrderedDict[tuple[int, str, str], bytes] = (
            collections.OrderedDict()
        )

    # ---- reads -------------------------------------------------------------------------
    def get(self, key: Key, namespace: str, name: str) -> dict[str, Any] | None:
        return self._objects[key].get((namespace, name))

    def items(self, key: Key, namespace: str | None = None) -> Iterator[dict[str, Any]]:
        """Objects of one kind sorted by (namespace, name), like etcd's key order."""
        bucket = self._objects[key]
        for ns_name in sorted(bucket):
            if namespace is None or ns_name[0] == namespace:
                yield bucket[ns_name]

    def count(self, key: Key) -> int:
        return len(self._objects[key])

    # ---- writes ------------------------------------------------------------------------
    def next_revision(self) -> int:
        self.revision += 1
        return self.revision

    def put(self, key: Key, obj: dict[str, Any], event_type: str) -> None:
        """Store an object whose metadata.resourceVersion is already the new revision."""
        meta = obj["metadata"]
        bucket = self._objects[key]
        ident = (meta.get("namespace", ""), meta["name"])
        old = bucket.get(ident)
        bucket[ident] = obj
        self._record(Event(int(meta["resourceVersion"]), event_type, key, obj, old))

    def remove(self, key: Key, obj: dict[str, Any]) -> dict[str, Any]:
        """Delete for good; the DELETED event carries a fresh revision, like the real server."""
        meta = obj["metadata"]
        self._objects[key].pop((meta.get("namespace", ""), meta["name"]), None)
        gone = jsoncopy.deep(obj)
        gone["metadata"]["resourceVersion"] = str(self.next_revision())
        self._record(Event(self.revision, "DELETED", key, gone, obj))
        return gone

    def _record(self, event: Event) -> None:
        self._history.append(event)
        self.changed[event.key] = event.rv
        for watcher in list(self._watchers):
            if watcher.wants(event):
                try:
                    watcher.queue.put_nowait(event)
                except asyncio.QueueFull:  # a stuck client: end its stream, it will relist
                    self.unsubscribe(watcher)
                    watcher.queue = asyncio.Queue()
                    watcher.close()
        for listener in self.listeners:
            listener(event)

    # ---- watches -----------------------------------------------------------------------
    def oldest_resumable(self) -> int:
        """The oldest resourceVersion a watch may still start from."""
        return self._history[0].rv - 1 if self._history else self.revision

    def since(self, key: Key, namespace: str | None, rv: int) -> list[Event]:
        """Changes after ``rv``; 410 Expired when ``rv`` fell out of the kept history."""
        if rv < self.oldest_resumable():
            raise status.gone(f"too old resource version: {rv} ({self.oldest_resumable() + 1})")
        probe = Watcher(key, namespace)
        found = []
        for event in reversed(self._history):  # revision order: only the newer end is read
            if event.rv <= rv:
                break
            if probe.wants(event):
                found.append(event)
        found.reverse()
        return found

    def subscribe(self, key: Key, namespace: str | None) -> Watcher:
        watcher = Watcher(key, namespace, maxsize=100_000)
        self._watchers.add(watcher)
        return watcher

    def unsubscribe(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)

    def drop_watches(self) -> int:
        """End every open watch stream (clients must re-watch or relist)."""
        watchers = list(self._watchers)
        self._watchers.clear()
        for watcher in watchers:
            watcher.close()
        return len(watchers)

    def compact(self) -> None:
        """Forget all history, like an etcd compaction: older watches now get 410."""
        self._history.clear()

    @property
    def watcher_count(self) -> int:
        return len(self._watchers)
