"""The ``floatip`` command tree: every subcommand resolves, and benchmarks end with one JSON line.

Proves: each registered subcommand imports and shows help; ``floatip bench placement --json``
prints the contract's keys with a minimal-disruption result (figures are not judged here).
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from floatip.cli import main
from floatip_lab.benchmarks import cli as benchmarks


@pytest.mark.parametrize("name", sorted({**main.COMMANDS, **main.plugins()}))
def test_every_command_has_help(name: str) -> None:
    result = CliRunner().invoke(main.cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_the_lab_adds_its_commands_through_entry_points() -> None:
    """The product names no lab module: the lab distribution registers lab, bench, apiserver."""
    assert set(main.plugins()) >= set(main.LAB_COMMANDS)
    assert not set(main.COMMANDS) & set(main.LAB_COMMANDS)


def test_a_lab_command_without_the_lab_says_how_to_install_it() -> None:
    group = main.FloatipGroup(name="floatip", lazy=dict(main.COMMANDS))
    result = CliRunner().invoke(group, ["lab", "up"])
    assert result.exit_code == 2
    assert "not installed: pip install floatip-lab" in result.output


@pytest.mark.parametrize("name", sorted(benchmarks.bench_group.lazy))
def test_every_benchmark_has_help(name: str) -> None:
    result = CliRunner().invoke(main.cli, ["bench", name, "--help"])
    assert result.exit_code == 0, result.output


def test_bench_placement_json_contract() -> None:
    result = CliRunner().invoke(
        main.cli,
        ["bench", "placement", "--vips", "200", "--nodes", "20", "--repeat", "1", "--json"],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert set(figures) == {
        "vips",
        "nodes",
        "place_s",
        "node_loss_moved",
        "node_loss_expected",
        "spread_max_minus_min",
        "rss_mib",
    }
    assert (figures["vips"], figures["nodes"]) == (200, 20)
    assert figures["node_loss_moved"] == figures["node_loss_expected"] == 10
    assert figures["spread_max_minus_min"] <= 1
