"""Fixtures for the operator's API-level tests: the test API server and a tiny cluster on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from floatip_apiserver.runtime import RunningServer
from floatip_apiserver.testing import apiserver
from tests.operator import harness

__all__ = ["apiserver", "cluster"]


@pytest_asyncio.fixture
async def cluster(apiserver: RunningServer, tmp_path: object) -> AsyncIterator[harness.Cluster]:
    async with harness.Cluster.start(apiserver, tmp_path) as lab:  # type: ignore[arg-type]
        yield lab
