"""The lab's API client keeps its connection (floatip_lab.kubeapi), against a small HTTPS server
on 127.0.0.1 with a CA of its own (floatip_apiserver.certs). Proves:

- a kubeconfig's CA alone is trusted (the server is verified, by name too), and requests on one
  thread share one connection (HTTP/1.1 keep-alive, one TLS handshake), JSON both ways;
- an error answer is an ApiError with its status and the server's words, and the connection
  stays usable; ``text`` reads a non-JSON answer;
- a connection the server closed while idle is noticed before it is used, and one that breaks
  under the next request (the close came just then) is tried once afresh: no request fails;
- another thread gets a connection of its own.
"""

from __future__ import annotations

import base64
import http.server
import json
import pathlib
import threading
from collections.abc import Iterator

import pytest
import yaml

from floatip_apiserver import certs
from floatip_lab import kubeapi

TOKEN = "lab-token"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless told otherwise

    def do_GET(self) -> None:
        self._answer()

    def do_PUT(self) -> None:
        self._answer(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))

    def _answer(self, body: object = None) -> None:
        assert self.headers["Authorization"] == f"Bearer {TOKEN}"
        if self.path == "/metrics":
            self._send(200, b"# HELP x\n", "text/plain")
        elif self.path == "/missing":
            self._send(404, b'{"reason": "NotFound"}', "application/json")
        else:
            port = self.client_address[1]
            answer = {"path": self.path, "port": port, "body": body}
            self._send(200, json.dumps(answer).encode(), "application/json")
        if self.path == "/then-hang-up":
            self.close_connection = True  # without saying so: as an idle timeout does

    def _send(self, code: int, body: bytes, kind: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def client(tmp_path: pathlib.Path) -> Iterator[kubeapi.Client]:
    made = certs.generate(("127.0.0.1",))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = made.server_context(tmp_path).wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    config = {
        "current-context": "lab",
        "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "lab"}}],
        "clusters": [{"name": "lab", "cluster": {
            "server": f"https://127.0.0.1:{server.server_address[1]}",
            "certificate-authority-data": base64.b64encode(made.ca_pem).decode(),
        }}],
        "users": [{"name": "lab", "user": {"token": TOKEN}}],
    }  # fmt: skip
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    try:
        yield kubeapi.Client(kubeconfig)
    finally:
        server.shutdown()
        server.server_close()


def test_one_connection_for_a_threads_requests(client: kubeapi.Client) -> None:
    assert client._ssl.cert_store_stats()["x509_ca"] == 1  # the kubeconfig's CA, no other
    first = client.request("GET", "/api/v1/pods?labelSelector=app%3Dweb")
    assert first["path"] == "/api/v1/pods?labelSelector=app%3Dweb"
    second = client.request("PUT", "/api/v1/x", {"spec": {"a": 1}})
    assert second["body"] == {"spec": {"a": 1}} and second["port"] == first["port"]


def test_errors_and_text(client: kubeapi.Client) -> None:
    port = client.request("GET", "/a")["port"]
    with pytest.raises(kubeapi.ApiError, match=r"HTTP 404.*NotFound") as raised:
        client.request("GET", "/missing")
    assert raised.value.status == 404
    assert client.text("/metrics") == "# HELP x\n"
    assert client.request("GET", "/b")["port"] == port


def test_a_connection_the_server_closed_is_opened_afresh(
    client: kubeapi.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = client.request("GET", "/then-hang-up")["port"]
    after = client.request("GET", "/a")["port"]  # noticed idle-closed before the request
    assert after != before
    monkeypatch.setattr(kubeapi, "_closed_by_server", lambda connection: False)
    client.request("GET", "/then-hang-up")
    again = client.request("GET", "/a")["port"]  # broke under the request: tried afresh
    assert again not in (before, after)


def test_each_thread_has_its_own_connection(client: kubeapi.Client) -> None:
    mine = client.request("GET", "/a")["port"]
    theirs: list[int] = []
    thread = threading.Thread(target=lambda: theirs.append(client.request("GET", "/a")["port"]))
    thread.start()
    thread.join(10)
    assert theirs and theirs[0] != mine
    assert client.request("GET", "/a")["port"] == mine


def test_a_server_of_another_ca_is_refused(tmp_path: pathlib.Path, client: kubeapi.Client) -> None:
    other = certs.generate(("127.0.0.1",))
    config = yaml.safe_load((tmp_path / "kubeconfig").read_text())  # the fixture's
    config["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(
        other.ca_pem
    ).decode()
    stranger = tmp_path / "stranger"
    stranger.write_text(yaml.safe_dump(config))
    with pytest.raises(kubeapi.ApiError, match=r"unreachable.*CERTIFICATE_VERIFY_FAILED"):
        kubeapi.Client(stranger).request("GET", "/a")
