"""kopf handlers: thin; each calls a ``handle_<verb>_<thing>`` function.

kopf gives the operator its login (kubeconfig or in-cluster), its run loop, signal handling and
the finalizer with the deletion handler. Settings keep kopf out of ``status``: the deletion
handler's progress goes to annotations, so the only status writer is the reconcile loop
(protocol.md). kopf keeps no diff base: with no creation or update handler there is nothing
to compare a VirtualIP with, and the annotation it would write (a copy of the spec, on every
object) cost each new VirtualIP one more write and every copy of it the bytes.
"""

from __future__ import annotations

import time
from typing import Any

import kopf

from floatip import logs
from floatip.api import events, names, times
from floatip.kube import client, config
from floatip_operator import deleting, notices, options, runtime

log = logs.get(__name__)

ANNOTATION_PREFIX = "operator.floatip.io"


class Unchanged(kopf.DiffBaseStorage):
    """A diff base that is always the object as it is: kopf sees no creation or update to
    handle (there are no such handlers) and stores nothing. Deletion needs no diff base."""

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return self.build(body=body)

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        return None


def configure(settings: kopf.OperatorSettings) -> None:
    """Finalizer name, annotation-only bookkeeping, no diff base, no kopf Events, short watch
    timeouts."""
    settings.persistence.finalizer = names.FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix=ANNOTATION_PREFIX
    )
    settings.persistence.diffbase_storage = Unchanged()
    settings.posting.enabled = False
    settings.watching.server_timeout = 60
    settings.watching.client_timeout = 90
    settings.batching.batch_window = 0.05


@kopf.on.login()
def login(memo: kopf.Memo, **_: Any) -> kopf.ConnectionInfo:
    return handle_login(memo=memo)


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    await handle_start_operator(settings=settings, memo=memo)


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    await handle_stop_operator(memo=memo)


@kopf.on.delete(names.GROUP, names.VERSION, names.PLURAL)
async def deleted(name: str, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    await handle_delete_vip(name=name, body=dict(body), memo=memo)


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


async def handle_delete_vip(*, name: str, body: dict[str, Any], memo: kopf.Memo) -> None:
    """Hold the finalizer until the holder has released the address (or the timeout)."""
    rt: runtime.Runtime = memo["runtime"]
    if not rt.elector.is_leader:
        raise kopf.TemporaryError("only the leader releases VirtualIPs; retrying", delay=1)
    started = times.parse(body.get("metadata", {}).get("deletionTimestamp"))
    waited = 0.0
    if started is not None:
        waited = max(0.0, (times.now() - started).total_seconds())
    begun = time.monotonic()
    deadline = begun + max(0.0, rt.options.delete_timeout_seconds - waited)
    result = await deleting.wait_released(
        name=name, state=lambda: rt.release_state(name, body, since=begun), deadline=deadline
    )
    if not result.done:
        note = (
            f"{result.why} gave up after {rt.options.delete_timeout_seconds:g} s; "
            "the VirtualIP is deleted anyway (check that node for a stale address)"
        )
        meta = body.get("metadata", {})
        regarding = events.Regarding(name, str(meta.get("uid") or ""))
        notice = notices.Notice(events.Type.WARNING, notices.Reason.RELEASE_TIMEOUT, note)
        await rt.poster.send(regarding, notice)
