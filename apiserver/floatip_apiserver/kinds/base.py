"""What a built-in kind may add to the generic object layer, and what it is told about a write.

kube-apiserver gives every built-in kind a registry strategy: defaulting, validation on create
and on update (immutable fields), the status subresource's rules, allocation (a Service's
clusterIP and nodePorts), conversion between the versions it is served at (core/v1 and
events.k8s.io/v1 Events) and the fields it can be selected by. :class:`Kind` is that strategy
here; every hook does nothing unless a kind overrides it, and :mod:`objects` calls them for
built-in kinds only (custom resources have their schema and CEL rules instead).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from floatip_apiserver.resources import Resource

#: A field selector's value of one object, as the real server's ``ToSelectableFields``.
Getter = Callable[[Mapping[str, Any]], str]


@dataclasses.dataclass
class Admission:
    """One write as a kind's hook sees it.

    ``obj`` is what will be stored (already in storage shape; the hook may change it in place),
    ``old`` the stored object on an update (None on create), ``subresource`` is ``"status"`` for
    writes through ``/status``. ``warnings`` reach the client as ``Warning`` headers. Hooks must
    not keep anything on a dry run.
    """

    res: Resource
    obj: dict[str, Any]
    old: dict[str, Any] | None
    subresource: str = ""
    dry_run: bool = False
    warnings: list[str] = dataclasses.field(default_factory=list)

    @property
    def creating(self) -> bool:
        return self.old is None

    @property
    def spec(self) -> dict[str, Any]:
        """``obj.spec``, created empty if absent (so defaulting can fill it)."""
        spec = self.obj.get("spec")
        if not isinstance(spec, dict):
            spec = self.obj["spec"] = {}
        return spec

    @property
    def old_spec(self) -> dict[str, Any]:
        spec = (self.old or {}).get("spec")
        return spec if isinstance(spec, dict) else {}


class Kind:
    """The strategy of one built-in resource; the defaults change nothing."""

    #: field selector labels beyond metadata.name and metadata.namespace
    fields: Mapping[str, Getter] = {}

    def to_storage(self, res: Resource, obj: dict[str, Any]) -> dict[str, Any]:
        """The object as stored, from the shape ``res`` serves (a copy if it differs)."""
        return obj

    def to_served(self, res: Resource, obj: dict[str, Any]) -> dict[str, Any]:
        """The stored object in the shape ``res`` serves (a copy if it differs)."""
        return obj

    def admit(self, adm: Admission) -> None:
        """Default, validate (422 via ApiError) and allocate; change ``adm.obj`` in place."""


def text(obj: Mapping[str, Any], *path: str) -> str:
    """The string at ``path`` ('' when absent): what field selectors compare."""
    value: Any = obj
    for part in path:
        if not isinstance(value, Mapping):
            return ""
        value = value.get(part)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def getter(*path: str) -> Getter:
    return lambda obj: text(obj, *path)
