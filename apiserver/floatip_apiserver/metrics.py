"""``/metrics``: request counts as kube-apiserver's ``apiserver_request_total`` names them.

The failover benchmark reads it to measure floatip's steady-state API cost (writes per second
per node) the way an operator of a real cluster would: from the API server's own counter.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence


def resource_of(parts: Sequence[str]) -> str:
    """The resource (and subresource) of a request path: ``leases``, ``virtualips/status``."""
    if parts[:1] == ["api"]:
        rest = list(parts[2:])
    elif parts[:1] == ["apis"]:
        rest = list(parts[3:])
    else:
        return ""
    if len(rest) > 2 and rest[0] == "namespaces":
        rest = rest[2:]
    if not rest:
        return ""
    resource = rest[0]
    return f"{resource}/{rest[2]}" if len(rest) > 2 else resource


def render(counts: collections.Counter[tuple[str, str]]) -> str:
    """Prometheus text exposition of the counter."""
    lines = [
        "# HELP apiserver_request_total Requests by verb (HTTP method) and resource.",
        "# TYPE apiserver_request_total counter",
    ]
    for (verb, resource), count in sorted(counts.items()):
        lines.append(f'apiserver_request_total{{verb="{verb}",resource="{resource}"}} {count}')
    return "\n".join(lines) + "\n"
