"""The agent Lease's contract: its name and what its annotations say, written and read here.

docs/design/protocol.md "The agent's Lease": ``floatip-agent-<node>`` in floatip's namespace.
The agent publishes, as annotations, the URL of its health endpoint, its node's own global
addresses per interface, its MACs per interface and, on a clean stop, a restart mark. The
operator reads them (eligibility, probing, restart grace), the other agents read the MACs and
addresses (a peer is never an intruder; the flow handoff's target). Every side encodes and
decodes through this module, so the two ends cannot drift.

Decoding never raises: malformed parts are skipped, because a half-readable annotation must
not hide the rest and a peer's annotation is never a reason to fail.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from floatip.api import names, times

IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
ZERO_MAC = "00:00:00:00:00:00"


def name_for(node: str) -> str:
    """The Lease of ``node``'s agent."""
    return names.AGENT_LEASE_PREFIX + node


def node_of(lease: Mapping[str, Any]) -> str | None:
    """The node an agent Lease belongs to, or None when it is not an agent Lease."""
    name = str((lease.get("metadata") or {}).get("name") or "")
    if not name.startswith(names.AGENT_LEASE_PREFIX):
        return None
    return name.removeprefix(names.AGENT_LEASE_PREFIX) or None


def annotations_of(lease: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return ((lease or {}).get("metadata") or {}).get("annotations") or {}


# -- floatip.io/interfaces: eth0=192.0.2.11/24,2001:db8::11/64;eth1=... -----------------------


def encode_interfaces(by_link: Mapping[str, Sequence[IPInterface]]) -> str:
    """Each interface's own addresses (with their prefix), interfaces sorted by name."""
    return ";".join(
        f"{name}={','.join(str(a) for a in listed)}"
        for name, listed in sorted(by_link.items())
        if listed
    )


def interfaces(text: str) -> Iterator[tuple[str, IPInterface]]:
    """(interface name, address with prefix) for each entry, in the annotation's order."""
    for part in text.split(";"):
        name, _, listed = part.strip().partition("=")
        for item in listed.split(","):
            if not name or not item.strip():
                continue
            try:
                yield name, ipaddress.ip_interface(item.strip())
            except ValueError:
                continue


# -- floatip.io/macs: eth0=02:f1:00:00:00:01;eth1=... -----------------------------------------


def encode_macs(by_link: Mapping[str, str]) -> str:
    """Each interface's MAC, lower case; links without a real MAC (loopback) left out."""
    return ";".join(
        f"{name}={mac.lower()}"
        for name, mac in sorted(by_link.items())
        if mac and mac.lower() != ZERO_MAC
    )


def macs(text: str) -> set[str]:
    """The MACs in a ``floatip.io/macs`` annotation."""
    found: set[str] = set()
    for part in text.split(";"):
        _, sep, mac = part.partition("=")
        if sep and mac.count(":") == 5:
            found.add(mac.strip().lower())
    return found


# -- floatip.io/endpoint and floatip.io/restarting-until --------------------------------------


def endpoint(lease: Mapping[str, Any]) -> str | None:
    """The agent's health endpoint (``http://IP:PORT``)."""
    value = annotations_of(lease).get(names.ENDPOINT_ANNOTATION)
    return str(value).rstrip("/") if value else None


def restart_mark(until: datetime.datetime) -> dict[str, str]:
    """The annotation a cleanly stopping agent writes: do not fail me over before ``until``."""
    return {names.RESTARTING_ANNOTATION: times.micro_time(until)}


def restarting_until(lease: Mapping[str, Any] | None) -> datetime.datetime | None:
    return times.parse(annotations_of(lease).get(names.RESTARTING_ANNOTATION))


def published(lease: Mapping[str, Any]) -> tuple[str, str]:
    """The raw (interfaces, macs) annotations of one agent Lease ('' when absent)."""
    found = annotations_of(lease)
    interfaces, macs = found.get(names.INTERFACES_ANNOTATION), found.get(names.MACS_ANNOTATION)
    return (
        interfaces if isinstance(interfaces, str) else "",
        macs if isinstance(macs, str) else "",
    )


def agents(leases: Iterable[Mapping[str, Any]]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(node, lease) for every agent Lease among ``leases`` (the operator's, say, skipped)."""
    for lease in leases:
        node = node_of(lease)
        if node is not None:
            yield node, lease


# -- spec: renewTime + leaseDurationSeconds ------------------------------------------------------


def renewal(lease: Mapping[str, Any] | None) -> tuple[datetime.datetime | None, float | None]:
    """(renewTime, leaseDurationSeconds) of a Lease; None where absent or malformed.

    A Lease holds while ``now < renewTime + leaseDurationSeconds``.
    """
    spec = (lease or {}).get("spec") or {}
    duration = spec.get("leaseDurationSeconds")
    if isinstance(duration, bool) or not isinstance(duration, int | float) or duration <= 0:
        return times.parse(spec.get("renewTime")), None
    return times.parse(spec.get("renewTime")), float(duration)
