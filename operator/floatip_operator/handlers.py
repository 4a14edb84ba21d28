"""kopf handlers: thin; each calls a ``handle_<verb>_<thing>`` function.

kopf gives the operator its login (kubeconfig or in-cluster), its run loop, signal handling and
startup and cleanup. It watches no resource: the finalizer and the wait for the release are
`finalizing`'s, on the informer the reconciler keeps (kopf's own watch of every VirtualIP
cost more memory than the rest of the operator at 10,000 of them), and the reconcile loop is
the only status writer (protocol.md).
"""

from __future__ import annotations

from typing import Any

import kopf

from floatip import logs
from floatip.kube import client, config
from floatip_operator import options, runtime

log = logs.get(__name__)


def configure(settings: kopf.OperatorSettings) -> None:
    """No kopf Events (floatip posts its own)."""
    settings.posting.enabled = False


@kopf.on.login()
def login(memo: kopf.Memo, **_: Any) -> kopf.ConnectionInfo:
    return handle_login(memo=memo)


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    await handle_start_operator(settings=settings, memo=memo)


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    await handle_stop_operator(memo=memo)


def handle_login(*, memo: kopf.Memo) -> kopf.ConnectionInfo:
    """kopf logs in with the same credentials as floatip's own client (see :mod:`kube`)."""
    opts: options.Options = memo["options"]
    endpoint = config.load_endpoint(kubeconfig=opts.kubeconfig)
    return kopf.ConnectionInfo(
        server=endpoint.server,
        token=endpoint.token,
        ca_path=endpoint.ca_path,
        certificate_path=endpoint.cert_path,
        private_key_path=endpoint.key_path,
        insecure=endpoint.insecure,
    )


async def handle_start_operator(*, settings: kopf.OperatorSettings, memo: kopf.Memo) -> None:
    configure(settings)
    opts: options.Options = memo["options"]
    api = client.Api(config.load_endpoint(kubeconfig=opts.kubeconfig))
    memo["runtime"] = rt = runtime.Runtime(opts, api)
    rt.start()
    log.info("operator started", identity=opts.identity, profile=opts.profile)


async def handle_stop_operator(*, memo: kopf.Memo) -> None:
    rt: runtime.Runtime | None = memo.get("runtime")
    if rt is not None:
        await rt.stop()
