"""Which of the node's links have a carrier, read cheaply for every /healthz answer.

A holder whose data cable is pulled still answers the operator over the management network,
so liveness alone would never move its addresses. The agent therefore reports each link's
carrier in /healthz, and the operator treats an address's interface without carrier as one
that cannot hold it (a planned move: the agent is alive to hand over). sysfs is read per
answer (a few microseconds per link) so a lost carrier shows in the very next probe.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterable

SYS_CLASS_NET = pathlib.Path("/sys/class/net")


def carrier(ifname: str, *, root: pathlib.Path = SYS_CLASS_NET) -> bool | None:
    """True/False for the link's carrier; None when unknown (no such link, or down admin)."""
    try:
        return (root / ifname / "carrier").read_text().strip() == "1"
    except OSError:  # EINVAL while administratively down, ENOENT when gone
        return False if (root / ifname).exists() else None


def carriers(names: Iterable[str], *, root: pathlib.Path = SYS_CLASS_NET) -> dict[str, bool]:
    """``{ifname: has_carrier}`` for the links that exist."""
    found = {name: carrier(name, root=root) for name in names}
    return {name: state for name, state in found.items() if state is not None}
