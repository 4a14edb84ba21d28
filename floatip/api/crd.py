"""The VirtualIP CustomResourceDefinition, derived from the model so the two cannot drift.

``crds/virtualip.yaml`` is this module's output (``floatip crd > crds/virtualip.yaml``), and a
test fails when the file and the model disagree. pydantic's JSON Schema is turned into a
*structural* openAPIV3Schema as Kubernetes requires: references inlined, ``anyOf: [X, null]``
collapsed to X (Kubernetes omits absent fields instead of writing null), titles dropped,
``const`` turned into a one-value enum.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
]


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


def openapi_schema() -> dict[str, Any]:
    """The whole object's schema: spec and status from the model, metadata the server's."""
    return {
        "type": "object",
        "description": (
            "A highly available virtual IP: floatip keeps exactly one healthy node answering "
            "for spec.address and reports where in status."
        ),
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": structural_schema(model.VirtualIPSpec),
            "status": structural_schema(model.VirtualIPStatus),
        },
    }


def build_crd() -> dict[str, Any]:
    """The CustomResourceDefinition object, ready to apply."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": names.CRD_NAME,
            "annotations": {
                "floatip.io/generated-by": "floatip crd (from floatip.api.model); do not edit",
            },
        },
        "spec": {
            "group": names.GROUP,
            # Cluster scope: an address is unique on the LAN, not per namespace, and the nodes
            # that hold it are cluster-scoped too (README: "Why cluster-scoped").
            "scope": "Cluster",
            "names": {
                "kind": names.KIND,
                "listKind": names.LIST_KIND,
                "plural": names.PLURAL,
                "singular": names.SINGULAR,
                "shortNames": list(names.SHORT_NAMES),
                "categories": list(names.CATEGORIES),
            },
            "versions": [
                {
                    "name": names.VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": PRINTER_COLUMNS,
                    "schema": {"openAPIV3Schema": openapi_schema()},
                }
            ],
        },
    }


def render_crd() -> str:
    """The CRD as YAML text, exactly as ``crds/virtualip.yaml`` holds it."""
    header = (
        "# Generated by `floatip crd` from floatip/api/model.py -- do not edit by hand.\n"
        "# Regenerate: floatip crd > crds/virtualip.yaml\n"
    )
    return header + yaml.safe_dump(build_crd(), sort_keys=False, width=100)
