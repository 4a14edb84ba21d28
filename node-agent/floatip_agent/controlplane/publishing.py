"""Writing the control-plane report (`floatip.api.controlplane`) to the API, when it is up.

Optional (``--kubeconfig``): the agent runs fully without it. Only the holder writes, every
``PERIOD_SECONDS`` and at once when the summary changes (a claim, a peer's health). Each
write is one merge PATCH of the Lease, or a create when it does not exist yet, with a 3 s
timeout, on a task of its own: a slow, failing or absent API delays only the report, never
the election, and no agent ever reads the Lease back. Errors are logged once per distinct
message, not per attempt.

The credentials must be the agent's own (``floatip control-plane rbac`` prints the Role
limited to this Lease); ``main`` refuses kubeadm's admin.conf and super-admin.conf.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import structlog

from floatip.api import controlplane, times
from floatip.kube import client, config

log = structlog.get_logger(__name__)

#: A kubeconfig that cannot be used (`floatip.kube.config`'s error).
SetupError = config.ConfigError

PATH = f"/apis/coordination.k8s.io/v1/namespaces/{controlplane.NAMESPACE}/leases"
#: The state is looked at this often even without a change (a peer's health is polled).
TICK_SECONDS = 1.0
#: After a failed write, the next try (unless the summary changes first).
RETRY_SECONDS = 5.0


class Publisher:
    """Publishes this node's view while it holds the VIP."""

    def __init__(self, api: client.Api, *, state: Callable[[], dict[str, Any]]) -> None:
        self.api = api
        self.state = state
        self.wake = asyncio.Event()  # set by the node on a change worth a write
        self.published = 0
        self._last_error = ""

    @classmethod
    def from_kubeconfig(cls, path: str, *, state: Callable[[], dict[str, Any]]) -> Publisher:
        endpoint = config.load_endpoint(kubeconfig=path, in_cluster_first=False)
        return cls(client.Api(endpoint, request_timeout_s=3.0, connect_timeout_s=2.0), state=state)

    async def run(self) -> None:
        last: dict[str, Any] | None = None
        due = 0.0  # the next write, if nothing changes before
        loop = asyncio.get_running_loop()
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(TICK_SECONDS):
                        await self.wake.wait()
                self.wake.clear()
                summary = controlplane.summary(self.state())
                if summary["holder"] is None:
                    last = None
                    continue
                if summary == last and loop.time() < due:
                    continue
                if await self._publish_safely(summary):
                    last = summary
                    due = loop.time() + controlplane.PERIOD_SECONDS
                else:
                    due = loop.time() + RETRY_SECONDS
                    last = summary
        finally:
            await self.api.close()

    async def _publish_safely(self, summary: dict[str, Any]) -> bool:
        try:
            return await self.publish(summary)
        except Exception as exc:  # a bug here must not end the report, nor touch the VIP
            log.exception("status-publish-failed", error=str(exc))
            return False

    async def publish(self, summary: dict[str, Any]) -> bool:
        """One write; whether it succeeded."""
        body = controlplane.lease(summary, now=times.now())
        try:
            try:
                await self.api.request(
                    "PATCH", f"{PATH}/{controlplane.LEASE}", body=body,
                    content_type=client.MERGE_PATCH,
                )  # fmt: skip
            except client.ApiError as exc:
                if not exc.not_found:
                    raise
                await self.api.request("POST", PATH, body=body)
        except client.ApiError as exc:
            message = str(exc)
            if message != self._last_error:
                self._last_error = message
                log.warning("status-not-published", error=message,
                            detail="the VIP is unaffected; the report is retried")  # fmt: skip
            return False
        if self._last_error or not self.published:
            log.info("status-published", lease=f"{controlplane.NAMESPACE}/{controlplane.LEASE}",
                     term=summary["term"])  # fmt: skip
        self._last_error = ""
        self.published += 1
        return True
