"""``floatip apiserver``: run the test/lab API server until SIGTERM (a lab tool, not a product)."""

from __future__ import annotations

import asyncio
import pathlib
import shutil
import signal

import click

from floatip_apiserver import runtime


async def _run(
    *,
    host: str,
    port: int,
    kubeconfig: pathlib.Path,
    crds: pathlib.Path,
    tls: bool,
    latency: float,
    history: int,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with runtime.serve(crds=crds, host=host, port=port, tls=tls, history=history) as server:
        server.set_latency(latency)
        shutil.copyfile(server.kubeconfig, kubeconfig)
        kubeconfig.chmod(0o600)  # noqa: ASYNC240 (once, at start-up)
        # Fault controls from outside: SIGUSR1 drops every watch, SIGUSR2 restarts the listener.
        loop.add_signal_handler(signal.SIGUSR1, server.drop_watches)
        loop.add_signal_handler(signal.SIGUSR2, lambda: loop.create_task(server.restart()))
        click.echo(f"serving {server.url}; kubeconfig {kubeconfig}", err=True)
        await stop.wait()


@click.command("apiserver")
@click.option("--port", type=int, default=0, show_default=True, help="0 picks a free port.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False, path_type=pathlib.Path),
    required=True,
    help="Where to write the admin kubeconfig.",
)
@click.option(
    "--crds",
    type=click.Path(file_okay=False, path_type=pathlib.Path),
    default=None,
    help="Directory of CustomResourceDefinition YAML files to serve [default: floatip's crds/].",
)
@click.option("--insecure-http", is_flag=True, help="Serve plain HTTP instead of HTTPS.")
@click.option("--latency", type=float, default=0.0, help="Seconds added to every request.")
@click.option(
    "--history",
    type=int,
    default=10_000,
    show_default=True,
    help="Watch events kept; older resourceVersions get 410 Gone.",
)
def apiserver(  # noqa: PLR0917
    port: int,
    host: str,
    kubeconfig: pathlib.Path,
    crds: pathlib.Path | None,
    insecure_http: bool,
    latency: float,
    history: int,
) -> None:
    """Run floatip's Kubernetes API server for the lab and tests until SIGTERM.

    Faults while running: SIGUSR1 drops every watch; SIGUSR2 restarts the listener (state kept).
    """
    asyncio.run(
        _run(
            host=host,
            port=port,
            kubeconfig=kubeconfig,
            crds=crds if crds is not None else runtime.default_crds_dir(),
            tls=not insecure_http,
            latency=latency,
            history=history,
        )
    )
