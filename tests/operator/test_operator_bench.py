"""``floatip bench placement --operator-vips N``: the real operator's RSS, small numbers.

Proves: with the option the benchmark seeds the test API server, runs the operator until every
VirtualIP is placed, and reports the operator process's memory as rss_mib (rss_source
"operator"), keeping the placement keys.
"""

from __future__ import annotations

import json

from click.testing import CliRunner

from floatip.cli import main


def test_bench_placement_measures_the_operator_process() -> None:
    args = ["bench", "placement", "--vips", "100", "--nodes", "10", "--repeat", "1", "--json"]
    args += ["--operator-vips", "30", "--operator-nodes", "3", "--operator-settle-seconds", "1"]
    result = CliRunner().invoke(main.cli, args)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["rss_source"] == "operator" and figures["operator_vips"] == 30
    assert figures["rss_peak_mib"] >= figures["rss_mib"] > 0  # read from /proc/PID/status
    assert figures["rss_restarted_mib"] > 0
    assert {"vips", "nodes", "place_s", "node_loss_moved", "spread_max_minus_min"} <= set(figures)
