"""Reading the JSON log lines of the agents the kernel tests run (structlog, one per line)."""

from __future__ import annotations

import contextlib
import json
from typing import Any


def events(text: str, event: str) -> list[dict[str, Any]]:
    """The records of ``text`` named ``event``, in order; lines that are not JSON are skipped."""
    found = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict) and record.get("event") == event:
                found.append(record)
    return found
