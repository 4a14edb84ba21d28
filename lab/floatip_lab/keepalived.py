"""keepalived as the failover baseline, in the same kind of netns LAN floatip is measured in.

DESIGN.md's yardstick: keepalived 2.2.7 (Debian) at its default ``advert_int 1`` is answered by
the backup about 3 s after the master dies. ``floatip bench failover --baseline keepalived``
reruns that here: two servers running keepalived (VRRP only) and an HTTP server each, a client
asking the VIP every 10 ms, and the master's power cut (every process SIGKILLed, its cable
pulled). The client's first answer from the backup ends the measurement.
"""

from __future__ import annotations

import dataclasses
import pathlib
import shutil
import sys
import tempfile
import time
from collections.abc import Callable

from floatip_lab import commands, hosts, netns, timeline

#: The HTTP server every lab server runs: it answers GET with its own host name.
HOSTNAME_SERVER = (
    "import http.server, sys\n"
    "name = sys.argv[1].encode()\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        self.send_response(200); self.send_header('Content-Length', str(len(name)))\n"
    "        self.end_headers(); self.wfile.write(name)\n"
    "    def log_message(self, *a): pass\n"
    "http.server.ThreadingHTTPServer(('0.0.0.0', 80), H).serve_forever()\n"
)


@dataclasses.dataclass(frozen=True)
class Instance:
    """One keepalived VRRP instance as the seed's article configures it."""

    vip: str
    prefix: int
    interface: str
    priority: int
    master: bool
    advert_int: float = 1.0
    router_id: int = 51


def render_config(instance: Instance) -> str:
    """keepalived.conf for one server (pure; unicast-free multicast VRRP, no authentication)."""
    state = "MASTER" if instance.master else "BACKUP"
    # VRRPv2 counts advert_int in whole seconds; sub-second adverts need VRRPv3.
    version = "    vrrp_version 3\n" if instance.advert_int < 1 else ""
    return (
        "global_defs {\n"
        "    enable_script_security\n"
        "    vrrp_garp_master_delay 5\n"
        f"{version}"
        "}\n"
        "vrrp_instance VI_1 {\n"
        f"    state {state}\n"
        f"    interface {instance.interface}\n"
        f"    virtual_router_id {instance.router_id}\n"
        f"    priority {instance.priority}\n"
        f"    advert_int {instance.advert_int:g}\n"
        "    virtual_ipaddress {\n"
        f"        {instance.vip}/{instance.prefix} dev {instance.interface}\n"
        "    }\n"
        "}\n"
    )


def _start_keepalived(host: hosts.Host, instance: Instance, workdir: pathlib.Path) -> None:
    conf = workdir / f"{host.name}.conf"
    conf.write_text(render_config(instance))
    binary = shutil.which("keepalived")
    if binary is None:
        raise commands.LabError("keepalived is not installed: apt-get install keepalived")
    host.popen(
        [binary, "--vrrp", "--dont-fork", "--log-console", "-f", str(conf),
         "-p", str(workdir / f"{host.name}.pid"), "-r", str(workdir / f"{host.name}.vrrp.pid")],
    )  # fmt: skip


def _wait_for(
    client: hosts.Host, url: str, name: str, deadline_s: float, workdir: pathlib.Path
) -> None:
    """Poll the VIP from the client until ``name`` answers (keepalived elected its master)."""
    probe = workdir / "warmup.jsonl"
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        probe.unlink(missing_ok=True)
        client.run(
            [sys.executable, "-m", "floatip_lab.httpclient", url, "--out", str(probe),
             "--count", "1", "--timeout", "0.2"],
        )  # fmt: skip
        [request] = [timeline.Request.from_json(line) for line in probe.read_text().splitlines()]
        if request.ok and request.answer == name:
            return
        time.sleep(0.1)
    raise commands.LabError(f"the VIP did not answer from {name} within {deadline_s:g} s")


def measure_once(advert_int: float, workdir: pathlib.Path) -> float:
    """One kill-node run: seconds from the master's power cut to the backup's first answer."""
    vip = "192.0.2.200"
    spec = netns.LanSpec.of("kabase", "server1", "server2", "client")
    with netns.build(spec) as topo:
        server1, server2, client = topo["server1"], topo["server2"], topo["client"]
        for server in (server1, server2):
            server.popen([sys.executable, "-c", HOSTNAME_SERVER, server.name])
        _start_keepalived(server1, Instance(vip, 24, "eth0", 150, True, advert_int), workdir)
        _start_keepalived(server2, Instance(vip, 24, "eth0", 100, False, advert_int), workdir)
        url = f"http://{vip}/"
        _wait_for(client, url, "server1", 30.0, workdir)
        requests_file = workdir / "requests.jsonl"
        requests_file.unlink(missing_ok=True)
        prober = client.popen(
            [sys.executable, "-m", "floatip_lab.httpclient", url, "--out", str(requests_file),
             "--duration", "20", "--timeout", "0.1"],
        )  # fmt: skip
        time.sleep(1.0)
        fault = time.time()
        hosts.kill_namespace_processes(server1.netns)  # power loss: every process, at once
        server1.set_link(False, end=hosts.LinkEnd.SWITCH)
        deadline = time.monotonic() + 20
        elapsed = None
        while time.monotonic() < deadline and prober.poll() is None:
            time.sleep(0.2)
            records = [
                timeline.Request.from_json(x) for x in requests_file.read_text().splitlines()
            ]
            elapsed = timeline.failover_seconds(records, fault, "server2")
            if elapsed is not None:
                break
        prober.terminate()
        prober.wait(timeout=10)
    if elapsed is None:
        raise commands.LabError("keepalived's backup never answered within 20 s of the fault")
    return elapsed


def measure(
    runs: int, *, advert_int: float = 1.0, progress: Callable[[str], None] = print
) -> list[float]:
    """``runs`` kill-node failovers of keepalived; seconds each, as the client saw them."""
    results = []
    with tempfile.TemporaryDirectory(prefix="floatip-keepalived-") as tmp:
        for run in range(1, runs + 1):
            seconds = measure_once(advert_int, pathlib.Path(tmp))
            results.append(seconds)
            progress(f"keepalived (advert_int {advert_int:g}) run {run}/{runs}: {seconds:.2f} s")
    return results
