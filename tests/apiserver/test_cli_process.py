"""``floatip apiserver`` as a process: serves floatip's crds/ by default and stops on SIGTERM.

Proves: started with nothing but --port and --kubeconfig (from any working directory) it writes
a kubeconfig the real kubectl uses, serves the VirtualIP and VirtualIPPool resources from the
repository's crds/, and exits cleanly on SIGTERM, as the lab runs it.
"""

from __future__ import annotations

import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

from floatip_apiserver import runtime
from floatip_apiserver.testing import kubectl_path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_default_crds_dir_is_the_repository_one() -> None:
    found = runtime.default_crds_dir()
    assert (found / "virtualip.yaml").is_file()
    assert (found / "virtualippool.yaml").is_file()


def test_serves_crds_by_default_and_stops_on_sigterm(tmp_path: pathlib.Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "floatip.cli",
            "apiserver",
            "--port",
            str(_free_port()),
            "--kubeconfig",
            str(kubeconfig),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not kubeconfig.exists():
            assert server.poll() is None, server.communicate()[0]
            assert time.monotonic() < deadline, "no kubeconfig within 20 s"
            time.sleep(0.05)
        result = subprocess.run(
            [kubectl_path(), "get", "vip,vippool"],  # the lab's server serves both CRDs
            check=False,
            env={**os.environ, "KUBECONFIG": str(kubeconfig)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert "No resources found" in result.stderr
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
