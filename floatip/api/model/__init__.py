"""The VirtualIP API: the one source of truth for the operator, the agent, the CRD and the docs.

Every field's type, range, default and description lives in this package. ``floatip.api.crd``
derives the CRD's openAPIV3Schema from these classes (the CEL rules beside the fields they
guard), ``floatip.api.validation`` turns pydantic's errors into problems a person can act on,
and the reference docs are generated from the same descriptions.

Field names are camelCase on the wire (Kubernetes API conventions) and snake_case in Python.
Durations are integers with their unit in the name (``intervalSeconds``), as Kubernetes asks.

Its modules, each with one job (the lower ones know nothing of the higher ones):
``virtualip`` and ``virtualippool`` (the two kinds), ``meta`` (metav1's ObjectMeta and
Condition), ``specfields`` (the spec fields a VirtualIP and a pool's template share),
``selectors`` (label selectors), ``reasons`` (condition types and reasons, plain enums) and
``base`` (the ``Model`` base and the CEL rule helpers). Every side imports the package
(``from floatip.api import model``; ``model.VirtualIP``), never a module of it.
"""

from __future__ import annotations

from floatip.api.model.base import Model
from floatip.api.model.meta import Condition, ObjectMeta, Timestamp
from floatip.api.model.reasons import (
    ConditionReason,
    ConditionStatus,
    ConditionType,
    MoveReason,
    PoolConditionReason,
    PoolConditionType,
)
from floatip.api.model.selectors import (
    LabelKey,
    LabelSelector,
    LabelSelectorRequirement,
    LabelValue,
    SelectorOperator,
)
from floatip.api.model.specfields import (
    INTERFACE_MAX_LENGTH,
    MAX_PREFERRED_NODES,
    Announce,
    AnnounceField,
    GroupName,
    HealthCheck,
    HealthCheckField,
    HealthCheckType,
    InterfaceField,
    InterfaceName,
    NodeName,
    NodeSelectorField,
    PreferredNodesField,
)
from floatip.api.model.virtualip import (
    ADDRESS_MAX_LENGTH,
    HISTORY_LENGTH,
    Announcement,
    ConflictReport,
    Move,
    VirtualIP,
    VirtualIPSpec,
    VirtualIPStatus,
)
from floatip.api.model.virtualippool import (
    MAX_IN_USE_ON_WIRE,
    MAX_POOL_ENTRIES,
    MAX_PRIORITY,
    AddressCounts,
    AddressInUseOnWire,
    Count,
    PoolEntry,
    VirtualIPPool,
    VirtualIPPoolSpec,
    VirtualIPPoolStatus,
    VirtualIPTemplate,
)

__all__ = [
    "ADDRESS_MAX_LENGTH",
    "HISTORY_LENGTH",
    "INTERFACE_MAX_LENGTH",
    "MAX_IN_USE_ON_WIRE",
    "MAX_POOL_ENTRIES",
    "MAX_PREFERRED_NODES",
    "MAX_PRIORITY",
    "AddressCounts",
    "AddressInUseOnWire",
    "Announce",
    "AnnounceField",
    "Announcement",
    "Condition",
    "ConditionReason",
    "ConditionStatus",
    "ConditionType",
    "ConflictReport",
    "Count",
    "GroupName",
    "HealthCheck",
    "HealthCheckField",
    "HealthCheckType",
    "InterfaceField",
    "InterfaceName",
    "LabelKey",
    "LabelSelector",
    "LabelSelectorRequirement",
    "LabelValue",
    "Model",
    "Move",
    "MoveReason",
    "NodeName",
    "NodeSelectorField",
    "ObjectMeta",
    "PoolConditionReason",
    "PoolConditionType",
    "PoolEntry",
    "PreferredNodesField",
    "SelectorOperator",
    "Timestamp",
    "VirtualIP",
    "VirtualIPPool",
    "VirtualIPPoolSpec",
    "VirtualIPPoolStatus",
    "VirtualIPSpec",
    "VirtualIPStatus",
    "VirtualIPTemplate",
]
