"""Warm caches of VirtualIPs, Nodes and agent Leases: list, then watch, relist on 410.

Placement is global, so the leader needs the whole picture at once, and it must know when the
picture is complete: deciding from half a list would move healthy VirtualIPs. Each
:class:`Informer` lists a resource (``synced`` is set after the first full list), then watches
from the list's resourceVersion, and tells its owner that something changed. Standby replicas
run the same informers, so a new leader starts from a warm cache.

:class:`Contact` records whether the operator can reach the API server at all: after an
outage, agents could not renew their Leases either, so Lease expiry is not believed until the
API has been reachable again for a full Lease duration (see :mod:`views`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from floatip import logs
from floatip_operator import kube

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
            log.warning("api contact lost", error=repr(error))


class Informer:
    """One resource's objects by name, kept current by list + watch."""

    def __init__(
        self,
        api: kube.Api,
        path: str,
        *,
        on_change: Callable[[], None],
        contact: Contact,
        keep: Callable[[dict[str, Any]], bool] = lambda obj: True,
        watch_timeout_s: int = 60,
    ) -> None:
        self.api = api
        self.path = path
        self.on_change = on_change
        self.contact = contact
        self.keep = keep
        self.watch_timeout_s = watch_timeout_s
        self.store: dict[str, dict[str, Any]] = {}
        self.synced = asyncio.Event()

    def put(self, obj: dict[str, Any]) -> None:
        """Take a newer copy of an object (e.g. the answer to our own write)."""
        _slim(obj)
        name = obj["metadata"]["name"]
        old = self.store.get(name)
        if old is None or _newer(obj, old):
            self.store[name] = obj

    async def run(self) -> None:
        backoff = 0.2
        while True:
            try:
                version = await self._list()
                backoff = 0.2
                await self._watch(version)
            except (aiohttp.ClientError, TimeoutError, kube.ApiError, ValueError) as exc:
                self.contact.lost(exc)
                log.info("informer retrying", path=self.path, error=repr(exc), in_s=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)

    async def _list(self) -> str:
        answer = await self.api.request("GET", self.path)
        self.contact.ok()
        fresh = {
            item["metadata"]["name"]: _slim(item)
            for item in answer.get("items", [])
            if self.keep(item)
        }
        changed = fresh.keys() != self.store.keys() or any(
            self.store[name].get("metadata", {}).get("resourceVersion")
            != item["metadata"].get("resourceVersion")
            for name, item in fresh.items()
        )
        self.store = fresh
        self.synced.set()
        if changed:
            self.on_change()
        return str(answer.get("metadata", {}).get("resourceVersion", ""))

    async def _watch(self, version: str) -> None:
        while True:
            async for event in self.api.watch(
                self.path, resource_version=version, timeout_s=self.watch_timeout_s
            ):
                self.contact.ok()
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    log.info("watch expired; relisting", path=self.path, status=obj.get("code"))
                    return
                version = obj.get("metadata", {}).get("resourceVersion", version)
                if kind == "BOOKMARK":
                    continue
                name = obj["metadata"]["name"]
                if kind == "DELETED" or not self.keep(obj):
                    if self.store.pop(name, None) is not None:
                        self.on_change()
                else:
                    self.put(obj)
                    self.on_change()


def _slim(obj: dict[str, Any]) -> dict[str, Any]:
    """Drop what no decision reads: managedFields are most of an object's size at 10k objects."""
    obj.get("metadata", {}).pop("managedFields", None)
    return obj


def _newer(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether ``a`` is a later version than ``b`` (resourceVersions are integers in practice)."""
    try:
        return int(a["metadata"]["resourceVersion"]) >= int(b["metadata"]["resourceVersion"])
    except (KeyError, ValueError):
        return True
