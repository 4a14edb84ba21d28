"""The in-cluster account and plain kubeconfigs, read without the ``kubernetes`` package.

Importing ``kubernetes`` costs a process some 11-37 MiB of resident memory (its generated
models), which every node's agent would pay only to read a token and a CA once. The forms a
floatip program meets in practice are read here, as client-go reads them:

- the in-cluster ServiceAccount (client-go's ``rest.InClusterConfig``): $KUBERNETES_SERVICE_HOST
  and _PORT, the token and CA files under ``/var/run/secrets/kubernetes.io/serviceaccount``;
- one kubeconfig file whose current context's user has only a token (``token`` or
  ``tokenFile``) and/or a client certificate, and whose cluster has a server, a CA and maybe
  ``insecure-skip-tls-verify``; paths relative to the file, ``*-data`` fields base64.

Anything else (exec plugins, auth providers, basic auth, ``tls-server-name``, ``proxy-url``,
several files in $KUBECONFIG, a file this module cannot make sense of) is `Unsupported`, and
`floatip.kube.config` hands it to the ``kubernetes`` package's loaders as before.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import os
import pathlib
import tempfile
from collections.abc import Mapping
from typing import Any, NamedTuple

SERVICE_ACCOUNT = pathlib.Path("/var/run/secrets/kubernetes.io/serviceaccount")
TOKEN_FILE = str(SERVICE_ACCOUNT / "token")
CA_FILE = str(SERVICE_ACCOUNT / "ca.crt")
CLUSTER_KEYS = frozenset(
    {"server", "certificate-authority", "certificate-authority-data",
     "insecure-skip-tls-verify", "extensions"}
)  # fmt: skip
USER_KEYS = frozenset(
    {"token", "tokenFile", "client-certificate", "client-certificate-data", "client-key",
     "client-key-data", "extensions"}
)  # fmt: skip


class Credentials(NamedTuple):
    server: str
    token: str | None = None
    token_path: str | None = None  # re-read as it rotates (config.TokenSource)
    ca_path: str | None = None
    cert_path: str | None = None
    key_path: str | None = None
    insecure: bool = False


class Unsupported(NamedTuple):
    """A form this module does not read: the ``kubernetes`` package's loaders will."""

    why: str


class NotFoundError(Exception):
    """No in-cluster account, or no kubeconfig file; the message says which."""


def in_cluster(environ: Mapping[str, str] = os.environ) -> Credentials:
    """The Pod's ServiceAccount; `NotFoundError` outside a Pod or without its files."""
    host = environ.get("KUBERNETES_SERVICE_HOST", "")
    port = environ.get("KUBERNETES_SERVICE_PORT", "")
    if not host or not port:
        raise NotFoundError("KUBERNETES_SERVICE_HOST/PORT are not set: not in a Pod")
    if ":" in host:  # an IPv6 address, as Go's net.JoinHostPort writes it
        host = f"[{host}]"
    try:
        token = pathlib.Path(TOKEN_FILE).read_text().strip()
        ca = pathlib.Path(CA_FILE).read_text()
    except OSError as exc:
        raise NotFoundError(f"the ServiceAccount's files are missing: {exc}") from exc
    if not token or not ca:
        raise NotFoundError(f"{TOKEN_FILE} or {CA_FILE} is empty")
    return Credentials(
        server=f"https://{host}:{port}", token=token, token_path=TOKEN_FILE, ca_path=CA_FILE
    )


def default_kubeconfig(environ: Mapping[str, str] = os.environ) -> str:
    """$KUBECONFIG, else ~/.kube/config (kubectl's choice)."""
    return environ.get("KUBECONFIG") or str(pathlib.Path("~/.kube/config").expanduser())


def from_kubeconfig(path: str) -> Credentials | Unsupported:
    """The current context of the kubeconfig at `path`; `NotFoundError` if it has no file."""
    if os.pathsep in path:
        return Unsupported("several kubeconfig files to merge")
    file = pathlib.Path(path).expanduser()
    try:
        text = file.read_text()
    except FileNotFoundError as exc:
        raise NotFoundError(f"no kubeconfig at {file}") from exc
    import yaml  # only kubeconfigs need it; the in-cluster account does not

    try:
        document = yaml.safe_load(text)
        return _current(document, base=file.parent)
    except (yaml.YAMLError, TypeError, KeyError, ValueError, AttributeError, OSError) as exc:
        return Unsupported(f"not read here: {type(exc).__name__}: {exc}")


def _current(document: dict[str, Any], *, base: pathlib.Path) -> Credentials | Unsupported:
    context = _named(document["contexts"], document["current-context"])["context"]
    cluster = _named(document["clusters"], context["cluster"])["cluster"]
    user: dict[str, Any] = {}
    if context.get("user"):
        user = _named(document.get("users") or [], context["user"])["user"] or {}
    extra = (set(cluster) - CLUSTER_KEYS) | (set(user) - USER_KEYS)
    if extra:
        return Unsupported(f"kubeconfig fields {sorted(extra)}")
    token, token_path = user.get("token"), None
    if not token and user.get("tokenFile"):
        token_path = str(base / user["tokenFile"])
        token = pathlib.Path(token_path).read_text().strip()
    return Credentials(
        server=str(cluster["server"]).rstrip("/"),
        token=token or None,
        token_path=token_path,
        ca_path=_file(cluster, "certificate-authority", base),
        cert_path=_file(user, "client-certificate", base),
        key_path=_file(user, "client-key", base),
        insecure=bool(cluster.get("insecure-skip-tls-verify", False)),
    )


def _named(entries: list[dict[str, Any]], name: str) -> dict[str, Any]:
    for entry in entries:
        if entry["name"] == name:
            return entry
    raise KeyError(f"no entry named {name!r}")


def _file(section: Mapping[str, Any], key: str, base: pathlib.Path) -> str | None:
    """The path of ``key`` (relative to the kubeconfig), or a private file of ``key-data``."""
    data = section.get(f"{key}-data")
    if data:
        return _private_file(base64.b64decode(data))
    if section.get(key):
        return str(base / section[key])
    return None


_written: dict[bytes, str] = {}


def _private_file(content: bytes) -> str:
    """A file (mode 0600) holding `content`, removed when the process exits (the TLS library
    reads certificates and keys from files, as the ``kubernetes`` package also arranges)."""
    if content not in _written:
        if not _written:
            atexit.register(_remove_written)
        descriptor, name = tempfile.mkstemp(prefix="floatip-kubeconfig-")
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
        _written[content] = name
    return _written[content]


def _remove_written() -> None:
    for name in _written.values():
        with contextlib.suppress(OSError):
            os.unlink(name)
    _written.clear()
