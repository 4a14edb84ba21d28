"""The operator's own Kubernetes client: the few calls the reconcile loop makes, over aiohttp.

kopf handles login, finalizers and its own watches; the leader's status writes, Events, its
leader Lease and the informers need precise control of preconditions (a JSON patch whose first
op is ``test``, a PUT carrying resourceVersion) and of timeouts, so they go through this thin
client. Credentials come from the ``kubernetes`` package's loaders, so a kubeconfig and the
in-cluster ServiceAccount both work, exactly as for kopf. In a cluster the ServiceAccount token
is a projected one that the kubelet rotates (hourly by default); like client-go, the client
re-reads its file every minute (`TokenSource`), so a long-running operator never presents an
expired token.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import ssl
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp

from floatip import logs

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"


class ApiError(Exception):
    """An API call answered with an error status (``code``) and the server's message."""

    def __init__(self, code: int, message: str, *, method: str, path: str) -> None:
        self.code = code
        super().__init__(f"{method} {path}: HTTP {code}: {message}")

    @property
    def conflict(self) -> bool:
        """A failed precondition: a resourceVersion conflict (409) or a failed ``test`` (422)."""
        return self.code in (409, 422)


log = logs.get(__name__)
#: client-go re-reads a token file this often (its cachingTokenSource); so do we.
TOKEN_REREAD_SECONDS = 60.0


class TokenSource:
    """A bearer token, re-read from ``path`` (when given) once it is ``every`` seconds old.

    A file that cannot be read keeps the last token in use (it may still be valid) and says
    so in the log; the next request tries the file again only after ``every`` seconds.
    """

    def __init__(
        self,
        token: str | None,
        path: str | None = None,
        *,
        every: float = TOKEN_REREAD_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.every = every
        self.clock = clock
        self._token = token
        self._read_at = clock()

    def token(self) -> str | None:
        if self.path is not None and self.clock() - self._read_at >= self.every:
            self._read_at = self.clock()
            try:
                self._token = pathlib.Path(self.path).read_text().strip() or self._token
            except OSError as exc:
                log.warning(
                    "token-reread-failed", path=self.path, error=str(exc),
                    note="the previous token stays in use",
                )  # fmt: skip
        return self._token


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """Where the API server is and how to authenticate (loaded at start; the token follows
    its file)."""

    server: str
    tokens: TokenSource = dataclasses.field(default_factory=lambda: TokenSource(None))
    ca_path: str | None = None
    cert_path: str | None = None
    key_path: str | None = None
    insecure: bool = False

    @property
    def token(self) -> str | None:
        return self.tokens.token()

    def ssl_context(self) -> ssl.SSLContext | bool:
        if self.insecure:
            return False
        context = ssl.create_default_context(cafile=self.ca_path)
        if self.cert_path and self.key_path:
            context.load_cert_chain(self.cert_path, self.key_path)
        return context

    @property
    def headers(self) -> dict[str, str]:
        """Fresh headers for one request (a new dict each time: callers may add to it)."""
        token = self.token
        return {"Authorization": f"Bearer {token}"} if token else {}


def load_endpoint(*, kubeconfig: str | None) -> Endpoint:
    """The API server of ``kubeconfig`` (else $KUBECONFIG), else the in-cluster ServiceAccount.

    Both kopf (through the operator's login handler) and this client use the result, so they
    always talk to the same server as the same identity.
    """
    import kubernetes  # slow import, only at start

    config = kubernetes.client.Configuration()
    token_path: str | None = None
    if kubeconfig is None:
        try:
            kubernetes.config.load_incluster_config(client_configuration=config)
            token_path = kubernetes.config.incluster_config.SERVICE_TOKEN_FILENAME
        except kubernetes.config.ConfigException:
            kubernetes.config.load_kube_config(client_configuration=config)
    else:
        kubernetes.config.load_kube_config(config_file=kubeconfig, client_configuration=config)
    token = config.get_api_key_with_prefix("BearerToken") or config.get_api_key_with_prefix(
        "authorization"
    )
    if token and token.startswith("Bearer "):
        token = token.removeprefix("Bearer ")
    return Endpoint(
        server=str(config.host).rstrip("/"),
        tokens=TokenSource(token or None, token_path),
        ca_path=config.ssl_ca_cert,
        cert_path=config.cert_file,
        key_path=config.key_file,
        insecure=not config.verify_ssl,
    )


class Api:
    """A few REST verbs with JSON bodies; errors raise :class:`ApiError`."""

    def __init__(self, endpoint: Endpoint, *, request_timeout_s: float = 5.0) -> None:
        self.endpoint = endpoint
        self.timeout = aiohttp.ClientTimeout(total=request_timeout_s)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self.endpoint.ssl_context(), limit=32),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: object = None,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """One call; the decoded JSON answer, or :class:`ApiError` for any non-2xx status."""
        data = None if body is None else json.dumps(body)
        headers = self.endpoint.headers
        if data is not None:
            headers["Content-Type"] = content_type
        async with self.session.request(
            method,
            self.endpoint.server + path,
            data=data,
            headers=headers,
            params=params,
            timeout=self.timeout,
        ) as response:
            text = await response.text()
            if response.status >= 300:
                raise ApiError(response.status, _message(text), method=method, path=path)
            answer: dict[str, Any] = json.loads(text) if text else {}
            return answer

    async def watch(
        self, path: str, *, resource_version: str, timeout_s: int
    ) -> AsyncIterator[dict[str, Any]]:
        """Watch events (``{"type", "object"}``) from ``resource_version`` until the server ends."""
        params = {
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout_s),
        }
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=timeout_s + 10)
        url = self.endpoint.server + path
        headers = self.endpoint.headers
        async with self.session.get(
            url, params=params, timeout=timeout, headers=headers
        ) as response:
            if response.status >= 300:
                text = await response.text()
                raise ApiError(response.status, _message(text), method="WATCH", path=path)
            async for line in response.content:
                if line.strip():
                    event: dict[str, Any] = json.loads(line)
                    yield event


def _message(text: str) -> str:
    try:
        decoded = json.loads(text)
    except ValueError:
        return text[:300]
    if isinstance(decoded, dict):
        return str(decoded.get("message", text[:300]))
    return text[:300]
