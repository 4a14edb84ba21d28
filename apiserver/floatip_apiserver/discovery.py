"""Discovery and OpenAPI documents: how clients learn what the server serves.

kubectl maps ``vip`` to ``virtualips.floatip.io`` from ``/apis/floatip.io/v1alpha1`` (shortNames,
categories, verbs, the ``/status`` subresource); kopf waits for ``v1/namespaces`` here before it
watches anything; ``kubectl apply`` and ``explain`` download OpenAPI first and abort without it.
Legacy discovery is served as plain JSON; clients asking for aggregated discovery fall back to
it, as they do with older real servers.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from floatip_apiserver import resources
from floatip_apiserver.resources import Registry, Resource

VERSION = {
    "major": "1",
    "minor": "35",
    "gitVersion": "v1.35.0+floatip.apiserver",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.24 (imitated by floatip-apiserver, a test tool)",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def api_versions(address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
    }


def group_list(registry: Registry) -> dict[str, Any]:
    groups = []
    for name, versions in registry.groups().items():
        if not name:
            continue
        entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        groups.append({"name": name, "versions": entries, "preferredVersion": entries[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(registry: Registry, name: str) -> dict[str, Any] | None:
    for entry in group_list(registry)["groups"]:
        if entry["name"] == name:
            return {"kind": "APIGroup", "apiVersion": "v1", **entry}
    return None


def resource_list(registry: Registry, group_name: str, version: str) -> dict[str, Any] | None:
    served = [r for r in registry if r.group == group_name and r.version == version]
    if not served:
        return None
    entries: list[dict[str, Any]] = []
    for res in served:
        entry: dict[str, Any] = {
            "name": res.plural,
            "singularName": res.singular,
            "namespaced": res.namespaced,
            "kind": res.kind,
            "verbs": list(res.verbs) or resources.ALL_VERBS,
        }
        if res.short_names:
            entry["shortNames"] = list(res.short_names)
        if res.categories:
            entry["categories"] = list(res.categories)
        entry["storageVersionHash"] = hashlib.sha256(res.qualified_plural.encode()).hexdigest()[:11]
        entries.append(entry)
        if res.status:
            entries.append(
                {
                    "name": f"{res.plural}/status",
                    "singularName": "",
                    "namespaced": res.namespaced,
                    "kind": res.kind,
                    "verbs": ["get", "patch", "update"],
                }
            )
        for sub in res.subresources:  # serviceaccounts/token: kubectl create token looks here
            sub_entry: dict[str, Any] = {
                "name": f"{res.plural}/{sub.name}",
                "singularName": "",
                "namespaced": res.namespaced,
                "kind": sub.kind,
                "verbs": list(sub.verbs),
            }
            if sub.group or sub.version:  # another group's kind (Go's omitempty otherwise)
                sub_entry.update(group=sub.group, version=sub.version)
            entries.append(sub_entry)
    gv = f"{group_name}/{version}" if group_name else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": entries}


# ---- OpenAPI ---------------------------------------------------------------------------


def _definition_name(res: Resource) -> str:
    parts = list(reversed(res.group.split("."))) if res.group else ["io", "k8s", "api", "core"]
    return ".".join([*parts, res.version, res.kind])


def _definition(res: Resource) -> dict[str, Any]:
    body: dict[str, Any] = dict(res.schema) if res.schema else {"type": "object"}
    body["x-kubernetes-group-version-kind"] = [
        {"group": res.group, "version": res.version, "kind": res.kind}
    ]
    return body


def _gv_path(group_name: str, version: str) -> str:
    return f"api/{version}" if not group_name else f"apis/{group_name}/{version}"


def openapi_v3_index(registry: Registry) -> dict[str, Any]:
    paths = {}
    for res in registry:
        path = _gv_path(res.group, res.version)
        doc = json.dumps(openapi_v3_document(registry, res.group, res.version), sort_keys=True)
        digest = hashlib.sha512(doc.encode()).hexdigest()[:32].upper()
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": paths}


def _paths(res: Resource) -> dict[str, Any]:
    """The list and get operations of one resource, as kube-apiserver's OpenAPI v3 names them.

    ``kubectl explain`` finds a resource's schema through the GET operation of its path (the
    GroupVersionKind on the operation, the schema by ``$ref``), not through the components.
    """
    base = f"/{_gv_path(res.group, res.version)}"
    scope = "/namespaces/{namespace}" if res.namespaced else ""
    gvk = {"group": res.group, "version": res.version, "kind": res.kind}
    ref = {"$ref": f"#/components/schemas/{_definition_name(res)}"}

    def operation(action: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "get": {
                "operationId": f"{action}{res.kind}",
                "responses": {"200": {"content": {"application/json": {"schema": schema}}}},
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk,
            }
        }

    item = operation("get", ref)
    # kubectl checks that a kind's PATCH takes fieldValidation before it trusts the server
    # with --validate=warn/strict (else: "cannot perform warn validation ..., skipping")
    item["patch"] = {
        "operationId": f"patch{res.kind}",
        "parameters": [
            {"name": name, "in": "query", "schema": {"type": "string"}}
            for name in ("dryRun", "fieldManager", "fieldValidation", "force")
        ],
        "responses": {"200": {"content": {"application/json": {"schema": ref}}}},
        "x-kubernetes-action": "patch",
        "x-kubernetes-group-version-kind": gvk,
    }
    return {
        f"{base}{scope}/{res.plural}": operation("list", {"type": "object"}),
        f"{base}{scope}/{res.plural}/{{name}}": item,
    }


def openapi_v3_document(registry: Registry, group_name: str, version: str) -> dict[str, Any]:
    served = [r for r in registry if r.group == group_name and r.version == version]
    paths: dict[str, Any] = {}
    for res in served:
        paths.update(_paths(res))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (floatip test API server)", "version": "v1.35.0"},
        "paths": paths,
        "components": {"schemas": {_definition_name(r): _definition(r) for r in served}},
    }


def openapi_v2_json(registry: Registry) -> dict[str, Any]:
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes (floatip test API server)", "version": "v1.35.0"},
        "paths": {},
        "definitions": {_definition_name(r): _definition(r) for r in registry},
    }


def _proto_string(field: int, text: str) -> bytes:
    data = text.encode()
    return bytes([(field << 3) | 2, len(data)]) + data


def openapi_v2_protobuf() -> bytes:
    """A minimal ``openapi_v2.Document`` (swagger + info) in protobuf, what kubectl asks for."""
    info = _proto_string(1, "Kubernetes (floatip test API server)") + _proto_string(2, "v1.35.0")
    return _proto_string(1, "2.0") + bytes([(2 << 3) | 2, len(info)]) + info
