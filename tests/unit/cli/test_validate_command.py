"""``floatip validate``: the exit-code contract and the report a pipeline reads.

Proves: 0 when every VirtualIP is valid; 1 with file, document index and field path for each
problem; 2 for unreadable files and malformed YAML; other kinds skipped with a note; several
files and standard input; the shipped examples are valid and the invalid ones invalid.
"""

from __future__ import annotations

import pathlib

import pytest
from click.testing import CliRunner

from floatip.cli import main

REPO = pathlib.Path(__file__).resolve().parents[3]

VALID = """
apiVersion: floatip.io/v1alpha1
kind: VirtualIP
metadata: {name: web}
spec: {address: 192.0.2.10/24}
"""
INVALID = """
apiVersion: v1
kind: Namespace
metadata: {name: edge}
---
apiVersion: floatip.io/v1alpha1
kind: VirtualIP
metadata: {name: bad}
spec:
  address: 192.0.2.0/24
  preferredNodes: [a, a]
"""


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main.cli, ["validate", *args], input=stdin)
    return result.exit_code, result.output


def write(tmp_path: pathlib.Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_all_valid_exits_0(tmp_path: pathlib.Path) -> None:
    code, output = run(write(tmp_path, "ok.yaml", VALID))
    assert code == 0
    assert "ok.yaml[0]: ok: VirtualIP 'web' is valid" in output
    assert output.rstrip().endswith("1 valid, 0 invalid VirtualIP(s)")


def test_invalid_exits_1_with_file_document_and_path(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "bad.yaml", INVALID)
    code, output = run(path)
    assert code == 1
    assert f"{path}[0]: note: skipped: not a VirtualIP (kind Namespace)" in output
    assert f"{path}[1]: error: VirtualIP 'bad': spec.address: " in output
    assert "network address" in output
    assert f"{path}[1]: error: VirtualIP 'bad': spec.preferredNodes: " in output


def test_malformed_yaml_exits_2(tmp_path: pathlib.Path) -> None:
    code, output = run(write(tmp_path, "broken.yaml", "spec: [unclosed\n"))
    assert code == 2
    assert "not valid YAML" in output
    assert "line 2" in output


def test_missing_file_exits_2_even_beside_valid_ones(tmp_path: pathlib.Path) -> None:
    code, output = run(write(tmp_path, "ok.yaml", VALID), str(tmp_path / "missing.yaml"))
    assert code == 2
    assert "missing.yaml: error: cannot read the file" in output


def test_invalid_beats_valid_across_files(tmp_path: pathlib.Path) -> None:
    code, _ = run(write(tmp_path, "a.yaml", VALID), write(tmp_path, "b.yaml", INVALID))
    assert code == 1


def test_standard_input() -> None:
    assert run("-", stdin=VALID)[0] == 0
    assert run("-", stdin=INVALID)[0] == 1


def test_quiet_prints_problems_only(tmp_path: pathlib.Path) -> None:
    _, output = run("--quiet", write(tmp_path, "bad.yaml", INVALID))
    assert "note:" not in output
    assert "error:" in output


def test_file_without_virtualips_is_noted(tmp_path: pathlib.Path) -> None:
    code, output = run(write(tmp_path, "ns.yaml", "apiVersion: v1\nkind: Namespace\n"))
    assert code == 0
    assert "no VirtualIP in this file" in output


@pytest.mark.parametrize("path", sorted((REPO / "examples").glob("*.yaml")))
def test_shipped_examples_are_valid(path: pathlib.Path) -> None:
    assert run(str(path))[0] == 0


@pytest.mark.parametrize("path", sorted((REPO / "examples" / "invalid").glob("*.yaml")))
def test_shipped_invalid_examples_are_invalid(path: pathlib.Path) -> None:
    assert run(str(path))[0] == 1
