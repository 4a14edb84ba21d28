"""The store hands its objects out shared, so no write may change an object once stored.

Reads, watch events and the old side of the next write all use the stored dicts themselves
(no copy per read, as the real server's watch cache hands out shared objects); a write works
on a private copy. These tests keep every object the store ever committed, with a snapshot
taken at commit time, and check after a run of every kind of write (an apply that creates the object too) that none of them
changed.
"""

from __future__ import annotations

import copy
from typing import Any

from floatip_apiserver.runtime import RunningServer
from floatip_apiserver.store import Event

VIPS = "/apis/floatip.io/v1alpha1/virtualips"
NOW = "2026-11-30T18:00:00Z"
MERGE = "application/merge-patch+json"
APPLY = "application/apply-patch+yaml"


async def _ok(http: Any, method: str, path: str, body: object, **kw: Any) -> dict[str, Any]:
    code, answer = await http.call(method, path, body, **kw)
    assert code in (200, 201), f"{method} {path} -> {code}: {answer}"
    return dict(answer)


async def test_no_write_changes_a_stored_object(apiserver: RunningServer, http: Any) -> None:
    committed: list[tuple[dict[str, Any], dict[str, Any]]] = []
    events: list[str] = []

    def keep(event: Event) -> None:
        events.append(event.type)
        for obj in (event.obj, event.old):
            if obj is not None:
                committed.append((obj, copy.deepcopy(obj)))

    apiserver.api.store.listeners.append(keep)
    path = f"{VIPS}/vip-a"
    cond = {"type": "Ready", "status": "False", "lastTransitionTime": NOW, "reason": "Assigned"}
    status = {"holder": "server1", "epoch": 1, "conditions": [cond]}
    vip = {"apiVersion": "floatip.io/v1alpha1", "kind": "VirtualIP", "metadata": {"name": "vip-a"}}
    await _ok(http, "POST", VIPS, dict(vip, spec={"address": "198.18.0.1/32"}))
    await _ok(http, "PATCH", path + "/status", {"status": status}, content_type=MERGE)
    await _ok(
        http,
        "PATCH",
        path + "/status",
        {"status": {"conditions": [dict(cond, status="True")], "holder": None}},
        content_type=MERGE,
    )
    await _ok(http, "PATCH", path, {"spec": {"preferredNodes": ["server1"]}}, content_type=MERGE)
    ops = [{"op": "add", "path": "/metadata/labels", "value": {"a": "b"}}]
    await _ok(http, "PATCH", path, ops, content_type="application/json-patch+json")
    current = await _ok(http, "GET", path, None)
    current["spec"]["preferredNodes"] = ["server2"]
    current = await _ok(http, "PUT", path, current)
    current["status"]["epoch"] = 2
    await _ok(http, "PUT", path + "/status", current)
    applied = dict(vip, spec={"address": "198.18.0.1/32", "preferredNodes": ["server3"]})
    await _ok(http, "PATCH", path + "?fieldManager=tester&force=true", applied, content_type=APPLY)
    applied_status = dict(vip, status={"holder": "server3", "epoch": 3})
    await _ok(
        http,
        "PATCH",
        path + "/status?fieldManager=tester&force=true",
        applied_status,
        content_type=APPLY,
    )
    await _ok(http, "PATCH", path, {"metadata": {"finalizers": ["test/hold"]}}, content_type=MERGE)
    await _ok(http, "DELETE", path, None)
    await _ok(http, "PATCH", path, {"metadata": {"finalizers": None}}, content_type=MERGE)
    created = dict(vip, metadata={"name": "vip-b"}, spec={"address": "198.18.0.2/32"})
    answer = await _ok(
        http, "PATCH", f"{VIPS}/vip-b?fieldManager=tester", created, content_type=APPLY
    )  # an apply that creates: its managedFields are the Apply's from the ADDED event on
    [entry] = answer["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"]) == ("tester", "Apply"), entry
    assert len(events) == 13, f"expected the 13 writes to be committed, saw {events}"
    changed = [(snap, obj) for obj, snap in committed if obj != snap]
    assert not changed, f"stored objects changed after they were committed: {changed[:2]}"
