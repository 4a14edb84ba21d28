"""The spec fields a VirtualIP and a pool's template share, each defined once and used by both.

Each field's type, bounds, rules, default and description live here (the node, group and
interface names with their checks, the announcement tuning, the health check), so a pool's
template cannot drift from the VirtualIP spec it fills in.
"""

from __future__ import annotations

import enum
from typing import Annotated

import pydantic
from pydantic import Field

from floatip.api import labels
from floatip.api.model.base import Model, cel_rule, validations
from floatip.api.model.selectors import LabelSelector

#: Linux's IFNAMSIZ is 16 bytes with the terminating NUL.
INTERFACE_MAX_LENGTH = 15
MAX_PREFERRED_NODES = 64


def _check_group_name(value: str) -> str:
    if problem := labels.dns_label_problem(value, what="group name"):
        raise ValueError(problem)
    return value


def _check_node_name(value: str) -> str:
    if problem := labels.dns_subdomain_problem(value):
        raise ValueError(problem)
    return value


NodeName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=253,
        json_schema_extra={"pattern": f"^{labels.DNS_SUBDOMAIN_PATTERN}$"},
    ),
    pydantic.AfterValidator(_check_node_name),
]
GroupName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=63,
        json_schema_extra={"pattern": f"^{labels.DNS_LABEL_PATTERN}$"},
    ),
    pydantic.AfterValidator(_check_group_name),
]


class Announce(Model):
    """How the holder tells the LAN where the address lives (gratuitous ARP / unsolicited NA)."""

    burst_count: int = Field(
        default=3,
        ge=1,
        le=10,
        description="Announcements sent right after taking the address.",
    )
    burst_interval_milliseconds: int = Field(
        default=100,
        ge=10,
        le=5000,
        description="Pause between the announcements of one burst.",
    )
    second_burst_delay_seconds: int = Field(
        default=5,
        ge=0,
        le=300,
        description=(
            "Delay before a second burst, for switches and hosts that missed the first "
            "(0 turns it off)."
        ),
    )
    refresh_interval_seconds: int = Field(
        default=60,
        ge=0,
        le=3600,
        description=(
            "Period of the refresh announcement while the address is held, well below the "
            "300 s MAC ageing of common switches (0 turns it off)."
        ),
    )


class HealthCheckType(enum.StrEnum):
    TCP = "tcp"
    HTTP = "http"


class HealthCheck(
    Model,
    json_schema_extra=validations(
        cel_rule(
            "!has(self.path) || self.type == 'http'",
            "path applies to http health checks only",
            fieldPath=".path",
        ),
        cel_rule(
            "!has(self.timeoutSeconds) || !has(self.intervalSeconds) "
            "|| self.timeoutSeconds <= self.intervalSeconds",
            "timeoutSeconds must not exceed intervalSeconds",
            fieldPath=".timeoutSeconds",
        ),
    ),
):
    """A check of a local service on each candidate node, like keepalived's track_script.

    A node whose check fails ``fall`` times in a row stops being eligible; it becomes eligible
    again after ``rise`` successes in a row.
    """

    type: HealthCheckType = Field(description="tcp: a TCP connect; http: a GET expecting 2xx/3xx.")
    port: int = Field(ge=1, le=65535, description="The port on the node's loopback to check.")
    path: str | None = Field(
        default=None,
        max_length=1024,
        pattern=r"^/\S*$",
        description="The HTTP path to GET (http only; defaults to /).",
    )
    interval_seconds: int = Field(default=2, ge=1, le=300, description="Time between checks.")
    timeout_seconds: int = Field(default=1, ge=1, le=60, description="Time one check may take.")
    rise: int = Field(default=2, ge=1, le=10, description="Successes in a row to become healthy.")
    fall: int = Field(default=3, ge=1, le=10, description="Failures in a row to become unhealthy.")


def _check_interface_name(value: str) -> str:
    if value in (".", "..") or any(char in "/:" or char.isspace() for char in value):
        raise ValueError(
            f"{value!r} is not a valid Linux interface name: 1-15 characters, "
            "no '/', ':' or whitespace, not '.' or '..'"
        )
    return value


def _check_distinct_nodes(value: tuple[str, ...]) -> tuple[str, ...]:
    seen: dict[str, int] = {}
    for index, node in enumerate(value):
        if node in seen:
            raise ValueError(
                f"node {node!r} is listed twice (items {seen[node]} and {index}); "
                "list each node once"
            )
        seen[node] = index
    return value


InterfaceName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=INTERFACE_MAX_LENGTH,
        json_schema_extra={
            "pattern": r"^[^/:\s]+$",
            **validations(
                cel_rule("self != '.' && self != '..'", "'.' and '..' are not interface names")
            ),
        },
    ),
    pydantic.AfterValidator(_check_interface_name),
]
InterfaceField = Annotated[
    InterfaceName | None,
    Field(
        description=(
            "The interface to add the address to; by default the one whose subnet contains it."
        ),
    ),
]
NodeSelectorField = Annotated[
    LabelSelector | None,
    Field(
        description="Which nodes may hold the address; by default every node running the agent.",
    ),
]
PreferredNodesField = Annotated[
    tuple[NodeName, ...],
    Field(
        max_length=MAX_PREFERRED_NODES,
        json_schema_extra={"x-kubernetes-list-type": "set"},
        description=(
            "Nodes to prefer, best first (keepalived's priority). Placement takes the first "
            "eligible one when the address must move."
        ),
    ),
    pydantic.AfterValidator(_check_distinct_nodes),
]
AnnounceField = Annotated[
    Announce,
    Field(
        default_factory=Announce,
        json_schema_extra={"default": {}},
        description="Announcement tuning.",
    ),
]
HealthCheckField = Annotated[
    HealthCheck | None,
    Field(
        description=(
            "An optional check of a local service that a node must pass to hold the address."
        ),
    ),
]
