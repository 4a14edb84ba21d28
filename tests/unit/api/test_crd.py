"""The CRDs in crds/ are the model's: same text, structural, and the right names and columns.

Proves: crds/virtualip.yaml and crds/virtualippool.yaml are exactly what ``floatip crd
[--kind VirtualIPPool]`` generates (the model and the CRDs cannot drift); each schema is
structural as Kubernetes requires (every node typed, no $ref, anyOf, null or
JSON-Schema-only keywords); scope, names, short names, category, status subresource and
printer columns are as documented; the reference docs are generated from both.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from floatip.api import crd, model, names
from floatip.cli import main

REPO = pathlib.Path(__file__).resolve().parents[3]
CRD_FILE = REPO / "crds" / "virtualip.yaml"
POOL_CRD_FILE = REPO / "crds" / "virtualippool.yaml"
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


def test_pool_crd_file_is_generated_from_the_model() -> None:
    assert POOL_CRD_FILE.read_text() == crd.render_crd(names.POOL_KIND), (
        "crds/virtualippool.yaml differs from the model: "
        "run `floatip crd --kind VirtualIPPool > crds/virtualippool.yaml`"
    )


@pytest.mark.parametrize(
    ("args", "path"), [([], CRD_FILE), (["--kind", "VirtualIPPool"], POOL_CRD_FILE)]
)
def test_floatip_crd_prints_the_file(args: list[str], path: pathlib.Path) -> None:
    result = CliRunner().invoke(main.cli, ["crd", *args])
    assert result.exit_code == 0
    assert result.output == path.read_text()


def test_crds_directory_holds_exactly_the_generated_crds() -> None:
    assert sorted(p.name for p in (REPO / "crds").iterdir()) == sorted(
        kind.file for kind in crd.KINDS.values()
    )


def _nodes(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, schema
    for name, sub in schema.get("properties", {}).items():
        yield from _nodes(sub, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from _nodes(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _nodes(schema["additionalProperties"], f"{path}{{}}")


@pytest.mark.parametrize("kind", sorted(crd.KINDS))
def test_schema_is_structural(kind: str) -> None:
    schema = crd.openapi_schema(kind)
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
    assert list(columns) == ["Address", "Node", "Ready", "Age", "Epoch", "Group"]
    assert columns["Ready"]["jsonPath"] == '.status.conditions[?(@.type=="Ready")].status'
    assert columns["Epoch"]["priority"] == 1
    assert columns["Group"] == {
        "name": "Group",
        "type": "string",
        "jsonPath": ".spec.group",
        "priority": 1,
    }
    assert all("priority" not in columns[name] for name in ["Address", "Node", "Ready", "Age"])


def test_reference_docs_are_generated_from_the_model() -> None:
    from floatip.api import reference

    docs = REPO / "docs" / "reference.md"
    assert docs.read_text() == reference.render_reference() + "\n", (
        "docs/reference.md differs from the model: run `floatip crd --reference > docs/reference.md`"
    )
    for field in model.VirtualIPSpec.model_fields.values():
        assert f"`spec.{field.alias}`" in docs.read_text()


def test_every_pool_spec_field_is_in_the_schema_with_a_description() -> None:
    spec = crd.openapi_schema(names.POOL_KIND)["properties"]["spec"]
    fields = model.VirtualIPPoolSpec.model_fields.values()
    assert set(spec["properties"]) == {f.alias for f in fields}
    for name, field in spec["properties"].items():
        assert field.get("description"), f"spec.{name} has no description"
    assert spec["required"] == ["addresses"]
    addresses = spec["properties"]["addresses"]
    assert (addresses["minItems"], addresses["maxItems"]) == (1, 64)
    assert addresses["x-kubernetes-list-type"] == "set"
    assert len(addresses["items"]["x-kubernetes-validations"]) == 4
    assert spec["properties"]["autoAssign"]["default"] is True
    assert spec["properties"]["template"]["default"] == {}
    template = spec["properties"]["template"]["properties"]
    vip = crd.openapi_schema()["properties"]["spec"]["properties"]
    for name, field in template.items():
        assert field == vip[name], f"template.{name} differs from the VirtualIP's {name}"
    status = crd.openapi_schema(names.POOL_KIND)["properties"]["status"]["properties"]
    assert set(status) == {"observedGeneration", "ipv4", "ipv6", "inUseOnWire", "conditions"}
    on_wire = status["inUseOnWire"]
    assert on_wire["x-kubernetes-list-map-keys"] == ["address"]
    assert set(on_wire["items"]["required"]) == {"address", "mac", "node", "since"}
    assert status["conditions"] == crd.openapi_schema()["properties"]["status"]["properties"][
        "conditions"
    ] | {"description": status["conditions"]["description"]}
    assert status["ipv6"]["properties"]["total"]["format"] == "int64"
    assert "maximum" not in status["ipv6"]["properties"]["total"]  # a float64 in Kubernetes


def test_pool_names_scope_and_subresources() -> None:
    document = yaml.safe_load(POOL_CRD_FILE.read_text())
    assert document["metadata"]["name"] == "virtualippools.floatip.io"
    spec = document["spec"]
    assert spec["scope"] == "Cluster"
    assert spec["names"]["kind"] == "VirtualIPPool"
    assert spec["names"]["shortNames"] == ["vippool"]
    assert spec["names"]["categories"] == ["floatip"]
    [version] = spec["versions"]
    assert version["name"] == "v1alpha1"
    assert version["subresources"] == {"status": {}}


def test_pool_printer_columns() -> None:
    [version] = yaml.safe_load(POOL_CRD_FILE.read_text())["spec"]["versions"]
    columns = {c["name"]: c for c in version["additionalPrinterColumns"]}
    shown = [name for name, c in columns.items() if "priority" not in c]
    assert shown == ["Addresses", "IPv4 Available", "IPv6 Available", "Ready", "Age"]
    assert [name for name, c in columns.items() if c.get("priority") == 1] == [
        "Auto Assign",
        "Priority",
        "Overlap",
    ]
    assert columns["IPv4 Available"]["jsonPath"] == ".status.ipv4.available"
    assert columns["Overlap"]["jsonPath"] == '.status.conditions[?(@.type=="Overlap")].status'


def test_reference_docs_cover_the_pool() -> None:
    text = (REPO / "docs" / "reference.md").read_text()
    assert "## VirtualIPPool" in text
    assert "docs/services.md" in text  # how pools serve Services
    for field in model.VirtualIPPoolSpec.model_fields.values():
        assert f"`spec.{field.alias}`" in text
