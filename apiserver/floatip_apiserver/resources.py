"""The kinds the server serves: built-in ones and those CRDs define at run time.

A :class:`Resource` carries everything discovery, tables, validation and routing need about one
(group, version, plural). The registry is rebuilt from a CustomResourceDefinition whenever one
is created, updated or deleted, like the real server's apiextensions controller.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator, Mapping
from typing import Any

from floatip_apiserver import schema as structural

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclasses.dataclass(frozen=True)
class Subresource:
    """A subresource other than ``/status``: ``serviceaccounts/token`` answers another kind
    (a TokenRequest, created), ``namespaces/finalize`` updates the object itself."""

    name: str
    kind: str
    group: str = ""
    version: str = ""
    verbs: tuple[str, ...] = ("create",)


@dataclasses.dataclass(frozen=True)
class Resource:
    """One served (group, version, plural)."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status: bool = False
    schema: Mapping[str, Any] | None = None  # openAPIV3Schema; None: no validation
    columns: tuple[Mapping[str, Any], ...] = ()
    crd: str | None = None  # name of the defining CRD
    list_kind: str = ""
    subresources: tuple[Subresource, ...] = ()
    #: another resource's storage key, when one store serves both (events.k8s.io Events)
    stored_as: tuple[str, str] | None = None
    verbs: tuple[str, ...] = ()  # () is every verb of ALL_VERBS; reviews take only create

    @functools.cached_property
    def validator(self) -> structural.Validator | None:
        """The compiled structural schema: built once per CRD generation, like the real
        server's per-version validator (the registry makes new Resources when a CRD changes)."""
        return None if self.schema is None else structural.compile_schema(self.schema)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> tuple[str, str]:
        """Storage key: objects are shared across versions of one group/plural."""
        return self.stored_as or (self.group, self.plural)

    @property
    def qualified_kind(self) -> str:
        """How the real server names the kind in messages: ``VirtualIP.floatip.io``."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def qualified_plural(self) -> str:
        """``virtualips.floatip.io`` / ``namespaces``: used in NotFound and RBAC messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


def _builtin(
    group: str, version: str, plural: str, kind: str, namespaced: bool, **kw: Any
) -> Resource:
    return Resource(group, version, plural, kind, namespaced, singular=kind.lower(), **kw)


BUILTINS: tuple[Resource, ...] = (
    _builtin(
        "",
        "v1",
        "namespaces",
        "Namespace",
        False,
        short_names=("ns",),
        status=True,
        subresources=(Subresource("finalize", "Namespace", verbs=("update",)),),
    ),
    _builtin("", "v1", "nodes", "Node", False, short_names=("no",), status=True),
    _builtin("", "v1", "events", "Event", True, short_names=("ev",)),
    _builtin(
        "",
        "v1",
        "serviceaccounts",
        "ServiceAccount",
        True,
        short_names=("sa",),
        subresources=(Subresource("token", "TokenRequest", "authentication.k8s.io", "v1"),),
    ),
    _builtin(
        "",
        "v1",
        "services",
        "Service",
        True,
        short_names=("svc",),
        categories=("all",),
        status=True,
    ),
    _builtin("", "v1", "endpoints", "Endpoints", True, short_names=("ep",)),
    _builtin("", "v1", "pods", "Pod", True, short_names=("po",), categories=("all",), status=True),
    _builtin("", "v1", "configmaps", "ConfigMap", True, short_names=("cm",)),
    _builtin("", "v1", "secrets", "Secret", True),
    _builtin("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
    # kube-apiserver keeps one store of Events and converts between the two shapes
    _builtin(
        "events.k8s.io",
        "v1",
        "events",
        "Event",
        True,
        short_names=("ev",),
        stored_as=("", "events"),
    ),
    _builtin("coordination.k8s.io", "v1", "leases", "Lease", True),
    _builtin("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    _builtin("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    _builtin("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    _builtin("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _builtin(
        "admissionregistration.k8s.io",
        "v1",
        "validatingadmissionpolicies",
        "ValidatingAdmissionPolicy",
        False,
        categories=("api-extensions",),
        status=True,
    ),
    _builtin(
        "admissionregistration.k8s.io",
        "v1",
        "validatingadmissionpolicybindings",
        "ValidatingAdmissionPolicyBinding",
        False,
        categories=("api-extensions",),
    ),
    _builtin(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        short_names=("crd", "crds"),
        categories=("api-extensions",),
        status=True,
    ),
)


def from_crd(crd: Mapping[str, Any]) -> list[Resource]:
    """The served versions of a CustomResourceDefinition."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    result = []
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        result.append(
            Resource(
                group=str(spec.get("group", "")),
                version=str(version.get("name")),
                plural=str(names.get("plural")),
                kind=str(names.get("kind")),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                singular=str(names.get("singular") or str(names.get("kind", "")).lower()),
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                status="status" in (version.get("subresources") or {}),
                schema=schema,
                columns=tuple(version.get("additionalPrinterColumns") or ()),
                crd=str((crd.get("metadata") or {}).get("name")),
                list_kind=str(names.get("listKind") or ""),
            )
        )
    return result


class Registry:
    """Served resources, looked up by (group, version, plural)."""

    def __init__(self) -> None:
        self._by_gvr: dict[tuple[str, str, str], Resource] = {}
        for res in BUILTINS:
            self.add(res)

    def add(self, res: Resource) -> None:
        self._by_gvr[(res.group, res.version, res.plural)] = res

    def set_crd(self, name: str, resources: list[Resource]) -> None:
        """Replace what one CRD serves (empty list: the CRD went away)."""
        for gvr in [k for k, r in self._by_gvr.items() if r.crd == name]:
            del self._by_gvr[gvr]
        for res in resources:
            self.add(res)

    def get(self, group: str, version: str, plural: str) -> Resource | None:
        return self._by_gvr.get((group, version, plural))

    def __iter__(self) -> Iterator[Resource]:
        return iter(sorted(self._by_gvr.values(), key=lambda r: (r.group, r.version, r.plural)))

    def groups(self) -> dict[str, list[str]]:
        """Group name -> served versions (preferred first)."""
        result: dict[str, list[str]] = {}
        for res in self:
            versions = result.setdefault(res.group, [])
            if res.version not in versions:
                versions.append(res.version)
        return result
