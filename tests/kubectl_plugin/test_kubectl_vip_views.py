"""The plugin's tables: condition summaries, last move, the Service(s) of a Service-backed
VirtualIP (the last column), a group's members together with a GROUP column (only when a
VirtualIP names a group), history rows and column alignment.

Statuses are read typed through floatip.api.status: a condition or move that does not fit the
schema is left out of the table (and the rest shown), never a crash.
"""

from __future__ import annotations

from floatip.api import status
from floatip.kubectl import views

T = "2026-11-26T12:00:00Z"

STATUS = {
    "holder": "s2",
    "epoch": 3,
    "conditions": [
        {"type": "Conflict", "status": "True", "reason": "ForeignClaim", "lastTransitionTime": T},
        {"type": "Ready", "status": "True", "reason": "Announced", "lastTransitionTime": T},
        {"type": "Announced", "status": "False", "reason": "Pending", "lastTransitionTime": T},
        {"type": "HealthCheck", "status": "Maybe", "reason": "Odd", "lastTransitionTime": T},
    ],
    "history": [
        {"time": "t1", "from": None, "to": "s1", "reason": "Assigned", "epoch": 1},
        {"time": "t2", "from": "s1", "to": "s2", "reason": "Failover", "epoch": 2},
    ],
}


def test_condition_summary_in_fixed_order_with_reasons_when_unhealthy() -> None:
    assert views.condition_summary(status.read(STATUS)) == (
        "Ready=True Announced=False(Pending) Conflict=True(ForeignClaim)"
    )
    assert views.condition_summary(status.read({})) == "-"


def test_a_conflict_names_the_foreign_mac_and_since_when() -> None:
    report = {"node": "s2", "mac": "02:66:00:00:00:01", "since": T, "lastSeen": T, "count": 3,
              "reasserted": 2}  # fmt: skip
    summary = views.condition_summary(status.read(STATUS | {"conflict": report}))
    assert summary.endswith(f"Conflict=True(ForeignClaim by 02:66:00:00:00:01 since {T})")


def test_last_move() -> None:
    assert views.last_move(status.read(STATUS)) == "s1->s2 Failover t2"
    assert views.last_move(status.read({})) == "-"


def test_status_rows_sorted_by_name() -> None:
    objects = [
        {"metadata": {"name": "b"}, "spec": {"address": "192.0.2.2"}, "status": STATUS},
        {"metadata": {"name": "a"}, "spec": {"address": "192.0.2.1"}},
    ]
    rows = views.status_rows(objects)
    assert rows[0] == ["a", "192.0.2.1", "-", "Unknown", "0", "-", "-", "-"]
    assert rows[1][:5] == ["b", "192.0.2.2", "s2", "True", "3"]


def test_service_backed_vips_name_their_services_last() -> None:
    shared = {"floatip.io/services": "default/dns-tcp, default/dns-udp"}
    objects = [
        {"metadata": {"name": "svc-default.dns-tcp-v4", "annotations": shared},
         "spec": {"address": "192.0.2.100"}},
        {"metadata": {"name": "web", "annotations": {"other": "x"}}, "spec": {"address": "1.2.3.4"}},
    ]  # fmt: skip
    rows = views.status_rows(objects)
    assert views.STATUS_HEADERS[-1] == "SERVICE" and len(views.STATUS_HEADERS) == len(rows[0])
    assert rows[0][-1] == "default/dns-tcp,default/dns-udp"
    assert rows[1][-1] == "-"


def test_members_of_a_group_follow_one_another_with_a_group_column() -> None:
    def obj(name: str, group: str | None = None) -> dict[str, object]:
        spec = {"address": "192.0.2.1"} | ({"group": group} if group else {})
        grouped = {**STATUS, "conditions": [{"type": "Grouped", "status": "True",
                   "reason": "Together", "lastTransitionTime": T}]}  # fmt: skip
        return {"metadata": {"name": name}, "spec": spec, "status": grouped}

    objects = [obj("a"), obj("z-in", "edge"), obj("b-out", "edge"), obj("f")]
    assert views.status_headers(objects) == (*views.STATUS_HEADERS, "GROUP")
    rows = views.status_rows(objects)
    assert [(r[0], r[-1]) for r in rows] == [("a", "-"), ("b-out", "edge"), ("z-in", "edge"),
                                             ("f", "-")]  # fmt: skip
    assert rows[1][5] == "Grouped=True"
    plain = [obj("a"), obj("f")]
    assert views.status_headers(plain) == views.STATUS_HEADERS
    assert [len(r) for r in views.status_rows(plain)] == [len(views.STATUS_HEADERS)] * 2


def test_history_rows() -> None:
    rows = views.history_rows({"status": STATUS})
    assert rows == [["t1", "-", "s1", "Assigned", "1"], ["t2", "s1", "s2", "Failover", "2"]]


def test_table_aligns_columns() -> None:
    text = views.table(("A", "LONGER"), [["xxxx", "y"], ["z", "w"]])
    assert text.splitlines() == ["A      LONGER", "xxxx   y", "z      w"]
