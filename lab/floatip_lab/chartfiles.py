"""The chart's shared files (``charts/floatip/files/``) that the lab applies as the chart does.

RBAC rules and admission policies are written once, in the chart; the lab reads the same files:
from the checkout, or from the copy the product's wheel installs as ``floatip/_NAME``.
"""

from __future__ import annotations

import importlib.resources
import pathlib


def find(name: str, what: str) -> pathlib.Path:
    """``charts/floatip/files/NAME`` in a checkout, else its copy installed with the wheel."""
    checkout = pathlib.Path(__file__).resolve().parents[2]
    installed = pathlib.Path(str(importlib.resources.files("floatip")))
    for candidate in (
        checkout / "charts" / "floatip" / "files" / name,
        installed / f"_{name}",
    ):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"the chart's {what} (charts/floatip/files/{name}) are missing")
