"""The official ``kubernetes`` Python client works unchanged against the test API server.

Proves: it loads the HTTPS kubeconfig; list + watch resumes after a 410 Gone by relisting (the
informer pattern); a replace with a stale resourceVersion raises 409 Conflict.
"""

from __future__ import annotations

import asyncio
from typing import Any

import kubernetes  # type: ignore[import-untyped,unused-ignore]

from floatip_apiserver.runtime import RunningServer

GROUP, VERSION, PLURAL = "floatip.io", "v1alpha1", "virtualips"


def _api(server: RunningServer) -> Any:
    client = kubernetes.config.new_client_from_config(config_file=str(server.kubeconfig))
    return kubernetes.client.CustomObjectsApi(client)


def _vip(name: str, address: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "VirtualIP",
        "metadata": {"name": name},
        "spec": {"address": address},
    }


def _list_then_watch(api: Any, server_compact: Any) -> list[str]:
    """List, compact history (410 for the list's rv), watch -> 410, relist, watch again."""
    seen: list[str] = []
    listed = api.list_cluster_custom_object(GROUP, VERSION, PLURAL)
    seen += [f"LIST {i['metadata']['name']}" for i in listed["items"]]
    rv = listed["metadata"]["resourceVersion"]
    server_compact()  # adds "b" and forgets history: rv is now too old
    try:
        for _ in kubernetes.watch.Watch().stream(
            api.list_cluster_custom_object,
            GROUP,
            VERSION,
            PLURAL,
            resource_version=rv,
            timeout_seconds=2,
        ):
            pass
    except kubernetes.client.exceptions.ApiException as exc:
        seen.append(f"ERROR {exc.status}")
    relisted = api.list_cluster_custom_object(GROUP, VERSION, PLURAL)
    seen += [f"RELIST {i['metadata']['name']}" for i in relisted["items"]]
    return seen


async def test_kubernetes_client_list_watch_relists_after_410_gone(
    apiserver: RunningServer,
) -> None:
    api = _api(apiserver)
    await asyncio.to_thread(
        api.create_cluster_custom_object, GROUP, VERSION, PLURAL, _vip("a", "192.0.2.1")
    )

    def compact_and_add() -> None:
        api.create_cluster_custom_object(GROUP, VERSION, PLURAL, _vip("b", "192.0.2.2"))
        apiserver.compact()

    seen = await asyncio.to_thread(_list_then_watch, api, compact_and_add)
    assert seen == ["LIST a", "ERROR 410", "RELIST a", "RELIST b"]


async def test_kubernetes_client_stale_replace_is_409_conflict(apiserver: RunningServer) -> None:
    api = _api(apiserver)
    created = await asyncio.to_thread(
        api.create_cluster_custom_object, GROUP, VERSION, PLURAL, _vip("a", "192.0.2.1")
    )
    created["spec"]["address"] = "192.0.2.5"
    await asyncio.to_thread(api.replace_cluster_custom_object, GROUP, VERSION, PLURAL, "a", created)
    created["spec"]["address"] = "192.0.2.6"
    try:
        await asyncio.to_thread(
            api.replace_cluster_custom_object, GROUP, VERSION, PLURAL, "a", created
        )
        raise AssertionError("a stale replace succeeded")
    except kubernetes.client.exceptions.ApiException as exc:
        assert exc.status == 409
        assert "the object has been modified" in exc.body
