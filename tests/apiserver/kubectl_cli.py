"""Run the real kubectl with any kubeconfig (an admin's, or a ServiceAccount's for RBAC)."""

from __future__ import annotations

import asyncio
import pathlib
import subprocess

from floatip_apiserver.testing import kubectl_path


async def run(kubeconfig: pathlib.Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    """(exit code, stdout and stderr together) of ``kubectl --kubeconfig KUBECONFIG ARGS``."""
    proc = await asyncio.create_subprocess_exec(
        kubectl_path(),
        "--kubeconfig",
        str(kubeconfig),
        *args,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    out, _ = await proc.communicate(stdin.encode() if stdin else None)
    return proc.returncode or 0, out.decode()
