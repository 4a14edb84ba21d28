"""Values derived from API objects, kept while the objects stay as they were (pure).

The Service loop decides every Service at each pass, and most of a pass's inputs did not change
since the last: parsing a thousand Services' requests, a thousand VirtualIPs' views and their
templates again at every pass cost most of its time while a thousand Services were created at
once. A `Memo` keeps each derived value with the version it was derived from (the objects'
``resourceVersion``: the API server changes it with every change of the object) and derives it
again only when that version changed; an object without a version is derived every time.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Hashable, Mapping
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def version(body: Mapping[str, Any]) -> str | None:
    """The object's ``resourceVersion`` (None when it has none)."""
    found = (body.get("metadata") or {}).get("resourceVersion")
    return str(found) if found else None


class Memo(Generic[T]):
    """Derived values by key, each kept with the version of what it was derived from."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[Hashable, T]] = {}

    def get(self, key: str, version_: Hashable, derive: Callable[[], T]) -> T:
        """The value for ``key`` at ``version_``: kept, or derived (and kept) anew. A version
        that is None, or holds a None, is never trusted."""
        kept = self._values.get(key)
        trusted = version_ is not None and not (
            isinstance(version_, tuple) and any(part is None for part in version_)
        )
        if trusted and kept is not None and kept[0] == version_:
            return kept[1]
        value = derive()
        if trusted:
            self._values[key] = (version_, value)
        return value

    def keep_only(self, keys: Container[str]) -> None:
        """Forget the values of keys no longer there."""
        for key in [k for k in self._values if k not in keys]:
            del self._values[key]
