"""Events: one store behind core/v1 and events.k8s.io/v1, as kube-apiserver keeps them.

Proves: an Event written through either API reads back through the other with the real
conversion's field mapping (and Go's JSON shape: zero times as null); the real server's field
selectors of each API; events.k8s.io's strict validation (422 with the internal field paths)
next to core/v1's legacy rules, and its immutable fields on update; and, with the real kubectl,
that ``kubectl get events -A`` lists the Events floatip writes (events.k8s.io) and
``kubectl describe vip NAME`` ends with them (it reads core/v1 by involvedObject selectors).
"""

from __future__ import annotations

import asyncio
import datetime
import json
from typing import Any

from floatip.api import events as floatip_events
from floatip_apiserver.runtime import RunningServer
from tests.apiserver.test_kubectl import VIP, kubectl

CORE = "/api/v1/namespaces/default/events"
NEW = "/apis/events.k8s.io/v1/namespaces/default/events"
WHEN = "2025-03-01T10:00:00.123456Z"


def new_event(name: str, **fields: Any) -> dict[str, Any]:
    """An events.k8s.io/v1 Event as floatip writes them (a cluster-scoped VirtualIP)."""
    body: dict[str, Any] = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": name},
        "eventTime": WHEN,
        "reportingController": "floatip.io/operator",
        "reportingInstance": "op-a",
        "action": "Assign",
        "reason": "Assigned",
        "note": "server1 holds 192.0.2.10",
        "type": "Normal",
        "regarding": {
            "apiVersion": "floatip.io/v1alpha1",
            "kind": "VirtualIP",
            "name": "web",
            "uid": "u-1",
            "resourceVersion": "7",
        },
    }
    body.update(fields)
    return body


def core_event(name: str, **fields: Any) -> dict[str, Any]:
    """A legacy core/v1 Event, as client-go's old recorder writes them."""
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name},
        "involvedObject": {"kind": "Node", "name": "server1", "uid": "n-1", "fieldPath": "x"},
        "reason": "NodeReady",
        "message": "Node server1 status is now: NodeReady",
        "source": {"component": "kubelet", "host": "server1"},
        "firstTimestamp": "2025-03-01T10:00:00Z",
        "lastTimestamp": "2025-03-01T10:05:00.5Z",
        "count": 4,
        "type": "Normal",
    }
    body.update(fields)
    return body


async def test_one_event_store_serves_both_apis_with_the_real_conversion(http: Any) -> None:
    code, created = await http.call("POST", NEW, new_event("assigned"))
    assert code == 201, created
    code, core = await http.call("GET", f"{CORE}/assigned")
    assert code == 200, core
    assert core["apiVersion"] == "v1"
    assert core["involvedObject"] == new_event("x")["regarding"]
    assert core["message"] == "server1 holds 192.0.2.10"
    assert core["reportingComponent"] == "floatip.io/operator"
    assert core["reportingInstance"] == "op-a"
    assert core["eventTime"] == WHEN and core["action"] == "Assign"
    # Go writes zero times as null and an empty struct as {}; count 0 is omitted
    assert core["firstTimestamp"] is None and core["lastTimestamp"] is None
    assert core["source"] == {} and "count" not in core
    assert core["metadata"]["uid"] == created["metadata"]["uid"]

    code, _ = await http.call("POST", CORE, core_event("ready"))
    assert code == 201
    code, new = await http.call("GET", f"{NEW}/ready")
    assert new["apiVersion"] == "events.k8s.io/v1"
    assert new["regarding"] == {"kind": "Node", "name": "server1", "uid": "n-1", "fieldPath": "x"}
    assert new["note"] == "Node server1 status is now: NodeReady"
    assert new["deprecatedSource"] == {"component": "kubelet", "host": "server1"}
    assert new["deprecatedFirstTimestamp"] == "2025-03-01T10:00:00Z"
    assert new["deprecatedLastTimestamp"] == "2025-03-01T10:05:00Z"  # metav1.Time: seconds
    assert new["deprecatedCount"] == 4
    assert new["eventTime"] is None
    assert "reportingController" not in new  # omitempty in events.k8s.io/v1
    assert not {"message", "involvedObject", "source", "count"} & set(new)

    series = {"count": 3, "lastObservedTime": "2025-03-01T10:02:00.000001Z"}
    code, _ = await http.call("POST", NEW, new_event("repeated", series=series))
    assert code == 201
    _, core = await http.call("GET", f"{CORE}/repeated")
    assert core["series"] == series and "count" not in core  # series is not a count

    code, listed = await http.call("GET", "/apis/events.k8s.io/v1/events")
    assert sorted(e["metadata"]["name"] for e in listed["items"]) == [
        "assigned",
        "ready",
        "repeated",
    ]
    assert {e["apiVersion"] for e in listed["items"]} == {"events.k8s.io/v1"}
    code, _ = await http.call("DELETE", f"{NEW}/ready")
    assert code == 200
    code, _ = await http.call("GET", f"{CORE}/ready")
    assert code == 404


async def test_a_core_watch_sees_events_written_through_events_k8s_io(
    apiserver: RunningServer, http: Any
) -> None:
    rv = str(apiserver.api.store.revision)
    url = f"{apiserver.url}{CORE}?watch=true&resourceVersion={rv}"
    headers = {"Authorization": f"Bearer {apiserver.admin_token}"}
    async with http.session.get(url, headers=headers) as response:
        code, _ = await http.call("POST", NEW, new_event("watched"))
        assert code == 201
        line = await asyncio.wait_for(response.content.readline(), 10)
    event = json.loads(line)
    assert event["type"] == "ADDED"
    assert event["object"]["apiVersion"] == "v1"
    assert event["object"]["involvedObject"]["name"] == "web"


async def _names(http: Any, path: str, selector: str) -> list[str]:
    code, body = await http.call("GET", f"{path}?fieldSelector={selector}")
    assert code == 200, body
    return sorted(item["metadata"]["name"] for item in body["items"])


async def test_event_field_selectors_are_the_real_servers_per_api(http: Any) -> None:
    await http.call("POST", NEW, new_event("vip-event"))
    await http.call("POST", CORE, core_event("node-event"))
    await http.call("POST", CORE, core_event("from-kopf", source={}, reportingComponent="kopf"))
    core_selectors = {
        "involvedObject.kind=VirtualIP": ["vip-event"],
        "involvedObject.name=server1": ["from-kopf", "node-event"],
        "involvedObject.namespace=": ["from-kopf", "node-event", "vip-event"],
        "involvedObject.uid=u-1": ["vip-event"],
        "involvedObject.apiVersion=floatip.io/v1alpha1": ["vip-event"],
        "involvedObject.resourceVersion=7": ["vip-event"],
        "involvedObject.fieldPath=x": ["from-kopf", "node-event"],
        "reason=Assigned": ["vip-event"],
        "type=Normal": ["from-kopf", "node-event", "vip-event"],
        "type!=Normal": [],
        # source: source.component, else reportingComponent (ToSelectableFields)
        "source=kubelet": ["node-event"],
        "source=kopf": ["from-kopf"],
        "source=floatip.io/operator": ["vip-event"],
        "reportingComponent=floatip.io/operator": ["vip-event"],
        # what kubectl describe sends for a cluster-scoped object
        "involvedObject.name=web,involvedObject.namespace=,involvedObject.kind=VirtualIP,"
        "involvedObject.uid=u-1": ["vip-event"],
    }
    for selector, expected in core_selectors.items():
        assert await _names(http, CORE, selector) == expected, selector
    new_selectors = {
        "regarding.kind=VirtualIP": ["vip-event"],
        "regarding.name=server1,regarding.uid=n-1": ["from-kopf", "node-event"],
        "regarding.namespace=,regarding.apiVersion=floatip.io/v1alpha1": ["vip-event"],
        "regarding.resourceVersion=7,regarding.fieldPath=": ["vip-event"],
        "reportingController=kopf": ["from-kopf"],
        "reason=NodeReady,type=Normal": ["from-kopf", "node-event"],
        "source=kubelet": ["node-event"],
    }
    for selector, expected in new_selectors.items():
        assert await _names(http, NEW, selector) == expected, selector
    for path, label in ((CORE, "regarding.name"), (NEW, "involvedObject.name"), (CORE, "note")):
        code, body = await http.call("GET", f"{path}?fieldSelector={label}=x")
        assert code == 400, body
        assert f'field label not supported: "{label}"' in body["message"]


async def test_events_k8s_io_validation_is_strict_and_core_v1_legacy(http: Any) -> None:
    missing = new_event("no-time")
    del missing["eventTime"]
    code, body = await http.call("POST", NEW, missing)
    assert code == 422, body
    assert body["message"] == 'Event.events.k8s.io "no-time" is invalid: eventTime: Required value'

    bare = {"metadata": {"name": "bare"}, "eventTime": WHEN, "type": "Normal"}
    code, body = await http.call("POST", NEW, bare)
    assert code == 422, body
    required = [
        c["field"] for c in body["details"]["causes"] if c["reason"] == "FieldValueRequired"
    ]
    assert required == ["reportingController", "reportingInstance", "action", "reason"]
    # and, as IsQualifiedName says of "": "name part must be non-empty" and the regex
    assert 'reportingController: Invalid value: "": name part must be non-empty' in body["message"]

    code, body = await http.call(
        "POST", NEW, new_event("odd", type="Info", deprecatedCount=2, note="n" * 1025)
    )
    assert code == 422
    assert [c["field"] for c in body["details"]["causes"]] == ["message", "type", "count"]
    assert 'type: Invalid value: "": has invalid value: Info' in body["message"]

    code, body = await http.call("POST", NEW, new_event("bad-ctl", reportingController="a/b/c"))
    assert code == 422 and body["details"]["causes"][0]["field"] == "reportingController"
    code, body = await http.call("POST", NEW, new_event("Bad_Name"))
    assert code == 422 and body["details"]["causes"][0]["field"] == "metadata.name"
    series = {"count": 1}
    code, body = await http.call("POST", NEW, new_event("short-series", series=series))
    assert code == 422
    assert [c["field"] for c in body["details"]["causes"]] == [
        "series.count",
        "series.lastObservedTime",
    ]
    code, body = await http.call("POST", NEW, new_event("late", eventTime="yesterday"))
    assert code == 400 and 'parsing time "yesterday"' in body["message"]
    code, body = await http.call("POST", NEW, new_event("typed", reason=5))
    assert code == 400 and "cannot unmarshal int" in body["message"]

    # core/v1 is not strict: no eventTime, no reporting fields, any type
    code, body = await http.call("POST", CORE, core_event("legacy", type="Info"))
    assert code == 201, body
    # ... but a "new" core Event (eventTime set) must name its reporter
    code, body = await http.call("POST", CORE, core_event("half-new", eventTime=WHEN))
    assert code == 422
    assert [
        c["field"] for c in body["details"]["causes"] if c["reason"] == "FieldValueRequired"
    ] == [
        "reportingController",
        "reportingInstance",
        "action",
    ]
    # a namespaced object's events live in its namespace
    other = core_event("elsewhere", involvedObject={"kind": "Pod", "namespace": "kube-system"})
    code, body = await http.call("POST", CORE, other)
    assert code == 422 and body["details"]["causes"][0]["field"] == "involvedObject.namespace"


async def test_events_k8s_io_updates_may_change_the_series_only(http: Any) -> None:
    code, created = await http.call("POST", NEW, new_event("counted"))
    assert code == 201
    series = {"series": {"count": 2, "lastObservedTime": "2025-03-01T10:01:00.000000Z"}}
    code, patched = await http.call(
        "PATCH", f"{NEW}/counted", series, content_type="application/merge-patch+json"
    )
    assert code == 200, patched
    assert patched["series"]["count"] == 2 and patched["note"] == created["note"]
    code, body = await http.call(
        "PATCH",
        f"{NEW}/counted",
        [{"op": "replace", "path": "/note", "value": "changed"}],
        content_type="application/json-patch+json",
    )
    assert code == 422, body
    assert body["message"] == (
        'Event.events.k8s.io "counted" is invalid: message: Invalid value: "changed": '
        "field is immutable"
    )
    # through core/v1 the same change is allowed: core/v1 is not strict
    code, body = await http.call(
        "PATCH",
        f"{CORE}/counted",
        {"message": "changed"},
        content_type="application/strategic-merge-patch+json",
    )
    assert code == 200, body
    _, new = await http.call("GET", f"{NEW}/counted")
    assert new["note"] == "changed"


async def test_kubectl_get_events_and_describe_vip_show_the_events_floatip_writes(
    apiserver: RunningServer, http: Any
) -> None:
    code, out = await kubectl(apiserver, "apply", "-f", "-", stdin=VIP.format(address="192.0.2.10"))
    assert code == 0, out
    code, vip = await http.call("GET", "/apis/floatip.io/v1alpha1/virtualips/web")
    meta = vip["metadata"]
    for reason, note in (("Assigned", "server1 holds it"), ("Announced", "3 GARPs sent")):
        body = floatip_events.build(
            regarding=floatip_events.Regarding("web", meta["uid"], meta["resourceVersion"]),
            type=floatip_events.Type.NORMAL,
            reason=reason,
            action=reason.removesuffix("ed"),
            note=note,
            controller=floatip_events.OPERATOR,
            instance="op-a",
            now=datetime.datetime.now(datetime.UTC),
        )
        code, created = await http.call("POST", floatip_events.path(), body)
        assert code == 201, created
    for resource in ("events", "events.events.k8s.io"):
        code, out = await kubectl(apiserver, "get", resource, "-A")
        assert code == 0, out
        lines = [line for line in out.splitlines() if not line.startswith("Warning:")]
        assert lines[0].split() == [
            "NAMESPACE",
            "LAST",
            "SEEN",
            "TYPE",
            "REASON",
            "OBJECT",
            "MESSAGE",
        ]
        rows = sorted(line.split(maxsplit=5) for line in lines[1:])
        assert [(r[0], r[2], r[3], r[4], r[5]) for r in rows] == [
            ("default", "Normal", "Announced", "virtualip/web", "3 GARPs sent"),
            ("default", "Normal", "Assigned", "virtualip/web", "server1 holds it"),
        ], out
    code, out = await kubectl(apiserver, "describe", "vip", "web")
    assert code == 0, out
    tail = out.rstrip().splitlines()[-5:]
    assert tail[0] == "Events:", out
    assert tail[1].split() == ["Type", "Reason", "Age", "From", "Message"]
    described = sorted(line.split(maxsplit=4) for line in tail[3:])
    assert [(d[0], d[1], d[3], d[4]) for d in described] == [
        ("Normal", "Announced", "floatip.io/operator", "3 GARPs sent"),
        ("Normal", "Assigned", "floatip.io/operator", "server1 holds it"),
    ]
