"""``floatip control-plane manifest|unit``: run the control-plane VIP agent on a node.

Both print to stdout what to put on every control-plane node before ``kubeadm init`` (and
before ``kubeadm join --control-plane``): a static Pod for /etc/kubernetes/manifests, or a
systemd unit. Rendering is `floatip.cli.cpmanifests`'.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from typing import Any

import click

from floatip.cli import cpmanifests


def _default_image() -> str:
    try:
        version = metadata.version("floatip")
    except metadata.PackageNotFoundError:
        version = "latest"
    return f"{cpmanifests.IMAGE_REPOSITORY}:{version}"


def _choices(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options both commands share: the agent's own."""
    options = [
        click.option("--address", required=True, help="The control-plane VIP, VIP/PREFIX."),
        click.option("--interface", default=None, help="Its interface (default: by subnet)."),
        click.option(
            "--port",
            type=click.IntRange(1, 65535),
            default=6443,
            show_default=True,
            help="The local apiserver's port (its /readyz is the health).",
        ),
        click.option(
            "--profile",
            type=click.Choice(cpmanifests.PROFILES),
            default="default",
            show_default=True,
        ),
        click.option("--cluster-id", default=None, help="Cluster identity (default: VIP:PORT)."),
        click.option(
            "--peer",
            "peers",
            multiple=True,
            help="Unicast heartbeat peer (repeat; default: broadcast).",
        ),
        click.option(
            "--kubeconfig",
            default=None,
            help="The agent's own kubeconfig for its status report, e.g. "
            "/etc/kubernetes/floatip-control-plane.conf (never admin.conf).",
        ),
        click.option(
            "--key-file",
            default=None,
            help=f"Heartbeat HMAC key on the node, e.g. {cpmanifests.KEY_DIR}/heartbeat.key.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _checked(**kwargs: Any) -> cpmanifests.Choices:
    try:
        return cpmanifests.check(cpmanifests.Choices(**kwargs))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


@click.group("control-plane")
def control_plane_command() -> None:
    """The control-plane VIP (kube-apiserver's endpoint), held without the Kubernetes API."""


@control_plane_command.command("manifest")
@_choices
@click.option("--image", default=None, help="Image (default: the chart's, this version).")
def manifest_command(image: str | None, **kwargs: Any) -> None:
    """Print the static Pod for /etc/kubernetes/manifests (docs/control-plane.md)."""
    click.echo(
        cpmanifests.render_pod(_checked(**kwargs), image=image or _default_image()), nl=False
    )


@control_plane_command.command("unit")
@_choices
@click.option("--binary", default="/usr/local/bin/" + cpmanifests.COMMAND, show_default=True,
              help="Where floatip-control-plane-agent is installed on the node.")  # fmt: skip
def unit_command(binary: str, **kwargs: Any) -> None:
    """Print the systemd unit (docs/control-plane.md)."""
    click.echo(cpmanifests.render_unit(_checked(**kwargs), binary=binary), nl=False)


@control_plane_command.command("rbac")
def rbac_command() -> None:
    """Print the status Lease and the Role that lets the agents write it (and nothing else)."""
    click.echo(cpmanifests.render_status_objects(), nl=False)
