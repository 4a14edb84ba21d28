"""``kubectl vip``: status, planned moves, history and node drain for floatip's VirtualIPs.

kubectl finds this plugin as ``kubectl-vip`` on PATH. It uses the same kubeconfig as kubectl
(``KUBECONFIG`` or ``~/.kube/config``; in a pod, the service account). ``move`` writes
``spec.node``: in a GitOps-managed cluster, make that change in Git instead, or the next sync
reverts it.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn, TypeVar

import click

from floatip.api import controlplane, model, names, times
from floatip.api import status as vip_status
from floatip.kube import client, config, paths
from floatip.kubectl import views

T = TypeVar("T")


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


class Cluster:
    """The few API calls the plugin makes (floatip's own client), errors turned into advice."""

    def __init__(self, kubeconfig: str | None) -> None:
        try:
            endpoint = config.load_endpoint(kubeconfig=kubeconfig, in_cluster_first=False)
        except config.ConfigError as exc:
            fail(str(exc))
        self.endpoint = endpoint

    def call(self, what: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One request; an error ends the command with a line that says what to do."""
        return self._run(what, lambda api: api.request(method, path, **kwargs))

    def _run(
        self, what: str, call: Callable[[client.Api], Coroutine[Any, Any, T]]
    ) -> T:  # fmt: skip
        async def once() -> T:
            api = client.Api(self.endpoint)
            try:
                return await call(api)
            finally:
                await api.close()

        try:
            return asyncio.run(once())
        except client.ApiError as exc:
            if exc.not_found:
                fail(f"{what} not found")
            if exc.code in (401, 403):
                fail(
                    f"not allowed to {what}: ask for RBAC on {names.PLURAL}.{names.GROUP} or nodes"
                )
            if not exc.code:
                fail(f"{what} failed: cannot reach the API server ({exc}); check KUBECONFIG")
            fail(f"{what} failed: {exc}")

    def vip(self, name: str) -> dict[str, Any]:
        return self.call(
            f"get VirtualIP {name!r} (kubectl get vip lists them)", "GET", paths.virtualip(name)
        )

    def control_plane(self) -> dict[str, Any] | None:
        """The control-plane VIP's report (floatip.api.controlplane), or None: not published,
        not allowed or not reachable. Never an error: it is an extra line, not the answer."""
        path = f"/apis/coordination.k8s.io/v1/namespaces/{controlplane.NAMESPACE}/leases"

        async def once() -> dict[str, Any]:
            api = client.Api(self.endpoint)
            try:
                return await api.request("GET", f"{path}/{controlplane.LEASE}")
            finally:
                await api.close()

        try:
            return asyncio.run(once())
        except client.ApiError:
            return None

    def vips(self) -> list[dict[str, Any]]:
        listed = self.call(
            "list VirtualIPs (is the floatip CRD installed?)", "GET", paths.VIRTUALIPS
        )
        return [item for item in listed.get("items") or [] if isinstance(item, dict)]


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
    """VirtualIPs with holder, conditions and the last move (and, above them, where the
    control-plane VIP is, when its holder publishes it: docs/control-plane.md)."""
    cluster = _cluster(ctx)
    objects = [cluster.vip(n) for n in names_] if names_ else cluster.vips()
    report = None if names_ else cluster.control_plane()
    if report is not None:
        click.echo(controlplane.describe(report, now=times.now()))
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
    cluster.call(f"get node {node!r} (kubectl get nodes lists them)", "GET", paths.node(node))
    cluster.call(
        f"patch VirtualIP {name!r}",
        "PATCH",
        paths.virtualip(name),
        body={"spec": {"node": node}},
        content_type=client.MERGE_PATCH,
    )
    click.echo(f"virtualip/{name} pinned to {node}; floatip moves it make-before-break")
    if wait:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = vip_status.of(cluster.vip(name))
            if vip_status.holder(current) == node and vip_status.is_true(
                current, model.ConditionType.READY
            ):
                click.echo(
                    f"virtualip/{name} is held by {node} (epoch {vip_status.epoch(current)})"
                )
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
        "PATCH",
        paths.node(node),
        body={"metadata": {"labels": {names.DRAIN_LABEL: value}}},
        content_type=client.MERGE_PATCH,
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
