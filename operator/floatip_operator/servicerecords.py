"""The objects and patches the Service loop writes, built without I/O.

`vip_body` is the allocation record (docs/services.md "The allocation record"): a VirtualIP
whose spec is the pool's ``template`` plus the address, labelled with its pool
(`names.POOL_LABEL`, so the pool counts it as its own and reports no overlap) and with
`services.service_hash` of its Service (a label value holds 63 characters, so the full
``namespace/name`` is in annotation `services.SERVICES_ANNOTATION`). `finalizers` is the
guarded JSON patch that adds or removes `services.FINALIZER` on a Service, refused (422) if
its finalizers changed since they were read, so no other controller's finalizer is lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from floatip.api import names, services
from floatip_operator import allocation


def vip_body(new: allocation.NewVip) -> dict[str, Any]:
    """The VirtualIP recording that ``new.address`` is ``new.service``'s."""
    return {
        "apiVersion": names.API_VERSION,
        "kind": names.KIND,
        "metadata": {
            "name": new.name,
            "labels": {
                names.POOL_LABEL: new.pool,
                services.SERVICE_LABEL: services.service_hash(new.service),
            },
            "annotations": {services.SERVICES_ANNOTATION: new.service},
        },
        "spec": {**new.template, "address": str(new.address)},
    }


def finalizers(body: Mapping[str, Any], *, add: bool) -> list[dict[str, Any]] | None:
    """The patch adding (or removing) floatip's finalizer; None when nothing is to change."""
    held: Sequence[str] | None = (body.get("metadata") or {}).get("finalizers")
    present = services.FINALIZER in (held or [])
    if present == add:
        return None
    wanted = (
        [*(held or []), services.FINALIZER]
        if add
        else [f for f in held or [] if f != services.FINALIZER]
    )
    return [
        {"op": "test", "path": "/metadata/finalizers", "value": held},
        {"op": "add", "path": "/metadata/finalizers", "value": wanted},
    ]


def service_key(body: Mapping[str, Any]) -> str:
    """The Services informer's key: ``namespace/name``."""
    meta = body.get("metadata") or {}
    return services.key(str(meta.get("namespace") or ""), str(meta.get("name") or ""))
