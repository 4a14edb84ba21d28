"""What the image and the wheel carry: checked here since no Docker engine can build them.

Proves: the Dockerfile (parsed with Docker's own parser) pins its base image to an exact
version, copies only paths that exist and only the product's, runs as a non-root user by
default and starts a console script the package declares; the product wheel holds the
product's packages (and no top-level `operator` package that would shadow Python's), the CRD
and the RBAC rules and the console scripts, and neither the lab, the benchmarks nor the test
API server, which are distributions of their own that plug their commands into `floatip`.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys
import tomllib
import zipfile

import dockerfile

REPO = pathlib.Path(__file__).resolve().parents[2]
LAB_DIRECTORIES = ("lab", "apiserver", "tests")
SCRIPTS = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]


def test_dockerfile() -> None:
    commands = dockerfile.parse_file(str(REPO / "Dockerfile"))
    args = {
        c.value[0].split("=", 1)[0]: c.value[0].split("=", 1)[1] for c in commands if c.cmd == "ARG"
    }
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", args["PYTHON_IMAGE"])
    froms = [c.value[0] for c in commands if c.cmd == "FROM"]
    assert froms and all(f == "${PYTHON_IMAGE}" for f in froms)
    for copy in (c for c in commands if c.cmd == "COPY" and not c.flags):
        for source in copy.value[:-1]:
            assert (REPO / source).exists(), f"COPY {source}: no such path"
    copied = {source for c in commands if c.cmd == "COPY" for source in c.value[:-1]}
    assert not {s.rstrip("/") for s in copied} & set(LAB_DIRECTORIES), "the image is the product's"
    [user] = [c.value[0] for c in commands if c.cmd == "USER"][-1:]
    assert user.split(":")[0].isdigit() and user.split(":")[0] != "0"
    [cmd] = [c for c in commands if c.cmd == "CMD"][-1:]
    assert cmd.value[0] in SCRIPTS


def _wheel(source: pathlib.Path, into: pathlib.Path) -> zipfile.ZipFile:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(into), str(source)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    [wheel] = into.glob("*.whl")
    return zipfile.ZipFile(wheel)


def test_wheel_contents(tmp_path: pathlib.Path) -> None:
    wheel = _wheel(REPO, tmp_path)
    names = set(wheel.namelist())
    for package in ("floatip", "floatip_operator", "floatip_agent"):
        assert f"{package}/__init__.py" in names
        assert f"{package}/py.typed" in names
    top_level = {name.split("/")[0] for name in names if "/" in name}
    assert top_level == {"floatip", "floatip_operator", "floatip_agent"} | {
        n.split("/")[0] for n in names if ".dist-info/" in n
    }, "the product wheel carries no lab, benchmark or test API server package"
    assert not any("bench" in name for name in names), "benchmarks belong to the lab"
    assert "floatip/_crds/virtualip.yaml" in names
    assert "floatip/_crds/virtualippool.yaml" in names
    assert "floatip/_rbac.yaml" in names
    assert "floatip/_admission.yaml" in names
    assert not any(n.startswith("operator/") for n in names), (
        "a top-level operator/ would shadow Python's"
    )
    [entry_points] = [n for n in names if n.endswith("entry_points.txt")]
    text = wheel.read(entry_points).decode()
    for script in (
        "floatip",
        "floatip-operator",
        "floatip-agent",
        "floatip-control-plane-agent",
        "kubectl-vip",
    ):
        assert f"{script} = " in text
    assert "floatip_agent/controlplane/election.py" in names
    assert "floatip/api/model/virtualip.py" in names, "the API model is a package: ship all of it"


def test_the_lab_distributions(tmp_path: pathlib.Path) -> None:
    """floatip-lab and floatip-apiserver build apart and plug their commands into `floatip`."""
    lab = _wheel(REPO / "lab", tmp_path / "lab")
    apiserver = _wheel(REPO / "apiserver", tmp_path / "apiserver")
    assert {n.split("/")[0] for n in lab.namelist() if not n.startswith("floatip_lab-")} == {
        "floatip_lab"
    }
    assert "floatip_lab/benchmarks/failover.py" in lab.namelist()
    assert "floatip_apiserver/server.py" in apiserver.namelist()
    [entry_points] = [n for n in lab.namelist() if n.endswith("entry_points.txt")]
    text = lab.read(entry_points).decode()
    assert "[floatip.commands]" in text
    for command in ("lab", "bench", "apiserver"):
        assert f"{command} = " in text
