"""The shapes floatip reuses from Kubernetes' metav1: an object's metadata and a condition.

Both kinds carry them alike; only the part a manifest author writes (or floatip's status
writers fill in) is modelled, the rest stays the API server's.
"""

from __future__ import annotations

from typing import Annotated

import pydantic
from pydantic import Field

from floatip.api.model.base import Model
from floatip.api.model.reasons import ConditionStatus
from floatip.api.model.selectors import LabelKey, LabelValue
from floatip.api.model.specfields import NodeName

Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class Condition(Model):
    """One observation of an object's state, shaped like metav1.Condition."""

    type: str = Field(
        max_length=316, description="What it observes: the kind's status.conditions lists them."
    )
    status: ConditionStatus = Field(description="True, False or Unknown.")
    observed_generation: int | None = Field(
        default=None, ge=0, description="The spec generation the condition was computed from."
    )
    last_transition_time: Timestamp = Field(description="When the status last changed.")
    reason: str = Field(max_length=1024, description="A CamelCase word for machines.")
    message: str = Field(default="", max_length=32768, description="A sentence for people.")


class ObjectMeta(pydantic.BaseModel):
    """The part of metadata a manifest author writes; the rest is the API server's."""

    model_config = pydantic.ConfigDict(extra="allow", frozen=True)

    name: NodeName
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
