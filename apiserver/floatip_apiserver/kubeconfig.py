"""Kubeconfig files that kubectl, kopf and the kubernetes client accept unchanged."""

from __future__ import annotations

import base64
import pathlib
from typing import Any

import yaml


def build(url: str, token: str, user: str, ca_pem: bytes | None) -> dict[str, Any]:
    """One cluster, one user (bearer token), one current context."""
    cluster: dict[str, Any] = {"server": url}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "floatip-test", "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [
            {"name": "floatip-test", "context": {"cluster": "floatip-test", "user": user}}
        ],
        "current-context": "floatip-test",
        "preferences": {},
    }


def write(path: pathlib.Path, config: dict[str, Any]) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path
