"""What every test shares: its subprocesses' temporary files stay in a directory it removes.

The programs the tests start (agents, operators, the API server, kopf, kubectl) remove their
temporary files when they exit, but the tests end many of them with SIGKILL (kill-node, a
freeze, a lab torn down), which runs no exit handler: in /tmp those files would pile up run
after run. TMPDIR points every subprocess into one directory of pytest's, removed at the end.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def _subprocess_temporary_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    directory = tmp_path_factory.mktemp("subprocess-tmp", numbered=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TMPDIR", str(directory))
        yield
    shutil.rmtree(directory, ignore_errors=True)
