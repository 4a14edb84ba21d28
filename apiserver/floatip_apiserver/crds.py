"""CustomResourceDefinitions' lifecycle, as the apiextensions-apiserver runs it.

* A CRD in a protected group (``k8s.io``, ``kubernetes.io`` and their subdomains) needs the
  ``api-approved.kubernetes.io`` annotation, a URL or a reason starting with "unapproved":
  422 Invalid without it, worded as the real validation (updates of a CRD that already lacked
  it are let through, as ratcheting does).
* Deleting a CRD marks it (deletionTimestamp, the ``customresourcecleanup.apiextensions.k8s.io``
  finalizer, condition Terminating). Its objects are deleted (their own finalizers honoured:
  the CRD waits for them), creating new ones is 405 MethodNotAllowed, and when none is left
  the finalizer goes, the CRD with it, and its kinds are no longer served.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from floatip_apiserver import fielderrors, status
from floatip_apiserver.fielderrors import FieldError
from floatip_apiserver.objects import Objects, WriteOptions
from floatip_apiserver.resources import Resource
from floatip_apiserver.status import ApiError
from floatip_apiserver.store import Event, Key

KEY: Key = ("apiextensions.k8s.io", "customresourcedefinitions")
CLEANUP = "customresourcecleanup.apiextensions.k8s.io"
APPROVAL = "api-approved.kubernetes.io"
_KEP = "see https://github.com/kubernetes/enhancements/pull/1111"

Ident = tuple[Key, str, str]


def protected(group: str) -> bool:
    """Groups reserved for Kubernetes' own APIs (they need an approved API review)."""
    return any(group == d or group.endswith("." + d) for d in ("k8s.io", "kubernetes.io"))


def approval_errors(crd: dict[str, Any]) -> list[FieldError]:
    """Why a CRD in a protected group may not be stored (none when it may)."""
    group = str((crd.get("spec") or {}).get("group", ""))
    if not protected(group):
        return []
    field = f"metadata.annotations[{APPROVAL}]"
    value = (crd["metadata"].get("annotations") or {}).get(APPROVAL)
    if value is None:
        detail = f'protected groups must have approval annotation "{APPROVAL}", {_KEP}'
        return [FieldError(field, fielderrors.REQUIRED, detail)]
    url = urllib.parse.urlparse(str(value))
    if str(value).startswith("unapproved") or (url.scheme and url.netloc):
        return []
    detail = (
        f'protected groups must have approval annotation "{APPROVAL}" with either a URL or a '
        f'reason starting with "unapproved", {_KEP}'
    )
    return [FieldError(field, fielderrors.INVALID, detail, value)]


class Controller:
    """CRD admission (hooks) and the CRD finalizer (events)."""

    def __init__(self, objects: Objects) -> None:
        self.objects = objects
        self.opts = WriteOptions(manager="kube-apiserver", field_validation="Ignore")

    def _crd_of(self, key: Key) -> str | None:
        return next((r.crd for r in self.objects.registry if r.key == key and r.crd), None)

    # ---- hooks -------------------------------------------------------------------------
    def admit(
        self, res: Resource, obj: dict[str, Any], old: dict[str, Any] | None, subresource: str
    ) -> None:
        if res.key == KEY and subresource != "status":
            errors = approval_errors(obj)
            if errors and (old is None or not approval_errors(old)):
                name = obj["metadata"].get("name", "")
                raise status.invalid(res.qualified_kind, name, res.group, res.kind, errors)
            return
        if res.crd is not None and old is None:
            crd = self.objects.store.get(KEY, "", res.crd)
            if crd is not None and crd["metadata"].get("deletionTimestamp"):
                raise ApiError(
                    405,
                    "MethodNotAllowed",
                    "create not allowed while custom resource definition is terminating",
                )

    def deleting(self, res: Resource, finalizers: list[str]) -> list[str]:
        if res.key == KEY and CLEANUP not in finalizers:
            return [*finalizers, CLEANUP]
        return finalizers

    # ---- controller --------------------------------------------------------------------
    def observe(self, event: Event) -> list[Ident]:
        meta = event.obj["metadata"]
        if event.key == KEY:
            if event.type == "DELETED":  # gone: its kinds are no longer served
                self.objects.registry.set_crd(meta["name"], [])
                return []
            return [(KEY, "", meta["name"])] if meta.get("deletionTimestamp") else []
        if event.type != "DELETED":
            return []
        crd = self._crd_of(event.key)
        found = self.objects.store.get(KEY, "", crd) if crd else None
        if found is not None and found["metadata"].get("deletionTimestamp"):
            return [(KEY, "", found["metadata"]["name"])]
        return []

    def attempt(self, ident: Ident) -> None:
        """Delete a terminating CRD's objects; drop its finalizer once none is left."""
        crd = self.objects.store.get(*ident)
        if crd is None or CLEANUP not in (crd["metadata"].get("finalizers") or []):
            return
        if not crd["metadata"].get("deletionTimestamp"):
            return
        served = {r.key: r for r in self.objects.registry if r.crd == ident[2]}
        left = False
        for res in served.values():
            for obj in list(self.objects.store.items(res.key)):
                meta = obj["metadata"]
                if not meta.get("deletionTimestamp"):
                    self.objects.delete(res, meta.get("namespace", ""), meta["name"], self.opts)
                left = (
                    left
                    or self.objects.store.get(res.key, meta.get("namespace", ""), meta["name"])
                    is not None
                )
        if left:
            return
        crd_res = self.objects.registry.get(KEY[0], "v1", KEY[1])
        assert crd_res is not None
        kept = [f for f in crd["metadata"]["finalizers"] if f != CLEANUP]
        body = {"metadata": {"finalizers": kept or None}}
        self.objects.patch(crd_res, "", ident[2], "application/merge-patch+json", body, self.opts)
