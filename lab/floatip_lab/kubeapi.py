"""A minimal Kubernetes API client for the lab's own few calls (seed Nodes, read a Lease).

The lab talks to its API server only to create what a kubelet and an installer would
(`floatip_lab.seeding`) and to read leader Leases for faults. The standard library is
enough for that and keeps `floatip lab` free of the operator's and the agent's clients.
"""

from __future__ import annotations

import base64
import json
import pathlib
import ssl
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
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self._token}")
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, timeout=self._timeout, context=self._ssl) as answer:
                decoded: dict[str, Any] = json.loads(answer.read() or b"{}")
                return decoded
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise ApiError(f"{method} {path}: HTTP {exc.code}: {detail}", exc.code) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise ApiError(f"{method} {path}: API server {self.url} unreachable: {exc}") from exc

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
        req = urllib.request.Request(self.url + path, method="GET")
        req.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(req, timeout=self._timeout, context=self._ssl) as answer:
                body: bytes = answer.read()
                return body.decode()
        except urllib.error.HTTPError as exc:
            raise ApiError(f"GET {path}: HTTP {exc.code}", exc.code) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise ApiError(f"GET {path}: API server {self.url} unreachable: {exc}") from exc


def named(items: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The kubeconfig entry (cluster, context, user) called ``name``; KeyError if none."""
    for item in items:
        if item.get("name") == name:
            return item
    raise KeyError(f"no entry named {name!r}")
