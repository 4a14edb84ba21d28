"""Credentials read without the ``kubernetes`` package (floatip.kube.credentials, config).

Proves: the in-cluster account is read as client-go reads it (IPv6 host in brackets, the token
file re-read as it rotates); each plain kubeconfig form (token, tokenFile, client certificate
files or data, CA file or data, insecure-skip-tls-verify) gives the endpoint the ``kubernetes``
package's loaders give for the same file; an exec plugin, or several files in $KUBECONFIG, is
still read by those loaders; a missing file is still a ConfigError; and reading a plain
kubeconfig never imports ``kubernetes`` (the agent's memory, docs/tuning.md).
"""

from __future__ import annotations

import base64
import json
import pathlib
import subprocess
import sys
from typing import Any

import pytest
import yaml

from floatip.kube import config, credentials

CA = "-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n"
CERT = "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIBkey\n-----END PRIVATE KEY-----\n"


def kubeconfig(path: pathlib.Path, *, cluster: dict[str, Any], user: dict[str, Any]) -> str:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": "c", "cluster": {"server": "https://192.0.2.1:6443/"}},
                    {"name": "lab", "cluster": cluster},
                ],
                "users": [{"name": "u", "user": user}, {"name": "other", "user": {"token": "x"}}],
                "contexts": [{"name": "ctx", "context": {"cluster": "lab", "user": "u"}}],
                "current-context": "ctx",
            }
        )
    )
    return str(path)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def read(path: str | None) -> str | None:
    return None if path is None else pathlib.Path(path).read_text()


def facts(endpoint: config.Endpoint) -> tuple[Any, ...]:
    """What an endpoint means, with file contents in place of (temporary) file names."""
    return (
        endpoint.server,
        endpoint.token,
        read(endpoint.ca_path),
        read(endpoint.cert_path),
        read(endpoint.key_path),
        endpoint.insecure,
    )


@pytest.mark.parametrize(
    ("cluster", "user"),
    [
        ({"server": "https://198.51.100.7:6443", "certificate-authority-data": b64(CA)},
         {"token": "t0ken"}),
        ({"server": "https://198.51.100.7:6443/", "certificate-authority": "ca.crt"},
         {"tokenFile": "token"}),
        ({"server": "https://[2001:db8::7]:6443", "certificate-authority": "ca.crt"},
         {"client-certificate": "tls.crt", "client-key": "tls.key"}),
        ({"server": "https://api.example:6443", "certificate-authority-data": b64(CA)},
         {"client-certificate-data": b64(CERT), "client-key-data": b64(KEY), "token": "t"}),
        ({"server": "https://198.51.100.7:6443", "insecure-skip-tls-verify": True},
         {"token": "t0ken"}),
        ({"server": "http://198.51.100.7:8080"}, {}),
    ],
)  # fmt: skip
def test_plain_kubeconfigs_read_as_the_kubernetes_package_reads_them(
    tmp_path: pathlib.Path, cluster: dict[str, Any], user: dict[str, Any]
) -> None:
    for name, content in {"ca.crt": CA, "tls.crt": CERT, "tls.key": KEY, "token": "f1le"}.items():
        (tmp_path / name).write_text(content)
    path = kubeconfig(tmp_path / "config", cluster=cluster, user=user)
    plain = credentials.from_kubeconfig(path)
    assert isinstance(plain, credentials.Credentials), plain
    ours = config.load_endpoint(kubeconfig=path)
    theirs = config._with_kubernetes(kubeconfig=path, in_cluster_first=True)
    assert facts(ours) == facts(theirs)


def test_a_token_file_is_reread_as_it_rotates(tmp_path: pathlib.Path) -> None:
    (tmp_path / "token").write_text("first")
    path = kubeconfig(
        tmp_path / "config", cluster={"server": "https://198.51.100.7:6443"},
        user={"tokenFile": "token"},
    )  # fmt: skip
    endpoint = config.load_endpoint(kubeconfig=path)
    assert endpoint.tokens.path == str(tmp_path / "token")
    assert endpoint.token == "first"


def test_in_cluster_account(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "token").write_text("pod-token\n")
    (tmp_path / "ca.crt").write_text(CA)
    monkeypatch.setattr(credentials, "TOKEN_FILE", str(tmp_path / "token"))
    monkeypatch.setattr(credentials, "CA_FILE", str(tmp_path / "ca.crt"))
    env = {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}
    found = credentials.in_cluster(env)
    assert found == credentials.Credentials(
        server="https://[fd00::1]:443", token="pod-token", token_path=str(tmp_path / "token"),
        ca_path=str(tmp_path / "ca.crt"),
    )  # fmt: skip
    with pytest.raises(credentials.NotFoundError, match="not in a Pod"):
        credentials.in_cluster({})
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "192.0.2.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "6443")
    endpoint = config.load_endpoint(kubeconfig=None)
    assert (endpoint.server, endpoint.token, endpoint.tokens.path) == (
        "https://192.0.2.1:6443",
        "pod-token",
        str(tmp_path / "token"),
    )


def test_other_forms_go_to_the_kubernetes_package(tmp_path: pathlib.Path) -> None:
    plugin = tmp_path / "plugin"
    status = {"token": "from-exec"}
    answer = {"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
              "status": status}  # fmt: skip
    plugin.write_text(f"#!/bin/sh\necho '{json.dumps(answer)}'\n")
    plugin.chmod(0o755)
    path = kubeconfig(
        tmp_path / "config", cluster={"server": "https://198.51.100.7:6443"},
        user={"exec": {"apiVersion": answer["apiVersion"], "command": str(plugin)}},
    )  # fmt: skip
    assert isinstance(credentials.from_kubeconfig(path), credentials.Unsupported)
    assert config.load_endpoint(kubeconfig=path).token == "from-exec"
    merged = f"{path}:{tmp_path / 'other'}"
    assert isinstance(credentials.from_kubeconfig(merged), credentials.Unsupported)
    with pytest.raises(config.ConfigError, match="pass --kubeconfig"):
        config.load_endpoint(kubeconfig=str(tmp_path / "missing"))


def test_a_plain_kubeconfig_never_imports_kubernetes(tmp_path: pathlib.Path) -> None:
    path = kubeconfig(
        tmp_path / "config",
        cluster={"server": "https://198.51.100.7:6443", "certificate-authority-data": b64(CA)},
        user={"token": "t0ken"},
    )
    code = (
        "import sys\n"
        "from floatip.kube import config\n"
        f"assert config.load_endpoint(kubeconfig={path!r}).token == 't0ken'\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'kubernetes'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
