"""``floatip bench apiserver``: how the test API server copes with 10,000 VirtualIPs.

Creates N objects over HTTP(S) with concurrent clients, times a full list, fans one change
stream out to 50 watchers, creates LoadBalancer Services (each allocates a cluster IP and a
node port, as a LoadBalancer controller's cluster would) and lists them, and reports the
server's RSS. The last stdout line is one JSON object. Figures are printed, never asserted.
"""

from __future__ import annotations

import asyncio
import json
import pathlib
import resource
import ssl
import time
from typing import Any

import aiohttp
import click

from floatip_apiserver import runtime

VIPS = "/apis/floatip.io/v1alpha1/virtualips"
SERVICES = "/api/v1/namespaces/default/services"


def _rss_mib() -> float:
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _vip(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "floatip.io/v1alpha1",
        "kind": "VirtualIP",
        "metadata": {"name": f"vip-{i:05d}", "labels": {"bench": "yes"}},
        "spec": {"address": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256 or 1}"},
    }


def _service(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"svc-{i:05d}", "labels": {"bench": "yes"}},
        "spec": {"type": "LoadBalancer", "selector": {"app": f"a{i}"}, "ports": [{"port": 80}]},
    }


async def _create_all(
    session: aiohttp.ClientSession,
    url: str,
    bodies: list[dict[str, Any]],
    concurrency: int,
    keep: bool = False,
) -> tuple[float, list[dict[str, Any]]]:
    """POST every body with ``concurrency`` clients; (seconds, the created objects if ``keep``).

    The answers are kept only when asked: 10,000 parsed objects would count in the RSS figure.
    """
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    created: list[dict[str, Any]] = []

    async def creator() -> None:
        while not queue.empty():
            body = queue.get_nowait()
            async with session.post(url, json=body) as response:
                if response.status != 201:
                    name = body["metadata"]["name"]
                    raise RuntimeError(f"create {name} failed: {await response.text()}")
                if keep:
                    created.append(await response.json())
                else:
                    await response.read()

    started = time.perf_counter()
    await asyncio.gather(*(creator() for _ in range(concurrency)))
    return time.perf_counter() - started, created


async def _measure_services(
    session: aiohttp.ClientSession, url: str, count: int, concurrency: int
) -> dict[str, Any]:
    """Services created per second with clusterIP and nodePort allocation, and a full list."""
    create_s, created = await _create_all(
        session, url + SERVICES, [_service(i) for i in range(count)], concurrency, keep=True
    )
    started = time.perf_counter()
    async with session.get(url + SERVICES + "?labelSelector=bench%3Dyes") as response:
        listed = len((await response.json())["items"])
    list_s = time.perf_counter() - started
    ips = {s["spec"]["clusterIP"] for s in created}
    ports = {s["spec"]["ports"][0]["nodePort"] for s in created}
    return {
        "services": count,
        "service_creates_per_s": round(count / create_s, 1) if count else 0.0,
        "service_create_s": round(create_s, 3),
        "service_list_items": listed,
        "service_full_list_s": round(list_s, 3),
        "service_allocations_unique": len(ips) == len(ports) == count,
    }


async def _measure(
    objects: int,
    watchers: int,
    concurrency: int,
    crds: pathlib.Path,
    services: int = 2000,
) -> dict[str, Any]:
    async with runtime.serve(crds=crds) as server:
        context = ssl.create_default_context(cadata=(server.ca_pem or b"").decode())
        headers = {"Authorization": f"Bearer {server.admin_token}"}
        connector = aiohttp.TCPConnector(ssl=context, limit=concurrency + watchers + 4)
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
            create_s, _ = await _create_all(
                session, server.url + VIPS, [_vip(i) for i in range(objects)], concurrency
            )

            started = time.perf_counter()
            async with session.get(server.url + VIPS) as response:
                listed = len((await response.json())["items"])
            list_s = time.perf_counter() - started

            rv = server.api.store.revision
            changes = 100
            ready = asyncio.Event()

            async def watcher() -> float:
                seen = 0
                async with session.get(
                    f"{server.url}{VIPS}?watch=true&resourceVersion={rv}"
                ) as response:
                    if server.api.store.watcher_count >= watchers:
                        ready.set()
                    async for _ in response.content:
                        seen += 1
                        if seen == changes:
                            return time.perf_counter()
                return time.perf_counter()

            tasks = [asyncio.create_task(watcher()) for _ in range(watchers)]
            while server.api.store.watcher_count < watchers:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            started = time.perf_counter()
            for i in range(changes):
                async with session.patch(
                    f"{server.url}{VIPS}/vip-{i:05d}",
                    data=json.dumps({"metadata": {"labels": {"round": "1"}}}),
                    headers={"Content-Type": "application/merge-patch+json"},
                ) as response:
                    await response.read()
            finished = await asyncio.gather(*tasks)
            fanout_s = max(finished) - started
            service_figures = await _measure_services(session, server.url, services, concurrency)
        return {
            "objects": objects,
            "creates_per_s": round(objects / create_s, 1),
            "create_s": round(create_s, 3),
            "list_items": listed,
            "full_list_s": round(list_s, 3),
            "watchers": watchers,
            "watch_changes": changes,
            "watch_fanout_s": round(fanout_s, 3),
            "watch_events_per_s": round(watchers * changes / fanout_s, 1),
            **service_figures,
            "rss_mib": round(_rss_mib(), 1),
            "note": "server and clients share one process; RSS includes both",
        }


@click.command("apiserver")
@click.option("--objects", type=int, default=10_000, show_default=True)
@click.option("--watchers", type=int, default=50, show_default=True)
@click.option("--concurrency", type=int, default=16, show_default=True)
@click.option(
    "--services",
    type=int,
    default=2000,
    show_default=True,
    help="LoadBalancer Services to create (each takes one of the 2768 node ports).",
)
@click.option(
    "--crds",
    type=click.Path(file_okay=False, path_type=pathlib.Path),
    default=None,
    help="CustomResourceDefinitions to serve [default: floatip's crds/].",
)
@click.option("--json", "as_json", is_flag=True, help="Print only the JSON result line.")
def apiserver(  # noqa: PLR0917
    objects: int,
    watchers: int,
    concurrency: int,
    services: int,
    crds: pathlib.Path | None,
    as_json: bool,
) -> None:
    """Benchmark the test API server: creates/s, full list, watch fan-out, Services, RSS."""
    crds = crds if crds is not None else runtime.default_crds_dir()
    result = asyncio.run(_measure(objects, watchers, concurrency, crds, services))
    if not as_json:
        for key, value in result.items():
            click.echo(f"{key:>20}: {value}")
    click.echo(json.dumps(result))
