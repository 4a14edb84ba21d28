"""``floatip control-plane manifest|unit`` (floatip.cli.controlplane, cpmanifests). Proves:

- the manifest is one valid Kubernetes 1.35 Pod (kubernetes-validate, strict) in kube-system,
  on the host network, not privileged, with NET_ADMIN + NET_RAW only, no kubeconfig mounted,
  running floatip-control-plane-agent with the chosen flags, which the agent's own command
  line accepts; a key file is mounted read-only from the host;
- the unit's ExecStart is the same command line, with the two capabilities only;
- ``--kubeconfig`` (the status report's own credentials) is mounted read-only, admin.conf and
  super-admin.conf are refused; ``rbac`` prints a valid Lease, and a Role that allows only
  get/update/patch of that one Lease, bound to the agents' user;
- an address without a prefix, a bad peer or profile is refused with what to write instead;
- the profiles offered are the agent's.
"""

from __future__ import annotations

import pathlib

import kubernetes_validate
import pytest
import yaml
from click.testing import CliRunner

from floatip.cli import cpmanifests, main
from floatip_agent.controlplane import main as agent_main
from floatip_agent.controlplane import settings

K8S_VERSION = "1.35.0"


def invoke(*args: str) -> str:
    result = CliRunner().invoke(main.cli, ["control-plane", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_manifest_is_a_valid_unprivileged_static_pod() -> None:
    pod = yaml.safe_load(invoke("manifest", "--address", "192.0.2.10/24", "--profile", "fast"))
    kubernetes_validate.validate(pod, K8S_VERSION, strict=True)
    assert (pod["kind"], pod["metadata"]["namespace"]) == ("Pod", "kube-system")
    spec = pod["spec"]
    assert spec["hostNetwork"] is True
    assert "volumes" not in spec  # no kubeconfig, no admin.conf: the agent needs no API
    [container] = spec["containers"]
    security = container["securityContext"]
    assert security["privileged"] is False and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"], "add": ["NET_ADMIN", "NET_RAW"]}
    assert container["command"] == ["floatip-control-plane-agent"]
    assert container["args"] == ["--address=192.0.2.10/24", "--profile=fast"]
    assert container["image"].startswith(cpmanifests.IMAGE_REPOSITORY + ":")


def test_manifest_mounts_the_key_and_passes_every_choice() -> None:
    key = "/etc/kubernetes/floatip/heartbeat.key"
    pod = yaml.safe_load(invoke(
        "manifest", "--address", "10.0.0.5/16", "--interface", "bond0", "--port", "8443",
        "--cluster-id", "prod", "--peer", "10.0.0.11", "--peer", "10.0.0.12", "--key-file", key,
        "--image", "registry.local/floatip:dev",
    ))  # fmt: skip
    kubernetes_validate.validate(pod, K8S_VERSION, strict=True)
    [container] = pod["spec"]["containers"]
    assert container["image"] == "registry.local/floatip:dev"
    assert container["args"] == [
        "--address=10.0.0.5/16", "--interface=bond0", "--port=8443", "--cluster-id=prod",
        "--peer=10.0.0.11", "--peer=10.0.0.12", f"--key-file={key}",
    ]  # fmt: skip
    assert container["volumeMounts"] == [
        {"name": "heartbeat-key", "mountPath": key, "readOnly": True}
    ]
    assert pod["spec"]["volumes"][0]["hostPath"] == {"path": key, "type": "File"}


def test_the_agent_accepts_the_manifests_arguments() -> None:
    """The agent's own parser takes the rendered flags (without running it)."""
    args = cpmanifests.arguments(cpmanifests.Choices(
        "10.0.0.5/16", interface="bond0", port=8443, profile="fast", cluster_id="prod",
        peers=("10.0.0.11",),
    ))  # fmt: skip
    context = agent_main.cli.make_context("floatip-control-plane-agent", list(args))
    assert context.params["address"] == "10.0.0.5/16"
    assert context.params["peers"] == ("10.0.0.11",)
    assert context.params["profile"] == "fast"


def test_unit_runs_the_same_command_with_two_capabilities() -> None:
    unit = invoke("unit", "--address", "192.0.2.10/24", "--peer", "192.0.2.11")
    assert cpmanifests.exec_start(unit) == [
        "/usr/local/bin/floatip-control-plane-agent", "--address=192.0.2.10/24",
        "--peer=192.0.2.11",
    ]  # fmt: skip
    assert "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW" in unit
    assert "Restart=always" in unit
    assert "[Install]\nWantedBy=multi-user.target" in unit


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--address", "192.0.2.10"], "needs its prefix, e.g. 192.0.2.10/24"),
        (["--address", "vip.example/24"], "is not VIP/PREFIX"),
        (["--address", "192.0.2.10/24", "--peer", "cp2"], "--peer 'cp2' is not an IP address"),
    ],
)
def test_bad_choices_are_refused(args: list[str], message: str) -> None:
    for command in ("manifest", "unit"):
        result = CliRunner().invoke(main.cli, ["control-plane", command, *args])
        assert result.exit_code == 2
        assert message in result.output


def test_profiles_are_the_agents() -> None:
    assert set(cpmanifests.PROFILES) == set(settings.PROFILES)


def test_status_kubeconfig_is_mounted_and_admin_conf_refused() -> None:
    own = "/etc/kubernetes/floatip-control-plane.conf"
    pod = yaml.safe_load(invoke("manifest", "--address", "192.0.2.10/24", "--kubeconfig", own))
    kubernetes_validate.validate(pod, K8S_VERSION, strict=True)
    [container] = pod["spec"]["containers"]
    assert container["args"] == ["--address=192.0.2.10/24", f"--kubeconfig={own}"]
    assert container["volumeMounts"] == [
        {"name": "status-kubeconfig", "mountPath": own, "readOnly": True}
    ]
    for admin in ("/etc/kubernetes/admin.conf", "/etc/kubernetes/super-admin.conf"):
        result = CliRunner().invoke(
            main.cli,
            ["control-plane", "manifest", "--address", "192.0.2.10/24", "--kubeconfig", admin],
        )
        assert result.exit_code == 2
        assert "is a cluster-admin credential" in result.output


def test_rbac_allows_the_one_lease_only() -> None:
    objects = list(yaml.safe_load_all(invoke("rbac")))
    for obj in objects:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    lease, role, binding = objects
    assert (lease["kind"], lease["metadata"]["name"]) == ("Lease", "floatip-control-plane")
    assert role["rules"] == [{
        "apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
        "resourceNames": ["floatip-control-plane"], "verbs": ["get", "update", "patch"],
    }]  # fmt: skip
    assert binding["subjects"][0]["name"] == cpmanifests.STATUS_USER
    assert binding["roleRef"]["name"] == role["metadata"]["name"]


def test_the_agent_refuses_admin_conf(tmp_path: pathlib.Path) -> None:
    admin = tmp_path / "admin.conf"
    admin.write_text("apiVersion: v1\nkind: Config\n")
    result = CliRunner().invoke(
        agent_main.cli, ["--address", "192.0.2.10/24", "--kubeconfig", str(admin)]
    )
    assert result.exit_code == 2
    assert "is a cluster-admin credential" in result.output
