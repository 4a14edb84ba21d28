"""A list-then-watch cache of one collection in a thread: client-go's informer, small.

The lab's stand-ins for Kubernetes' own controllers (`floatip_lab.endpoints`,
`floatip_lab.kubeproxy`) act on the whole of what they watch, as the real ones act on their
informers' caches: each keeps one `Informer` per collection, and a change to any of them sets
a shared `threading.Event` that wakes the stand-in's one loop. So the watchers only record
(kopf's rule: the watcher queues, one worker acts). Like the real ones, a loop works on what
changed, not on everything: an informer given a `Queue` (client-go's workqueue: a key added
twice before it is taken is synced once) names into it, at each change, the keys its
``keys`` function finds in the object before and after; after a (re)list it says everything
may have changed.

A broken stream is watched again from the last resourceVersion seen; an ``ERROR`` event (410:
that version is gone) or a failed request lists afresh, as a reflector does. The standard
library's HTTP client is enough (`floatip_lab.kubeapi`), so these run as small processes.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

from floatip_lab import kubeapi

Key = tuple[str, str]  # (namespace, name)
Obj = dict[str, Any]
#: The keys a change of this object concerns (called with the object before and after).
Keys = Callable[[Obj], Iterable[Key]]
RETRY_SECONDS = 0.5


def key_of(obj: dict[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


class Queue:
    """The keys a loop has to sync (client-go's workqueue, small): `add` names keys and wakes
    the loop through ``changed``; `take` hands over what was named since, once."""

    def __init__(self, changed: threading.Event) -> None:
        self._changed = changed
        self._lock = threading.Lock()
        self._keys: set[Key] = set()
        self._everything = False

    def add(self, keys: Iterable[Key]) -> None:
        with self._lock:
            self._keys.update(keys)
        self._changed.set()

    def add_everything(self) -> None:
        """After a (re)list: every key may have changed."""
        with self._lock:
            self._everything = True
        self._changed.set()

    def take(self) -> tuple[set[Key], bool]:
        """(the keys named since the last take, whether everything may have changed)."""
        with self._lock:
            keys, everything = self._keys, self._everything
            self._keys, self._everything = set(), False
        return keys, everything


class Informer:
    """The objects of collection ``path`` (matching ``label_selector``), kept current."""

    def __init__(
        self,
        client: kubeapi.Client,
        path: str,
        changed: threading.Event,
        *,
        label_selector: str = "",
        queue: Queue | None = None,
        keys: Keys = lambda obj: (key_of(obj),),
    ) -> None:
        self.path = path
        self.synced = threading.Event()  # set once the first list is in
        self._client = client
        self._changed = changed
        self._selector = label_selector
        self._queue = queue
        self._keys = keys
        self._lock = threading.Lock()
        self._objects: dict[Key, dict[str, Any]] = {}

    def start(self) -> None:
        threading.Thread(target=self._run, name=f"informer {self.path}", daemon=True).start()

    def items(self) -> list[dict[str, Any]]:
        """A snapshot of the cached objects."""
        with self._lock:
            return list(self._objects.values())

    def get(self, key: Key) -> Obj | None:
        with self._lock:
            return self._objects.get(key)

    def put(self, obj: dict[str, Any]) -> None:
        """Record the server's answer to the owner's own write before its watch event arrives,
        so the next pass does not write it again."""
        with self._lock:
            self._objects[key_of(obj)] = obj

    def forget(self, key: Key) -> None:
        with self._lock:
            self._objects.pop(key, None)

    def _run(self) -> None:
        while True:
            try:
                version = self._list()
                while version:
                    version = self._watch(version)
            except kubeapi.ApiError as exc:
                print(f"informer {self.path}: {exc}; listing again", flush=True)
            time.sleep(RETRY_SECONDS)

    def _list(self) -> str:
        query = f"?{urllib.parse.urlencode({'labelSelector': self._selector})}"
        listed = self._client.request("GET", self.path + (query if self._selector else ""))
        with self._lock:
            self._objects = {key_of(obj): obj for obj in listed.get("items") or []}
        self.synced.set()
        if self._queue is not None:
            self._queue.add_everything()
        self._changed.set()
        return str((listed.get("metadata") or {}).get("resourceVersion") or "")

    def _watch(self, version: str) -> str:
        """Follow the stream from ``version``; the version to watch from next, "" to list."""
        stream = self._client.watch(
            self.path, resource_version=version, label_selector=self._selector
        )
        for event in stream:
            kind, obj = event.get("type"), event.get("object") or {}
            if kind == "ERROR":
                return ""
            version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
            if kind == "BOOKMARK":
                continue
            with self._lock:
                if kind == "DELETED":
                    old, new = self._objects.pop(key_of(obj), None) or obj, None
                else:
                    old, new = self._objects.get(key_of(obj)), obj
                    self._objects[key_of(obj)] = obj
            if self._queue is not None:
                self._queue.add(k for o in (old, new) if o is not None for k in self._keys(o))
            self._changed.set()
        return version
