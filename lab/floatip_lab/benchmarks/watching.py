"""What the benchmarks watch while they wait: a resource's objects in a background thread, and
a clock for progress lines.

`bench scale` watches every VirtualIP's status and `bench services` every Service's ingress,
each into a book of its own that notes when each event arrived (conditions carry whole
seconds only); `Every` paces the progress lines of a long wait.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Generic, Protocol, TypeVar

from floatip_lab import commands, kubeapi


class Book(Protocol):
    """What a watch feeds: each event's type, object and arrival time."""

    def update(self, kind: str, obj: Mapping[str, Any], at: float) -> None: ...


B = TypeVar("B", bound=Book)


class Watch(Generic[B]):
    """Every object at ``path`` fed to ``book``: a list, then a watch in a background thread
    that lists again after a 410 or a broken stream (what went wrong is kept in ``errors``)."""

    def __init__(self, api: kubeapi.Client, path: str, book: B) -> None:
        self.api = api
        self.path = path
        self.book = book
        self.lock = threading.Lock()
        self.errors: list[str] = []
        self._stop = threading.Event()

    def start(self) -> None:
        version = self._list()
        threading.Thread(target=self._run, args=(version,), daemon=True).start()

    def stop(self) -> None:
        """Stop reading (the thread ends at the stream's next event or bookmark)."""
        self._stop.set()

    def read(self, probe: Callable[[B], Any]) -> Any:
        """``probe(book)`` under the lock: a consistent view of what the watch saw."""
        with self.lock:
            return probe(self.book)

    def _list(self) -> str:
        listing = self.api.request("GET", self.path)
        at = time.time()
        with self.lock:
            for item in listing.get("items") or ():
                self.book.update("ADDED", item, at)
        return str(listing["metadata"]["resourceVersion"])

    def _run(self, version: str) -> None:
        while not self._stop.is_set():
            try:
                for event in self.api.watch(self.path, resource_version=version):
                    if self._stop.is_set():
                        return
                    obj = event.get("object") or {}
                    if event.get("type") == "ERROR":  # 410 Gone: list again
                        version = self._list()
                        break
                    version = str((obj.get("metadata") or {}).get("resourceVersion", version))
                    if event.get("type") != "BOOKMARK":
                        with self.lock:
                            self.book.update(str(event.get("type")), obj, time.time())
            except commands.LabError as exc:
                self.errors.append(str(exc))
                if self._stop.wait(0.5):
                    return
                with contextlib.suppress(commands.LabError):
                    version = self._list()


class Every:
    """True once every ``seconds`` (progress lines during long waits)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.last = time.monotonic()

    def __call__(self) -> bool:
        if time.monotonic() - self.last < self.seconds:
            return False
        self.last = time.monotonic()
        return True
