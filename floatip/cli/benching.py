"""``floatip bench``: the benchmarks that print figures (tests never time anything).

Each benchmark lives beside the code it measures and prints one JSON object as its last
line with ``--json``, so that scripts and the docs can read the figures.
"""

from __future__ import annotations

from floatip.cli import lazy

bench_group = lazy.LazyGroup(
    name="bench",
    help="Measure floatip: each benchmark prints figures; --json ends with one JSON line.",
    lazy={
        "agent": "floatip_agent.benching:agent_command",
        "apiserver": "floatip_apiserver.bench:apiserver",
        "failover": "floatip.lab.failover_bench:failover_command",
        "placement": "floatip_operator.bench:placement_command",
        "switchover": "floatip.lab.switchover_bench:switchover_command",
    },
)
