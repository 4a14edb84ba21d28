"""Running the server: in-process for tests, or until SIGTERM from the command line.

``async with serve(crds=...) as server:`` starts it on a free 127.0.0.1 port (HTTPS with a fresh
CA, or plain HTTP), loads the CRDs, creates the namespaces a fresh cluster has, writes an admin
kubeconfig, and removes its temp directory afterwards. ``server.kubeconfig_for(...)`` mints a
token and kubeconfig for any identity (a ServiceAccount of the Helm chart, say) so RBAC applies
to it. ``down()``, ``up()``, ``restart()``, ``hang()``, ``heal()``, ``latency``,
``drop_watches()`` and ``hold(...)`` (see :mod:`faults`) are the fault controls.
"""

from __future__ import annotations

import contextlib
import pathlib
import secrets
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Callable
from typing import Any

import yaml
from aiohttp import web

from floatip_apiserver import bootstrap, certs, faults, kubeconfig, rbac, status
from floatip_apiserver.kinds import serviceaccounts, services
from floatip_apiserver.objects import WriteOptions
from floatip_apiserver.server import ApiServer

INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
ADMIN = rbac.User("floatip-admin", (rbac.MASTERS,))


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def default_crds_dir() -> pathlib.Path:
    """floatip's crds/: beside the package in a checkout, or installed with the wheel.

    The wheel carries crds/ as ``floatip/_crds`` next to this package; a checkout has it at
    the repository root. Found by path, so this lab tool imports nothing of the product.
    """
    package_parent = pathlib.Path(__file__).resolve().parents[1]
    for candidate in (package_parent.parent / "crds", package_parent / "floatip" / "_crds"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        "floatip's crds/ directory was not found beside the package: pass --crds DIR"
    )


def load_crds(directory: pathlib.Path) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition in ``*.yaml``/``*.yml``/``*.json`` files of a directory."""
    found = []
    if not directory.is_dir():
        raise FileNotFoundError(
            f"CRD directory {directory} does not exist: pass --crds DIR (default: crds/ of the "
            "repository) or an empty directory for no CRDs"
        )
    for path in sorted(directory.iterdir()):
        if path.suffix not in (".yaml", ".yml", ".json"):
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                found.append(doc)
    return found


class RunningServer:
    """A started server and its controls."""

    def __init__(
        self, api: ApiServer, workdir: pathlib.Path, host: str, port: int, tls: bool
    ) -> None:
        self.api = api
        self.workdir = workdir
        self.host = host
        self.port = port
        self.credentials = certs.generate((host, "localhost")) if tls else None
        self.url = f"{'https' if tls else 'http'}://{host}:{port}"
        self.admin_token = self.add_token(ADMIN)
        self.kubeconfig = self.kubeconfig_for(
            ADMIN, path=workdir / "admin.kubeconfig", token=self.admin_token
        )
        self._runner: web.AppRunner | None = None
        self._serving: web.AppRunner | None = None  # the runner whose requests are answered
        self._site: web.TCPSite | None = None

    @property
    def ca_pem(self) -> bytes | None:
        return self.credentials.ca_pem if self.credentials else None

    def add_token(self, user: rbac.User, token: str | None = None) -> str:
        token = token or secrets.token_hex(16)
        self.api.tokens[token] = user
        return token

    def kubeconfig_for(
        self, user: rbac.User, *, path: pathlib.Path | None = None, token: str | None = None
    ) -> pathlib.Path:
        """A kubeconfig authenticating as ``user`` (its RBAC bindings decide what it may do)."""
        token = token or self.add_token(user)
        safe = user.name.replace(":", "_").replace("/", "_")
        target = path or self.workdir / f"{safe}-{token[:6]}.kubeconfig"
        return kubeconfig.write(target, kubeconfig.build(self.url, token, user.name, self.ca_pem))

    def kubeconfig_for_service_account(self, namespace: str, name: str) -> pathlib.Path:
        return self.kubeconfig_for(rbac.User.service_account(namespace, name))

    def kubeconfig_for_service_account_at(
        self, namespace: str, name: str, path: pathlib.Path
    ) -> pathlib.Path:
        """Like `kubeconfig_for_service_account`, written to ``path``."""
        return self.kubeconfig_for(rbac.User.service_account(namespace, name), path=path)

    def kubeconfig_for_pod_at(self, namespace: str, pod: str, path: pathlib.Path) -> pathlib.Path:
        """A kubeconfig with the token kubelet would mount into Pod ``namespace/pod``.

        As kubelet does: a TokenRequest for the Pod's ServiceAccount, bound to the Pod, for 3607
        seconds (so signed for a year). It authenticates with the pod and node extras while the
        Pod exists; 404 (ApiError) if the Pod or its ServiceAccount does not.
        """
        found = self.api.store.get(("", "pods"), namespace, pod)
        if found is None:
            raise status.not_found("pods", pod, "", "pods")
        account = str(found["spec"]["serviceAccountName"])
        accounts = self.api.registry.get("", "v1", "serviceaccounts")
        assert accounts is not None
        ref = {"apiVersion": "v1", "kind": "Pod", "name": pod, "uid": found["metadata"]["uid"]}
        spec = {"boundObjectRef": ref, "expirationSeconds": serviceaccounts.WARN_ONLY_SECONDS}
        answer = self.api.objects.kinds.tokens.request(accounts, namespace, account, {"spec": spec})
        token = str(answer["status"]["token"])
        user = f"system:serviceaccount:{namespace}:{account}"
        return kubeconfig.write(path, kubeconfig.build(self.url, token, user, self.ca_pem))

    # ---- lifecycle and faults ----------------------------------------------------------
    async def start(self) -> None:
        await self.up()

    async def up(self) -> None:
        """Listen (again); state is kept."""
        if self._runner is not None:
            return
        app = self.api.app()
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        app.middlewares.insert(0, _only_while_listening(lambda: self._serving is runner))
        self._runner = self._serving = runner
        await self._runner.setup()
        context = self.credentials.server_context(self.workdir) if self.credentials else None
        self._site = web.TCPSite(
            self._runner, self.host, self.port, ssl_context=context, reuse_address=True
        )
        await self._site.start()

    async def down(self) -> None:
        """Close the socket and every open connection: new connections are refused."""
        self.api.store.drop_watches()
        if self._runner is not None:
            self._serving = None  # from now on no request is answered, on any connection
            await self._runner.cleanup()
            self._runner = None
            self._site = None

    async def restart(self) -> None:
        """Down then up, keeping every object and the revision counter."""
        await self.down()
        await self.up()

    def hang(self) -> None:
        self.api.faults.hang()

    def heal(self) -> None:
        self.api.faults.heal()

    def hold(
        self, method: str, path: str, *, user: str | None = None, count: int | None = None
    ) -> faults.Hold:
        """Hold matching requests until the returned hold is released or dropped."""
        return self.api.faults.hold(method, path, user=user, count=count)

    def set_latency(self, seconds: float) -> None:
        self.api.faults.latency = seconds

    def drop_watches(self) -> int:
        return self.api.store.drop_watches()

    def compact(self) -> None:
        """Forget watch history: watches from older resourceVersions now get 410 Gone."""
        self.api.store.compact()

    async def stop(self) -> None:
        self.api.faults.heal()
        self.api.faults.drop_holds()
        await self.down()


def _only_while_listening(listening: Callable[[], bool]) -> Any:
    """A middleware that drops every request once its listener has closed.

    `RunningServer.down` closes the listener, then every connection the app knows. A TLS
    connection the listener accepted just before is not among them while its handshake runs
    (the app learns of a connection only once the handshake is over), so it would live on and
    serve a kept-alive client for good, which then believes the server up while every new
    connection is refused. Such a connection is cut at its first request, as a stopped
    server's would be."""

    @web.middleware
    async def only_while_listening(request: web.Request, handler: Any) -> web.StreamResponse:
        if not listening():
            if request.transport is not None:
                request.transport.abort()
            raise web.HTTPServiceUnavailable(text="the API server is down")
        response: web.StreamResponse = await handler(request)
        return response

    return only_while_listening


def seed(api: ApiServer, crds: list[dict[str, Any]]) -> None:
    """What a fresh cluster has: the initial namespaces, the bootstrap RBAC, the given CRDs."""
    opts = WriteOptions(field_validation="Strict", manager="floatip-apiserver")
    namespaces = api.registry.get("", "v1", "namespaces")
    crd_res = api.registry.get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    assert namespaces is not None and crd_res is not None
    for name in INITIAL_NAMESPACES:
        api.objects.create(
            namespaces, "", {"metadata": {"name": name}, "status": {"phase": "Active"}}, opts
        )
    for plural, obj in bootstrap.policy():
        res = api.registry.get("rbac.authorization.k8s.io", "v1", plural)
        assert res is not None
        api.objects.create(res, "", obj, opts)
    for crd in crds:
        api.objects.create(crd_res, "", crd, opts)


def seed_kubernetes_service(api: ApiServer, port: int) -> None:
    """``default/kubernetes`` (10.96.0.1:443 -> ``port``), which kube-apiserver keeps itself."""
    opts = WriteOptions(field_validation="Strict", manager="kube-apiserver")
    res = api.registry.get("", "v1", "services")
    assert res is not None
    api.objects.create(res, "default", services.kubernetes_service(port), opts)


@contextlib.asynccontextmanager
async def serve(
    *,
    crds: pathlib.Path | list[dict[str, Any]] | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    tls: bool = True,
    history: int = 10_000,
    bookmark_interval: float = 5.0,
    workdir: pathlib.Path | None = None,
) -> AsyncIterator[RunningServer]:
    """Run a server for the duration of the block; everything it created is removed after."""
    api = ApiServer(history=history, bookmark_interval=bookmark_interval)
    seed(api, load_crds(crds) if isinstance(crds, pathlib.Path) else list(crds or []))
    own_dir = workdir is None
    directory = workdir or pathlib.Path(tempfile.mkdtemp(prefix="floatip-apiserver-"))
    server = RunningServer(api, directory, host, port or free_port(host), tls)
    seed_kubernetes_service(api, server.port)
    api.address = f"{host}:{server.port}"
    try:
        await server.start()
        yield server
    finally:
        await server.stop()
        if own_dir:
            shutil.rmtree(directory, ignore_errors=True)
