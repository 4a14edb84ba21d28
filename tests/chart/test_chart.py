"""The Helm chart: lints and renders with Helm 3 and Helm 4, and what it renders is sound.

Proves: `helm lint --strict` passes with both Helm majors; values.schema.json refuses bad values;
every object rendered from the defaults and several value sets validates against the Kubernetes
1.35 schemas (kubernetes-validate; a broken object is refused, so the check can fail); the RBAC
has no wildcard and is exactly files/rbac.yaml; the admission policies are exactly
files/admission.yaml, as the lab applies it; the agent DaemonSet is host-network, not
privileged, with NET_ADMIN and NET_RAW only; the chart's CRD is the generated one in crds/.
"""

from __future__ import annotations

import pathlib
import subprocess
from typing import Any

import kubernetes_validate
import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "floatip"
HELMS = {"helm4": REPO / ".tools" / "bin" / "helm", "helm3": REPO / ".tools" / "bin" / "helm3"}
K8S_VERSION = "1.35.0"

VALUE_SETS: dict[str, list[str]] = {
    "defaults": [],
    "fast-profile": ["--set", "profile=fast"],
    "no-crds": ["--set", "crds.enabled=false"],
    "single-operator": ["--set", "operator.replicas=1"],
    "monitoring": ["--set", "serviceMonitor.enabled=true", "--set", "prometheusRule.enabled=true"],
    "critical-agent": ["--set", "agent.priorityClassName=system-node-critical"],
    "no-admission-policy": ["--set", "admissionPolicy.enabled=false"],
    "named-accounts": [
        "--set",
        "serviceAccounts.operator.name=vip-op",
        "--set",
        "serviceAccounts.agent.name=vip-agent",
    ],
}


def helm(which: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    binary = HELMS[which]
    assert binary.is_file(), f"{binary} is missing: run scripts/install.sh"
    return subprocess.run([str(binary), *args], capture_output=True, text=True, check=check)


def render(which: str, *args: str) -> list[dict[str, Any]]:
    result = helm(which, "template", "vip", str(CHART), "--namespace", "floatip", *args)
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


@pytest.mark.parametrize("which", sorted(HELMS))
def test_lint_strict(which: str) -> None:
    result = helm(which, "lint", "--strict", str(CHART), check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("which", sorted(HELMS))
@pytest.mark.parametrize(
    "bad",
    [
        "profile=slow",
        "operator.replicas=0",
        "agent.healthPort=70000",
        "image.pullPolicy=Sometimes",
        "nosuchkey=1",
    ],
)
def test_schema_refuses_bad_values(which: str, bad: str) -> None:
    result = helm(which, "template", "vip", str(CHART), "--set", bad, check=False)
    assert result.returncode != 0
    assert "schema" in (result.stderr + result.stdout).lower()


@pytest.mark.parametrize("which", sorted(HELMS))
@pytest.mark.parametrize("values", sorted(VALUE_SETS))
def test_rendered_objects_are_valid_kubernetes(which: str, values: str) -> None:
    objects = render(which, *VALUE_SETS[values])
    assert objects
    for obj in objects:
        if obj["kind"] == "ServiceMonitor":
            assert obj["spec"]["endpoints"][0]["path"] == "/metrics"
            continue
        if obj["kind"] == "PrometheusRule":  # its rules: tests/chart/test_alerts.py
            assert obj["spec"]["groups"][0]["rules"]
            continue
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_the_validator_refuses_a_broken_object() -> None:
    [deployment] = by_kind(render("helm4"), "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = 7
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_helm3_and_helm4_render_the_same() -> None:
    assert render("helm3") == render("helm4")


def test_value_sets_change_what_they_should() -> None:
    assert not by_kind(render("helm4", *VALUE_SETS["no-crds"]), "CustomResourceDefinition")
    assert not by_kind(render("helm4", *VALUE_SETS["single-operator"]), "PodDisruptionBudget")
    no_policy = render("helm4", *VALUE_SETS["no-admission-policy"])
    assert not by_kind(no_policy, "ValidatingAdmissionPolicy")
    assert not by_kind(no_policy, "ValidatingAdmissionPolicyBinding")
    assert len(by_kind(render("helm4", *VALUE_SETS["monitoring"]), "ServiceMonitor")) == 2
    assert len(by_kind(render("helm4", *VALUE_SETS["monitoring"]), "PrometheusRule")) == 1
    assert not by_kind(render("helm4"), "PrometheusRule")
    [agent] = by_kind(render("helm4", *VALUE_SETS["critical-agent"]), "DaemonSet")
    assert agent["spec"]["template"]["spec"]["priorityClassName"] == "system-node-critical"
    [operator] = by_kind(render("helm4", *VALUE_SETS["fast-profile"]), "Deployment")
    assert "--profile=fast" in operator["spec"]["template"]["spec"]["containers"][0]["args"]


def _rules(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for o in objects if o["kind"] in ("ClusterRole", "Role") for r in o["rules"]]


@pytest.mark.parametrize("values", sorted(VALUE_SETS))
def test_rbac_has_no_wildcard(values: str) -> None:
    rules = _rules(render("helm4", *VALUE_SETS[values]))
    assert rules
    for rule in rules:
        for key in ("verbs", "resources", "apiGroups", "resourceNames"):
            assert "*" not in rule.get(key, []), rule
            assert all("*" not in value for value in rule.get(key, [])), rule


def test_rbac_is_exactly_the_shared_rules_file() -> None:
    shared = yaml.safe_load((CHART / "files" / "rbac.yaml").read_text())
    objects = render("helm4")
    for component in ("operator", "agent"):
        [cluster_role] = [
            o for o in by_kind(objects, "ClusterRole") if o["metadata"]["name"].endswith(component)
        ]
        [role] = [o for o in by_kind(objects, "Role") if o["metadata"]["name"].endswith(component)]
        assert cluster_role["rules"] == shared[component]["cluster"]
        assert role["rules"] == shared[component]["namespace"]
    bindings = by_kind(objects, "ClusterRoleBinding") + by_kind(objects, "RoleBinding")
    accounts = {o["metadata"]["name"] for o in by_kind(objects, "ServiceAccount")}
    assert {s["name"] for b in bindings for s in b["subjects"]} == accounts


@pytest.mark.parametrize("values", ["defaults", "named-accounts"])
def test_admission_policies_are_exactly_the_shared_file_the_lab_applies(values: str) -> None:
    """The chart renders files/admission.yaml with its own names, as floatip_lab.admission does."""
    from floatip_lab import admission

    objects = render("helm4", *VALUE_SETS[values])
    accounts = {
        o["metadata"]["name"].rsplit("-", 1)[-1] if values == "defaults" else
        {"vip-op": "operator", "vip-agent": "agent"}[o["metadata"]["name"]]: o["metadata"]["name"]
        for o in by_kind(objects, "ServiceAccount")
    }  # fmt: skip
    rendered = [
        {**o, "metadata": {k: v for k, v in o["metadata"].items() if k != "labels"}}
        for o in objects
        if o["kind"].startswith("ValidatingAdmissionPolicy")
    ]
    expected = admission.build_objects(
        (CHART / "files" / "admission.yaml").read_text(),
        name="vip-floatip",
        namespace="floatip",
        agent=accounts["agent"],
        operator=accounts["operator"],
    )

    def key(obj: dict[str, Any]) -> tuple[str, str]:
        return obj["kind"], obj["metadata"]["name"]

    assert sorted(rendered, key=key) == sorted(expected, key=key)  # Helm orders by kind
    assert sorted(map(key, rendered)) == [
        ("ValidatingAdmissionPolicy", "vip-floatip-agent-status"),
        ("ValidatingAdmissionPolicy", "vip-floatip-leases"),
        ("ValidatingAdmissionPolicyBinding", "vip-floatip-agent-status"),
        ("ValidatingAdmissionPolicyBinding", "vip-floatip-leases"),
    ]
    text = yaml.safe_dump(rendered)
    assert "__" not in text, "a placeholder was left unreplaced"
    assert f"system:serviceaccount:floatip:{accounts['agent']}" in text


def test_agent_daemonset_is_host_network_and_not_privileged() -> None:
    [agent] = by_kind(render("helm4"), "DaemonSet")
    pod = agent["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True
    [container] = pod["containers"]
    security = container["securityContext"]
    assert security["privileged"] is False
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert security["capabilities"] == {"drop": ["ALL"], "add": ["NET_ADMIN", "NET_RAW"]}
    assert {
        "key": "node-role.kubernetes.io/control-plane",
        "operator": "Exists",
        "effect": "NoSchedule",
    } in pod["tolerations"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_operator_deployment_is_ha_and_locked_down() -> None:
    objects = render("helm4")
    [operator] = by_kind(objects, "Deployment")
    assert operator["spec"]["replicas"] == 2
    pod = operator["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    [container] = pod["containers"]
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    [pdb] = by_kind(objects, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1


@pytest.mark.parametrize("name", ["virtualip.yaml", "virtualippool.yaml"])
def test_chart_crds_are_the_generated_ones(name: str) -> None:
    assert (CHART / "files" / f"crd-{name}").read_text() == (REPO / "crds" / name).read_text(), (
        f"charts/floatip/files/crd-{name} is stale: cp crds/{name} charts/floatip/files/crd-{name}"
    )
    generated = yaml.safe_load((REPO / "crds" / name).read_text())
    for helm in ("helm3", "helm4"):
        crds = {c["metadata"]["name"]: c for c in by_kind(render(helm), "CustomResourceDefinition")}
        assert sorted(crds) == ["virtualippools.floatip.io", "virtualips.floatip.io"]
        crd = crds[generated["metadata"]["name"]]
        assert crd["spec"] == generated["spec"]
        assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
        assert crd["metadata"]["labels"]["app.kubernetes.io/name"] == "floatip"


def test_programs_accept_every_flag_the_chart_passes() -> None:
    """The chart's command and args parse with the programs' own command lines."""
    import tomllib

    import click

    from floatip_agent import main as agent_main
    from floatip_operator import main as operator_main

    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    commands: dict[str, click.Command] = {
        "floatip-operator": operator_main.command,
        "floatip-agent": agent_main.cli,
    }
    for values in ("defaults", "fast-profile"):
        objects = render("helm4", *VALUE_SETS[values])
        for workload in by_kind(objects, "Deployment") + by_kind(objects, "DaemonSet"):
            [container] = workload["spec"]["template"]["spec"]["containers"]
            [program] = container["command"]
            assert program in scripts, f"{program} is not a console script in pyproject.toml"
            command = commands[program]
            ctx = command.make_context(program, list(container["args"]))
            assert ctx.params["profile"] == ("fast" if values == "fast-profile" else "default")
