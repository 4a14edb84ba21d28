"""floatip's CustomResourceDefinitions, derived from the model so the two cannot drift.

``crds/virtualip.yaml`` and ``crds/virtualippool.yaml`` are this module's output (``floatip crd
[--kind VirtualIPPool] > crds/FILE``), and a test fails when a file and the model disagree.
pydantic's JSON Schema is turned into a *structural* openAPIV3Schema as Kubernetes requires:
references inlined, ``anyOf: [X, null]`` collapsed to X (Kubernetes omits absent fields instead
of writing null), titles dropped, ``const`` turned into a one-value enum.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import yaml

from floatip.api import model, names

# propertyNames is JSON Schema but not OpenAPI: Kubernetes' JSONSchemaProps has no such field.
_DROPPED_KEYS = frozenset({"title", "$defs", "propertyNames"})

PRINTER_COLUMNS: list[dict[str, Any]] = [
    {"name": "Address", "type": "string", "jsonPath": ".spec.address"},
    {"name": "Node", "type": "string", "jsonPath": ".status.holder"},
    {
        "name": "Ready",
        "type": "string",
        "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
    },
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    {"name": "Epoch", "type": "integer", "jsonPath": ".status.epoch", "priority": 1},
    {"name": "Group", "type": "string", "jsonPath": ".spec.group", "priority": 1},
]

POOL_PRINTER_COLUMNS: list[dict[str, Any]] = [
    {"name": "Addresses", "type": "string", "jsonPath": ".spec.addresses"},
    {"name": "IPv4 Available", "type": "integer", "jsonPath": ".status.ipv4.available"},
    {"name": "IPv6 Available", "type": "integer", "jsonPath": ".status.ipv6.available"},
    {
        "name": "Ready",
        "type": "string",
        "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
    },
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    {"name": "Auto Assign", "type": "boolean", "jsonPath": ".spec.autoAssign", "priority": 1},
    {"name": "Priority", "type": "integer", "jsonPath": ".spec.priority", "priority": 1},
    {
        "name": "Overlap",
        "type": "string",
        "jsonPath": '.status.conditions[?(@.type=="Overlap")].status',
        "priority": 1,
    },
]


class Kind(NamedTuple):
    """What one CRD is made of: its names, its model classes and how kubectl prints it."""

    kind: str
    list_kind: str
    plural: str
    singular: str
    short_names: tuple[str, ...]
    spec: type[model.Model]
    status: type[model.Model]
    description: str
    columns: list[dict[str, Any]]
    file: str

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{names.GROUP}"


KINDS: dict[str, Kind] = {
    names.KIND: Kind(
        names.KIND,
        names.LIST_KIND,
        names.PLURAL,
        names.SINGULAR,
        names.SHORT_NAMES,
        model.VirtualIPSpec,
        model.VirtualIPStatus,
        "A highly available virtual IP: floatip keeps exactly one healthy node answering "
        "for spec.address and reports where in status.",
        PRINTER_COLUMNS,
        "virtualip.yaml",
    ),
    names.POOL_KIND: Kind(
        names.POOL_KIND,
        names.POOL_LIST_KIND,
        names.POOL_PLURAL,
        names.POOL_SINGULAR,
        names.POOL_SHORT_NAMES,
        model.VirtualIPPoolSpec,
        model.VirtualIPPoolStatus,
        "A pool of addresses for Services of type LoadBalancer, who may draw from it, and "
        "the VirtualIP fields its addresses get (spec.template); status counts them per family.",
        POOL_PRINTER_COLUMNS,
        "virtualippool.yaml",
    ),
}


def structural_schema(cls: type[model.Model]) -> dict[str, Any]:
    """The structural openAPIV3Schema of one model class."""
    raw = cls.model_json_schema(by_alias=True, mode="validation")
    definitions: Mapping[str, Any] = raw.get("$defs", {})
    schema: dict[str, Any] = _structural(raw, definitions)
    return schema


def _structural(node: Any, definitions: Mapping[str, Any]) -> Any:
    if isinstance(node, list):
        return [_structural(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = definitions[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _structural(merged, definitions)
    if "anyOf" in node:
        variants = [v for v in node["anyOf"] if v.get("type") != "null"]
        if len(variants) != 1:
            raise ValueError(f"a structural schema cannot express anyOf {node['anyOf']!r}")
        rest = {k: v for k, v in node.items() if k != "anyOf"}
        if rest.get("default", ...) is None:
            del rest["default"]
        return _structural({**variants[0], **rest}, definitions)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED_KEYS:
            continue
        if key == "const":
            out["enum"] = [value]
        elif key == "patternProperties":
            # OpenAPI has no patternProperties: map keys are checked by a CEL rule instead.
            [value_schema] = value.values()
            out["additionalProperties"] = _structural(value_schema, definitions)
        elif key == "properties":
            out[key] = {name: _structural(sub, definitions) for name, sub in value.items()}
        else:
            out[key] = _structural(value, definitions)
    if out.get("type") == "object" and "properties" in out:
        out.pop("additionalProperties", None)
    if out.get("type") == "array" and out.get("default") == []:
        del out["default"]
    return out


def openapi_schema(kind: str = names.KIND) -> dict[str, Any]:
    """The whole object's schema: spec and status from the model, metadata the server's."""
    spec = KINDS[kind]
    return {
        "type": "object",
        "description": spec.description,
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": structural_schema(spec.spec),
            "status": structural_schema(spec.status),
        },
    }


def build_crd(kind: str = names.KIND) -> dict[str, Any]:
    """The CustomResourceDefinition of ``kind`` (VirtualIP or VirtualIPPool), ready to apply."""
    spec = KINDS[kind]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": spec.crd_name,
            "annotations": {
                "floatip.io/generated-by": "floatip crd (from floatip.api.model); do not edit",
            },
        },
        "spec": {
            "group": names.GROUP,
            # Cluster scope: an address is unique on the LAN, not per namespace, and the nodes
            # that hold it are cluster-scoped too (README: "Why cluster-scoped"); a pool's
            # addresses likewise, and one pool serves Services of many namespaces.
            "scope": "Cluster",
            "names": {
                "kind": spec.kind,
                "listKind": spec.list_kind,
                "plural": spec.plural,
                "singular": spec.singular,
                "shortNames": list(spec.short_names),
                "categories": list(names.CATEGORIES),
            },
            "versions": [
                {
                    "name": names.VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": spec.columns,
                    "schema": {"openAPIV3Schema": openapi_schema(kind)},
                }
            ],
        },
    }


def render_crd(kind: str = names.KIND) -> str:
    """The CRD as YAML text, exactly as ``crds/virtualip.yaml`` (or the pool's file) holds it."""
    command = "floatip crd" if kind == names.KIND else f"floatip crd --kind {kind}"
    header = (
        f"# Generated by `{command}` from floatip/api/model/ -- do not edit by hand.\n"
        f"# Regenerate: {command} > crds/{KINDS[kind].file}\n"
    )
    return header + yaml.safe_dump(build_crd(kind), sort_keys=False, width=100)
