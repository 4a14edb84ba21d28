"""The agent's Kubernetes adapter: watch VirtualIPs, patch their status, Events, Lease, Node.

A thin layer over the official `kubernetes` client (synchronous): each call runs in a worker
thread with a request timeout, so a hung API server (``hang()`` in the test server, a
half-open connection in a cluster) can stall one call but never the agent's event loop.
Every successful request is reported to `on_contact` — the fence (`floatip_agent.fencing`)
counts it as proof the agent still hears the API server.

The VirtualIP watch runs in a daemon thread of its own: list, then watch from the list's
resourceVersion with bookmarks; on 410 Gone (history compacted) or any error it lists again,
after a short back-off. Events reach asyncio through `loop.call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import kubernetes
import structlog
import urllib3
from kubernetes.client.exceptions import ApiException

from floatip.api import names

T = TypeVar("T")
MERGE_PATCH = "application/merge-patch+json"
TIMEOUT = (2.0, 5.0)  # connect, read (seconds) of every call but the watch
WATCH_SECONDS = 60
log = structlog.get_logger(__name__)

#: What the watch reports: ("SYNC", [objects]) after a (re)list, or (type, object).
WatchEvent = tuple[str, Any]


def load_config(kubeconfig: str | None) -> kubernetes.client.ApiClient:
    """A client from `kubeconfig`, else from $KUBECONFIG / ~/.kube/config, else in-cluster."""
    configuration = kubernetes.client.Configuration()
    if kubeconfig:
        kubernetes.config.load_kube_config(
            config_file=kubeconfig, client_configuration=configuration
        )
    else:
        try:
            kubernetes.config.load_incluster_config(client_configuration=configuration)
        except kubernetes.config.ConfigException:
            kubernetes.config.load_kube_config(client_configuration=configuration)
    configuration.retries = 0
    return kubernetes.client.ApiClient(configuration)


class Kube:
    """The API calls the agent makes. `on_contact` is called after every successful one."""

    def __init__(self, api: kubernetes.client.ApiClient, *, on_contact: Callable[[], None]) -> None:
        self.api = api
        # Typed as Any: the client's models are not used; objects go and come back as dicts.
        self.custom: Any = kubernetes.client.CustomObjectsApi(api)
        self.core: Any = kubernetes.client.CoreV1Api(api)
        self.coordination: Any = kubernetes.client.CoordinationV1Api(api)
        self.events: Any = kubernetes.client.EventsV1Api(api)
        self._on_contact = on_contact

    async def _call(self, fn: Callable[[], T]) -> T:
        result = await asyncio.to_thread(fn)
        self._on_contact()
        return result

    # -- VirtualIPs ------------------------------------------------------------------------

    async def get_vip(self, name: str) -> dict[str, Any] | None:
        """The VirtualIP `name`, or None if it does not exist."""
        try:
            obj: dict[str, Any] = await self._call(
                lambda: self.custom.get_cluster_custom_object(
                    names.GROUP, names.VERSION, names.PLURAL, name, _request_timeout=TIMEOUT
                )
            )
        except ApiException as exc:
            if exc.status == 404:
                self._on_contact()
                return None
            raise
        return obj

    async def list_vips(self) -> list[dict[str, Any]]:
        listed = await self._call(self._list_vips)
        return list(listed.get("items") or [])

    def _list_vips(self) -> dict[str, Any]:
        result: dict[str, Any] = self.custom.list_cluster_custom_object(
            names.GROUP, names.VERSION, names.PLURAL, _request_timeout=TIMEOUT
        )
        return result

    async def patch_vip_status(self, name: str, patch: dict[str, Any]) -> None:
        """A JSON merge patch on the VirtualIP's /status (protocol.md: only our keys)."""
        await self._call(
            lambda: self.custom.patch_cluster_custom_object_status(
                names.GROUP, names.VERSION, names.PLURAL, name, patch,
                _content_type=MERGE_PATCH, _request_timeout=TIMEOUT,
            )
        )  # fmt: skip

    def watch_vips(
        self, *, deliver: Callable[[WatchEvent], None], stop: threading.Event
    ) -> threading.Thread:
        """Start the watch thread; `deliver` is called (in that thread) for every event."""
        thread = threading.Thread(
            target=self._watch_forever, args=(deliver, stop), name="vip-watch", daemon=True
        )
        thread.start()
        return thread

    def _watch_forever(self, deliver: Callable[[WatchEvent], None], stop: threading.Event) -> None:
        backoff = 0.2
        while not stop.is_set():
            try:
                listed = self._list_vips()
                self._on_contact()
                deliver(("SYNC", list(listed.get("items") or [])))
                version = (listed.get("metadata") or {}).get("resourceVersion")
                self._watch_from(version, deliver, stop)
                backoff = 0.2
            except ApiException as exc:
                if exc.status == 410:
                    log.info("vip-watch-expired", detail="history compacted (410): listing again")
                    continue
                log.warning("vip-watch-failed", status=exc.status, reason=exc.reason)
            except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
                log.warning("vip-watch-failed", error=str(exc) or type(exc).__name__)
            stop.wait(backoff)
            backoff = min(backoff * 2, 2.0)

    def _watch_from(
        self, version: str | None, deliver: Callable[[WatchEvent], None], stop: threading.Event
    ) -> None:
        while not stop.is_set():
            watcher = kubernetes.watch.Watch()
            for event in watcher.stream(
                self.custom.list_cluster_custom_object,
                names.GROUP, names.VERSION, names.PLURAL,
                resource_version=version, allow_watch_bookmarks=True,
                timeout_seconds=WATCH_SECONDS, _request_timeout=(TIMEOUT[0], WATCH_SECONDS + 10),
            ):  # fmt: skip
                self._on_contact()
                kind = event["type"]
                obj = event["object"]
                version = (obj.get("metadata") or {}).get("resourceVersion") or version
                if kind != "BOOKMARK":
                    deliver((kind, obj))
                if stop.is_set():
                    watcher.stop()
                    return

    # -- Events, Leases, Node, liveness ----------------------------------------------------

    async def create_event(self, body: dict[str, Any]) -> None:
        namespace = body["metadata"]["namespace"]
        await self._call(
            lambda: self.events.create_namespaced_event(namespace, body, _request_timeout=TIMEOUT)
        )

    async def renew_lease(
        self,
        *,
        name: str,
        namespace: str,
        patch: dict[str, Any],
        body: Callable[[], dict[str, Any]],
    ) -> None:
        """Merge-patch Lease `name`; create it from `body()` if it does not exist."""
        try:
            await self._call(
                lambda: self.coordination.patch_namespaced_lease(
                    name, namespace, patch, _content_type=MERGE_PATCH, _request_timeout=TIMEOUT
                )
            )
        except ApiException as exc:
            if exc.status != 404:
                raise
            await self._call(
                lambda: self.coordination.create_namespaced_lease(
                    namespace, body(), _request_timeout=TIMEOUT
                )
            )

    async def patch_lease(self, *, name: str, namespace: str, patch: dict[str, Any]) -> None:
        """Merge-patch Lease `name` (no create: a missing Lease has nothing to mark)."""
        await self._call(
            lambda: self.coordination.patch_namespaced_lease(
                name, namespace, patch, _content_type=MERGE_PATCH, _request_timeout=TIMEOUT
            )
        )

    async def list_leases(self, namespace: str) -> list[dict[str, Any]]:
        """Every Lease in `namespace`, as plain dicts."""
        response = await self._call(
            lambda: self.coordination.list_namespaced_lease(
                namespace, _request_timeout=TIMEOUT, _preload_content=False
            )
        )
        data: dict[str, Any] = _json(response)
        return list(data.get("items") or [])

    async def get_node(self, name: str) -> dict[str, Any] | None:
        """Node `name` as a dict, or None if it does not exist."""
        try:
            response = await self._call(
                lambda: self.core.read_node(name, _request_timeout=TIMEOUT, _preload_content=False)
            )
        except ApiException as exc:
            if exc.status == 404:
                self._on_contact()
                return None
            raise
        node: dict[str, Any] = _json(response)
        return node

    async def ping(self) -> None:
        """A cheap GET (/readyz) that proves the API server answers."""
        await self._call(self._readyz)

    def _readyz(self) -> None:
        method, url, headers, body, post = self.api.param_serialize(
            method="GET", resource_path="/readyz", auth_settings=["BearerToken"]
        )
        response = self.api.call_api(method, url, headers, body, post, _request_timeout=TIMEOUT)
        response.read()
        if not 200 <= response.status < 300:
            raise ApiException(status=response.status, reason="GET /readyz")


def _json(response: Any) -> Any:
    return json.loads(response.data)
