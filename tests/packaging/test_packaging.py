"""What the image and the wheel carry: checked here since no Docker engine can build them.

Proves: the Dockerfile (parsed with Docker's own parser) pins its base image to an exact
version, copies only paths that exist, runs as a non-root user by default and starts a console
script the package declares; the wheel holds every package (and no top-level `operator`
package that would shadow Python's), the CRD and the RBAC rules, and the console scripts.
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
    [user] = [c.value[0] for c in commands if c.cmd == "USER"][-1:]
    assert user.split(":")[0].isdigit() and user.split(":")[0] != "0"
    [cmd] = [c for c in commands if c.cmd == "CMD"][-1:]
    assert cmd.value[0] in SCRIPTS


def test_wheel_contents(tmp_path: pathlib.Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("floatip-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("floatip", "floatip_operator", "floatip_agent", "floatip_apiserver"):
        assert f"{package}/__init__.py" in names
        assert f"{package}/py.typed" in names
    assert "floatip/_crds/virtualip.yaml" in names
    assert "floatip/_rbac.yaml" in names
    assert not any(n.startswith("operator/") for n in names), (
        "a top-level operator/ would shadow Python's"
    )
    [entry_points] = [n for n in names if n.endswith("entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    for script in ("floatip", "floatip-operator", "floatip-agent", "kubectl-vip"):
        assert f"{script} = " in text
