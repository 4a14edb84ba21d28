"""Where the API server is and how to authenticate: a kubeconfig, or the in-cluster account.

The in-cluster ServiceAccount and plain kubeconfigs (a token or a client certificate) are read
by `floatip.kube.credentials` without the ``kubernetes`` package, whose import would cost every
node's agent 11-37 MiB; every other kubeconfig form people use (exec plugins, auth providers,
several merged files, ...) goes to the ``kubernetes`` package's loaders (imported only then),
for kopf and for floatip's own client alike. In a cluster the ServiceAccount token is a
projected one that the kubelet rotates (hourly by default); like client-go, `TokenSource`
re-reads its file every minute, so a long-running process never presents an expired token.
"""

from __future__ import annotations

import dataclasses
import pathlib
import ssl
import time
from collections.abc import Callable

from floatip import logs
from floatip.kube import credentials

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
    """Where the API server is and how to authenticate (the token follows its file)."""

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


class ConfigError(Exception):
    """No usable kubeconfig or in-cluster account; the message says what to set."""


def load_endpoint(*, kubeconfig: str | None, in_cluster_first: bool = True) -> Endpoint:
    """The API server of ``kubeconfig``, else the in-cluster account or $KUBECONFIG.

    Without ``kubeconfig``, a program in a pod uses its ServiceAccount first (the operator's
    and the agent's case, ``in_cluster_first``), a person's command its kubeconfig first
    ($KUBECONFIG or ~/.kube/config), as kubectl does.
    """
    found = _plain(kubeconfig=kubeconfig, in_cluster_first=in_cluster_first)
    if found is None:
        return _with_kubernetes(kubeconfig=kubeconfig, in_cluster_first=in_cluster_first)
    return Endpoint(
        server=found.server,
        tokens=TokenSource(found.token, found.token_path),
        ca_path=found.ca_path,
        cert_path=found.cert_path,
        key_path=found.key_path,
        insecure=found.insecure,
    )


def _plain(*, kubeconfig: str | None, in_cluster_first: bool) -> credentials.Credentials | None:
    """What `credentials` reads without the ``kubernetes`` package, in the order of
    `load_endpoint`; None when it is a case for the ``kubernetes`` package (which also words
    the error when nothing is found)."""

    def files() -> credentials.Credentials | credentials.Unsupported:
        return credentials.from_kubeconfig(kubeconfig or credentials.default_kubeconfig())

    order: list[Callable[[], credentials.Credentials | credentials.Unsupported]] = [files]
    if kubeconfig is None:
        order.insert(0 if in_cluster_first else 1, credentials.in_cluster)
    for source in order:
        try:
            found = source()
        except credentials.NotFoundError:
            continue
        if isinstance(found, credentials.Unsupported):
            log.debug("kubeconfig-read-by-kubernetes", reason=found.why)
            return None
        return found
    return None


def _with_kubernetes(*, kubeconfig: str | None, in_cluster_first: bool) -> Endpoint:
    """`load_endpoint` through the ``kubernetes`` package's loaders: every kubeconfig form."""
    import kubernetes  # slow import, only at start

    config = kubernetes.client.Configuration()
    token_path: str | None = None
    try:
        if kubeconfig is None and in_cluster_first:
            try:
                kubernetes.config.load_incluster_config(client_configuration=config)
                token_path = kubernetes.config.incluster_config.SERVICE_TOKEN_FILENAME
            except kubernetes.config.ConfigException:
                kubernetes.config.load_kube_config(client_configuration=config)
        elif kubeconfig is None:
            try:
                kubernetes.config.load_kube_config(client_configuration=config)
            except kubernetes.config.ConfigException:
                kubernetes.config.load_incluster_config(client_configuration=config)
                token_path = kubernetes.config.incluster_config.SERVICE_TOKEN_FILENAME
        else:
            kubernetes.config.load_kube_config(config_file=kubeconfig, client_configuration=config)
    except (kubernetes.config.ConfigException, OSError) as exc:
        where = kubeconfig or "$KUBECONFIG, ~/.kube/config or the in-cluster ServiceAccount"
        raise ConfigError(
            f"no usable Kubernetes credentials in {where}: {exc}; "
            "pass --kubeconfig or set KUBECONFIG"
        ) from exc
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
