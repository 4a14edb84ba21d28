"""The problems the agent reports about a VirtualIP: its Event reasons and actions (pure).

Each is a Warning Event ``regarding`` the VirtualIP (`floatip.api.events`), posted once per
distinct problem by the VirtualIP's worker through the reporter. Enums, so that Events and
logs carry machine words, never a sentence to search.
"""

from __future__ import annotations

import enum


class Reason(enum.StrEnum):
    """Why the agent speaks up (CamelCase words for machines)."""

    CONFLICT = "Conflict"  # a foreign host claims an address this node holds
    PROBE_CONFLICT = "ProbeConflict"  # a foreign host answers for an address before the take
    NODE_ADDRESS = "NodeAddress"  # the address is one of the node's own
    NO_INTERFACE = "NoInterface"  # no interface can hold it
    APPLY_FAILED = "ApplyFailed"  # a netlink or socket error
    FENCED = "Fenced"  # released while unsure of the API


class Action(enum.StrEnum):
    """What the agent did, or refused, when it spoke up."""

    APPLY = "Apply"
    REFUSE = "Refuse"
    PROBE = "Probe"
    RELEASE = "Release"
    REASSERT = "Reassert"
