"""``floatip-control-plane-agent``: keeps kube-apiserver's endpoint VIP without the API.

    floatip-control-plane-agent --address VIP/PFX [--interface IF] [--port 6443]
        [--profile default|fast] [--node NAME] [--cluster-id ID] [--heartbeat-port 9731]
        [--peer ADDR ...] [--key-file PATH] [--listen 0.0.0.0:9732] [--kubeconfig PATH]
        [--log-level info]

Runs on every control-plane node as a static Pod or a systemd unit (``floatip control-plane
manifest|unit`` prints them), on the host network with NET_ADMIN and NET_RAW. It needs no
kubeconfig: the election is over the LAN (docs/control-plane.md).

**SIGTERM and SIGINT remove the VIP only when a healthy live peer can take it** (the peer
claims first, make-before-break); otherwise the VIP stays, since a restart of this program
(an upgrade of the static Pod) must not take the apiserver's endpoint away. The restarted
agent finds its address (``proto 98``) and adopts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import pathlib
import signal
import socket

import click
import prometheus_client
import structlog

from floatip import logs
from floatip_agent import addressing, healthserver, kernel_addresses, links
from floatip_agent import settings as agent_settings
from floatip_agent.controlplane import beacon, metrics, node, settings, vipaddress

log = structlog.get_logger(__name__)

#: kubeadm's cluster-admin kubeconfigs: never the agent's (forbidden at bootstrap since 1.29).
FORBIDDEN_KUBECONFIGS = frozenset({"admin.conf", "super-admin.conf"})


async def serve(config: settings.Config) -> None:
    """Hold the VIP with the peers until SIGTERM/SIGINT."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    counters = metrics.Metrics()
    family = socket.AF_INET if config.address.version == 4 else socket.AF_INET6
    async with kernel_addresses.open_netlink() as ipr:
        try:
            vip = await vipaddress.VipAddress.place(
                ipr, address=config.address, ifname=config.ifname
            )
        except addressing.AddressingError as exc:
            raise SystemExit(f"floatip-control-plane-agent: {exc} (see --interface)") from None
        seen: asyncio.Queue[links.Seen] = asyncio.Queue()
        link = links.Link(ifname=vip.ifname, seen=seen, on_lost=asyncio.Queue())
        sock = beacon.Beacon(
            ifname=vip.ifname, port=config.heartbeat_port, family=family, peers=config.peers
        )
        the_node = node.ControlPlaneNode(
            config, vip=vip, link=link, seen=seen, sock=sock, counters=counters
        )
        http = _http(the_node, counters)
        http.server = await asyncio.start_server(
            http.serve, config.listen_host, config.listen_port, reuse_address=True
        )
        await the_node.start()
        log.info("control-plane-agent-started", node=config.node, address=str(config.address),
                 interface=vip.ifname, cluster=config.cluster_id, mac=link.mac,
                 peers=list(config.peers) or "broadcast",
                 listen=f"{config.listen_host}:{config.listen_port}")  # fmt: skip
        running = asyncio.create_task(the_node.run(), name="control-plane")
        reporting = _publisher(config, the_node)
        stopper = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({running, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if running.done():
                running.result()  # a loop failed: raise it
            let_go = await the_node.leave()
        finally:
            running.cancel()
            stopper.cancel()
            if reporting is not None:
                reporting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reporting
            with contextlib.suppress(asyncio.CancelledError):
                await running
            await http.cleanup()
            await link.close()
            sock.close()
    log.info("control-plane-agent-exiting", vip="handed over" if let_go else "kept")


def _publisher(
    config: settings.Config, the_node: node.ControlPlaneNode
) -> asyncio.Task[None] | None:
    """The status report's task, if ``--kubeconfig`` asks for one (its failures are logged,
    never raised: the VIP does not depend on the API)."""
    if config.kubeconfig is None:
        return None
    from floatip_agent.controlplane import publishing  # the API client: only when asked for

    try:
        publisher = publishing.Publisher.from_kubeconfig(config.kubeconfig, state=the_node.state)
    except (OSError, ValueError, publishing.SetupError) as exc:  # hold the VIP anyway
        log.error("status-disabled", kubeconfig=config.kubeconfig, error=str(exc),
                  detail="fix the kubeconfig; the VIP is held without it")  # fmt: skip
        return None
    the_node.notify = publisher.wake.set
    return asyncio.create_task(publisher.run(), name="status")


def _http(the_node: node.ControlPlaneNode, counters: metrics.Metrics) -> healthserver.Server:
    def healthz() -> healthserver.Answer:
        return healthserver.Answer(200, healthserver.TEXT, b"ok\n")

    def state() -> healthserver.Answer:
        body = json.dumps(the_node.state(), indent=1).encode() + b"\n"
        return healthserver.Answer(200, healthserver.JSON, body)

    def metrics_() -> healthserver.Answer:
        body = prometheus_client.generate_latest(counters.registry)
        return healthserver.Answer(200, prometheus_client.CONTENT_TYPE_LATEST, body)

    return healthserver.Server({"/healthz": healthz, "/state": state, "/metrics": metrics_})


def _address(value: str) -> addressing.IPAddress:
    try:
        return ipaddress.ip_interface(value).ip
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an address with a prefix (e.g. 192.0.2.10/24)",
            param_hint="--address",
        ) from None


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--address", required=True, help="The control-plane VIP, VIP/PREFIX.")
@click.option(
    "--interface", default=None, help="Its interface (default: the one whose subnet holds it)."
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=6443,
    show_default=True,
    help="The local apiserver's port: health is GET https://127.0.0.1:PORT/readyz.",
)
@click.option("--health-path", default="/readyz", show_default=True)
@click.option(
    "--ca-file",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="Verify the apiserver's certificate against this CA (default: loopback, no verification).",
)
@click.option(
    "--profile",
    type=click.Choice(sorted(settings.PROFILES)),
    default="default",
    show_default=True,
    help="Timing preset (docs/control-plane.md).",
)
@click.option(
    "--node", default=None, help="This node's name (default: $NODE_NAME, else the hostname)."
)
@click.option("--cluster-id", default=None, help="Cluster identity (default: VIP:PORT).")
@click.option("--heartbeat-port", type=click.IntRange(1, 65535), default=9731, show_default=True)
@click.option(
    "--peer",
    "peers",
    multiple=True,
    help="A peer's address for unicast heartbeats (repeat; default: broadcast).",
)
@click.option(
    "--key-file",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="HMAC key for the heartbeats (the same file on every node).",
)
@click.option(
    "--listen",
    default="0.0.0.0:9732",
    show_default=True,
    help="HTTP HOST:PORT for /healthz, /metrics and /state.",
)
@click.option(
    "--kubeconfig",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="This agent's own credentials to publish its status once the API is up "
    "(never admin.conf; default: publish nothing).",
)
@click.option("--log-level", default="info", show_default=True)
@click.option("--log-format", type=click.Choice(["json", "console"]), default=None)
def cli(  # noqa: PLR0917 - one parameter per click option
    address: str, interface: str | None, port: int, health_path: str, ca_file: str | None,
    profile: str, node: str | None, cluster_id: str | None, heartbeat_port: int,
    peers: tuple[str, ...], key_file: str | None, listen: str, kubeconfig: str | None,
    log_level: str,
    log_format: logs.Format | None,
) -> None:  # fmt: skip
    """Hold kube-apiserver's endpoint VIP on one healthy control-plane node, without the API."""
    vip = _address(address)
    name = node or os.environ.get("NODE_NAME") or socket.gethostname()
    try:
        host, listen_port = agent_settings.parse_listen(listen)
        cluster = settings.check_cluster_id(cluster_id or settings.default_cluster_id(vip, port))
        for peer in peers:
            ipaddress.ip_address(peer)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if kubeconfig is not None and pathlib.Path(kubeconfig).name in FORBIDDEN_KUBECONFIGS:
        raise click.BadParameter(
            f"{kubeconfig} is a cluster-admin credential; give the agent its own, limited to "
            "its status Lease (docs/control-plane.md, Status)", param_hint="--kubeconfig",
        )  # fmt: skip
    key = None
    if key_file is not None:
        key = pathlib.Path(key_file).read_bytes().strip()
        if not key:
            raise click.BadParameter(f"{key_file} is empty", param_hint="--key-file")
    logs.configure(level=log_level, fmt=log_format, process=f"control-plane/{name}")
    logging.getLogger("pyroute2").setLevel(max(logging.INFO, logging.getLogger().level))
    config = settings.Config(
        node=name, address=vip, ifname=interface, cluster_id=cluster,
        profile=settings.PROFILES[profile], port=port, health_path=health_path, ca_file=ca_file,
        heartbeat_port=heartbeat_port, peers=peers, key=key, listen_host=host,
        listen_port=listen_port, kubeconfig=kubeconfig,
    )  # fmt: skip
    asyncio.run(serve(config))


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
