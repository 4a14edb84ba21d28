"""``floatip-operator``: run the operator (kopf) with floatip's options.

    floatip-operator [--kubeconfig FILE] [--namespace floatip] [--profile default|fast]
                     [--metrics-port 9721] [--id NAME] [--leader-lease-seconds 6]
                     [--delete-timeout-seconds 30] [--log-level info] [--log-format json]
                     [--services-default-class | --no-services-default-class]

Without ``--kubeconfig`` it uses $KUBECONFIG, ~/.kube/config, or the in-cluster ServiceAccount
(kopf's and floatip's clients load credentials the same way). Run several replicas: one leads
(Lease ``floatip-operator`` in ``--namespace``), the others stand by with warm caches.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence

import click
import kopf

from floatip import logs
from floatip_operator import handlers, liveness, options


@click.command("floatip-operator")
@click.option("--kubeconfig", type=click.Path(dir_okay=False), default=None)
@click.option("--namespace", default="floatip", show_default=True, help="Leases live here.")
@click.option(
    "--profile",
    type=click.Choice(sorted(liveness.PROFILES)),
    default="default",
    show_default=True,
    help="Agent polling: default (about 0.75 s to judge an agent dead) or fast (about 0.3 s).",
)
@click.option("--metrics-port", type=int, default=9721, show_default=True, help="0: off.")
@click.option("--metrics-host", default="0.0.0.0", show_default=True)
@click.option(
    "--health-port",
    type=int,
    default=0,
    show_default=True,
    help="kopf's liveness endpoint http://0.0.0.0:PORT/healthz for probes (0: off).",
)
@click.option("--id", "identity", default=None, help="Replica identity (default host-pid).")
@click.option(
    "--leader-lease-seconds",
    type=click.IntRange(2, 300),
    default=12,
    show_default=True,
    help="Renewed every third: 0.25 writes/s for the whole cluster (docs/tuning.md).",
)
@click.option("--delete-timeout-seconds", type=float, default=30.0, show_default=True)
@click.option(
    "--services-default-class/--no-services-default-class",
    default=True,
    show_default=True,
    help=(
        "Serve LoadBalancer Services without a loadBalancerClass too (as well as those of "
        "class floatip.io/l2); turn off when another load-balancer implementation serves them."
    ),
)
@click.option("--log-level", default="info", show_default=True)
@click.option("--log-format", type=click.Choice(["json", "console"]), default=None)
def command(
    *,
    kubeconfig: str | None,
    namespace: str,
    profile: str,
    metrics_port: int,
    metrics_host: str,
    health_port: int,
    identity: str | None,
    leader_lease_seconds: int,
    delete_timeout_seconds: float,
    services_default_class: bool,
    log_level: str,
    log_format: logs.Format | None,
) -> None:
    """Give every VirtualIP exactly one healthy holder."""
    logs.configure(level=log_level, fmt=log_format, process="operator")
    opts = options.Options(
        namespace=namespace,
        kubeconfig=kubeconfig,
        identity=identity or f"{socket.gethostname()}-{os.getpid()}",
        profile=profile,
        metrics_port=metrics_port,
        metrics_host=metrics_host,
        leader_lease_seconds=leader_lease_seconds,
        delete_timeout_seconds=delete_timeout_seconds,
        services_default_class=services_default_class,
    )
    _ = handlers  # registers the handlers with kopf's default registry
    kopf.run(
        standalone=True,
        clusterwide=True,
        memo=kopf.Memo(options=opts),
        liveness_endpoint=f"http://0.0.0.0:{health_port}/healthz" if health_port else None,
    )


def main(argv: Sequence[str] | None = None) -> None:
    command.main(args=list(argv) if argv is not None else None, prog_name="floatip-operator")
