"""The reporter: every API write of the agent, deduplicated and rate-limited (floatip_agent.reporter).

Proves, against a recording fake of the API client: status reports are merge patches of
`/status` naming only the agent's key; a newer value replaces a queued one (one write for a
burst); a conflict report is written at most once a second per VirtualIP, and never two
writes of one key at once, so the last value written is the last one given; an announcement
is retried when the API fails (not when it refuses: 403), a conflict is not; identical queued Events are posted once and
Events are rate-limited by a token bucket.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from floatip.api import events, model
from floatip.kube import client
from floatip_agent import problems, reporter

REPORT = model.ConflictReport(
    node="me", mac="02:66:00:00:00:01", since="2026-01-01T00:00:00Z",
    last_seen="2026-01-01T00:00:00Z", count=1, reasserted=1,
)  # fmt: skip


class Api:
    """Records every request; ``delay`` slows each one, ``failures`` fail the first ones."""

    def __init__(self, *, delay: float = 0.0, failures: int = 0, code: int = 500) -> None:
        self.calls: list[tuple[str, str, Any, float]] = []
        self.attempts = 0
        self.delay = delay
        self.failures = failures
        self.code = code
        self.in_flight = 0
        self.most_in_flight = 0

    async def request(
        self, method: str, path: str, *, body: Any = None, **_: Any
    ) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            self.attempts += 1
            if self.failures:
                self.failures -= 1
                raise client.ApiError(self.code, "boom", method=method, path=path)
            self.calls.append((method, path, body, loop.time()))
            return {}
        finally:
            self.in_flight -= 1


def make(api: Api, *, retry: float = 0.01) -> reporter.Reporter:
    return reporter.Reporter(cast(client.Api, api), node="me", retry_seconds=retry)


async def run_for(reports: reporter.Reporter, seconds: float) -> None:
    task = asyncio.create_task(reports.run())
    await asyncio.sleep(seconds)
    task.cancel()


async def test_a_burst_of_conflict_reports_costs_one_write_a_second() -> None:
    api = Api(delay=0.05)
    reports = make(api)
    for count in range(1, 6):
        reports.conflict("web", REPORT.model_copy(update={"count": count}))
    task = asyncio.create_task(reports.run())
    await asyncio.sleep(0.2)
    reports.conflict("web", REPORT.model_copy(update={"count": 6}))
    reports.conflict("web", None)  # the conflict ended: null, after the counts
    await asyncio.sleep(1.5)
    task.cancel()
    bodies = [body["status"]["conflict"] for _, _, body, _ in api.calls]
    assert [b and b["count"] for b in bodies] == [5, None]
    assert api.calls[1][3] - api.calls[0][3] >= reporter.CONFLICT_SPACING - 0.06
    assert {path for _, path, _, _ in api.calls} == {
        "/apis/floatip.io/v1alpha1/virtualips/web/status"
    }


async def test_one_key_is_never_written_twice_at_once() -> None:
    api = Api(delay=0.3)
    reports = make(api)
    announced = model.Announcement(node="me", epoch=1, mac="02:00:00:00:00:01", time="t")
    task = asyncio.create_task(reports.run())
    reports.announcement("web", announced)
    await asyncio.sleep(0.05)  # the first write is in flight
    reports.announcement("web", announced.model_copy(update={"epoch": 2}))
    await asyncio.sleep(1.0)
    task.cancel()
    assert api.most_in_flight == 1
    assert [body["status"]["announcement"]["epoch"] for _, _, body, _ in api.calls] == [1, 2]


@pytest.mark.parametrize(("field", "writes"), [("announcement", 1), ("conflict", 0)])
async def test_an_announcement_is_retried_a_conflict_is_not(field: str, writes: int) -> None:
    api = Api(failures=2)
    reports = make(api)
    if field == "announcement":
        reports.announcement("web", model.Announcement(node="me", epoch=1, mac="m", time="t"))
    else:
        reports.conflict("web", REPORT)
    await run_for(reports, 0.3)
    assert len(api.calls) == writes


async def test_an_announcement_refused_by_rbac_or_admission_is_not_retried() -> None:
    """403: the node's token may not write it (admission policy); sending again cannot help."""
    api = Api(failures=2, code=403)
    reports = make(api)
    reports.announcement("web", model.Announcement(node="me", epoch=1, mac="m", time="t"))
    await run_for(reports, 0.3)
    assert (api.attempts, api.calls) == (1, [])


async def test_events_are_deduplicated_and_rate_limited() -> None:
    api = Api()
    reports = make(api)
    regarding = events.Regarding("web", "u1")
    for _ in range(3):
        reports.event(regarding, reason=problems.Reason.CONFLICT, action=problems.Action.REASSERT,
                      note="same")  # fmt: skip
    for index in range(reporter.EVENT_BURST + 5):
        reports.event(regarding, reason=problems.Reason.APPLY_FAILED,
                      action=problems.Action.APPLY, note=f"n{index}")  # fmt: skip
    await run_for(reports, 0.5)
    posted = [body for method, _, body, _ in api.calls if method == "POST"]
    reasons = [body["reason"] for body in posted]
    assert reasons.count("Conflict") == 1
    assert len(posted) <= reporter.EVENT_BURST + reporter.EVENT_RATE * 0.5 + 1
    assert len(posted) >= reporter.EVENT_BURST
    assert all(body["type"] == "Warning" and body["regarding"]["uid"] == "u1" for body in posted)
