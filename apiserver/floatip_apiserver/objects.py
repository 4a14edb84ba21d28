"""Object lifecycle: the real server's create/update/patch/delete semantics, without HTTP.

Each write goes through the same steps as kube-apiserver's generic registry: admission of
metadata (uid, creationTimestamp, generateName, generation bumped only when the spec changes,
one global resourceVersion), optimistic concurrency (a stale resourceVersion is 409 Conflict),
the status subresource split (the main endpoint keeps the stored status, ``/status`` changes
only status, status never bumps generation), custom-resource schema handling (prune, default,
validate, CEL), the ValidatingAdmissionPolicies (:mod:`admission`, last, as validating
admission runs after the registry's validation), finalizers (delete sets deletionTimestamp;
the object goes when the last finalizer is removed), and dryRun (everything but the store
write). What a real cluster's
admission plugins and controllers add (namespaces, garbage collection, CRD cleanup) plugs in
through :class:`Hooks` (see :mod:`lifecycle`).
"""

from __future__ import annotations

import dataclasses
import datetime
import random
import uuid
from typing import Any

from floatip_apiserver import (
    admission,
    applying,
    cel,
    fielderrors,
    jsoncopy,
    kinds,
    rbac,
    resources,
    status,
)
from floatip_apiserver.fielderrors import FieldError
from floatip_apiserver.resources import Registry, Resource
from floatip_apiserver.store import Store

_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass
class WriteOptions:
    """Query parameters every write honours."""

    dry_run: bool = False
    field_validation: str = "Strict"  # kubectl's default; the server default is Warn
    manager: str = "unknown"
    warnings: list[str] = dataclasses.field(default_factory=list)
    #: who asked; None for the server's own writes, which admission policies do not judge
    user: rbac.User | None = None


def _spec_part(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def _held(res: Resource, obj: dict[str, Any]) -> bool:
    """Finalizers keep a deleted object: its own, and a Namespace's ``spec.finalizers``."""
    if obj["metadata"].get("finalizers"):
        return True
    return res.key == ("", "namespaces") and bool((obj.get("spec") or {}).get("finalizers"))


class Hooks:
    """Where the lifecycle controllers (:mod:`lifecycle`) plug into writes; no-ops here."""

    def admit(
        self, res: Resource, obj: dict[str, Any], old: dict[str, Any] | None, subresource: str
    ) -> None:
        """Default or refuse (raise ApiError) a create (``old`` None) or an update, in place."""

    def deleting(self, res: Resource, obj: dict[str, Any], propagation: str) -> list[str]:
        """The finalizers ``obj`` is marked with when deleted (raise ApiError to refuse)."""
        return list(obj["metadata"].get("finalizers") or [])

    def marking(self, res: Resource, marked: dict[str, Any]) -> None:
        """Change the copy about to be stored with its deletionTimestamp (a phase, say)."""


class Objects:
    """Reads and writes on one store, for all served resources."""

    def __init__(self, store: Store, registry: Registry) -> None:
        self.store = store
        self.registry = registry
        #: built-in kinds' own strategies (conversion, defaults, validation, allocation)
        self.kinds = kinds.Kinds(store)
        self.hooks = Hooks()
        self.policies = admission.Policies(store, registry)

    # ---- helpers -----------------------------------------------------------------------
    def _existing(self, res: Resource, ns: str, name: str) -> dict[str, Any]:
        obj = self.store.get(res.key, ns, name)
        if obj is None:
            raise status.not_found(res.qualified_plural, name, res.group, res.plural)
        return obj

    def view(self, res: Resource, obj: dict[str, Any]) -> dict[str, Any]:
        """The object as served at ``res``'s version (objects are stored once per kind)."""
        obj = self.kinds.to_served(res, obj)
        if obj.get("apiVersion") == res.api_version:
            return obj
        return dict(obj, apiVersion=res.api_version)

    def _check_namespace(self, res: Resource, ns: str) -> None:
        if res.namespaced and self.store.get(("", "namespaces"), "", ns) is None:
            raise status.not_found("namespaces", ns, "", "namespaces")

    def _custom_checks(
        self, res: Resource, obj: dict[str, Any], old: dict[str, Any] | None, opts: WriteOptions
    ) -> None:
        """Prune, default and validate a custom resource in place (422 on failure)."""
        validator = res.validator
        if res.schema is None or validator is None:
            return
        unknown = validator.prune(obj)
        if unknown and opts.field_validation == "Strict":
            detail = ", ".join(f'unknown field "{u}"' for u in unknown)
            raise status.bad_request(f"strict decoding error: {detail}")
        if unknown and opts.field_validation == "Warn":
            opts.warnings += [f'unknown field "{u}"' for u in unknown]
        validator.apply_defaults(obj)
        errors = validator.validate(obj)
        if not errors:
            errors = cel.evaluate_validations(res.schema, obj, old)
        if errors:
            name = obj["metadata"].get("name") or obj["metadata"].get("generateName", "")
            raise status.invalid(res.qualified_kind, name, res.group, res.kind, errors)

    def _validating_admission(  # noqa: PLR0917
        self,
        res: Resource,
        operation: str,
        obj: dict[str, Any] | None,
        old: dict[str, Any] | None,
        opts: WriteOptions,
        subresource: str = "",
    ) -> None:
        """The admission policies, after defaulting and validation, as the real server orders."""
        if opts.user is None:
            return
        meta = (obj if obj is not None else old or {})["metadata"]
        request = admission.Request(
            operation,
            res,
            str(meta.get("namespace") or ""),
            str(meta.get("name") or ""),
            subresource,
            None if obj is None else self.view(res, obj),
            None if old is None else self.view(res, old),
            opts.user,
            opts.dry_run,
            opts.manager,
        )
        self.policies.validate(request, opts.warnings)

    def _check_identity(self, res: Resource, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise status.bad_request(f"the body must be a {res.kind} object")
        kind, api_version = body.get("kind"), body.get("apiVersion")
        if (kind and kind != res.kind) or (api_version and api_version != res.api_version):
            raise status.bad_request(
                f"the API version in the data ({api_version}) and kind ({kind}) do not match "
                f"the URL's {res.api_version} {res.kind}"
            )
        obj = jsoncopy.deep(body)
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        if not isinstance(obj.get("metadata"), dict):
            obj["metadata"] = {}
        return obj

    def _commit(self, res: Resource, obj: dict[str, Any], event: str, opts: WriteOptions) -> None:
        if opts.dry_run:
            return
        obj["metadata"]["resourceVersion"] = str(self.store.next_revision())
        if res.plural == "customresourcedefinitions":
            self._establish(obj)
        self.store.put(res.key, obj, event)

    def _establish(self, crd: dict[str, Any]) -> None:
        """Serve a CRD's kinds at once and mark it Established, like the real controllers."""
        self.registry.set_crd(crd["metadata"]["name"], resources.from_crd(crd))
        names = (crd.get("spec") or {}).get("names") or {}
        stamp = now()
        crd["status"] = {
            "acceptedNames": names,
            "storedVersions": [
                v["name"] for v in crd["spec"].get("versions") or [] if v.get("storage")
            ],
            "conditions": [
                {
                    "type": t,
                    "status": "True",
                    "reason": r,
                    "message": m,
                    "lastTransitionTime": stamp,
                }
                for t, r, m in (
                    ("NamesAccepted", "NoConflicts", "no conflicts found"),
                    ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
                    (
                        "Terminating",
                        "InstanceDeletionInProgress",
                        "CustomResource deletion is in progress",
                    ),
                )
                if t != "Terminating" or crd["metadata"].get("deletionTimestamp")
            ],
        }

    # ---- writes ------------------------------------------------------------------------
    def create(
        self,
        res: Resource,
        ns: str,
        body: Any,
        opts: WriteOptions,
        managed: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Admit, validate and store a new object. ``managed``: the managedFields a
        server-side apply that creates the object computed (else an Update by the writer)."""
        obj = self._check_identity(res, body)
        meta = obj["metadata"]
        if res.namespaced:
            if meta.get("namespace") not in (None, "", ns):
                raise status.bad_request(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request"
                )
            meta["namespace"] = ns
            self._check_namespace(res, ns)
        else:
            meta.pop("namespace", None)
        if not meta.get("name"):
            if not meta.get("generateName"):
                raise status.invalid(
                    res.qualified_kind,
                    "",
                    res.group,
                    res.kind,
                    [
                        FieldError(
                            "metadata.name",
                            fielderrors.REQUIRED,
                            "name or generateName is required",
                        )
                    ],
                )
            meta["name"] = meta["generateName"] + "".join(random.choices(_NAME_CHARS, k=5))
        if self.store.get(res.key, ns if res.namespaced else "", meta["name"]) is not None:
            raise status.already_exists(res.qualified_plural, meta["name"], res.group, res.plural)
        if res.status and res.crd is not None:
            obj.pop("status", None)
        for field in ("resourceVersion", "deletionTimestamp", "managedFields"):
            meta.pop(field, None)
        self.hooks.admit(res, obj, None, "")
        self._custom_checks(res, obj, None, opts)
        obj = self.kinds.admit(res, obj, None, "", opts.dry_run, opts.warnings)
        meta = obj["metadata"]
        meta.update(uid=str(uuid.uuid4()), creationTimestamp=now(), generation=1)
        if managed is None:
            applying.record_update(None, obj, opts.manager, res)
        else:
            meta["managedFields"] = managed
        self._validating_admission(res, "CREATE", obj, None, opts)
        self._commit(res, obj, "ADDED", opts)
        return obj

    def update(  # noqa: PLR0917
        self,
        res: Resource,
        ns: str,
        name: str,
        body: Any,
        opts: WriteOptions,
        subresource: str = "",
        require_rv: bool = True,
    ) -> dict[str, Any]:
        old = self._existing(res, ns, name)
        new = self._check_identity(res, body)
        meta = new["metadata"]
        rv = meta.get("resourceVersion")
        if not rv and require_rv and res.crd is not None:
            raise status.invalid(
                res.qualified_kind,
                name,
                res.group,
                res.kind,
                [
                    FieldError(
                        "metadata.resourceVersion",
                        fielderrors.INVALID,
                        "must be specified for an update",
                        0,
                    )
                ],
            )
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise status.conflict(res.qualified_plural, name, res.group, res.plural)
        if meta.get("name", name) != name:
            raise status.bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on the "
                f"URL ({name})"
            )
        return self._replace(res, old, new, opts, subresource)

    def _replace(
        self,
        res: Resource,
        old: dict[str, Any],
        new: dict[str, Any],
        opts: WriteOptions,
        subresource: str,
        *,
        managed: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Store ``new`` over ``old``; ``managed``: the managedFields an apply computed."""
        if subresource == "status":
            # old's status is replaced, not kept: copy the rest only
            merged = {k: v if k == "status" else jsoncopy.deep(v) for k, v in old.items()}
            if "status" in new:
                merged["status"] = new["status"]
            else:
                merged.pop("status", None)
            new = merged
        elif res.status:
            new.pop("status", None)
            if "status" in old:
                new["status"] = jsoncopy.deep(old["status"])
        meta, old_meta = new["metadata"], old["metadata"]
        for field in (
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "generation",
            "deletionGracePeriodSeconds",
            "namespace",
            "name",
        ):
            if field in old_meta:
                meta[field] = old_meta[field]
            else:
                meta.pop(field, None)
        if old_meta.get("deletionTimestamp") and set(meta.get("finalizers") or []) - set(
            old_meta.get("finalizers") or []
        ):
            raise status.invalid(
                res.qualified_kind,
                meta["name"],
                res.group,
                res.kind,
                [
                    FieldError(
                        "metadata.finalizers",
                        fielderrors.FORBIDDEN,
                        "no new finalizers can be added if the object is being deleted",
                    )
                ],
            )
        self.hooks.admit(res, new, old, subresource)
        self._custom_checks(res, new, old, opts)
        new = self.kinds.admit(res, new, old, subresource, opts.dry_run, opts.warnings)
        meta = new["metadata"]
        if _spec_part(new) != _spec_part(old):
            meta["generation"] = int(old_meta.get("generation", 1)) + 1
        if managed is None:
            applying.record_update(old, new, opts.manager, res, subresource)
        else:
            meta["managedFields"] = managed
        meta["resourceVersion"] = old_meta["resourceVersion"]
        self._validating_admission(res, "UPDATE", new, old, opts, subresource)
        if new == old:  # a new co-owner alone is a change; the same write again is not
            return old  # a no-op write keeps the resourceVersion, like the real server
        if meta.get("deletionTimestamp") and not _held(res, new):
            if not opts.dry_run:
                return self.store.remove(res.key, new)
            return new
        self._commit(res, new, "MODIFIED", opts)
        return new

    def patch(  # noqa: PLR0917
        self,
        res: Resource,
        ns: str,
        name: str,
        content_type: str,
        body: Any,
        opts: WriteOptions,
        subresource: str = "",
        force: bool = False,
    ) -> dict[str, Any]:
        from floatip_apiserver import patching

        base = content_type.split(";", maxsplit=1)[0].strip()
        current = self.store.get(res.key, ns, name)
        if base in (patching.APPLY_PATCH, patching.APPLY_PATCH_CBOR):
            if not isinstance(body, dict):
                raise status.bad_request("an apply patch must be an object")
            applied = self._check_identity(res, body)
            served = self.view(res, current) if current is not None else None
            merged = applying.server_side_apply(
                served,
                applied,
                manager=opts.manager,
                force=force,
                res=res,
                subresource=subresource,
            )
            if current is None:
                merged["metadata"].pop("managedFields", None)
                merged["metadata"]["name"] = name
                fields = applying.server_side_apply(
                    None, applied, manager=opts.manager, force=force, res=res
                )
                # recorded before the object is stored: watchers and readers see the Apply
                # entry from the ADDED event on, and nothing changes a stored object later
                return self.create(
                    res, ns, merged, opts, managed=fields["metadata"]["managedFields"]
                )
            return self._patched(res, current, merged, opts, subresource, apply_managed=True)
        if current is None:
            raise status.not_found(res.qualified_plural, name, res.group, res.plural)
        patched = patching.apply(
            content_type, self.view(res, current), body, custom=res.crd is not None
        )
        return self._patched(res, current, patched, opts, subresource)

    def _patched(  # noqa: PLR0917
        self,
        res: Resource,
        current: dict[str, Any],
        patched: dict[str, Any],
        opts: WriteOptions,
        subresource: str,
        apply_managed: bool = False,
    ) -> dict[str, Any]:
        rv = (patched.get("metadata") or {}).get("resourceVersion")
        if rv and rv != current["metadata"]["resourceVersion"]:
            raise status.conflict(
                res.qualified_plural, current["metadata"]["name"], res.group, res.plural
            )
        managed = (patched.get("metadata") or {}).get("managedFields")
        new = self._check_identity(res, patched)
        if not apply_managed:
            return self._replace(res, current, new, opts, subresource)
        return self._replace(res, current, new, opts, subresource, managed=managed)

    def delete(
        self,
        res: Resource,
        ns: str,
        name: str,
        opts: WriteOptions,
        preconditions: dict[str, Any] | None = None,
        *,
        propagation: str = "",
    ) -> dict[str, Any]:
        """Remove, or mark with a deletionTimestamp while finalizers hold the object.

        ``propagation`` (Orphan, Background, Foreground, or "" for the default) is what the
        garbage collector's finalizers are chosen by (:meth:`Hooks.deleting`).
        """
        obj = self._existing(res, ns, name)
        pre = preconditions or {}
        if (
            pre.get("resourceVersion")
            and pre["resourceVersion"] != obj["metadata"]["resourceVersion"]
        ):
            raise status.conflict(res.qualified_plural, name, res.group, res.plural)
        if pre.get("uid") and pre["uid"] != obj["metadata"]["uid"]:
            raise status.conflict(res.qualified_plural, name, res.group, res.plural)
        finalizers = self.hooks.deleting(res, obj, propagation)
        self._validating_admission(res, "DELETE", None, obj, opts)
        if obj["metadata"].get("deletionTimestamp"):
            return obj  # already going
        marked = jsoncopy.deep(obj)
        marked["metadata"].pop("finalizers", None)
        if finalizers:
            marked["metadata"]["finalizers"] = finalizers
        if _held(res, marked):
            marked["metadata"]["deletionTimestamp"] = now()
            marked["metadata"]["deletionGracePeriodSeconds"] = 0
            self.hooks.marking(res, marked)
            self._commit(res, marked, "MODIFIED", opts)
            return marked
        if opts.dry_run:
            return obj
        return self.store.remove(res.key, obj)
