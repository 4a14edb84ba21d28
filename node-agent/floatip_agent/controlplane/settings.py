"""The control-plane agent's settings: timing presets (``--profile``), identity (pure).

The defaults aim at the issue's targets: a dead or frozen holder replaced in well under 1 s
(``dead_after`` + one probe window), an apiserver that stops answering demoted after ``fall``
checks, and a bootstrap claim ``rise`` checks after ``/readyz`` first answers 200.
"""

from __future__ import annotations

import ipaddress
from typing import NamedTuple

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: The longest cluster id a heartbeat carries (one length byte, kept short for the wire).
MAX_CLUSTER_ID = 64


class Profile(NamedTuple):
    """How often the nodes speak and check, and how long silence or failure is tolerated."""

    beat_seconds: float  # heartbeat interval
    dead_after_seconds: float  # a peer silent this long is gone (3-4 beats)
    check_seconds: float  # /readyz every this often
    check_timeout_seconds: float
    rise: int  # passed checks in a row to become healthy
    fall: int  # failed checks in a row to become unhealthy
    probe_count: int  # RFC 5227-style ARP probes (or DAD solicitations) before a claim
    probe_window_seconds: float  # then listen this long for an answer
    claim_backoff_seconds: float  # after a failed claim (a foreign answer), wait this long
    #: Taking over from a live holder whose apiserver failed needs this node healthy this long
    #: (a store coming back: the holder recovers too, nothing moves; election "Confirm").
    takeover_after_healthy_seconds: float


PROFILES: dict[str, Profile] = {
    "default": Profile(
        beat_seconds=0.1, dead_after_seconds=0.35, check_seconds=0.1,
        check_timeout_seconds=0.5, rise=2, fall=3, probe_count=2, probe_window_seconds=0.05,
        claim_backoff_seconds=2.0, takeover_after_healthy_seconds=1.0,
    ),
    "fast": Profile(
        beat_seconds=0.05, dead_after_seconds=0.2, check_seconds=0.05,
        check_timeout_seconds=0.25, rise=1, fall=2, probe_count=1, probe_window_seconds=0.03,
        claim_backoff_seconds=1.0, takeover_after_healthy_seconds=0.5,
    ),
}  # fmt: skip


class Config(NamedTuple):
    """Everything the agent is told at start (`floatip_agent.controlplane.main`)."""

    node: str
    address: IPAddress
    ifname: str | None
    cluster_id: str
    profile: Profile
    port: int = 6443
    health_path: str = "/readyz"
    ca_file: str | None = None
    heartbeat_port: int = 9731
    peers: tuple[str, ...] = ()
    key: bytes | None = None
    listen_host: str = "0.0.0.0"
    listen_port: int = 9732
    #: The agent's own credentials for its status report (None: no report).
    kubeconfig: str | None = None
    #: On SIGTERM with a healthy peer, wait this long for it to hold before removing the VIP.
    leave_timeout_seconds: float = 2.0
    #: While holding, the VIP is looked for in the kernel this often (re-added if gone).
    verify_seconds: float = 1.0


def default_cluster_id(address: IPAddress, port: int) -> str:
    """``VIP:PORT``: two clusters with different control-plane endpoints never share it."""
    host = f"[{address}]" if address.version == 6 else str(address)
    return f"{host}:{port}"


def check_cluster_id(value: str) -> str:
    """`value` if it fits a heartbeat (1-64 printable ASCII characters); else ValueError."""
    if not value or len(value) > MAX_CLUSTER_ID or not value.isascii() or not value.isprintable():
        raise ValueError(
            f"cluster id {value!r} must be 1-{MAX_CLUSTER_ID} printable ASCII characters"
        )
    return value
