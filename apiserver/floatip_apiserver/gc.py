"""Garbage collection by ownerReferences, as kube-controller-manager's garbage collector does it.

A LoadBalancer controller owns EndpointSlices and Events point at their objects; users
delete an owner and expect (``kubectl delete --cascade=...``):

* **Background** (the default): the owner goes at once, then each dependent none of whose
  owners is left is deleted; a dependent with another owner only loses the dangling reference.
* **Foreground**: the owner gets a deletionTimestamp and the ``foregroundDeletion`` finalizer;
  its dependents are deleted (those with dependents of their own in the foreground too), and
  the finalizer goes when no dependent with ``blockOwnerDeletion`` is left.
* **Orphan**: the owner gets the ``orphan`` finalizer; every dependent loses its reference to
  it, then the finalizer goes.

The policy comes from DeleteOptions (body or query: ``propagationPolicy``, or the deprecated
``orphanDependents``). Dependents are found through an index of owner uid to dependents kept
from the store's events; owners through the registry by apiVersion and kind (an owner whose
kind is not served counts as present, as the real collector cannot resolve it either).
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Mapping
from typing import Any

from floatip_apiserver import fielderrors, status
from floatip_apiserver.fielderrors import FieldError
from floatip_apiserver.objects import Objects, WriteOptions
from floatip_apiserver.resources import Resource
from floatip_apiserver.store import Event, Key

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
POLICIES = ("Foreground", "Background", "Orphan")
_MERGE = "application/merge-patch+json"

Ident = tuple[Key, str, str]  # (storage key, namespace, name)


def propagation(body: Any, query: Mapping[str, str]) -> str:
    """The deletion's propagation policy ("" when DeleteOptions do not say); 422 if invalid."""
    opts = body if isinstance(body, dict) else {}
    policy = str(opts.get("propagationPolicy") or query.get("propagationPolicy") or "")
    orphan = opts.get("orphanDependents", query.get("orphanDependents"))
    errors = []
    if policy and policy not in POLICIES:
        supported = ", ".join(f'"{p}"' for p in POLICIES)
        errors.append(
            FieldError(
                "propagationPolicy",
                fielderrors.NOT_SUPPORTED,
                f"supported values: {supported}",
                policy,
            )
        )
    if policy and orphan is not None:
        errors.append(
            FieldError(
                "orphanDependents",
                fielderrors.INVALID,
                "orphanDependents and deletionPropagation cannot be both set",
                orphan,
            )
        )
    if errors:
        raise status.invalid(
            "DeleteOptions.meta.k8s.io", "", "meta.k8s.io", "DeleteOptions", errors
        )
    if orphan is not None:
        return "Orphan" if orphan in (True, "true", "1") else "Background"
    return policy


def finalizers_for(policy: str, finalizers: list[str]) -> list[str]:
    """The finalizers a deleted object gets for ``policy`` (the registry's BeforeDelete)."""
    add = {"Orphan": ORPHAN, "Foreground": FOREGROUND}.get(policy)
    if not policy:
        return finalizers
    kept = [f for f in finalizers if f not in (ORPHAN, FOREGROUND) or f == add]
    return [*kept, add] if add and add not in kept else kept


def _ident(key: Key, obj: Mapping[str, Any]) -> Ident:
    meta = obj["metadata"]
    return (key, meta.get("namespace", ""), meta["name"])


def _refs(obj: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    return list(((obj or {}).get("metadata") or {}).get("ownerReferences") or [])


def _deleting_with(obj: Mapping[str, Any], finalizer: str) -> bool:
    meta = obj["metadata"]
    return bool(meta.get("deletionTimestamp")) and finalizer in (meta.get("finalizers") or [])


class Collector:
    """The garbage collector: :meth:`observe` every change, :meth:`attempt` what it names."""

    def __init__(self, objects: Objects, schedule: Callable[[Ident], None]) -> None:
        self.objects = objects
        self.schedule = schedule
        self.opts = WriteOptions(manager="generic-garbage-collector", field_validation="Ignore")
        self._dependents: dict[str, set[Ident]] = collections.defaultdict(set)

    # ---- lookups -----------------------------------------------------------------------
    def _resource(self, key: Key) -> Resource | None:
        return next((r for r in self.objects.registry if r.key == key), None)

    def _owner(
        self, dependent: Mapping[str, Any], ref: Mapping[str, Any]
    ) -> tuple[Resource, dict[str, Any] | None] | None:
        """(owner's resource, owner or None if gone); None when its kind is not served."""
        api_version = str(ref.get("apiVersion", ""))
        group = api_version.rpartition("/")[0]
        res = next(
            (r for r in self.objects.registry if r.group == group and r.kind == ref.get("kind")),
            None,
        )
        if res is None:
            return None
        ns = dependent["metadata"].get("namespace", "") if res.namespaced else ""
        owner = self.objects.store.get(res.key, ns, str(ref.get("name", "")))
        if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
            return res, None
        return res, owner

    # ---- events ------------------------------------------------------------------------
    def observe(self, event: Event) -> list[Ident]:
        """Keep the dependents index; name what may need collecting after ``event``."""
        ident = _ident(event.key, event.obj)
        before = {str(r.get("uid")) for r in _refs(event.old)}
        after = {str(r.get("uid")) for r in _refs(event.obj)} if event.type != "DELETED" else set()
        for uid in before - after:
            self._dependents[uid].discard(ident)
            if not self._dependents[uid]:
                del self._dependents[uid]
        for uid in after:
            self._dependents[uid].add(ident)
        work: list[Ident] = []
        meta = event.obj["metadata"]
        if event.type == "DELETED":
            work += sorted(self._dependents.get(str(meta.get("uid")), ()))
        elif meta.get("ownerReferences") or meta.get("deletionTimestamp"):
            work.append(ident)
        for ref in _refs(event.old) + _refs(event.obj):  # owners waiting for this dependent
            found = self._owner(event.obj, ref)
            if found is not None and found[1] is not None and _deleting_with(found[1], FOREGROUND):
                work.append(_ident(found[0].key, found[1]))
        return work

    # ---- work --------------------------------------------------------------------------
    def attempt(self, ident: Ident) -> None:
        """Do what is due for one object: orphan or wait for its dependents, or collect it."""
        key, ns, name = ident
        res, obj = self._resource(key), self.objects.store.get(key, ns, name)
        if res is None or obj is None:
            return
        meta = obj["metadata"]
        if meta.get("deletionTimestamp"):
            if _deleting_with(obj, ORPHAN):
                self._orphan(res, obj)
            elif _deleting_with(obj, FOREGROUND):
                self._foreground(res, obj)
            return
        refs = _refs(obj)
        solid, gone, waiting = [], set(), []
        for ref in refs:
            found = self._owner(obj, ref)
            if found is None or (found[1] is not None and not _deleting_with(found[1], FOREGROUND)):
                solid.append(ref)
            elif found[1] is None:
                gone.add(ref.get("uid"))
            else:
                waiting.append(ref)
        if not refs or (solid and not gone and not waiting):
            return
        if solid:  # keep it: drop the references that no longer hold it
            drop = gone | {r.get("uid") for r in waiting}
            kept = [dict(r) for r in refs if r.get("uid") not in drop]
            self._patch_meta(res, obj, "ownerReferences", kept)
            return
        finalizers = meta.get("finalizers") or []
        if waiting and self._dependents.get(meta["uid"]):
            policy = "Foreground"
        elif ORPHAN in finalizers:
            policy = "Orphan"
        elif FOREGROUND in finalizers:
            policy = "Foreground"
        else:
            policy = "Background"
        pre = {"uid": meta["uid"]}
        self.objects.delete(res, ns, name, self.opts, pre, propagation=policy)

    def _orphan(self, res: Resource, owner: dict[str, Any]) -> None:
        uid = owner["metadata"]["uid"]
        for key, ns, name in sorted(self._dependents.get(uid, ())):
            dependent = self.objects.store.get(key, ns, name)
            dep_res = self._resource(key)
            if dependent is not None and dep_res is not None:
                kept = [dict(r) for r in _refs(dependent) if r.get("uid") != uid]
                self._patch_meta(dep_res, dependent, "ownerReferences", kept)
        self._drop_finalizer(res, owner, ORPHAN)

    def _foreground(self, res: Resource, owner: dict[str, Any]) -> None:
        uid = owner["metadata"]["uid"]
        blocking = False
        for ident in sorted(self._dependents.get(uid, ())):
            dependent = self.objects.store.get(*ident)
            if dependent is None:
                continue
            if any(r.get("uid") == uid and r.get("blockOwnerDeletion") for r in _refs(dependent)):
                blocking = True
            if not dependent["metadata"].get("deletionTimestamp"):
                self.schedule(ident)
        if not blocking:
            self._drop_finalizer(res, owner, FOREGROUND)

    def _drop_finalizer(self, res: Resource, obj: dict[str, Any], finalizer: str) -> None:
        kept = [f for f in obj["metadata"].get("finalizers") or [] if f != finalizer]
        self._patch_meta(res, obj, "finalizers", kept)

    def _patch_meta(self, res: Resource, obj: dict[str, Any], field: str, value: list[Any]) -> None:
        meta = obj["metadata"]
        body = {"metadata": {field: value or None}}
        self.objects.patch(res, meta.get("namespace", ""), meta["name"], _MERGE, body, self.opts)
