"""Paged lists (``limit``/``continue``) over one consistent snapshot, as etcd gives the real server.

A continue token holds the revision of the first page and the key of the last object returned.
Every later page reads the state *at that revision* (the store's objects with every later
change undone from the kept history) from the key after it. So objects deleted or created
between pages are neither skipped nor repeated: a client paging through sees exactly one
revision. When the history no longer reaches back to it, the answer is 410 Expired with the
real server's message and, in the Status, a token that continues inconsistently from the
current state. Tokens have the real server's shape: base64 of ``{"v","rv","start"}``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from typing import Any

from floatip_apiserver import status
from floatip_apiserver.status import ApiError
from floatip_apiserver.store import Key, ObjKey, Store

_VERSION = "meta.k8s.io/v1"
EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted between "
    "the time the first chunk was returned and now may show up in the list."
)

Predicate = Callable[[Mapping[str, Any]], bool]


class ExpiredContinueError(ApiError):
    """410 Expired whose Status carries a token to go on from the current state."""

    def __init__(self, token: str | None) -> None:
        super().__init__(410, "Expired", EXPIRED)
        self.token = token

    def status(self) -> dict[str, Any]:
        body = super().status()
        if self.token:
            body["metadata"] = {"continue": self.token}
        return body


def encode(rv: int, after: ObjKey) -> str:
    """A token for the page after ``after`` at revision ``rv`` (0: the current state)."""
    start = f"{after[0]}/{after[1]}" if after[0] else after[1]
    token = {"v": _VERSION, "rv": rv, "start": start + "\x00"}
    return base64.urlsafe_b64encode(json.dumps(token).encode()).decode()


def decode(token: str) -> tuple[int, ObjKey]:
    """(revision, last key returned); 400 BadRequest for a token this server did not write."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if data.get("v") != _VERSION:
            raise ValueError(f"unknown version {data.get('v')!r}")
        start = str(data["start"]).removesuffix("\x00")
        namespace, _, name = start.rpartition("/")
        return int(data["rv"]), (namespace, name)
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise status.bad_request(
            f"continue key is not valid: {exc}; start the list again without continue"
        ) from None


def snapshot(store: Store, key: Key, rv: int) -> dict[ObjKey, dict[str, Any]]:
    """Objects of one kind as they were at revision ``rv``; 410 if history is gone."""
    state = {_ident(obj): obj for obj in store.items(key)}
    if rv >= store.revision:
        return state
    try:
        later = store.since(key, None, rv)
    except ApiError:
        raise ExpiredContinueError(None) from None
    for event in reversed(later):
        if event.old is None:
            state.pop(_ident(event.obj), None)
        else:
            state[_ident(event.old)] = event.old
    return state


def _ident(obj: Mapping[str, Any]) -> ObjKey:
    meta = obj["metadata"]
    return (meta.get("namespace", ""), meta["name"])


def page(
    store: Store,
    key: Key,
    namespace: str | None,
    match: Predicate,
    *,
    limit: int,
    token: str,
    filtered: bool,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One page of a list and its ListMeta (resourceVersion, continue, remainingItemCount)."""
    rv, after = decode(token) if token else (store.revision, None)
    if token and rv == 0:  # an inconsistent continuation, from the current state
        rv = store.revision
    try:
        state = snapshot(store, key, rv)
    except ExpiredContinueError:
        raise ExpiredContinueError(encode(0, after) if after is not None else None) from None
    items = [
        state[ident]
        for ident in sorted(state)
        if (namespace is None or ident[0] == namespace)
        and (after is None or ident > after)
        and match(state[ident])
    ]
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    if limit and len(items) > limit:
        meta["continue"] = encode(rv, _ident(items[limit - 1]))
        if not filtered:  # the real server counts the rest only for unfiltered lists
            meta["remainingItemCount"] = len(items) - limit
        items = items[:limit]
    return items, meta
