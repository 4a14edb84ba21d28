"""Namespaces as a real cluster runs them: defaults, NamespaceLifecycle, the namespace controller.

* Every Namespace carries the label ``kubernetes.io/metadata.name: NAME``, set by the server on
  each write (so a user cannot change it), starts in phase Active, and gets the ``kubernetes``
  spec finalizer, which only the ``/finalize`` subresource may change (main-resource writes keep
  the stored spec), as the real namespace strategy does.
* ``default``, ``kube-system`` and ``kube-public`` may not be deleted (403).
* Deleting a Namespace marks it (deletionTimestamp, phase Terminating). The controller then
  deletes everything in it, in the background; objects with finalizers get a deletionTimestamp
  and the Namespace waits for them, reporting what remains in its conditions. When it is empty,
  the ``kubernetes`` finalizer is removed and the Namespace goes.
* Creating anything in a Terminating namespace is 403 Forbidden with the NamespaceTerminating
  cause, as the NamespaceLifecycle admission plugin answers.
"""

from __future__ import annotations

import collections
import copy
from typing import Any

from floatip_apiserver import objects as objects_module
from floatip_apiserver.objects import Objects, WriteOptions
from floatip_apiserver.resources import Resource
from floatip_apiserver.status import ApiError
from floatip_apiserver.store import Event, Key

KEY: Key = ("", "namespaces")
NAME_LABEL = "kubernetes.io/metadata.name"
FINALIZER = "kubernetes"
IMMORTAL = ("default", "kube-system", "kube-public")

Ident = tuple[Key, str, str]


def _forbidden(
    plural: str, name: str, group: str, why: str, cause: dict[str, str] | None
) -> ApiError:
    """admission.NewForbidden: ``<plural> "<name>" is forbidden: <why>``."""
    qualified = f"{plural}.{group}" if group else plural
    details: dict[str, Any] = {"name": name, "kind": plural}
    if group:
        details["group"] = group
    if cause is not None:
        details["causes"] = [cause]
    return ApiError(403, "Forbidden", f'{qualified} "{name}" is forbidden: {why}', details)


def terminating(namespace: dict[str, Any] | None) -> bool:
    return namespace is not None and bool(namespace["metadata"].get("deletionTimestamp"))


class Controller:
    """Namespace defaults and admission (hooks), and the namespace controller (events)."""

    def __init__(self, objects: Objects) -> None:
        self.objects = objects
        self.opts = WriteOptions(manager="kube-controller-manager", field_validation="Ignore")

    # ---- hooks -------------------------------------------------------------------------
    def admit(
        self, res: Resource, obj: dict[str, Any], old: dict[str, Any] | None, subresource: str
    ) -> None:
        if res.key == KEY:
            self._default(obj, old, subresource)
            return
        if not res.namespaced or old is not None:
            return
        ns = obj["metadata"].get("namespace", "")
        if terminating(self.objects.store.get(KEY, "", ns)):
            raise _forbidden(
                res.plural,
                obj["metadata"].get("name") or obj["metadata"].get("generateName", ""),
                res.group,
                f"unable to create new content in namespace {ns} because it is being terminated",
                {
                    "reason": "NamespaceTerminating",
                    "message": f"namespace {ns} is being terminated",
                    "field": "metadata.namespace",
                },
            )

    def _default(self, obj: dict[str, Any], old: dict[str, Any] | None, subresource: str) -> None:
        meta = obj["metadata"]
        meta["labels"] = {**(meta.get("labels") or {}), NAME_LABEL: meta["name"]}
        if old is None:  # created: Active, with the kubernetes finalizer
            finalizers = list((obj.get("spec") or {}).get("finalizers") or [])
            if FINALIZER not in finalizers:
                finalizers.append(FINALIZER)
            obj["spec"] = {**(obj.get("spec") or {}), "finalizers": finalizers}
            obj["status"] = {"phase": "Active"}
            return
        spec = copy.deepcopy(old.get("spec") or {})
        if subresource == "finalize":  # the one way to change spec.finalizers
            spec.pop("finalizers", None)
            if (obj.get("spec") or {}).get("finalizers"):
                spec["finalizers"] = list(obj["spec"]["finalizers"])
        obj["spec"] = spec

    def deleting(self, res: Resource, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        if res.key == KEY and name in IMMORTAL:
            raise _forbidden("namespaces", name, "", "this namespace may not be deleted", None)

    def marking(self, res: Resource, marked: dict[str, Any]) -> None:
        if res.key == KEY:
            marked["status"] = {**(marked.get("status") or {}), "phase": "Terminating"}

    # ---- controller --------------------------------------------------------------------
    def observe(self, event: Event) -> list[Ident]:
        meta = event.obj["metadata"]
        if event.key == KEY:
            return (
                [(KEY, "", meta["name"])]
                if event.type != "DELETED" and terminating(event.obj)
                else []
            )
        ns = meta.get("namespace", "")
        if ns and terminating(self.objects.store.get(KEY, "", ns)):
            return [(KEY, "", ns)]
        return []

    def attempt(self, ident: Ident) -> None:
        """Delete what is left in a Terminating namespace; finalize it once it is empty."""
        name = ident[2]
        namespace = self.objects.store.get(KEY, "", name)
        if namespace is None or not terminating(namespace):
            return
        remaining = self._delete_content(name)
        res = self.objects.registry.get("", "v1", "namespaces")
        assert res is not None
        if remaining:
            self._report(res, namespace, remaining)
            return
        finalizers = list((namespace.get("spec") or {}).get("finalizers") or [])
        if FINALIZER in finalizers:
            body = copy.deepcopy(namespace)
            body["spec"]["finalizers"] = [f for f in finalizers if f != FINALIZER]
            self.objects.update(res, "", name, body, self.opts, "finalize", require_rv=False)

    def _delete_content(self, ns: str) -> list[tuple[Resource, dict[str, Any]]]:
        served: dict[Key, Resource] = {}
        for res in self.objects.registry:
            if res.namespaced:
                served.setdefault(res.key, res)
        for res in served.values():
            for obj in list(self.objects.store.items(res.key, ns)):
                if not obj["metadata"].get("deletionTimestamp"):
                    self.objects.delete(
                        res, ns, obj["metadata"]["name"], self.opts, propagation="Background"
                    )
        return [
            (res, obj) for res in served.values() for obj in self.objects.store.items(res.key, ns)
        ]

    def _report(
        self,
        res: Resource,
        namespace: dict[str, Any],
        remaining: list[tuple[Resource, dict[str, Any]]],
    ) -> None:
        """The namespace controller's conditions while content remains."""
        kinds = collections.Counter(r.qualified_plural for r, _ in remaining)
        holders = collections.Counter(
            f for _, obj in remaining for f in obj["metadata"].get("finalizers") or []
        )
        content = ", ".join(f"{k} has {n} resource instances" for k, n in sorted(kinds.items()))
        held = ", ".join(f"{f} in {n} resource instances" for f, n in sorted(holders.items()))
        wanted = [
            (
                "NamespaceDeletionDiscoveryFailure",
                "False",
                "ResourcesDiscovered",
                "All resources successfully discovered",
            ),
            (
                "NamespaceDeletionGroupVersionParsingFailure",
                "False",
                "ParsedGroupVersions",
                "All legacy kube types successfully parsed",
            ),
            (
                "NamespaceDeletionContentFailure",
                "False",
                "ContentDeleted",
                "All content successfully deleted, may be waiting on finalization",
            ),
            (
                "NamespaceContentRemaining",
                "True",
                "SomeResourcesRemain",
                f"Some resources are remaining: {content}",
            ),
            (
                "NamespaceFinalizersRemaining",
                "True" if held else "False",
                "SomeFinalizersRemain" if held else "ContentHasNoFinalizers",
                f"Some content in the namespace has finalizers remaining: {held}"
                if held
                else "All content-preserving finalizers finished",
            ),
        ]
        status = namespace.get("status") or {}
        before = {c["type"]: c for c in status.get("conditions") or []}
        conditions = []
        for kind, state, reason, message in wanted:
            old = before.get(kind)
            stamp = (
                old["lastTransitionTime"]
                if old is not None and old.get("status") == state
                else objects_module.now()
            )
            conditions.append(
                {
                    "type": kind,
                    "status": state,
                    "lastTransitionTime": stamp,
                    "reason": reason,
                    "message": message,
                }
            )
        if conditions != status.get("conditions"):
            body = dict(namespace, status={**status, "conditions": conditions})
            self.objects.update(
                res, "", namespace["metadata"]["name"], body, self.opts, "status", require_rv=False
            )
