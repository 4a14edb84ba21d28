"""An unmodified kopf operator, run as its own process, works against the test API server.

Proves, with ``python -m kopf run --standalone --all-namespaces kopf_probe_operator.py`` and
KUBECONFIG pointing at the fixture's admin kubeconfig: creating a VirtualIP fires the create
handler once and kopf adds its finalizer; the handler's status patch lands in ``.status``; a spec
change fires the update handler once; delete fires the delete handler once, kopf then removes
its finalizer and the object is gone. The k8s Event the create handler posts (``kopf.info``)
lands in the default namespace, and kopf logs no warning or error (no retries, no patch
inconsistencies). Handler calls are counted from a file the handlers append to, so "exactly
once" is checked, not inferred from kopf's log.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pathlib
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from floatip_apiserver.runtime import RunningServer

VIPS = "/apis/floatip.io/v1alpha1/virtualips"
PROBE = pathlib.Path(__file__).with_name("kopf_probe_operator.py")
FINALIZER = "kopf.zalando.org/KopfFinalizerMarker"
LAST_HANDLED = "kopf.zalando.org/last-handled-configuration"
DEADLINE = 20.0  # seconds for each step; kopf normally takes well under one


async def eventually(what: str, probe: Callable[[], Awaitable[Any]]) -> Any:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + DEADLINE
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {DEADLINE} s waiting for {what}")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def kopf_process(
    server: RunningServer, calls: pathlib.Path, log: pathlib.Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run the probe operator; always stop it (SIGTERM, then SIGKILL) and show its log on error.

    Output goes to a file rather than a pipe, so a chatty kopf can never block on a full pipe.
    """
    env = {
        **os.environ,
        "KUBECONFIG": str(server.kubeconfig),
        "FLOATIP_KOPF_PROBE_CALLS": str(calls),
    }
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "kopf",
            "run",
            "--standalone",
            "--all-namespaces",
            "--verbose",
            str(PROBE),
            env=env,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    try:
        yield proc
    except BaseException:
        print(f"---- kopf log ({log}) ----\n{read_log(log)}")
        raise
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


def handler_calls(calls: pathlib.Path) -> list[str]:
    """The handlers' lines so far (a small local file: reading it never blocks for long)."""
    return calls.read_text().splitlines() if calls.exists() else []


def read_log(log: pathlib.Path) -> str:
    return log.read_text(errors="replace")


def handled(obj: dict[str, Any] | None, address: str, epoch: int) -> dict[str, Any] | None:
    """``obj`` once kopf has finished with ``address``: status patched, spec recorded as handled.

    kopf writes the last-handled-configuration annotation after the handler succeeded, so
    waiting for it (not only for the status) means kopf's whole handling cycle is over.
    """
    if obj is None:
        return None
    last_handled = obj["metadata"].get("annotations", {}).get(LAST_HANDLED, "")
    status = obj.get("status", {})
    return obj if f'"{address}"' in last_handled and status.get("epoch") == epoch else None


async def test_kopf_operator_create_update_delete_handlers_fire_once_with_finalizer(
    apiserver: RunningServer, http: Any, tmp_path: pathlib.Path
) -> None:
    calls, log = tmp_path / "calls.txt", tmp_path / "kopf.log"
    async with kopf_process(apiserver, calls, log) as kopf:

        async def get_web() -> dict[str, Any] | None:
            code, body = await http.call("GET", f"{VIPS}/web")
            return body if code == 200 else None

        body = {
            "apiVersion": "floatip.io/v1alpha1",
            "kind": "VirtualIP",
            "metadata": {"name": "web"},
            "spec": {"address": "192.0.2.10/24"},
        }
        code, created = await http.call("POST", VIPS, body)
        assert code == 201, created

        async def create_handled() -> dict[str, Any] | None:
            return handled(await get_web(), "192.0.2.10/24", epoch=1)

        obj = await eventually("the create handler and its status patch", create_handled)
        assert handler_calls(calls) == ["create web 192.0.2.10/24"]
        assert obj["metadata"]["finalizers"] == [FINALIZER]
        assert obj["status"] == {"holder": "probe-node", "epoch": 1}
        assert obj["metadata"]["generation"] == 1  # status and annotation writes: no new generation

        code, patched = await http.call(
            "PATCH",
            f"{VIPS}/web",
            {"spec": {"address": "192.0.2.11/24"}},
            content_type="application/merge-patch+json",
        )
        assert code == 200 and patched["metadata"]["generation"] == 2, patched

        async def update_handled() -> dict[str, Any] | None:
            return handled(await get_web(), "192.0.2.11/24", epoch=2)

        obj = await eventually("the update handler and its status patch", update_handled)
        assert handler_calls(calls) == ["create web 192.0.2.10/24", "update web 192.0.2.11/24"]
        assert obj["status"] == {"holder": "probe-node", "epoch": 2}

        code, deleting = await http.call("DELETE", f"{VIPS}/web")
        assert code == 200, deleting
        assert deleting["metadata"]["deletionTimestamp"]  # held back by kopf's finalizer
        assert deleting["metadata"]["finalizers"] == [FINALIZER]

        async def gone() -> bool:
            code, _ = await http.call("GET", f"{VIPS}/web")
            return bool(code == 404)

        await eventually("kopf to remove its finalizer so the object goes", gone)
        assert handler_calls(calls) == [
            "create web 192.0.2.10/24",
            "update web 192.0.2.11/24",
            "delete web 192.0.2.11/24",
        ]
        assert kopf.returncode is None, "kopf exited early"

        async def posted_events() -> list[tuple[str, str, str]]:
            code, events = await http.call("GET", "/api/v1/namespaces/default/events")
            assert code == 200, events
            return [
                (e["reason"], e["message"], e["involvedObject"]["kind"])
                for e in events["items"]
                if e["involvedObject"]["name"] == "web"
            ]

        posted = await eventually("the create handler's k8s Event", posted_events)
        assert posted == [("Probed", "create handler ran for web", "VirtualIP")]
        problems = [
            line for line in read_log(log).splitlines() if "[WARNING " in line or "[ERROR " in line
        ]
        assert problems == []  # no retries, patch inconsistencies or API errors along the way
