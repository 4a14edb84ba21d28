"""``kubectl vip``: status, planned moves, history and node drain for floatip's VirtualIPs.

kubectl finds this plugin as ``kubectl-vip`` on PATH. It uses the same kubeconfig as kubectl
(``KUBECONFIG`` or ``~/.kube/config``; in a pod, the service account). ``move`` writes
``spec.node``: in a GitOps-managed cluster, make that change in Git instead, or the next sync
reverts it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, NoReturn

import click
import kubernetes
from kubernetes.client.exceptions import ApiException

from floatip.api import names
from floatip.kubectl import views


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


class Cluster:
    """The few API calls the plugin makes, with errors turned into advice."""

    def __init__(self, kubeconfig: str | None) -> None:
        try:
            if kubeconfig:
                kubernetes.config.load_kube_config(config_file=kubeconfig)
            else:
                try:
                    kubernetes.config.load_kube_config()
                except kubernetes.config.ConfigException:
                    kubernetes.config.load_incluster_config()
        except (kubernetes.config.ConfigException, OSError) as exc:
            fail(f"no usable kubeconfig ({exc}); set KUBECONFIG or pass --kubeconfig")
        self.custom = kubernetes.client.CustomObjectsApi()
        self.core = kubernetes.client.CoreV1Api()

    def call(self, what: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ApiException as exc:
            if exc.status == 404:
                fail(f"{what} not found")
            if exc.status in (401, 403):
                fail(
                    f"not allowed to {what}: ask for RBAC on {names.PLURAL}.{names.GROUP} or nodes"
                )
            fail(f"{what} failed: HTTP {exc.status} {exc.reason}: {exc.body}")
        except OSError as exc:
            fail(f"{what} failed: cannot reach the API server ({exc}); check KUBECONFIG")
        except ValueError as exc:  # the client could not read the answer into its model
            first = str(exc).splitlines()[0]
            fail(f"{what}: the API server's answer could not be read ({first}); report this")

    def vip(self, name: str) -> dict[str, Any]:
        obj: dict[str, Any] = self.call(
            f"get VirtualIP {name!r} (kubectl get vip lists them)",
            self.custom.get_cluster_custom_object,
            names.GROUP,
            names.VERSION,
            names.PLURAL,
            name,
        )
        return obj

    def vips(self) -> list[dict[str, Any]]:
        result = self.call(
            "list VirtualIPs (is the floatip CRD installed?)",
            self.custom.list_cluster_custom_object,
            names.GROUP,
            names.VERSION,
            names.PLURAL,
        )
        items: list[dict[str, Any]] = result.get("items", [])
        return items


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--kubeconfig", envvar="KUBECONFIG", default=None, help="Path to the kubeconfig.")
@click.pass_context
def cli(ctx: click.Context, kubeconfig: str | None) -> None:
    """Operate floatip's VirtualIPs: status, move, history, drain, undrain."""
    ctx.obj = kubeconfig


def _cluster(ctx: click.Context) -> Cluster:
    return Cluster(ctx.obj)


@cli.command()
@click.argument("names_", nargs=-1, metavar="[NAME]...")
@click.pass_context
def status(ctx: click.Context, names_: tuple[str, ...]) -> None:
    """VirtualIPs with holder, conditions and the last move."""
    cluster = _cluster(ctx)
    objects = [cluster.vip(n) for n in names_] if names_ else cluster.vips()
    if not objects:
        click.echo("No VirtualIPs found: create one with kubectl apply -f vip.yaml")
        return
    click.echo(views.table(views.STATUS_HEADERS, views.status_rows(objects)))


@cli.command()
@click.argument("name")
@click.argument("node")
@click.option("--wait/--no-wait", default=False, help="Wait until NODE holds it and it is Ready.")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait with --wait.")
@click.pass_context
def move(ctx: click.Context, name: str, node: str, wait: bool, timeout: float) -> None:
    """Move VirtualIP NAME to NODE: a planned, make-before-break switchover (pins spec.node)."""
    cluster = _cluster(ctx)
    cluster.vip(name)
    cluster.call(
        f"get node {node!r} (kubectl get nodes lists them)",
        cluster.core.read_node,
        node,
        _preload_content=False,  # existence is all we need: never parse a Node we do not use
    )
    cluster.call(
        f"patch VirtualIP {name!r}",
        cluster.custom.patch_cluster_custom_object,
        names.GROUP,
        names.VERSION,
        names.PLURAL,
        name,
        {"spec": {"node": node}},
    )
    click.echo(f"virtualip/{name} pinned to {node}; floatip moves it make-before-break")
    if wait:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status_ = cluster.vip(name).get("status") or {}
            ready = any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in status_.get("conditions") or ()
            )
            if status_.get("holder") == node and ready:
                click.echo(f"virtualip/{name} is held by {node} (epoch {status_.get('epoch')})")
                return
            time.sleep(0.2)
        fail(f"virtualip/{name} not Ready on {node} after {timeout:g} s: kubectl vip status {name}")


@cli.command()
@click.argument("name")
@click.pass_context
def history(ctx: click.Context, name: str) -> None:
    """The last moves of VirtualIP NAME, oldest first."""
    rows = views.history_rows(_cluster(ctx).vip(name))
    if not rows:
        click.echo(f"virtualip/{name} has not moved yet")
        return
    click.echo(views.table(views.HISTORY_HEADERS, rows))


def _set_drain(ctx: click.Context, node: str, drained: bool) -> None:
    cluster = _cluster(ctx)
    value = "true" if drained else None
    cluster.call(
        f"label node {node!r} (kubectl get nodes lists them)",
        cluster.core.patch_node,
        node,
        {"metadata": {"labels": {names.DRAIN_LABEL: value}}},
        _preload_content=False,  # the answer is not used: never parse it into a typed Node
    )
    verb = "drained: its VirtualIPs move away" if drained else "undrained: it may hold VirtualIPs"
    click.echo(f"node/{node} {verb}")


@cli.command()
@click.argument("node")
@click.pass_context
def drain(ctx: click.Context, node: str) -> None:
    """Move every VirtualIP off NODE (planned) and keep new ones away (label floatip.io/drain)."""
    _set_drain(ctx, node, True)


@cli.command()
@click.argument("node")
@click.pass_context
def undrain(ctx: click.Context, node: str) -> None:
    """Let NODE hold VirtualIPs again."""
    _set_drain(ctx, node, False)


def main() -> None:
    cli(prog_name="kubectl vip")
