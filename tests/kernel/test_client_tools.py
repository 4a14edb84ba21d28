"""The lab client's tools on the real kernel: the HTTP prober and the ARP log.

Proves: the prober records answers from a server by name, records failures once the server's
cable is pulled, and stops by itself; the ARP log captures the client's request for the server
and the server's reply with its MAC, and nothing about other addresses.
"""

from __future__ import annotations

import pathlib
import sys
import time

import pytest

from floatip_lab import hosts, timeline

from .conftest import LanFactory

SERVER = (
    "import http.server, socket\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        body = b'server1'\n"
    "        self.send_response(200); self.send_header('Content-Length', str(len(body)))\n"
    "        self.end_headers(); self.wfile.write(body)\n"
    "    def log_message(self, *a): pass\n"
    "http.server.ThreadingHTTPServer(('0.0.0.0', 80), H).serve_forever()\n"
)


@pytest.mark.kernel
def test_prober_and_arp_log(lan: LanFactory, tmp_path: pathlib.Path) -> None:
    topo = lan("server1", "client")
    server, client = topo["server1"], topo["client"]
    server.popen([sys.executable, "-c", SERVER])
    requests_file, arp_file = tmp_path / "requests.jsonl", tmp_path / "arp.jsonl"
    arp = client.popen(
        [sys.executable, "-m", "floatip_lab.arpwatch", "--address", str(server.ip),
         "--out", str(arp_file), "--duration", "30"]
    )  # fmt: skip
    time.sleep(0.3)  # the ARP socket must be open before the first request
    client.run(
        [sys.executable, "-m", "floatip_lab.httpclient", f"http://{server.ip}/",
         "--out", str(requests_file), "--duration", "1.5", "--timeout", "0.2"],
        timeout=30,
    )  # fmt: skip
    server.set_link(False, end=hosts.LinkEnd.SWITCH)
    client.run(
        [sys.executable, "-m", "floatip_lab.httpclient", f"http://{server.ip}/",
         "--out", str(requests_file), "--count", "5", "--timeout", "0.2"],
        timeout=30,
    )  # fmt: skip
    arp.terminate()
    assert arp.wait(timeout=10) == 0

    requests = [timeline.Request.from_json(line) for line in requests_file.read_text().splitlines()]
    answered = timeline.answered_by(requests)
    assert answered[0][0] == "server1"
    assert answered[0][1] >= 20  # every 10 ms for 1.5 s, bounded by the duration
    assert requests[-5:] == [r for r in requests[-5:] if not r.ok]
    assert len(requests) <= 200

    frames = [timeline.ArpFrame.from_json(line) for line in arp_file.read_text().splitlines()]
    replies = [f for f in frames if f.op == 2 and f.sender_ip == str(server.ip)]
    assert replies
    assert {f.sender_mac for f in replies} == {server.mac}
    assert all(str(server.ip) in (f.sender_ip, f.target_ip) for f in frames)
    assert timeline.double_answers(frames, str(server.ip)) == []
