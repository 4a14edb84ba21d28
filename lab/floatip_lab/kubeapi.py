"""A minimal Kubernetes API client for the lab's own few calls (seed Nodes, read a Lease).

The lab talks to its API server only to create what a kubelet and an installer would
(`floatip_lab.seeding`) and to read leader Leases for faults. The standard library is
enough for that and keeps `floatip lab` free of the operator's and the agent's clients.

Like client-go, a client keeps its connection open between requests (one per thread, HTTP/1.1
keep-alive), so the lab's stand-ins for Kubernetes' controllers pay one TLS handshake, not one
per write; a connection the server closed while idle is noticed before it is used and opened
afresh. A kubeconfig that names its CA gets a TLS context trusting that CA alone (the system's
store is not read: that took 0.1 s per client, on the clock of every `floatip lab fault`).
"""

from __future__ import annotations

import base64
import http.client
import json
import pathlib
import select
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import yaml

from floatip_lab import commands


class ApiError(commands.LabError):
    """The API server answered with an error, or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Client:
    """Bearer-token HTTPS client built from a kubeconfig's current context."""

    def __init__(self, kubeconfig: pathlib.Path, *, timeout: float = 5.0) -> None:
        try:
            config = yaml.safe_load(kubeconfig.read_text())
            context_name = config["current-context"]
            context = named(config["contexts"], context_name)["context"]
            cluster = named(config["clusters"], context["cluster"])["cluster"]
            user = named(config["users"], context["user"])["user"]
        except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
            raise commands.LabError(
                f"cannot use kubeconfig {kubeconfig}: {exc}; is the lab up (`floatip lab up`)?"
            ) from exc
        self.url: str = cluster["server"]
        self._token: str = user["token"]
        ca = cluster.get("certificate-authority-data")
        if ca:
            self._ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, checks the name
            self._ssl.load_verify_locations(cadata=base64.b64decode(ca).decode())
        else:
            self._ssl = ssl.create_default_context()
        self._timeout = timeout
        self._local = threading.local()  # this thread's open connection, if any

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        """Send one request; return the decoded JSON answer or raise ApiError."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type
        code, answer = self._send(method, path, data, headers)
        if code >= 400:
            detail = answer.decode(errors="replace")[:500]
            raise ApiError(f"{method} {path}: HTTP {code}: {detail}", code)
        try:
            decoded: dict[str, Any] = json.loads(answer or b"{}")
        except ValueError as exc:
            raise ApiError(f"{method} {path}: the answer is not JSON: {answer[:200]!r}") from exc
        return decoded

    def _send(
        self, method: str, path: str, data: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        """One request on this thread's connection: (status, body). A kept connection that
        breaks before answering (the server closed it meanwhile) is tried once afresh."""
        headers = {**headers, "Authorization": f"Bearer {self._token}"}
        for attempt in (1, 2):
            connection, reused = self._connection()
            try:
                connection.request(method, path, body=data, headers=headers)
                answer = connection.getresponse()
                body = answer.read()
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                stale = isinstance(exc, http.client.RemoteDisconnected | ConnectionResetError
                                   | BrokenPipeError)  # fmt: skip
                if reused and stale and attempt == 1:
                    continue
                raise ApiError(
                    f"{method} {path}: API server {self.url} unreachable: {exc}"
                ) from exc
            if answer.will_close:
                self._drop()
            return answer.status, body
        raise AssertionError("unreachable")  # pragma: no cover

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection to the server and whether it served a request before."""
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is not None and _closed_by_server(connection):
            self._drop()
            connection = None
        if connection is not None:
            return connection, True
        url = urllib.parse.urlsplit(self.url)
        if url.path.strip("/"):
            raise ApiError(f"API server {self.url}: a server URL with a path is not supported")
        if url.scheme == "https":
            connection = http.client.HTTPSConnection(
                url.hostname or "", url.port, timeout=self._timeout, context=self._ssl
            )
        else:
            connection = http.client.HTTPConnection(
                url.hostname or "", url.port, timeout=self._timeout
            )
        self._local.connection = connection
        return connection, False

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            connection.close()

    def watch(
        self,
        path: str,
        *,
        resource_version: str,
        timeout: float = 60.0,
        label_selector: str = "",
    ) -> Iterator[dict[str, Any]]:
        """The watch events of the collection at ``path`` after ``resource_version``.

        Bookmarks are asked for, so a quiet stream still speaks within ``timeout`` (the read
        timeout); it ends when the server ends the stream. ApiError when it cannot be read.
        """
        params = {"watch": "true", "resourceVersion": resource_version}
        params |= {"allowWatchBookmarks": "true"}
        if label_selector:
            params["labelSelector"] = label_selector
        query = urllib.parse.urlencode(params)
        req = urllib.request.Request(f"{self.url}{path}?{query}", method="GET")
        req.add_header("Authorization", f"Bearer {self._token}")
        req.add_header("Accept", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self._ssl) as stream:
                for line in stream:
                    if line.strip():
                        event: dict[str, Any] = json.loads(line)
                        yield event
        except urllib.error.HTTPError as exc:
            raise ApiError(f"watch {path}: HTTP {exc.code}", exc.code) from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ApiError(f"watch {path}: the stream from {self.url} broke: {exc}") from exc

    def answers(self) -> bool:
        """Whether the API server answers at all (GET /version)."""
        try:
            self.request("GET", "/version")
        except ApiError:
            return False
        return True

    def text(self, path: str) -> str:
        """GET a non-JSON endpoint (``/metrics``) as text, or raise ApiError."""
        code, body = self._send("GET", path, None, {})
        if code >= 400:
            raise ApiError(f"GET {path}: HTTP {code}", code)
        return body.decode()


def _closed_by_server(connection: http.client.HTTPConnection) -> bool:
    """Whether an idle kept connection has something to read: the server closed it (EOF)
    or broke it; either way it cannot carry the next request."""
    sock = connection.sock
    if sock is None:
        return False  # not connected (yet): the next request connects
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def named(items: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The kubeconfig entry (cluster, context, user) called ``name``; KeyError if none."""
    for item in items:
        if item.get("name") == name:
            return item
    raise KeyError(f"no entry named {name!r}")
