"""A minimal Kubernetes API client for the lab's own few calls (seed Nodes, read a Lease).

The lab talks to its API server only to create what a kubelet and an installer would
(`floatip_lab.seeding`) and to read leader Leases for faults. The standard library is
enough for that and keeps `floatip lab` free of the operator's and the agent's clients.

Like every real client (client-go's transport, urllib3's pool), it keeps its connections
alive: each thread reuses one HTTPS connection, so creating a thousand objects costs the API
server one TLS handshake per thread instead of one per object. A kept connection that the
server has closed while it was idle is noticed before it is used (it reads as end of file), or
when no answer comes back, and the request goes on a fresh one, as urllib3 does for a pooled
connection.
"""

from __future__ import annotations

import base64
import http.client
import json
import pathlib
import select
import socket
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
        self._ssl = ssl.create_default_context()
        if ca:
            self._ssl.load_verify_locations(cadata=base64.b64decode(ca).decode())
        self._timeout = timeout
        self._local = threading.local()
        self._prefix = urllib.parse.urlsplit(self.url).path.rstrip("/")

    def _connection(self) -> tuple[http.client.HTTPSConnection, bool]:
        """This thread's connection to the server, and whether it was used before."""
        conn: http.client.HTTPSConnection | None = getattr(self._local, "conn", None)
        if conn is not None and conn.sock is not None and not _readable(conn.sock):
            return conn, True
        if conn is not None:
            self._drop()  # closed by the server while idle (it reads as EOF) or never opened
        parsed = urllib.parse.urlsplit(self.url)
        conn = http.client.HTTPSConnection(
            parsed.hostname or "", parsed.port, timeout=self._timeout, context=self._ssl
        )
        self._local.conn = conn
        return conn, False

    def _drop(self) -> None:
        conn: http.client.HTTPSConnection | None = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def _send(
        self, method: str, path: str, data: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        """(status, body) over this thread's kept connection; OSError when unreachable."""
        headers = {"Authorization": f"Bearer {self._token}", **headers}
        while True:
            conn, reused = self._connection()
            try:
                conn.request(method, self._prefix + path, body=data, headers=headers)
                answer = conn.getresponse()
                body = answer.read()
            except (
                http.client.RemoteDisconnected,
                ConnectionResetError,
                BrokenPipeError,
                ssl.SSLEOFError,
            ):
                self._drop()
                if reused:
                    continue  # the server closed the idle connection before this request
                raise
            except (OSError, http.client.HTTPException):
                self._drop()
                raise
            if answer.will_close:
                self._drop()
            return answer.status, body

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
        try:
            status, answer = self._send(method, path, data, headers)
        except (OSError, http.client.HTTPException) as exc:
            raise ApiError(f"{method} {path}: API server {self.url} unreachable: {exc}") from exc
        if status >= 400:
            detail = answer.decode(errors="replace")[:500]
            raise ApiError(f"{method} {path}: HTTP {status}: {detail}", status)
        decoded: dict[str, Any] = json.loads(answer or b"{}")
        return decoded

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
        try:
            status, body = self._send("GET", path, None, {})
        except (OSError, http.client.HTTPException) as exc:
            raise ApiError(f"GET {path}: API server {self.url} unreachable: {exc}") from exc
        if status >= 400:
            raise ApiError(f"GET {path}: HTTP {status}", status)
        return body.decode()


def _readable(sock: socket.socket) -> bool:
    """Whether an idle connection has something to read: only the server's close can be."""
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def named(items: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The kubeconfig entry (cluster, context, user) called ``name``; KeyError if none."""
    for item in items:
        if item.get("name") == name:
            return item
    raise KeyError(f"no entry named {name!r}")
