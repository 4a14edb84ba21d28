"""The lab's kube-proxy stand-in's rules (floatip_lab.proxyrules), as pure functions.

Proves, for a Service's load-balancer address as kube-proxy's nftables mode treats it:
- Cluster: every ready endpoint in turn (numgen inc), a not-ready one left out, the
  serving-and-terminating ones only when none is ready, a reject when there is none;
- Local: only this node's ready endpoints, a drop when it has none;
- only IPv4 ingress points with ipMode VIP (or unset); the port by the Service port's name
  and protocol; UDP as well as TCP;
- the script is one transaction that defines the table anew, masquerades and forwards only
  DNATed traffic, and with nothing to do removes the table; a partial sync names only the
  ingress points that changed;
- nft accepts the scripts, and a partial sync leaves the table a full one builds (checked in
  a throwaway namespace when run as root with nft).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from typing import Any

import pytest

from floatip_lab import endpointslices, proxyrules

VIP = "192.0.2.100"


def service(policy: str = "Cluster", *, ingress: list[dict[str, Any]] | None = None,
            ports: list[dict[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
    return {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"externalTrafficPolicy": policy,
                 "ports": ports or [{"name": "http", "port": 80, "protocol": "TCP"}]},
        "status": {"loadBalancer": {"ingress": [{"ip": VIP}] if ingress is None else ingress}},
    }  # fmt: skip


def endpoint(node: str, ip: str, ready: bool = True, **conditions: bool) -> dict[str, Any]:
    return {"addresses": [ip], "nodeName": node, "conditions": {"ready": ready, **conditions}}


def slice_(*endpoints: dict[str, Any], port: int = 80, name: str = "http") -> dict[str, Any]:
    return {
        "metadata": {"namespace": "default", "labels": {endpointslices.SERVICE_NAME: "web"}},
        "addressType": "IPv4",
        "ports": [{"name": name, "port": port, "protocol": "TCP"}],
        "endpoints": list(endpoints),
    }


THREE = slice_(
    endpoint("server1", "192.0.2.11"),
    endpoint("server2", "192.0.2.12", ready=False),
    endpoint("server3", "192.0.2.13"),
)


def test_cluster_takes_every_ready_endpoint_in_turn() -> None:
    [entry] = proxyrules.entries([service()], [THREE], "server2")
    assert (entry.address, entry.protocol, entry.port) == (VIP, "tcp", 80)
    assert entry.backends == (("192.0.2.11", 80), ("192.0.2.13", 80))
    script = proxyrules.ruleset([entry])
    chain = "svc_192_0_2_100_tcp_80"
    assert (
        f"add rule ip {proxyrules.TABLE} {chain} meta l4proto tcp dnat ip to numgen inc mod 2 "
        'map { 0 : 192.0.2.11 . 80, 1 : 192.0.2.13 . 80 } comment "default/web"'
    ) in script
    assert f"service-ips {{ {VIP} . tcp . 80 : goto {chain} }}" in script
    assert "ct status dnat masquerade" in script and "ct status dnat accept" in script
    assert "policy drop" in script  # the forward chain: nothing but DNATed traffic


def test_local_takes_only_this_nodes_ready_endpoint_and_drops_without_one() -> None:
    [on1] = proxyrules.entries([service("Local")], [THREE], "server1")
    assert on1.backends == (("192.0.2.11", 80),)
    [on2] = proxyrules.entries([service("Local")], [THREE], "server2")
    assert on2.backends == () and on2.local
    assert f"no-endpoint-services {{ {VIP} . tcp . 80 : drop }}" in proxyrules.ruleset([on2])


def test_no_ready_endpoint_falls_back_to_terminating_then_rejects() -> None:
    draining = slice_(endpoint("server1", "192.0.2.11", False, serving=True, terminating=True))
    [entry] = proxyrules.entries([service()], [draining], "server2")
    assert entry.backends == (("192.0.2.11", 80),)
    [none] = proxyrules.entries([service()], [slice_()], "server2")
    script = proxyrules.ruleset([none])
    assert f"no-endpoint-services {{ {VIP} . tcp . 80 : goto reject-services }}" in script
    assert "meta l4proto tcp reject with tcp reset" in script


def test_only_vip_mode_ipv4_ingress_points_and_ports_by_name() -> None:
    ingress = [{"ip": VIP, "ipMode": "VIP"}, {"ip": "192.0.2.101", "ipMode": "Proxy"},
               {"ip": "2001:db8:f1::100"}, {"hostname": "lb.example"}]  # fmt: skip
    ports = [{"name": "http", "port": 80, "protocol": "TCP"},
             {"name": "dns", "port": 53, "protocol": "UDP"}]  # fmt: skip
    dns = {"name": "dns", "port": 5353, "protocol": "UDP"}
    slices = [THREE, {**THREE, "ports": [dns]}]
    entries = proxyrules.entries([service(ingress=ingress, ports=ports)], slices, "server1")
    assert [(e.address, e.protocol, e.port, e.backends[0]) for e in entries] == [
        (VIP, "udp", 53, ("192.0.2.11", 5353)),
        (VIP, "tcp", 80, ("192.0.2.11", 80)),
    ]


def test_nothing_to_do_removes_the_table() -> None:
    assert proxyrules.entries([service(ingress=[])], [THREE], "server1") == []
    table = proxyrules.TABLE
    assert proxyrules.ruleset([]) == f"add table ip {table}\ndelete table ip {table}\n"


def entry(address: str, *backends: str, local: bool = False) -> proxyrules.Entry:
    pairs = tuple((b, 80) for b in backends)
    return proxyrules.Entry(address, "tcp", 80, pairs, local, f"default/{address}")


def test_a_partial_sync_touches_only_the_points_that_changed() -> None:
    """kube-proxy's partial sync: a point whose backends changed gets its chain rewritten (its
    map element stays), one that lost them moves to the no-endpoints map, and an unchanged
    one is not named at all."""
    same = entry("192.0.2.100", "192.0.2.11")
    moved = entry("192.0.2.101", "192.0.2.11")
    emptied = entry("192.0.2.102", "192.0.2.11")
    gone = entry("192.0.2.103", local=True)
    loaded = {proxyrules.point(e): e for e in (same, moved, emptied, gone)}
    new = entry("192.0.2.104", "192.0.2.12")
    plan = [same, entry("192.0.2.101", "192.0.2.12"), entry("192.0.2.102"), new]
    table = proxyrules.TABLE
    assert proxyrules.changes(loaded, plan).splitlines() == [
        f"flush chain ip {table} svc_192_0_2_101_tcp_80",
        f"add rule ip {table} svc_192_0_2_101_tcp_80 meta l4proto tcp dnat ip to numgen inc "
        'mod 1 map { 0 : 192.0.2.12 . 80 } comment "default/192.0.2.101"',
        f"delete element ip {table} service-ips {{ 192.0.2.102 . tcp . 80 }}",
        f"delete chain ip {table} svc_192_0_2_102_tcp_80",
        f"add element ip {table} no-endpoint-services "
        "{ 192.0.2.102 . tcp . 80 : goto reject-services }",
        f"delete element ip {table} no-endpoint-services {{ 192.0.2.103 . tcp . 80 }}",
        f"add chain ip {table} svc_192_0_2_104_tcp_80",
        f"add rule ip {table} svc_192_0_2_104_tcp_80 meta l4proto tcp dnat ip to numgen inc "
        'mod 1 map { 0 : 192.0.2.12 . 80 } comment "default/192.0.2.104"',
        f"add element ip {table} service-ips {{ 192.0.2.104 . tcp . 80 : goto "
        "svc_192_0_2_104_tcp_80 }",
    ]
    assert proxyrules.changes({proxyrules.point(e): e for e in plan}, plan) == ""


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("nft") is None, reason="needs root and nft")
def test_nft_accepts_the_scripts_and_a_partial_sync_leaves_what_a_full_one_builds() -> None:
    entries = proxyrules.entries([service()], [THREE], "server1")
    entries += proxyrules.entries([service("Local")], [THREE], "server2")
    later = [entry("192.0.2.100", "192.0.2.13"), entry("192.0.2.101", local=True),
             entry("192.0.2.102", "192.0.2.11", "192.0.2.12")]  # fmt: skip
    name = f"fip-{os.getpid()}-rules{uuid.uuid4().hex[:6]}-x"
    subprocess.run(["ip", "netns", "add", name], check=True)

    def load(script: str) -> str:
        done = subprocess.run(["ip", "netns", "exec", name, "nft", "-f", "-"], input=script,
                              capture_output=True, text=True, check=False)  # fmt: skip
        assert done.returncode == 0, f"{done.stderr}\n{script}"
        listed = subprocess.run(["ip", "netns", "exec", name, "nft", "list", "ruleset"],
                                capture_output=True, text=True, check=True)  # fmt: skip
        return listed.stdout

    try:
        load(proxyrules.ruleset(entries))
        partly = load(proxyrules.changes({proxyrules.point(e): e for e in entries}, later))
        assert partly == load(proxyrules.ruleset(later)), "a partial sync left another table"
        assert load(proxyrules.ruleset([])) == ""
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def named(name: str, address: str, policy: str = "Cluster") -> dict[str, Any]:
    body = service(policy, ingress=[{"ip": address}])
    body["metadata"] = {"name": name, "namespace": "default"}
    return body


def owned_by(name: str, *endpoints: dict[str, Any]) -> dict[str, Any]:
    body = slice_(*endpoints)
    body["metadata"] = {"namespace": "default", "labels": {endpointslices.SERVICE_NAME: name}}
    return body


def test_a_programme_recomputes_only_the_services_named_and_plans_as_entries_does() -> None:
    """kube-proxy's change trackers: a sync recomputes the Services named since, keeps the
    others as they were, and drops a Service that is gone; its plan is `entries`' answer."""
    services = {("default", n): named(n, f"192.0.2.{100 + i}") for i, n in enumerate("abc")}
    slices = {("default", n): [owned_by(n, endpoint("server1", "192.0.2.11"))] for n in "abc"}
    programme = proxyrules.Programme("server1")
    programme.update(services, services, slices)
    all_slices = [s for found in slices.values() for s in found]
    assert programme.plan() == proxyrules.entries(services.values(), all_slices, "server1")
    moved = {**slices, ("default", "a"): [owned_by("a", endpoint("server2", "192.0.2.12"))]}
    programme.update([], services, moved)  # nothing named: nothing recomputed
    assert programme.plan()[0].backends == (("192.0.2.11", 80),)
    programme.update([("default", "a")], services, moved)
    assert programme.plan()[0].backends == (("192.0.2.12", 80),)
    gone = {k: v for k, v in services.items() if k != ("default", "b")}
    programme.update([("default", "b")], gone, moved)
    assert [e.service for e in programme.plan()] == ["default/a", "default/c"]
    assert sorted(programme.keys()) == [("default", "a"), ("default", "c")]
