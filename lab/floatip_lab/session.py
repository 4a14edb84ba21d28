"""Driving a running lab as a person would: apply a VirtualIP, watch the client, break things.

`floatip lab demo`, the end-to-end tests and `floatip bench failover` all do the same few
things to a lab that `floatip lab up` built: create VirtualIPs through the API, wait for
their conditions, run the client's HTTP prober and ARP log, inject faults and read the
client's records back. This module is that vocabulary, so the three say it alike.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import pathlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from floatip.api import names
from floatip_lab import commands, faults, kubeapi, processes, state, timeline, waiting

Say = Callable[[str], None]
VIPS = f"/apis/{names.GROUP}/{names.VERSION}/{names.PLURAL}"
POOLS = f"/apis/{names.GROUP}/{names.VERSION}/{names.POOL_PLURAL}"
_MERGE = "application/merge-patch+json"


def services_path(namespace: str = "default") -> str:
    return f"/api/v1/namespaces/{namespace}/services"


def ingress_ips(service: dict[str, Any]) -> list[str]:
    """The addresses of a Service's ``status.loadBalancer.ingress``, in order."""
    points = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return [str(p["ip"]) for p in points if p.get("ip")]


@dataclasses.dataclass
class Recording:
    """A client-side recorder running in the background, and the file it writes."""

    process: subprocess.Popen[str]
    path: pathlib.Path
    _answers: list[timeline.Answer] = dataclasses.field(default_factory=list)
    _read: int = 0  # bytes of the file `answers` has parsed

    def stop(self) -> None:
        processes.end(self.process)

    def lines(self) -> list[str]:
        return self.path.read_text().splitlines() if self.path.exists() else []

    def requests(self) -> list[timeline.Request]:
        return [timeline.Request.from_json(line) for line in self.lines()]

    def frames(self) -> list[timeline.ArpFrame]:
        return [timeline.ArpFrame.from_json(line) for line in self.lines()]

    def answers(self) -> list[timeline.Answer]:
        """What `floatip_lab.udpclient` recorded so far (only lines written in full, each
        read once however often this is called)."""
        if self.path.exists():
            with self.path.open("rb") as records:
                records.seek(self._read)
                text = records.read()
            complete = text[: text.rfind(b"\n") + 1]
            self._read += len(complete)
            lines = complete.decode().splitlines()
            self._answers.extend(timeline.Answer.from_json(line) for line in lines if line)
        return list(self._answers)

    def feed(self, lines: Iterable[str]) -> None:
        """Write ``lines`` to the recorder's standard input (`Session.asker`)."""
        assert self.process.stdin is not None, "started without an input"
        text = "".join(f"{line}\n" for line in lines)
        if text:
            self.process.stdin.write(text)
            self.process.stdin.flush()

    def end_input(self) -> None:
        """Tell the recorder no more input comes."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.process.stdin.close()

    def log(self) -> str:
        """The recorder's own log (its standard error), if it keeps one."""
        path = self.path.with_suffix(".log")
        return path.read_text(errors="replace") if path.exists() else ""


def vip_body(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A VirtualIP manifest, as ``kubectl apply`` would send it."""
    return {
        "apiVersion": names.API_VERSION,
        "kind": names.KIND,
        "metadata": {"name": name},
        "spec": spec,
    }


class Session:
    """One running lab, seen from this machine."""

    def __init__(self, place: state.Place | None = None, *, say: Say = print) -> None:
        self.place = place or state.locate()
        self.say = say
        self.api = kubeapi.Client(self.place.kubeconfig)
        self._records = 0

    def api_as_agent(self, node: str) -> kubeapi.Client:
        """A client with the credentials of the agent on ``node`` (its Pod-bound token)."""
        return kubeapi.Client(self.place.agent_kubeconfig(node, local=True))

    @property
    def lab(self) -> state.LabState:
        """The state file as it is now (faults change it)."""
        return state.load(self.place)

    # -- the API ------------------------------------------------------------------------

    def apply_vip(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        """Create the VirtualIP, or replace its spec if it exists."""
        body = vip_body(name, spec)
        try:
            return self.api.request("POST", VIPS, body)
        except kubeapi.ApiError as exc:
            if exc.status != 409:
                raise
        return self.api.request(
            "PATCH", f"{VIPS}/{name}", {"spec": spec}, content_type="application/merge-patch+json"
        )

    def patch_spec(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        return self.api.request(
            "PATCH", f"{VIPS}/{name}", {"spec": spec}, content_type="application/merge-patch+json"
        )

    def delete_vip(self, name: str) -> None:
        with contextlib.suppress(kubeapi.ApiError):
            self.api.request("DELETE", f"{VIPS}/{name}")

    def vip(self, name: str) -> dict[str, Any]:
        return self.api.request("GET", f"{VIPS}/{name}")

    def apply_pool(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        """Create the VirtualIPPool, or replace its spec if it exists."""
        body = {
            "apiVersion": names.API_VERSION,
            "kind": names.POOL_KIND,
            "metadata": {"name": name},
            "spec": spec,
        }
        try:
            return self.api.request("POST", POOLS, body)
        except kubeapi.ApiError as exc:
            if exc.status != 409:
                raise
        return self.api.request("PATCH", f"{POOLS}/{name}", {"spec": spec}, content_type=_MERGE)

    def pool(self, name: str) -> dict[str, Any]:
        return self.api.request("GET", f"{POOLS}/{name}")

    def create_service(
        self,
        name: str,
        *,
        namespace: str = "default",
        annotations: dict[str, str] | None = None,
        **spec: Any,
    ) -> dict[str, Any]:
        """A LoadBalancer Service selecting the lab's web Pods on port 80; ``spec`` adds to
        or overrides that (``externalTrafficPolicy="Local"``, ``loadBalancerClass=...``)."""
        body = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": namespace, "annotations": annotations or {}},
            "spec": {
                "type": "LoadBalancer",
                "selector": {"app": "web"},
                "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
                **spec,
            },
        }
        return self.api.request("POST", services_path(namespace), body)

    def service(self, name: str, namespace: str = "default") -> dict[str, Any]:
        return self.api.request("GET", f"{services_path(namespace)}/{name}")

    def delete_service(self, name: str, namespace: str = "default") -> None:
        with contextlib.suppress(kubeapi.ApiError):
            self.api.request("DELETE", f"{services_path(namespace)}/{name}")

    def wait_ingress(self, name: str, namespace: str = "default", timeout: float = 30) -> str:
        """Until the Service has a load-balancer address; its first one."""

        def seen() -> str:
            status = self.service(name, namespace).get("status")
            return f"service {namespace}/{name} status: {json.dumps(status)}"

        found: list[str] = self.wait(
            lambda: ingress_ips(self.service(name, namespace)) or None,
            what=f"service {namespace}/{name} to get a load-balancer address",
            timeout=timeout,
            describe=seen,
        )
        return found[0]

    def condition(self, name: str, kind: str) -> dict[str, Any] | None:
        status = self.vip(name).get("status") or {}
        for condition in status.get("conditions") or ():
            if condition.get("type") == kind:
                found: dict[str, Any] = condition
                return found
        return None

    def wait(
        self,
        probe: Callable[[], Any],
        *,
        what: str,
        timeout: float = 30,
        interval: float = 0.05,
        describe: Callable[[], str] | None = None,
    ) -> Any:
        """`waiting.wait_until`, and when it gives up, everything `explain` sees."""

        def seen() -> str:
            own = f"{describe()}\n" if describe else ""
            return own + self.explain()

        return waiting.wait_until(
            probe, what=what, timeout=timeout, interval=interval, describe=seen
        )

    def explain(self, *, log_lines: int = 15) -> str:
        """What the lab looks like now, for a wait that gave up: the addresses on every node
        (and the intruder), every VirtualIP's status, the tails of the agents' and the
        operators' logs. Never raises: what cannot be read says why."""
        parts = ["--- addresses on eth0"]
        lab = self.lab
        for host in [*lab.nodes_names(), "intruder"]:
            try:
                parts.append(f"{host}: {sorted(self.addresses_on(host))}")
            except Exception as exc:  # a dead namespace must not hide the rest
                parts.append(f"{host}: unreadable ({exc})")
        parts.append("--- VirtualIPs")
        try:
            for item in self.api.request("GET", VIPS).get("items") or []:
                name = (item.get("metadata") or {}).get("name")
                parts.append(f"{name}: {json.dumps(item.get('status'), sort_keys=True)}")
        except Exception as exc:
            parts.append(f"unreadable ({exc})")
        parts.extend(self.log_tails(log_lines=log_lines))
        return "\n".join(parts)

    def log_tails(self, *, log_lines: int = 15) -> list[str]:
        """The tails of the agents' and the operators' logs, each under a heading line."""
        parts: list[str] = []
        for name, record in sorted(self.lab.processes.items()):
            if not name.startswith(("agent-", "operator-")):
                continue
            try:
                tail = pathlib.Path(record.log).read_text(errors="replace").splitlines()
            except OSError as exc:
                tail = [f"unreadable ({exc})"]
            parts.append(f"--- {name} log (last {log_lines} lines of {record.log})")
            parts.extend(line[:400] for line in tail[-log_lines:])
        return parts

    def wait_condition(
        self, name: str, kind: str, value: str = "True", timeout: float = 30
    ) -> None:
        def holds() -> bool:
            condition = self.condition(name, kind)
            return condition is not None and condition.get("status") == value

        self.wait(holds, what=f"virtualip/{name} {kind}={value}", timeout=timeout)

    def holder(self, name: str) -> str | None:
        holder: str | None = (self.vip(name).get("status") or {}).get("holder")
        return holder

    def wait_holder(self, name: str, node: str, timeout: float = 30) -> None:
        self.wait(lambda: self.holder(name) == node, what=f"virtualip/{name} held by {node}",
                  timeout=timeout)  # fmt: skip

    # -- hosts ----------------------------------------------------------------------------

    def run(
        self, host: str, argv: list[str], *, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        netns = self.lab.host(host).netns
        return commands.run(["ip", "netns", "exec", netns, *argv], check=check)

    def addresses_on(self, host: str) -> set[str]:
        """Every address on the host's data interface, without prefix."""
        out = self.run(host, ["ip", "-j", "addr", "show", "dev", "eth0"]).stdout
        return {a["local"] for link in json.loads(out) for a in link.get("addr_info", ())}

    def ask(self, vip: str) -> tuple[bool, str]:
        """One request from the client: (answered, body or error)."""
        probe = self.place.path("ask.jsonl")
        probe.unlink(missing_ok=True)
        self.run("client", [sys.executable, "-m", "floatip_lab.httpclient", f"http://{_url_host(vip)}/",
                            "--out", str(probe), "--count", "1", "--timeout", "0.3"])  # fmt: skip
        [request] = [timeline.Request.from_json(x) for x in probe.read_text().splitlines()]
        return request.ok, request.answer

    def wait_answer(self, vip: str, server: str, timeout: float = 30) -> None:
        self.wait(
            lambda: self.ask(vip) == (True, server),
            what=f"the client to get an answer from {server} at {vip}",
            timeout=timeout,
            interval=0.1,
            describe=lambda: f"the client's last request: {self.ask(vip)}",
        )

    @contextlib.contextmanager
    def prober(
        self, vip: str, *, duration: float = 120, interval: float = 0.01, flush_every: float = 0
    ) -> Iterator[Recording]:
        """The client asking ``vip`` every ``interval`` s (0: back to back) until the block ends.

        Bounded by ``duration``; each request is a new TCP connection with a 100 ms timeout.
        ``flush_every`` > 0: a client that forgets the VIP's MAC that often (resolves afresh).
        """
        recording = self._start(
            "requests",
            [sys.executable, "-m", "floatip_lab.httpclient", f"http://{_url_host(vip)}/",
             "--duration", str(duration), "--timeout", "0.1", "--interval", str(interval),
             "--flush-every", str(flush_every)],
        )  # fmt: skip
        try:
            yield recording
        finally:
            recording.stop()

    @contextlib.contextmanager
    def arp_log(self, vip: str, *, duration: float = 120) -> Iterator[Recording]:
        """The client's log of ARP frames about ``vip`` until the block ends."""
        recording = self._start(
            "arp",
            [
                sys.executable,
                "-m",
                "floatip_lab.arpwatch",
                "--address",
                vip,
                "--duration",
                str(duration),
            ],
        )
        time.sleep(0.2)  # the socket is open before anything it should see
        try:
            yield recording
        finally:
            recording.stop()

    @contextlib.contextmanager
    def asker(
        self, *, until: Iterable[str] = (), interval: float = 0.05, duration: float = 120
    ) -> Iterator[Recording]:
        """The client asking many VIPs over UDP (`floatip_lab.udpclient`) until the block ends.

        Give it VIPs with `Recording.feed` and say there are no more with `end_input`; each is
        asked every ``interval`` s until a node of ``until`` (any node, if empty) answers it.
        The nodes must run `floatip_lab.whoami`. Bounded by ``duration``.
        """
        with self._fed(
            "answers",
            [sys.executable, "-m", "floatip_lab.udpclient", "--until", ",".join(until),
             "--interval", str(interval), "--duration", str(duration)],
        ) as recording:  # fmt: skip
            yield recording

    @contextlib.contextmanager
    def sweeper(
        self, *, interval: float = 0.2, concurrency: int = 32, duration: float = 120
    ) -> Iterator[Recording]:
        """The client asking many addresses over HTTP (`floatip_lab.httpsweep`) until each
        answers once, until the block ends: `Recording.feed` the addresses, `end_input` when
        there are no more. Each first answer is a `timeline.Answer` (node: the body)."""
        with self._fed(
            "sweep",
            [sys.executable, "-m", "floatip_lab.httpsweep", "--interval", str(interval),
             "--concurrency", str(concurrency), "--duration", str(duration)],
        ) as recording:  # fmt: skip
            yield recording

    @contextlib.contextmanager
    def _fed(self, kind: str, argv: list[str]) -> Iterator[Recording]:
        """A recorder in the client reading addresses from a pipe, ended with the block."""
        recording = self._start(kind, argv, with_input=True)
        try:
            yield recording
        finally:
            recording.end_input()
            recording.stop()

    def _start(self, kind: str, argv: list[str], *, with_input: bool = False) -> Recording:
        """Start a recorder in the client; ``with_input``: a pipe to its standard input, and
        its standard error kept beside the records (``.log``)."""
        self._records += 1
        path = self.place.path("records", f"{kind}-{self._records}.jsonl")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        netns = self.lab.host("client").netns
        with contextlib.ExitStack() as files:
            stderr = (
                files.enter_context(path.with_suffix(".log").open("w"))
                if with_input
                else subprocess.DEVNULL
            )
            process = subprocess.Popen(
                ["ip", "netns", "exec", netns, *argv, "--out", str(path)],
                stdin=subprocess.PIPE if with_input else None,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                text=True,
            )
        return Recording(process, path)

    # -- agents -------------------------------------------------------------------------

    def agent_report(self, node: str) -> dict[str, Any] | None:
        """``node``'s agent /healthz document, asked over the management network, or None."""
        done = self.run(
            "operator-1",
            ["curl", "-s", "--max-time", "1", f"http://{self.lab.host(node).mgmt_ip}:9720/healthz"],
            check=False,
        )
        if done.returncode != 0:
            return None
        try:
            report = json.loads(done.stdout)
        except ValueError:
            return None
        return report if isinstance(report, dict) else None

    def _report_of(self, node: str) -> str:
        return f"{node}'s /healthz: {self.agent_report(node)}"

    def agent_sure(self, node: str) -> bool:
        """Whether ``node``'s agent answers /healthz and is sure of the API."""
        report = self.agent_report(node)
        return report is not None and report.get("unsure") is False

    def wait_agents_sure(self, timeout: float = 30) -> None:
        """Every agent answers and is sure of the API, and the operator had time to see it.

        The operator judges an agent alive after two good probes in a row (0.4 s at the
        default profile); the extra second covers that and a busy machine.
        """
        for node in self.lab.nodes_names():
            self.wait(
                functools.partial(self.agent_sure, node),
                what=f"the agent of {node} to answer /healthz and be sure of the API",
                timeout=timeout,
                interval=0.1,
                describe=functools.partial(self._report_of, node),
            )
        time.sleep(1.0)

    # -- faults ---------------------------------------------------------------------------

    def fault(self, fault: str, host: str | None = None) -> float:
        """Inject a fault; returns the wall-clock time just before it acted."""
        at = time.time()
        faults.inject(self.place, self.lab, faults.Fault(fault), host, self.say)
        return at

    def steal(self, vip: str, prefix: int = 24) -> None:
        """The seed's prank, from the intruder: ``ip addr add`` and a gratuitous ARP."""
        self.run("intruder", ["ip", "addr", "add", f"{vip}/{prefix}", "dev", "eth0"])
        self.run("intruder", ["arping", "-U", "-c", "1", "-I", "eth0", vip], check=False)

    def squat(self, vip: str, prefix: int = 24) -> None:
        """The quiet intruder: only ``ip addr add`` (no arping); its kernel answers ARP/NDP."""
        extra = ["nodad"] if ":" in vip else []
        self.run("intruder", ["ip", "addr", "add", f"{vip}/{prefix}", "dev", "eth0", *extra])

    def give_back(self, vip: str, prefix: int = 24) -> None:
        self.run("intruder", ["ip", "addr", "del", f"{vip}/{prefix}", "dev", "eth0"], check=False)


def _url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


# -- appended for the end-to-end tests (tests/e2e) ------------------------------------------


def neighbour(lab_session: Session, host: str, address: str) -> str | None:
    """The MAC in ``host``'s neighbour entry for ``address`` on eth0 (lower case), or None.

    Entries the kernel keeps without a usable MAC (INCOMPLETE, FAILED) count as none.
    """
    out = lab_session.run(host, ["ip", "-j", "neigh", "show", address, "dev", "eth0"]).stdout
    for entry in json.loads(out or "[]"):
        mac = entry.get("lladdr")
        if mac and not {"INCOMPLETE", "FAILED"} & set(entry.get("state", ())):
            return str(mac).lower()
    return None


#: the bystander in whose name `arp_asker` asks (a free address the tests never use for a VIP)
ASKER_MAC = "02:f1:00:00:0f:fe"
ASKER_IP = "192.0.2.254"
_ASKER = """
import socket, struct, sys, time
mac, ip, vip, interval, duration = sys.argv[1:6]
hw = bytes.fromhex(mac.replace(":", ""))
frame = (b"\\xff" * 6 + hw + b"\\x08\\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1)
         + hw + socket.inet_aton(ip) + b"\\x00" * 6 + socket.inet_aton(vip))
with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as sock:
    sock.bind(("eth0", 0))
    end = time.time() + float(duration)
    while time.time() < end:
        sock.send(frame)
        time.sleep(float(interval))
"""


@contextlib.contextmanager
def arp_asker(
    lab_session: Session, vip: str, *, interval: float = 0.02, duration: float = 120
) -> Iterator[subprocess.Popen[str]]:
    """Broadcast ARP requests for ``vip`` from the client's port every ``interval`` s.

    A client's own neighbour entry asks only the MAC it knows (unicast probes), so a second
    host answering for the address would go unseen; broadcast requests make every host that
    holds the address answer. They are sent in the name of a bystander (`ASKER_MAC`,
    `ASKER_IP`), so the answers come back to the client's port without touching the client's
    own neighbour table (its kernel drops frames for another MAC; the packet socket of
    `Session.arp_log`, which records them, does not). IPv4 only.
    """
    client = lab_session.lab.host("client")
    process = subprocess.Popen(
        ["ip", "netns", "exec", client.netns, sys.executable, "-c", _ASKER,
         ASKER_MAC, ASKER_IP, vip, str(interval), str(duration)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    try:
        yield process
    finally:
        Recording(process, pathlib.Path(os.devnull)).stop()


def answers(frames: Iterable[timeline.ArpFrame], vip: str) -> list[timeline.ArpFrame]:
    """ARP replies answering a question about ``vip`` (gratuitous announcements excluded)."""
    return [f for f in frames if f.op == 2 and f.sender_ip == vip and f.target_ip != vip]


def double_replies(
    frames: Iterable[timeline.ArpFrame], vip: str, window: float = 0.05
) -> list[tuple[float, set[str]]]:
    """Moments when replies for ``vip`` from two different MACs came within ``window`` s.

    The request-free counterpart of `timeline.double_answers`, for `Session.arp_log`
    records (which hold the answers the client received, not the requests it sent).
    """
    replies = sorted(answers(frames, vip), key=lambda f: f.time)
    doubles: list[tuple[float, set[str]]] = []
    for i, frame in enumerate(replies):
        macs = {frame.sender_mac}
        for later in replies[i + 1 :]:
            if later.time - frame.time > window:
                break
            macs.add(later.sender_mac)
        if len(macs) > 1:
            doubles.append((frame.time, macs))
    return doubles
