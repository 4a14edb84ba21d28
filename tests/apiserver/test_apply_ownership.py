"""Server-side apply's shared ownership, as k8s.io/apimachinery's structured-merge-diff does it.

Proves: a second manager applying the same value co-owns the field (its own managedFields
entry), so when the first drops the field from its apply the field stays, owned by the other,
while a field only the first owned is removed; a different value without force is 409 naming
every owner in the real message and causes; force takes only the conflicting fields; an
Update takes what it changed from the appliers; ``x-kubernetes-list-type: set`` lists are owned
item by item (two managers' items merge in structured-merge-diff's order, an item goes with
its last owner), atomic lists whole; re-applying the same configuration writes nothing; and
``kubectl apply --server-side`` reports the conflict.
"""

from __future__ import annotations

from typing import Any

import pytest

from floatip_apiserver.runtime import RunningServer
from tests.apiserver.kubectl_cli import run

VIPS = "/apis/floatip.io/v1alpha1/virtualips"
APPLY = "application/apply-patch+yaml"


def config(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "floatip.io/v1alpha1",
        "kind": "VirtualIP",
        "metadata": {"name": "web"},
        "spec": spec,
    }


async def apply(http: Any, manager: str, body: dict[str, Any], force: bool = False) -> Any:
    query = f"fieldManager={manager}" + ("&force=true" if force else "")
    return await http.call("PATCH", f"{VIPS}/web?{query}", body, content_type=APPLY)


def owned(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """manager -> its fieldsV1 under f:spec (Apply entries and Update entries alike)."""
    return {
        e["manager"]: e["fieldsV1"].get("f:spec", {})
        for e in obj["metadata"]["managedFields"]
        if not e.get("subresource")
    }


async def test_same_value_is_shared_and_survives_when_one_manager_drops_it(http: Any) -> None:
    code, obj = await apply(http, "alice", config(address="192.0.2.10", interface="eth0"))
    assert code == 201, obj
    code, obj = await apply(http, "bob", config(address="192.0.2.10"))
    assert code == 200, obj  # the same value: no conflict
    assert owned(obj)["alice"] == {"f:address": {}, "f:interface": {}}
    assert owned(obj)["bob"] == {"f:address": {}}
    code, obj = await apply(http, "alice", config(node="server1"))
    assert code == 200, obj
    assert obj["spec"]["address"] == "192.0.2.10"  # bob still owns it
    assert "interface" not in obj["spec"]  # alice alone owned it: gone with her apply
    assert owned(obj) == {"alice": {"f:node": {}}, "bob": {"f:address": {}}}


async def test_different_value_without_force_is_409_naming_every_owner(http: Any) -> None:
    await apply(http, "alice", config(address="192.0.2.10"))
    await apply(http, "bob", config(address="192.0.2.10", interface="eth0"))
    code, status = await apply(http, "carol", config(address="192.0.2.11", interface="eth0"))
    assert (code, status["reason"]) == (409, "Conflict")
    assert status["message"] == (
        'Apply failed with 2 conflicts: conflicts with "alice":\n- .spec.address\n'
        'conflicts with "bob":\n- .spec.address'
    )
    assert status["details"]["causes"] == [
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "alice"',
            "field": ".spec.address",
        },
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "bob"',
            "field": ".spec.address",
        },
    ]
    code, obj = await apply(
        http, "carol", config(address="192.0.2.11", interface="eth0"), force=True
    )
    assert code == 200 and obj["spec"]["address"] == "192.0.2.11"
    # force took the changed field only: bob still co-owns the interface he set alike
    assert owned(obj) == {
        "bob": {"f:interface": {}},
        "carol": {"f:address": {}, "f:interface": {}},
    }


async def test_update_takes_the_fields_it_changes_and_single_conflict_names_it(
    http: Any,
) -> None:
    await apply(http, "alice", config(address="192.0.2.10", interface="eth0"))
    code, obj = await http.call(
        "PATCH",
        f"{VIPS}/web?fieldManager=editor",
        {"spec": {"interface": "eth1"}},
        content_type="application/merge-patch+json",
    )
    assert code == 200
    assert owned(obj) == {"alice": {"f:address": {}}, "editor": {"f:interface": {}}}
    editor = next(e for e in obj["metadata"]["managedFields"] if e["manager"] == "editor")
    code, status = await apply(http, "alice", config(address="192.0.2.10", interface="eth2"))
    assert code == 409
    assert status["message"] == (
        'Apply failed with 1 conflict: conflict with "editor" using floatip.io/v1alpha1 at '
        f"{editor['time']}: .spec.interface"
    )


async def test_set_lists_are_owned_item_by_item_and_atomic_ones_whole(http: Any) -> None:
    await apply(http, "alice", config(address="192.0.2.10", preferredNodes=["a", "b"]))
    code, obj = await apply(http, "bob", config(address="192.0.2.10", preferredNodes=["c", "b"]))
    assert code == 200, obj  # items, not the list: nothing conflicts
    assert obj["spec"]["preferredNodes"] == ["a", "c", "b"]  # structured-merge-diff's order
    assert owned(obj)["bob"]["f:preferredNodes"] == {'v:"b"': {}, 'v:"c"': {}}
    code, obj = await apply(http, "alice", config(address="192.0.2.10"))
    assert obj["spec"]["preferredNodes"] == ["c", "b"]  # a was alice's alone; b is bob's too
    zone = {"matchExpressions": [{"key": "zone", "operator": "Exists"}]}
    code, obj = await apply(http, "carol", config(address="192.0.2.10", nodeSelector=zone))
    assert code == 200, obj
    region = {"matchExpressions": [{"key": "region", "operator": "Exists"}]}
    code, status = await apply(http, "dave", config(address="192.0.2.10", nodeSelector=region))
    assert code == 409  # an atomic list is one field: another item is a different value
    assert status["message"].endswith('conflict with "carol": .spec.nodeSelector.matchExpressions')


async def test_reapplying_the_same_configuration_writes_nothing(http: Any) -> None:
    body = config(address="192.0.2.10", preferredNodes=["b", "a"], interface="eth0")
    _, first = await apply(http, "alice", body)
    _, second = await apply(http, "alice", body)
    assert second["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert second["spec"]["preferredNodes"] == ["b", "a"]


@pytest.mark.kubectl
async def test_kubectl_apply_server_side_reports_the_conflict_and_force_conflicts_wins(
    apiserver: RunningServer, http: Any
) -> None:
    await apply(http, "alice", config(address="192.0.2.10"))
    manifest = "\n".join(
        [
            "apiVersion: floatip.io/v1alpha1",
            "kind: VirtualIP",
            "metadata: {name: web}",
            "spec: {address: 192.0.2.99}",
        ]
    )
    code, out = await run(apiserver.kubeconfig, "apply", "--server-side", "-f", "-", stdin=manifest)
    assert code == 1
    assert 'conflict with "alice": .spec.address' in out, out
    code, out = await run(
        apiserver.kubeconfig,
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        "-",
        stdin=manifest,
    )
    assert code == 0, out


async def test_map_lists_on_the_status_subresource_are_owned_per_key(http: Any) -> None:
    """status.conditions is x-kubernetes-list-type: map keyed by type: one item per manager."""
    await apply(http, "alice", config(address="192.0.2.10"))

    def condition(kind: str, state: str) -> dict[str, Any]:
        return {
            "type": kind,
            "status": state,
            "reason": "Test",
            "message": "m",
            "lastTransitionTime": "2024-01-01T00:00:00Z",
        }

    async def apply_status(manager: str, *conditions: dict[str, Any]) -> Any:
        body = {**config(address="192.0.2.10"), "status": {"conditions": list(conditions)}}
        del body["spec"]
        return await http.call(
            "PATCH",
            f"{VIPS}/web/status?fieldManager={manager}",
            body,
            content_type=APPLY,
        )

    code, obj = await apply_status("ready-checker", condition("Ready", "True"))
    assert code == 200, obj
    code, obj = await apply_status("conflict-checker", condition("Conflict", "False"))
    assert code == 200, obj
    assert [c["type"] for c in obj["status"]["conditions"]] == ["Ready", "Conflict"]
    entry = next(e for e in obj["metadata"]["managedFields"] if e["manager"] == "ready-checker")
    assert entry["subresource"] == "status"
    item = entry["fieldsV1"]["f:status"]["f:conditions"]['k:{"type":"Ready"}']
    assert item["."] == {} and "f:status" in item
    code, status = await apply_status("conflict-checker", condition("Ready", "False"))
    assert code == 409
    assert status["message"] == (
        'Apply failed with 1 conflict: conflict with "ready-checker" with subresource "status": '
        '.status.conditions[type="Ready"].status'
    )
