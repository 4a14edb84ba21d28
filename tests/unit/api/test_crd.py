"""The CRD in crds/ is the model's: same text, structural, and the right names and columns.

Proves: crds/virtualip.yaml is exactly what ``floatip crd`` generates (the model and the CRD
cannot drift); the schema is structural as Kubernetes requires (every node typed, no $ref,
anyOf, null or JSON-Schema-only keywords); scope, names, short name, category, status
subresource and printer columns are as documented.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import yaml
from click.testing import CliRunner

from floatip.api import crd, model
from floatip.cli import main

REPO = pathlib.Path(__file__).resolve().parents[3]
CRD_FILE = REPO / "crds" / "virtualip.yaml"
# The keywords of Kubernetes' JSONSchemaProps that a structural schema may use.
ALLOWED_KEYWORDS = {
    "type",
    "description",
    "properties",
    "items",
    "additionalProperties",
    "required",
    "default",
    "enum",
    "format",
    "pattern",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "maxProperties",
    "nullable",
    "x-kubernetes-validations",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-preserve-unknown-fields",
}


def test_crd_file_is_generated_from_the_model() -> None:
    assert CRD_FILE.read_text() == crd.render_crd(), (
        "crds/virtualip.yaml differs from the model: run `floatip crd > crds/virtualip.yaml`"
    )


def test_floatip_crd_prints_the_file() -> None:
    result = CliRunner().invoke(main.cli, ["crd"])
    assert result.exit_code == 0
    assert result.output == CRD_FILE.read_text()


def _nodes(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, schema
    for name, sub in schema.get("properties", {}).items():
        yield from _nodes(sub, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from _nodes(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _nodes(schema["additionalProperties"], f"{path}{{}}")


def test_schema_is_structural() -> None:
    schema = crd.openapi_schema()
    for path, node in _nodes(schema):
        assert "type" in node, f"{path} has no type"
        assert set(node) <= ALLOWED_KEYWORDS, f"{path} uses {set(node) - ALLOWED_KEYWORDS}"
        if "default" in node:
            assert node["default"] is not None, path


def test_every_spec_field_is_in_the_schema_with_a_description() -> None:
    spec = crd.openapi_schema()["properties"]["spec"]
    assert set(spec["properties"]) == {f.alias for f in model.VirtualIPSpec.model_fields.values()}
    for name, field in spec["properties"].items():
        assert field.get("description"), f"spec.{name} has no description"
    assert spec["required"] == ["address"]


def test_names_scope_and_subresources() -> None:
    document = yaml.safe_load(CRD_FILE.read_text())
    assert document["metadata"]["name"] == "virtualips.floatip.io"
    spec = document["spec"]
    assert spec["scope"] == "Cluster"
    assert spec["names"]["shortNames"] == ["vip"]
    assert spec["names"]["categories"] == ["floatip"]
    [version] = spec["versions"]
    assert version["name"] == "v1alpha1"
    assert version["subresources"] == {"status": {}}


def test_printer_columns() -> None:
    [version] = yaml.safe_load(CRD_FILE.read_text())["spec"]["versions"]
    columns = {c["name"]: c for c in version["additionalPrinterColumns"]}
    assert list(columns) == ["Address", "Node", "Ready", "Age", "Epoch"]
    assert columns["Ready"]["jsonPath"] == '.status.conditions[?(@.type=="Ready")].status'
    assert columns["Epoch"]["priority"] == 1
    assert all("priority" not in columns[name] for name in ["Address", "Node", "Ready", "Age"])


def test_reference_docs_are_generated_from_the_model() -> None:
    from floatip.api import reference

    docs = REPO / "docs" / "reference.md"
    assert docs.read_text() == reference.render_reference() + "\n", (
        "docs/reference.md differs from the model: run `floatip crd --reference > docs/reference.md`"
    )
    for field in model.VirtualIPSpec.model_fields.values():
        assert f"`spec.{field.alias}`" in docs.read_text()
