"""The base every API struct derives from, and the helpers that attach CEL rules to a schema.

One place decides how the API looks on the wire (camelCase, unknown fields refused, immutable
values) and how a CEL rule is written beside the field it guards, so the kinds' modules only
say what their fields are.
"""

from __future__ import annotations

from typing import Any

import pydantic
from pydantic.alias_generators import to_camel


def cel_rule(rule: str, message: str, **extra: str) -> dict[str, str]:
    """One ``x-kubernetes-validations`` entry: a CEL rule, its message and extras (fieldPath)."""
    return {"rule": rule, "message": message, **extra}


def validations(*rules: dict[str, str]) -> dict[str, Any]:
    """The ``json_schema_extra`` that makes the CRD check these CEL rules on a field or struct."""
    return {"x-kubernetes-validations": list(rules)}


class Model(pydantic.BaseModel):
    """Base of every API struct: camelCase on the wire, unknown fields refused, immutable."""

    model_config = pydantic.ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_enum_values=False,
    )

    def to_json(self) -> dict[str, Any]:
        """The object as the API server stores it (camelCase, absent optionals left out)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
