"""The objects and patches the Service loop writes, built without I/O.

`vip_body` is the allocation record (docs/services.md "The allocation record"): a VirtualIP
whose spec is the pool's ``template`` plus the address, labelled with its pool
(`names.POOL_LABEL`, so the pool counts it as its own and reports no overlap), created with
`names.FINALIZER` already on it, and with
`services.service_hash` of its Service (a label value holds 63 characters, so the full
``namespace/name`` is in annotation `services.SERVICES_ANNOTATION`; a shared address lists
every Service sharing it there, and its key in `services.SHARING_KEY_ANNOTATION`; the label
names the Service that first had it). `members` is the guarded JSON patch that rewrites those
two annotations when Services join or leave. `template_patch` brings a VirtualIP's template
fields to its pool's template after the pool was edited (the address never changes: only how
it is placed, announced and checked). `finalizers` is the
guarded JSON patch that adds or removes `services.FINALIZER` on a Service, refused (422) if
its finalizers changed since they were read, so no other controller's finalizer is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from typing import Any

from floatip.api import model, names, services, validation
from floatip_operator import holdings

#: The spec fields a pool's template sets on its VirtualIPs, as the API spells them.
TEMPLATE_FIELDS: tuple[tuple[str, str], ...] = tuple(
    (name, info.alias or name) for name, info in model.VirtualIPTemplate.model_fields.items()
)


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


def template_patch(body: Mapping[str, Any], pool: holdings.PoolView) -> dict[str, Any] | None:
    """The merge patch giving a pool's VirtualIP the pool's current template; None when its
    template fields already match (compared as parsed, defaults included, so an absent
    ``announce`` and its defaults are the same) or either spec does not parse.

    Fields the template leaves out are sent as null, so the API server's defaults apply; the
    address, ``node``, ``preempt`` and ``holdDownSeconds`` are never touched. Refused (409) if
    the VirtualIP changed since it was read.
    """
    if pool.spec is None:
        return None
    try:
        current = validation.parse_spec(body.get("spec"))
    except validation.InvalidSpecError:
        return None
    wanted = pool.spec.template
    if all(getattr(current, name) == getattr(wanted, name) for name, _ in TEMPLATE_FIELDS):
        return None
    meta = body.get("metadata") or {}
    return {
        "metadata": {"resourceVersion": meta.get("resourceVersion")},
        "spec": {alias: pool.template.get(alias) for _, alias in TEMPLATE_FIELDS},
    }


def retemplates(
    pool_views: Iterable[holdings.PoolView],
    vip_views: Iterable[holdings.VipView],
    bodies: Mapping[str, Mapping[str, Any]],
    deleting: Container[str],
    *,
    patch_of: Callable[[Mapping[str, Any], holdings.PoolView], dict[str, Any] | None] | None = None,
) -> list[tuple[str, str, dict[str, Any]]]:
    """(VirtualIP, pool, `template_patch`) for each pool VirtualIP whose template is behind its
    pool's; none for one being deleted or whose address is outside its edited pool (the pool
    no longer speaks for it). ``patch_of`` stands in for `template_patch` (a memo of it)."""
    patch_of = patch_of or template_patch
    pools_by_name = {p.name: p for p in pool_views}
    found = []
    for vip in vip_views:
        pool = pools_by_name.get(vip.pool or "")
        body = bodies.get(vip.name)
        if pool is None or body is None or vip.deleting or vip.name in deleting:
            continue
        if pool.addresses is None or not pool.addresses.includes(vip.address):
            continue
        patch = patch_of(body, pool)
        if patch is not None:
            found.append((vip.name, pool.name, patch))
    return found


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
