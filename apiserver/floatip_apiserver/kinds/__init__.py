"""Built-in kinds' own behaviour: the hooks the generic object layer calls for them.

:mod:`floatip_apiserver.objects` implements what every kind shares (metadata, concurrency,
the status split, finalizers, dry run). What the real server does per built-in kind lives in
this package, one module per kind or family, behind :class:`Kinds`: conversion between served
shapes (Events), defaulting, validation and allocation (Services, Pods, ...), selectable fields
and subresources (``serviceaccounts/token``). Importing the package also registers the
built-in kinds' table printers with :mod:`floatip_apiserver.tables`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from floatip_apiserver import rbac, status, tables
from floatip_apiserver.kinds import (
    admissionpolicies,
    configdata,
    endpoints,
    events,
    pods,
    printing,
    serviceaccounts,
    services,
)
from floatip_apiserver.kinds.base import Admission, Getter, Kind
from floatip_apiserver.resources import Resource
from floatip_apiserver.store import Store

__all__ = ["Admission", "Kind", "Kinds"]

tables.PRINTERS.update(printing.PRINTERS)


class Kinds:
    """The strategies of the built-in kinds of one server (allocators are per server)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._kinds: dict[tuple[str, str], Kind] = {
            ("", "events"): events.Events(events.CORE),
            ("events.k8s.io", "events"): events.Events(events.EVENTS),
            ("", "services"): services.Services(store),
            ("", "pods"): pods.Pods(),
            ("", "configmaps"): configdata.ConfigMaps(),
            ("", "secrets"): configdata.Secrets(),
            ("", "serviceaccounts"): serviceaccounts.ServiceAccounts(),
            ("", "endpoints"): endpoints.Endpoints(),
            ("discovery.k8s.io", "endpointslices"): endpoints.EndpointSlices(),
            (admissionpolicies.GROUP, "validatingadmissionpolicies"): admissionpolicies.Policies(),
            (admissionpolicies.GROUP, "validatingadmissionpolicybindings"): (
                admissionpolicies.Bindings()
            ),
        }
        self.tokens = serviceaccounts.Tokens(store)

    def kind(self, res: Resource) -> Kind | None:
        """The strategy of a built-in resource; None for custom resources and plain kinds."""
        if res.crd is not None:
            return None
        return self._kinds.get((res.group, res.plural))

    def to_storage(self, res: Resource, obj: dict[str, Any]) -> dict[str, Any]:
        kind = self.kind(res)
        return obj if kind is None else kind.to_storage(res, obj)

    def to_served(self, res: Resource, obj: dict[str, Any]) -> dict[str, Any]:
        kind = self.kind(res)
        return obj if kind is None else kind.to_served(res, obj)

    def admit(  # noqa: PLR0917
        self,
        res: Resource,
        obj: dict[str, Any],
        old: dict[str, Any] | None,
        subresource: str,
        dry_run: bool,
        warnings: list[str],
    ) -> dict[str, Any]:
        """Convert a write to storage shape, then default, validate and allocate; 422 if bad."""
        kind = self.kind(res)
        if kind is None:
            return obj
        stored = kind.to_storage(res, obj)
        kind.admit(Admission(res, stored, old, subresource, dry_run, warnings))
        return stored

    def fields(self, res: Resource) -> Mapping[str, Getter]:
        """Field selector labels ``res`` accepts beyond metadata.name/namespace."""
        kind = self.kind(res)
        return kind.fields if kind is not None else {}

    def subresource(self, res: Resource, ns: str, name: str, sub: str, body: Any) -> dict[str, Any]:
        """A POST to a subresource other than /status (``serviceaccounts/NAME/token``)."""
        if (res.group, res.plural, sub) == ("", "serviceaccounts", "token"):
            return self.tokens.request(res, ns, name, body)
        raise status.ApiError(404, "NotFound", "the server could not find the requested resource")

    def authenticate(self, token: str) -> rbac.User | None:
        """Who a ServiceAccount token this server minted identifies, if it is still good."""
        return self.tokens.authenticate(token) if token else None
