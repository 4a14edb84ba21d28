"""pytest fixtures for any test directory: ``from floatip_apiserver.testing import apiserver``.

``apiserver`` is a fresh HTTPS server per test with the repository's crds/ loaded; use its
``kubeconfig`` (admin), ``kubeconfig_for_service_account(ns, name)``, ``url``, ``ca_pem`` and
fault controls. ``kubectl_path()`` finds the real kubectl and fails (never skips) without it.
"""

from __future__ import annotations

import pathlib
import shutil
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from floatip_apiserver import runtime

REPO = pathlib.Path(__file__).resolve().parents[2]
CRDS = REPO / "crds"


def kubectl_path() -> str:
    """The repository's .tools/bin/kubectl, else one on PATH; a test failure if neither."""
    local = REPO / ".tools" / "bin" / "kubectl"
    if local.is_file():
        return str(local)
    found = shutil.which("kubectl")
    if found is None:
        pytest.fail("kubectl not found in .tools/bin/ or on PATH: run scripts/install.sh")
    return found


@pytest_asyncio.fixture
async def apiserver() -> AsyncIterator[runtime.RunningServer]:
    """A fresh API server (HTTPS, crds/ loaded) for one test."""
    async with runtime.serve(crds=CRDS, bookmark_interval=0.5) as server:
        yield server
