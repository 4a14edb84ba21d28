"""``floatip bench``: the benchmarks that print figures (tests never time anything).

Each benchmark prints one JSON object as its last line with ``--json``, so that scripts and
the docs can read the figures. They live in the lab distribution, not in the product: they
build lab namespaces, start the test API server and drive the product from outside.
"""

from __future__ import annotations

from floatip.cli import lazy

bench_group = lazy.LazyGroup(
    name="bench",
    help="Measure floatip: each benchmark prints figures; --json ends with one JSON line.",
    lazy={
        "agent": "floatip_lab.benchmarks.agent:agent_command",
        "apiserver": "floatip_lab.benchmarks.apiserver:apiserver",
        "conflict": "floatip_lab.benchmarks.conflict:conflict_command",
        "control-plane": "floatip_lab.benchmarks.control_plane:control_plane_command",
        "failover": "floatip_lab.benchmarks.failover:failover_command",
        "imports": "floatip_lab.benchmarks.imports:imports_command",
        "placement": "floatip_lab.benchmarks.placement:placement_command",
        "scale": "floatip_lab.benchmarks.scale:scale_command",
        "services": "floatip_lab.benchmarks.services:services_command",
        "switchover": "floatip_lab.benchmarks.switchover:switchover_command",
    },
)
