"""The agent's settings, from its command line (`floatip_agent.main`) or a test."""

from __future__ import annotations

from typing import NamedTuple


class Settings(NamedTuple):
    """Everything the agent is told at start; defaults are the Helm chart's."""

    node: str
    namespace: str = "floatip"
    kubeconfig: str | None = None
    listen_host: str = "0.0.0.0"
    listen_port: int = 9720
    advertise_address: str | None = None
    lease_renew_seconds: float = 15.0
    unsure_after_seconds: float = 2.0
    handover_timeout_seconds: float = 10.0
    #: After a planned take, TCP segments of connections opened on the previous holder go
    #: there for this long (`handoff`); 0 turns the flow handoff off.
    flow_handoff_seconds: float = 2.0
    restart_grace_seconds: float = 30.0
    ping_interval_seconds: float = 1.0
    node_refresh_seconds: float = 10.0
    retry_seconds: float = 2.0
    probe_retry_seconds: float = 10.0
    #: RFC 5227-style probe before taking an address: probes sent, then how long to listen.
    #: A LAN answers ARP within a millisecond; the window only has to outlast a busy host.
    probe_count: int = 2
    probe_window_seconds: float = 0.05
    #: Ownership verified while holding (`verifying`): each held address probed this often,
    #: within a per-node budget of probes a second (more held addresses: a longer period).
    verify_interval_seconds: float = 1.0
    verify_budget_per_second: float = 100.0


class Profile(NamedTuple):
    """Timing presets matching the operator's ``--profile`` (docs/tuning.md)."""

    unsure_after_seconds: float
    probe_count: int
    probe_window_seconds: float
    verify_interval_seconds: float


PROFILES = {
    "default": Profile(
        unsure_after_seconds=2.0, probe_count=2, probe_window_seconds=0.05,
        verify_interval_seconds=1.0,
    ),
    "fast": Profile(
        unsure_after_seconds=1.0, probe_count=1, probe_window_seconds=0.03,
        verify_interval_seconds=0.5,
    ),
}  # fmt: skip


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[V6]:PORT`` or ``:PORT`` (all addresses) into (host, port)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--listen {value!r} is not HOST:PORT (e.g. 0.0.0.0:9720 or :9720)")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)
