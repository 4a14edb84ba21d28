"""Kubernetes label selectors: which nodes, Services or namespaces an object applies to.

floatip.api.labels knows the label syntax and how a selector matches; this module gives label
keys, values and selectors their schema (patterns, lengths, CEL rules) and their validation.
"""

from __future__ import annotations

import enum
from typing import Annotated

import pydantic
from pydantic import Field

from floatip.api import labels
from floatip.api.model.base import Model, cel_rule, validations


class SelectorOperator(enum.StrEnum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


def _check_label_key(key: str) -> str:
    if problem := labels.label_key_problem(key):
        raise ValueError(problem)
    return key


def _check_label_value(value: str) -> str:
    if problem := labels.label_value_problem(value):
        raise ValueError(problem)
    return value


_PREFIX_BOUND = "size(k) <= 317 && (!k.contains('/') || k.indexOf('/') <= 253)"

LabelKey = Annotated[
    str,
    Field(
        max_length=317,
        json_schema_extra={
            "pattern": labels.LABEL_KEY_PATTERN,
            **validations(
                cel_rule(
                    _PREFIX_BOUND.replace("k", "self"),
                    "a label key's prefix is 253 characters at most",
                )
            ),
        },
    ),
    pydantic.AfterValidator(_check_label_key),
]
LabelValue = Annotated[
    str,
    Field(max_length=63, json_schema_extra={"pattern": labels.LABEL_VALUE_PATTERN}),
    pydantic.AfterValidator(_check_label_value),
]


class LabelSelectorRequirement(
    Model,
    json_schema_extra=validations(
        cel_rule(
            "self.operator in ['Exists', 'DoesNotExist'] "
            "? (!has(self.values) || size(self.values) == 0) "
            ": (has(self.values) && size(self.values) > 0)",
            "In and NotIn need at least one value; Exists and DoesNotExist take none",
        )
    ),
):
    """One term of a label selector: a key, an operator and the values it compares with."""

    key: LabelKey = Field(description="The label key the term applies to.")
    operator: SelectorOperator = Field(
        description="How the key's value is compared: In, NotIn, Exists or DoesNotExist."
    )
    values: tuple[LabelValue, ...] = Field(
        default=(),
        max_length=64,
        description="The values for In and NotIn; empty for Exists and DoesNotExist.",
    )

    @pydantic.model_validator(mode="after")
    def _values_fit_operator(self) -> LabelSelectorRequirement:
        wants_values = self.operator in (SelectorOperator.IN, SelectorOperator.NOT_IN)
        if wants_values and not self.values:
            raise ValueError(f"operator {self.operator.value} needs at least one value in 'values'")
        if not wants_values and self.values:
            raise ValueError(f"operator {self.operator.value} takes no values; remove 'values'")
        return self


class LabelSelector(Model):
    """A Kubernetes LabelSelector: which objects it selects by their labels (all terms match)."""

    match_labels: dict[LabelKey, LabelValue] = Field(
        default_factory=dict,
        json_schema_extra={
            "maxProperties": 64,
            **validations(
                cel_rule(
                    f"self.all(k, k.matches('{labels.LABEL_KEY_PATTERN}') && {_PREFIX_BOUND})",
                    "every key must be a qualified label key: [prefix/]name, the name 1-63 "
                    "letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
                )
            ),
        },
        description="Labels an object must carry, with these exact values.",
    )
    match_expressions: tuple[LabelSelectorRequirement, ...] = Field(
        default=(), max_length=32, description="Further terms an object's labels must satisfy."
    )

    def matches(self, object_labels: dict[str, str]) -> bool:
        """Whether an object (a node, a Service, a namespace) with these labels is selected."""
        return labels.matches(
            object_labels,
            match_labels=self.match_labels,
            match_expressions=[
                (term.key, term.operator.value, term.values) for term in self.match_expressions
            ],
        )
