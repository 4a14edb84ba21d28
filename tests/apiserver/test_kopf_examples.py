"""kopf's own end-to-end examples, run by kopf's own e2e test, against this API server.

Proves: the server behaves like a real kube-apiserver for everything kopf's examples touch:
CRDs, namespaced custom objects with finalizers, status and patches, peering, Events, child
Pods, daemons, timers and indexes. kopf's ``tests/e2e/test_examples.py`` starts each example
with ``kopf run``, drives it with the real ``kubectl apply/delete -f examples/obj.yaml`` and
fails on any traceback, retry or handler that ran twice. Each example runs against a fresh
API server of its own, `CONCURRENCY` of them at once (one module fixture), and is reported
as its own test. The harness is kopf's, unchanged,
from the sdist of the kopf version floatip runs; ``scripts/install.sh`` puts it and its test
tools into ``.tools/kopf-e2e`` (see there for the one oscrypto fix 17-admission needs).
"""

from __future__ import annotations

import asyncio
import os
import pathlib

import pytest

from floatip_apiserver import runtime
from floatip_apiserver.runtime import RunningServer
from floatip_apiserver.testing import CRDS, REPO, kubectl_path

KOPF_E2E = REPO / ".tools" / "kopf-e2e"
KOPF_SOURCES = KOPF_E2E / "src"
KOPF_PYTHON = KOPF_E2E / "venv" / "bin" / "python"
MISSING = "kopf-e2e-not-installed"


def _examples() -> list[str]:
    """The examples kopf's e2e test parametrizes: those without tests of their own."""
    root = KOPF_SOURCES / "examples"
    if not root.is_dir() or not KOPF_PYTHON.is_file():
        return [MISSING]  # a failing test, never an empty (skipped) parametrization
    return sorted(
        path.name
        for path in root.iterdir()
        if (path / "example.py").is_file() and not any(path.glob("test*.py"))
    )


def test_kopf_examples_are_all_found() -> None:
    """kopf 1.45 has 14 e2e examples; fewer means the sdist or its discovery changed."""
    assert len(_examples()) >= 14, _examples()


#: Examples run at once, each against an API server of its own: kopf's e2e test mostly waits
#: (for its operator to start, for handlers), so four side by side take a quarter of the time
#: of one after another, within the suite's 20 minutes.
CONCURRENCY = 4


@pytest.fixture(scope="module")
def outcomes() -> dict[str, tuple[int | None, bytes]]:
    """Every example's (exit code, output) of kopf's own e2e test, `CONCURRENCY` at a time."""
    return asyncio.run(_run_all([e for e in _examples() if e != MISSING]))


async def _run_all(examples: list[str]) -> dict[str, tuple[int | None, bytes]]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(example: str) -> tuple[str, tuple[int | None, bytes]]:
        async with gate, runtime.serve(crds=CRDS, bookmark_interval=0.5) as server:
            return example, await _run(example, server)

    return dict(await asyncio.gather(*(one(example) for example in examples)))


async def _run(example: str, apiserver: RunningServer) -> tuple[int | None, bytes]:
    """kopf's e2e test of ``example`` against ``apiserver``: its exit code (None: it ran over
    240 s and was killed) and its output."""
    node = f"tests/e2e/test_examples.py::test_all_examples_are_runnable[{example}]"
    env = {
        **os.environ,
        "KUBECONFIG": str(apiserver.kubeconfig),
        "PATH": f"{pathlib.Path(kubectl_path()).parent}{os.pathsep}{os.environ['PATH']}",
    }
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_CURRENT_TEST", None)
    proc = await asyncio.create_subprocess_exec(
        str(KOPF_PYTHON),
        "-m",
        "pytest",
        "--only-e2e",
        node,
        "-p",
        "no:cacheprovider",
        "-q",
        "-rA",
        "--timeout=200",  # kopf's own setting is 2 s, for its unit tests
        cwd=KOPF_SOURCES,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=240)
    except TimeoutError:
        proc.kill()
        out, _ = await proc.communicate()
        return None, out
    return proc.returncode, out


@pytest.mark.kubectl
@pytest.mark.parametrize("example", _examples())
def test_kopf_example_passes_kopfs_own_e2e_test(
    example: str, outcomes: dict[str, tuple[int | None, bytes]], tmp_path: pathlib.Path
) -> None:
    if example == MISSING:
        pytest.fail(f"kopf's examples are not in {KOPF_E2E}: run scripts/install.sh")
    code, out = outcomes[example]
    (tmp_path / "kopf-e2e.log").write_bytes(out)
    if code is None:
        pytest.fail(f"kopf's e2e test of {example} ran over 240 s:\n{_tail(out)}")
    assert code == 0 and b"1 passed" in out, (
        f"kopf's e2e test of {example} failed (exit {code}); "
        f"full log in {tmp_path / 'kopf-e2e.log'}:\n{_tail(out)}"
    )


def _tail(out: bytes) -> str:
    """pytest's own error lines (what failed), then the end of the operator's log."""
    lines = out.decode(errors="replace").splitlines()
    errors = [line for line in lines if line.startswith("E ")][:40]
    return "\n".join([*errors, "...", *lines[-40:]])
