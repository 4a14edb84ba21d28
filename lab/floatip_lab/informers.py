"""A list-then-watch cache of one collection in a thread: client-go's informer, small.

The lab's stand-ins for Kubernetes' own controllers (`floatip_lab.endpoints`,
`floatip_lab.kubeproxy`) act on the whole of what they watch, as the real ones act on their
informers' caches: each keeps one `Informer` per collection, and a change to any of them sets
a shared `threading.Event` that wakes the stand-in's one loop, which recomputes from the caches.
So the watchers only record (kopf's rule: the watcher queues, one worker acts).

A broken stream is watched again from the last resourceVersion seen; an ``ERROR`` event (410:
that version is gone) or a failed request lists afresh, as a reflector does. The standard
library's HTTP client is enough (`floatip_lab.kubeapi`), so these run as small processes.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from typing import Any

from floatip_lab import kubeapi

Key = tuple[str, str]  # (namespace, name)
RETRY_SECONDS = 0.5


def key_of(obj: dict[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


class Informer:
    """The objects of collection ``path`` (matching ``label_selector``), kept current."""

    def __init__(
        self,
        client: kubeapi.Client,
        path: str,
        changed: threading.Event,
        *,
        label_selector: str = "",
    ) -> None:
        self.path = path
        self.synced = threading.Event()  # set once the first list is in
        self._client = client
        self._changed = changed
        self._selector = label_selector
        self._lock = threading.Lock()
        self._objects: dict[Key, dict[str, Any]] = {}

    def start(self) -> None:
        threading.Thread(target=self._run, name=f"informer {self.path}", daemon=True).start()

    def items(self) -> list[dict[str, Any]]:
        """A snapshot of the cached objects."""
        with self._lock:
            return list(self._objects.values())

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
                    self._objects.pop(key_of(obj), None)
                else:
                    self._objects[key_of(obj)] = obj
            self._changed.set()
        return version
