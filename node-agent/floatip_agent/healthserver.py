"""The agent's HTTP endpoint: ``/healthz`` (the operator's fast liveness path) and ``/metrics``.

protocol.md "The agent's health endpoint": ``GET /healthz`` answers 200 with JSON (node,
unsure, lastApiContact, held, health) while the agent's loops run; ``GET /metrics`` is
Prometheus text. An answer costs no API request, so the operator can probe every 0.2 s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import prometheus_client
from aiohttp import web
from prometheus_client import CollectorRegistry


def app(*, healthz: Callable[[], dict[str, Any]], registry: CollectorRegistry) -> web.Application:
    """The aiohttp application serving both endpoints."""

    async def get_healthz(request: web.Request) -> web.Response:
        return web.json_response(healthz())

    async def get_metrics(request: web.Request) -> web.Response:
        body = prometheus_client.generate_latest(registry)
        return web.Response(
            body=body, headers={"Content-Type": prometheus_client.CONTENT_TYPE_LATEST}
        )

    application = web.Application()
    application.router.add_get("/healthz", get_healthz)
    application.router.add_get("/metrics", get_metrics)
    return application


async def start(
    *, host: str, port: int, healthz: Callable[[], dict[str, Any]], registry: CollectorRegistry
) -> web.AppRunner:
    """Listen on host:port; clean up the returned runner to stop."""
    runner = web.AppRunner(app(healthz=healthz, registry=registry), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    return runner
