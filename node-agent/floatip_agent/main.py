"""``floatip-agent``: the node agent process.

    floatip-agent --node NAME [--kubeconfig PATH] [--namespace floatip] [--listen 0.0.0.0:9720]
                  [--lease-renew-seconds 15] [--unsure-after-seconds 2] [--log-level info]

In a cluster it runs as a DaemonSet on the host network: ``--node`` defaults to $NODE_NAME
(the downward API) and the API client to the in-cluster config.

**SIGTERM and SIGINT leave every address in place.** The agent stops its loops, closes its
sockets, marks its Lease ``floatip.io/restarting-until`` (now + ``--restart-grace-seconds``,
so the operator does not take the silence of a rolling update for a crash) and exits 0, but
removes nothing: a rolling update of the DaemonSet must not drop a VIP (protocol.md), and the
restarted agent adopts its addresses again (`decisions.restart_plan`) and clears the mark.
To take the addresses off a node, drain it (label ``floatip.io/drain``) and wait for the
VirtualIPs to move before stopping the agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import click
import structlog

from floatip import logs
from floatip_agent import agent, healththread, settings

log = structlog.get_logger(__name__)


async def serve(config: settings.Settings) -> None:
    """Run the agent and its health server until SIGTERM/SIGINT; leave the addresses."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    the_agent = agent.Agent(config)
    health = healththread.Health(healthz=the_agent.healthz, registry=the_agent.counters.registry)
    await health.start(host=config.listen_host, port=config.listen_port)
    log.info("agent-started", node=config.node, listen=f"{config.listen_host}:{config.listen_port}")
    main = asyncio.create_task(the_agent.run(), name="agent")
    beat = asyncio.create_task(health.beat(), name="health-beat")
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({main, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        main.cancel()
        beat.cancel()
        stopper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await main
        await health.stop()
        if stop.is_set() and config.restart_grace_seconds > 0:
            await the_agent.announce_restart(config.restart_grace_seconds)
    log.info("agent-exiting", signal="SIGTERM/SIGINT", addresses="kept")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--node", envvar="NODE_NAME", required=True, help="This node's name ($NODE_NAME).")
@click.option("--namespace", default="floatip", show_default=True, help="Namespace of the Leases.")
@click.option("--kubeconfig", default=None, help="Kubeconfig file (default: in-cluster config).")
@click.option(
    "--listen", default="0.0.0.0:9720", show_default=True, help="Health server HOST:PORT."
)
@click.option("--advertise-address", default=None, help="Address in floatip.io/endpoint.")
@click.option(
    "--lease-renew-seconds",
    type=float,
    default=15.0,
    show_default=True,
    help="API cost: one write per renewal (0.067/s per node at 15 s; docs/tuning.md).",
)
@click.option(
    "--profile",
    type=click.Choice(sorted(settings.PROFILES)),
    default="default",
    show_default=True,
    help="Timing preset matching the operator's: default, or fast (docs/tuning.md).",
)
@click.option(
    "--unsure-after-seconds", type=float, default=None, help="Overrides the profile's (2 s / 1 s)."
)
@click.option("--handover-timeout-seconds", type=float, default=10.0, show_default=True)
@click.option(
    "--flow-handoff-seconds",
    type=float,
    default=2.0,
    show_default=True,
    help="After a planned take, send connections opened on the previous holder there "
    "for this long (nftables; 0: off).",
)
@click.option(
    "--restart-grace-seconds",
    type=float,
    default=30.0,
    show_default=True,
    help="On SIGTERM, ask the operator not to fail over for this long (0: do not ask).",
)
@click.option("--log-level", default="info", show_default=True)
@click.option("--log-format", type=click.Choice(["json", "console"]), default=None)
def cli(  # noqa: PLR0917 - one parameter per click option
    node: str,
    namespace: str,
    kubeconfig: str | None,
    listen: str,
    advertise_address: str | None,
    lease_renew_seconds: float,
    profile: str,
    unsure_after_seconds: float | None,
    handover_timeout_seconds: float,
    flow_handoff_seconds: float,
    restart_grace_seconds: float,
    log_level: str,
    log_format: logs.Format | None,
) -> None:
    """floatip's node agent: holds and announces the VirtualIPs assigned to this node."""
    try:
        host, port = settings.parse_listen(listen)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--listen") from None
    logs.configure(level=log_level, fmt=log_format, process=f"agent/{node}")
    for chatty in ("pyroute2", "urllib3", "kubernetes"):  # their debug logs drown ours
        logging.getLogger(chatty).setLevel(max(logging.INFO, logging.getLogger().level))
    preset = settings.PROFILES[profile]
    config = settings.Settings(
        node=node, namespace=namespace, kubeconfig=kubeconfig, listen_host=host,
        listen_port=port, advertise_address=advertise_address,
        lease_renew_seconds=lease_renew_seconds,
        unsure_after_seconds=(
            preset.unsure_after_seconds if unsure_after_seconds is None else unsure_after_seconds
        ),
        handover_timeout_seconds=handover_timeout_seconds,
        flow_handoff_seconds=flow_handoff_seconds,
        restart_grace_seconds=restart_grace_seconds,
        probe_count=preset.probe_count, probe_window_seconds=preset.probe_window_seconds,
        verify_interval_seconds=preset.verify_interval_seconds,
    )  # fmt: skip
    asyncio.run(serve(config))


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
