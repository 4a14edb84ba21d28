"""The controllers that act when objects are deleted, run inside the server after each change.

A real cluster deletes in steps carried out by controllers: the namespace controller empties a
Terminating namespace, the garbage collector follows ownerReferences, the CRD finalizer removes
a deleted CRD's objects. Here :class:`Lifecycle` plugs them into the store (every change is
observed) and into :class:`objects.Objects` (admission on writes, finalizers on delete). The
work each change calls for is queued and done at once, before the write that caused it
returns, until nothing is left: what clients see is the real sequence of changes (the owner's
DELETED event, then its dependents'), with no background task to wait for in tests.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from floatip_apiserver import crds, gc, namespaces
from floatip_apiserver.objects import Hooks, Objects
from floatip_apiserver.resources import Resource
from floatip_apiserver.status import ApiError
from floatip_apiserver.store import Event

log = logging.getLogger(__name__)

Ident = gc.Ident
_LIMIT = 1_000_000  # work items per change: far beyond any lab, short of a livelock


class Controller(Protocol):
    def observe(self, event: Event) -> list[Ident]: ...

    def attempt(self, ident: Ident) -> None: ...


class Lifecycle(Hooks):
    """Admission, deletion finalizers, and the work queue of the lifecycle controllers."""

    def __init__(self, objects: Objects) -> None:
        self.objects = objects
        self.namespaces = namespaces.Controller(objects)
        self.crds = crds.Controller(objects)
        self.gc = gc.Collector(objects, self._schedule_gc)
        self._controllers: tuple[Controller, ...] = (self.namespaces, self.crds, self.gc)
        self._pending: dict[tuple[int, Ident], None] = {}  # an ordered set
        self._draining = False
        objects.store.listeners.append(self._observe)
        objects.hooks = self

    # ---- hooks (objects.Hooks) ---------------------------------------------------------
    def admit(
        self, res: Resource, obj: dict[str, Any], old: dict[str, Any] | None, subresource: str
    ) -> None:
        self.namespaces.admit(res, obj, old, subresource)
        self.crds.admit(res, obj, old, subresource)

    def deleting(self, res: Resource, obj: dict[str, Any], propagation: str) -> list[str]:
        self.namespaces.deleting(res, obj)
        finalizers = self.crds.deleting(res, super().deleting(res, obj, propagation))
        return gc.finalizers_for(propagation, finalizers)

    def marking(self, res: Resource, marked: dict[str, Any]) -> None:
        self.namespaces.marking(res, marked)

    # ---- the work queue ----------------------------------------------------------------
    def _schedule_gc(self, ident: Ident) -> None:
        self._pending[(self._controllers.index(self.gc), ident)] = None

    def _observe(self, event: Event) -> None:
        for index, controller in enumerate(self._controllers):
            for ident in controller.observe(event):
                self._pending[(index, ident)] = None
        if self._draining:
            return  # a change made by the work below: queued, done by the loop that runs it
        self._draining = True
        try:
            for _ in range(_LIMIT):
                if not self._pending:
                    return
                index, ident = next(iter(self._pending))
                del self._pending[(index, ident)]
                try:
                    self._controllers[index].attempt(ident)
                except ApiError as exc:  # the real controllers retry; this one reports
                    log.warning("lifecycle: %s of %s failed: %s", index, ident, exc.message)
            log.error("lifecycle: still busy after %d steps; dropping %s", _LIMIT, self._pending)
            self._pending.clear()
        finally:
            self._draining = False
