"""A cache keyed by an object's identity, for what is derived from objects never changed.

Stored objects (and their managedFields entries) and a CRD version's schema are never changed
in place: a write copies what it changes, a new CRD generation brings a new schema. What is
derived from one of them can then be kept by identity, which costs a dict lookup where the
object itself (a dict) cannot be hashed and comparing it would cost as much as deriving again.
The cache holds each key object, so its ``id`` stays its own while it is kept, and forgets
the least recently used beyond its size.
"""

from __future__ import annotations

import collections
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Cache(Generic[K, V]):
    """``key`` (by identity) -> a value derived from it, for the ``size`` keys used last."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: collections.OrderedDict[int, tuple[K, V]] = collections.OrderedDict()

    def get(self, key: K) -> V | None:
        """The value kept for this very object, or None."""
        entry = self._entries.get(id(key))
        if entry is None or entry[0] is not key:
            return None
        self._entries.move_to_end(id(key))
        return entry[1]

    def put(self, key: K, value: V) -> None:
        self._entries[id(key)] = (key, value)
        self._entries.move_to_end(id(key))
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
