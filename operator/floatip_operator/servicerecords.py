"""The objects and patches the Service loop writes, built without I/O.

`vip_body` is the allocation record (docs/services.md "The allocation record"): a VirtualIP
whose spec is the pool's ``template`` plus the address, labelled with its pool
(`names.POOL_LABEL`, so the pool counts it as its own and reports no overlap), created with
`names.FINALIZER` already on it, and with
`services.service_hash` of its Service (a label value holds 63 characters, so the full
``namespace/name`` is in annotation `services.SERVICES_ANNOTATION`; a shared address lists
every Service sharing it there, and its key in `services.SHARING_KEY_ANNOTATION`; the label
names the Service that first had it). `members` is the guarded JSON patch that rewrites those
two annotations when Services join or leave. `finalizers` is the
guarded JSON patch that adds or removes `services.FINALIZER` on a Service, refused (422) if
its finalizers changed since they were read, so no other controller's finalizer is lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from floatip.api import names, services
from floatip_operator import holdings


def vip_body(new: holdings.NewVip) -> dict[str, Any]:
    """The VirtualIP recording that ``new.address`` is ``new.service``'s."""
    return {
        "apiVersion": names.API_VERSION,
        "kind": names.KIND,
        "metadata": {
            "name": new.name,
            # Born with the release finalizer (`finalizing`): no second write per address to
            # add it, and no moment when the VirtualIP could be deleted without it.
            "finalizers": [names.FINALIZER],
            "labels": {
                names.POOL_LABEL: new.pool,
                services.SERVICE_LABEL: services.service_hash(new.service),
            },
            "annotations": {
                services.SERVICES_ANNOTATION: ",".join(new.services or (new.service,)),
                **({services.SHARING_KEY_ANNOTATION: new.sharing_key} if new.sharing_key else {}),
            },
        },
        "spec": {**new.template, "address": str(new.address)},
    }


def _pointer(key: str) -> str:
    return "/metadata/annotations/" + key.replace("~", "~0").replace("/", "~1")


def members(body: Mapping[str, Any], wanted: holdings.Members) -> list[dict[str, Any]] | None:
    """The patch setting a VirtualIP's Services and sharing key (None: nothing to change),
    refused (422) if its list of Services changed since it was read."""
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    listed = annotations.get(services.SERVICES_ANNOTATION)
    key = annotations.get(services.SHARING_KEY_ANNOTATION)
    text = ",".join(wanted.services)
    if listed == text and key == wanted.sharing_key:
        return None
    path = _pointer(services.SERVICES_ANNOTATION)
    ops: list[dict[str, Any]] = [
        {"op": "test", "path": path, "value": listed},  # only VirtualIPs listing Services change
        {"op": "add", "path": path, "value": text},
    ]
    if wanted.sharing_key is not None:
        ops.append(
            {"op": "add", "path": _pointer(services.SHARING_KEY_ANNOTATION),
             "value": wanted.sharing_key}
        )  # fmt: skip
    elif key is not None:
        ops.append({"op": "remove", "path": _pointer(services.SHARING_KEY_ANNOTATION)})
    return ops


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
