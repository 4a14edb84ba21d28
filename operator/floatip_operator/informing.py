"""Warm caches of VirtualIPs, Nodes and agent Leases: list, then watch, relist on 410.

Placement is global, so the leader needs the whole picture at once, and it must know when the
picture is complete: deciding from half a list would move healthy VirtualIPs. Each
:class:`Informer` lists a resource (``synced`` is set after the first full list), then watches
from the list's resourceVersion, and tells its owner that something changed. Standby replicas
run the same informers, so a new leader starts from a warm cache.

:class:`Contact` records whether the operator can reach the API server at all: after an
outage, agents could not renew their Leases either, so Lease expiry is not believed while the
informers have no contact (their caches are frozen), nor until the API has been reachable
again for a full Lease duration (see :mod:`views`).

An informer whose failures must not count as an outage has no Contact: the VirtualIPPools'
(a cluster without the pool CRD, or a ClusterRole from before pools, answers 404 or 403
forever; were that an outage, Lease expiry would never be believed and nothing would fail
over).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from typing import Any

from floatip import logs
from floatip.kube import client, watching

log = logs.get(__name__)


class Contact:
    """When the operator's API contact was last (re)established; monotonic seconds."""

    def __init__(self) -> None:
        self.restored_at = time.monotonic()
        self.reachable = True

    def ok(self) -> None:
        if not self.reachable:
            self.reachable = True
            self.restored_at = time.monotonic()
            log.info("api contact restored")

    def lost(self, error: BaseException) -> None:
        if self.reachable:
            self.reachable = False
            log.warning("api contact lost", error=str(error))


class Informer:
    """One resource's objects by name, kept current by list + watch (`floatip.kube.watching`)."""

    def __init__(
        self,
        api: client.Api,
        path: str,
        *,
        on_change: Callable[[], None],
        contact: Contact | None,
        keep: Callable[[dict[str, Any]], bool] = lambda obj: True,
        key: Callable[[dict[str, Any]], str] = lambda obj: str(obj["metadata"]["name"]),
        shape: Callable[[dict[str, Any]], dict[str, Any]] = lambda obj: obj,
        watch_timeout_s: int = 60,
    ) -> None:
        self.api = api
        self.path = path
        self.on_change = on_change
        self.contact = contact
        self.keep = keep
        #: How the store names an object: its name, or ``namespace/name`` for namespaced ones.
        self.key = key
        #: What of each object to keep (before `_slim`): all of it, or what its readers read.
        self.shape = shape
        self.watch_timeout_s = watch_timeout_s
        self.store: dict[str, dict[str, Any]] = {}
        self.synced = asyncio.Event()

    def put(self, obj: dict[str, Any]) -> None:
        """Take a newer copy of an object (e.g. the answer to our own write)."""
        self._keep_newer(_slim(self.shape(obj)))

    def _keep_newer(self, obj: dict[str, Any]) -> None:
        name = self.key(obj)
        old = self.store.get(name)
        if old is None or _newer(obj, old):
            self.store[name] = obj

    def _failed(self, error: client.ApiError) -> None:
        if self.contact is not None:
            self.contact.lost(error)
        log.info("informer retrying", path=self.path, error=str(error))

    async def run(self) -> None:
        async for event in watching.list_and_watch(
            self.api,
            self.path,
            on_error=self._failed,
            watch_timeout_s=self.watch_timeout_s,
            shape=lambda obj: _slim(self.shape(obj)),
        ):
            if self.contact is not None:
                self.contact.ok()
            if isinstance(event, watching.Listed):
                self._listed(event.objects)
            else:
                self._changed(event)

    def _listed(self, objects: list[dict[str, Any]]) -> None:
        fresh = {self.key(item): item for item in objects if self.keep(item)}
        changed = fresh.keys() != self.store.keys() or any(
            self.store[name].get("metadata", {}).get("resourceVersion")
            != item["metadata"].get("resourceVersion")
            for name, item in fresh.items()
        )
        self.store = fresh
        self.synced.set()
        if changed:
            self.on_change()

    def _changed(self, event: watching.Changed) -> None:
        obj = event.object
        name = self.key(obj)
        if event.type == "DELETED" or not self.keep(obj):
            if self.store.pop(name, None) is not None:
                self.on_change()
        else:
            self._keep_newer(obj)  # slimmed as it arrived (`run`)
            self.on_change()


def _slim(obj: dict[str, Any]) -> dict[str, Any]:
    """Drop what no decision reads and share repeated strings, in place.

    managedFields are most of an object's size at 10,000 objects; of the rest, keys and short
    values repeat across objects ("type", "Ready", "True", node names, times) but each JSON
    answer or watch event decodes its own copies: interned, 10,000 VirtualIPs with statuses
    take 30 MiB instead of 45.
    """
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    shared = _shared(obj)
    obj.clear()
    obj.update(shared)
    return obj


SHARED_UP_TO = 64  # characters: longer strings (messages) are rarely shared


def _shared(value: Any) -> Any:
    """``value`` with its dict keys and short strings interned (dicts rebuilt, lists in place)."""
    if isinstance(value, str):
        return sys.intern(value) if len(value) <= SHARED_UP_TO else value
    if isinstance(value, dict):
        return {sys.intern(k): _shared(v) for k, v in value.items()}
    if isinstance(value, list):
        value[:] = [_shared(item) for item in value]
    return value


def _newer(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether ``a`` is a later version than ``b`` (resourceVersions are integers in practice)."""
    try:
        return int(a["metadata"]["resourceVersion"]) >= int(b["metadata"]["resourceVersion"])
    except (KeyError, ValueError):
        return True
