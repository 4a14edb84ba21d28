"""``floatip validate``: the exit-code contract and the report a pipeline reads.

Proves: 0 when every VirtualIP and VirtualIPPool is valid; 1 with file, document index, kind
and field path for each problem (a pool's problems with the model's messages); 2 for
unreadable files and malformed YAML; other kinds (a MetalLB IPAddressPool too) skipped with a
note; several files and standard input; the shipped examples are valid and the invalid ones
invalid; the members of a group that disagree (pins) across files are each an error; the
Services floatip serves are judged (their mistakes are errors, floatip's annotations on another
Service too) and other Services are skipped with a note saying why; a List (kubectl's output)
is read item by item.
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
    assert output.rstrip().endswith("1 valid, 0 invalid floatip object(s)")


def test_invalid_exits_1_with_file_document_and_path(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "bad.yaml", INVALID)
    code, output = run(path)
    assert code == 1
    assert f"{path}[0]: note: skipped: not a VirtualIP or VirtualIPPool (kind Namespace)" in output
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
    assert "no VirtualIP or VirtualIPPool in this file" in output


@pytest.mark.parametrize("path", sorted((REPO / "examples").glob("*.yaml")))
def test_shipped_examples_are_valid(path: pathlib.Path) -> None:
    assert run(str(path))[0] == 0


@pytest.mark.parametrize("path", sorted((REPO / "examples" / "invalid").glob("*.yaml")))
def test_shipped_invalid_examples_are_invalid(path: pathlib.Path) -> None:
    assert run(str(path))[0] == 1


POOLS = """
apiVersion: floatip.io/v1alpha1
kind: VirtualIPPool
metadata: {name: general}
spec:
  addresses: [192.0.2.0/28, 2001:db8::/120]
  template: {preferredNodes: [a, b]}
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: metallb, namespace: metallb-system}
spec: {addresses: [192.0.2.0/28]}
---
apiVersion: floatip.io/v1alpha1
kind: VirtualIPPool
metadata: {name: bad}
spec:
  addresses: [192.0.2.10, 192.0.2.0/26, 192.0.2.32-192.0.2.40]
  priority: -1
  template: {preferredNodes: [a, a], preempt: true}
"""


def test_pools_are_validated_with_the_models_messages(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "pools.yaml", POOLS)
    code, output = run(path)
    assert code == 1
    assert f"{path}[0]: ok: VirtualIPPool 'general' is valid" in output
    assert (
        f"{path}[1]: note: skipped: not a VirtualIP or VirtualIPPool (kind IPAddressPool)" in output
    )
    prefix = f"{path}[2]: error: VirtualIPPool 'bad': "
    assert (
        prefix
        + "spec.addresses[0]: '192.0.2.10' is one address, not a CIDR or a range: write 192.0.2.10/32"
        in output
    )
    assert prefix + "spec.priority: must be at least 0 (got -1)" in output
    assert prefix + "spec.template.preferredNodes: node 'a' is listed twice" in output
    assert prefix + "spec.template.preempt: is not a field of VirtualIPPool" in output
    assert output.rstrip().endswith("1 valid, 1 invalid floatip object(s)")


def test_overlapping_entries_are_named(tmp_path: pathlib.Path) -> None:
    code, output = run(
        "-",
        stdin=POOLS.split("---", maxsplit=1)[0].replace("2001:db8::/120", "192.0.2.8-192.0.2.9"),
    )
    assert code == 1
    assert (
        "spec.addresses: items 0 and 1 share 192.0.2.8-192.0.2.9 "
        "(in 192.0.2.0/28 and in 192.0.2.8-192.0.2.9): list each address in one entry only"
    ) in output


def test_a_pool_and_a_virtualip_in_one_file(tmp_path: pathlib.Path) -> None:
    code, output = run(
        write(tmp_path, "both.yaml", VALID + "---" + POOLS.split("---", maxsplit=1)[0])
    )
    assert code == 0
    assert "VirtualIP 'web' is valid" in output and "VirtualIPPool 'general' is valid" in output


def _member(name: str, address: str, **spec: str) -> str:
    fields = ", ".join(
        f"{k}: {v}" for k, v in {"address": address, "group": "edge", **spec}.items()
    )
    return f"apiVersion: floatip.io/v1alpha1\nkind: VirtualIP\nmetadata: {{name: {name}}}\n" \
        f"spec: {{{fields}}}\n"  # fmt: skip


def test_members_of_a_group_must_agree_across_files(tmp_path: pathlib.Path) -> None:
    first = write(tmp_path, "out.yaml", _member("edge-out", "192.0.2.1/24", node="s1"))
    second = write(tmp_path, "in.yaml", _member("edge-in", "192.0.2.2/24", node="s2"))
    follower = write(tmp_path, "x.yaml", _member("edge-x", "192.0.2.3/24"))
    code, out = run(first, follower)
    assert code == 0, out
    code, out = run(first, second, follower)
    assert code == 1, out
    assert f"{first}[0]: error: VirtualIP 'edge-out': spec.group: group 'edge' cannot" in out
    assert "its members pin different nodes (edge-out: s1, edge-in: s2)" in out
    assert f"{second}[0]: error: VirtualIP 'edge-in': spec.group:" in out
    assert f"{follower}[0]: error: VirtualIP 'edge-x': spec.group:" in out
    assert "is valid" not in out and "0 valid, 3 invalid" in out, out


SERVICES = """
apiVersion: v1
kind: Service
metadata:
  name: web
  annotations: {floatip.io/addresses: "192.0.2.1, 192.0.2.2"}
spec: {type: LoadBalancer, loadBalancerClass: floatip.io/l2, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: ok}
spec: {type: LoadBalancer, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: metallbs}
spec: {type: LoadBalancer, loadBalancerClass: metallb.io/l2}
---
apiVersion: v1
kind: Service
metadata: {name: internal, annotations: {floatip.io/pool: general}}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: plain}
spec: {ports: [{port: 80}]}
"""


def test_services_floatip_serves_are_judged_and_the_others_skipped(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "svc.yaml", SERVICES)
    code, output = run(path)
    assert code == 1
    assert f"{path}[0]: error: Service 'web': annotation floatip.io/addresses names two IPv4" in (
        output
    )
    assert f"{path}[1]: ok: Service 'ok' is valid" in output
    assert (
        f"{path}[2]: note: skipped: a Service floatip does not serve "
        "(loadBalancerClass metallb.io/l2)" in output
    )
    assert f"{path}[3]: error: Service 'internal': metadata.annotations: floatip.io/pool: " in (
        output
    )
    assert f"{path}[4]: note: skipped: a Service floatip does not serve (type ClusterIP)" in output
    assert output.rstrip().endswith("1 valid, 2 invalid floatip object(s)")


LISTED = """
apiVersion: v1
kind: List
metadata: {resourceVersion: ""}
items:
- apiVersion: v1
  kind: Service
  metadata: {name: web, namespace: shop, annotations: {floatip.io/pool: general}}
  spec: {type: LoadBalancer, ipFamilies: [IPv4], ports: [{port: 80}]}
  status: {loadBalancer: {ingress: [{ip: 192.0.2.1, ipMode: VIP}]}}
- apiVersion: v1
  kind: Service
  metadata: {name: kubernetes, namespace: default}
  spec: {type: ClusterIP, ports: [{port: 443}]}
- apiVersion: floatip.io/v1alpha1
  kind: VirtualIP
  metadata: {name: bad}
  spec: {address: 192.0.2.0/24}
"""


def test_a_list_as_kubectl_prints_it_is_read_item_by_item() -> None:
    code, output = run("-", stdin=LISTED)
    assert code == 1
    assert "-[0.0]: ok: Service 'web' is valid" in output
    assert "-[0.1]: note: skipped: a Service floatip does not serve (type ClusterIP)" in output
    assert "-[0.2]: error: VirtualIP 'bad': spec.address: " in output
    assert output.rstrip().endswith("1 valid, 1 invalid floatip object(s)")
