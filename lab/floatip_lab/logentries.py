"""The JSON log lines of floatip's processes (`floatip.logs`), each with its time. Pure.

The end-to-end tests and the benchmarks read the agents' logs for when something happened (an
address taken, a verdict, the lines around a lost request); this is the one reader of them.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Iterator
from typing import Any


def entries(lines: Iterable[str]) -> Iterator[tuple[float, dict[str, Any]]]:
    """Each line that is a JSON object with an ISO 8601 ``timestamp``, with that time in Unix
    seconds; any other line (a traceback, kopf's text before logging is set up) is skipped."""
    for line in lines:
        try:
            entry = json.loads(line)
            stamp = datetime.datetime.fromisoformat(str(entry["timestamp"])).timestamp()
        except (ValueError, KeyError, TypeError):  # TypeError: JSON, but not an object
            continue
        yield stamp, entry
