"""The lab's API server process: floatip's test API server on the management network.

Run inside the lab's ``api`` namespace (``python -m floatip_lab.apiserving --host IP ...``).
It differs from ``floatip apiserver`` in what the lab needs:

- its certificate also names 127.0.0.1, because this machine's own tools reach it through
  the relay on 127.0.0.1 (`floatip_lab.relay`) while lab processes use the management IP;
- it can go down and up again with its state kept, as an outage does: SIGRTMIN closes the
  listener (new connections are refused, watches drop), SIGRTMIN+1 listens again. As with
  ``floatip apiserver``, SIGUSR1 drops every watch and SIGUSR2 restarts the listener.

It writes the admin kubeconfig (management URL) to ``--kubeconfig`` once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import pathlib
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Sequence

#: signal numbers other lab commands send (real-time signals have no `signal.Signals` member)
DOWN_SIGNAL: int = signal.SIGRTMIN
UP_SIGNAL: int = signal.SIGRTMIN + 1


async def serve(
    *,
    host: str,
    port: int,
    crds: pathlib.Path | None,
    target: pathlib.Path,
    accounts: Sequence[str],
) -> None:
    """Serve until SIGTERM/SIGINT, handling the fault signals above."""
    # Imported here: `floatip lab fault` imports this module for the signal numbers only.
    from floatip_apiserver import certs, kubeconfig, runtime
    from floatip_apiserver.server import ApiServer

    api = ApiServer(history=10_000, bookmark_interval=5.0)
    runtime.seed(api, runtime.load_crds(crds or runtime.default_crds_dir()))
    with tempfile.TemporaryDirectory(prefix="floatip-lab-apiserver-") as workdir:
        server = runtime.RunningServer(api, pathlib.Path(workdir), host, port, tls=True)
        server.credentials = certs.generate((host, "127.0.0.1", "localhost"))
        api.address = f"{host}:{port}"
        await server.start()
        config = kubeconfig.build(server.url, server.admin_token, "floatip-admin", server.ca_pem)
        # The operator and the agents authenticate as the chart's ServiceAccounts, so the RBAC
        # rules the lab seeds (floatip_lab.rbac) decide what they may do.
        for account in accounts:
            namespace, _, name = account.partition("/")
            server.kubeconfig_for_service_account_at(
                namespace, name, target.with_name(f"{target.name}.{name}")
            )
        # Written whole under another name, then renamed: `lab up` reads it once it exists.
        partial = kubeconfig.write(target.with_name(f"{target.name}.tmp"), config)
        partial.replace(target)
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGUSR1, server.drop_watches)
        loop.add_signal_handler(signal.SIGUSR2, lambda: loop.create_task(server.restart()))
        loop.add_signal_handler(DOWN_SIGNAL, lambda: loop.create_task(_say(server.down(), "down")))
        loop.add_signal_handler(UP_SIGNAL, lambda: loop.create_task(_say(server.up(), "up")))
        print(f"lab apiserver: serving {server.url}; kubeconfig {target}", flush=True)
        try:
            await stop.wait()
        finally:
            await server.stop()


async def _say(action: Awaitable[None], what: str) -> None:
    """Run a fault's action, saying when it began and ended (a wait that gives up shows them)."""
    began = time.monotonic()
    print(f"lab apiserver: going {what} at {time.time():.3f}", flush=True)
    await action
    print(f"lab apiserver: {what} ({time.monotonic() - began:.3f} s)", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``--host IP --port N [--crds DIR] --kubeconfig PATH``, plus accounts."""
    parser = argparse.ArgumentParser(prog="python -m floatip_lab.apiserving")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, default=6443)
    parser.add_argument("--crds", type=pathlib.Path, default=None, help="default: floatip's crds/")
    parser.add_argument("--kubeconfig", type=pathlib.Path, required=True)
    parser.add_argument(
        "--service-account",
        action="append",
        default=[],
        metavar="NAMESPACE/NAME",
        help="also write KUBECONFIG.NAME authenticating as this ServiceAccount",
    )
    args = parser.parse_args(argv)
    asyncio.run(
        serve(
            host=args.host,
            port=args.port,
            crds=args.crds,
            target=args.kubeconfig,
            accounts=args.service_account,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
