"""The Event poster: statuses first, Events once the status writes pause (or `DEFER_S` passed)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from floatip.api import events, model, times
from floatip_operator import notices, posting


class Api:
    """Records what was posted, and when (the loop's clock)."""

    def __init__(self) -> None:
        self.posted: list[tuple[float, dict[str, Any]]] = []

    async def request(self, method: str, path: str, *, body: dict[str, Any]) -> dict[str, Any]:
        assert method == "POST"
        self.posted.append((asyncio.get_running_loop().time(), body))
        return body


REGARDING = events.Regarding("vip-a", "uid-a", "7")
NOTICE = notices.Notice(events.Type.NORMAL, model.MoveReason.ASSIGNED, "assigned to n1")


async def _started() -> tuple[Api, posting.Poster, asyncio.Task[None]]:
    """A poster on a recording API, with one worker running."""
    api = Api()
    poster = posting.Poster(api, instance="op-1")  # type: ignore[arg-type]
    worker = asyncio.create_task(poster.run())
    await asyncio.sleep(0)
    return api, poster, worker


def _reasons(api: Api) -> list[str]:
    return [body["reason"] for _, body in api.posted]


async def test_an_event_is_posted_at_once_when_no_status_write_is_under_way() -> None:
    api, poster, worker = await _started()
    poster.post(REGARDING, NOTICE)
    await asyncio.sleep(0.01)
    worker.cancel()
    assert _reasons(api) == ["Assigned"]


async def test_events_wait_for_the_status_writes_to_pause(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(posting, "QUIET_S", 0.01)
    api, poster, worker = await _started()
    loop = asyncio.get_running_loop()
    with poster.status_write():
        with poster.status_write():
            before = times.micro_time(times.now())
            poster.post(REGARDING, NOTICE)
            after = times.micro_time(times.now())
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.05)
        assert api.posted == []  # one write is still under way
        ended = loop.time()
    await asyncio.sleep(0.05)
    worker.cancel()
    assert len(api.posted) == 1
    posted_at, body = api.posted[0]
    assert posted_at >= ended
    assert before <= body["eventTime"] <= after  # when it happened, not when it was posted


async def test_an_event_waits_at_most_defer_s(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(posting, "DEFER_S", 0.05)
    api, poster, worker = await _started()
    with poster.status_write():
        poster.post(REGARDING, NOTICE)
        await asyncio.sleep(0.02)
        assert api.posted == []
        await asyncio.sleep(0.1)
        assert _reasons(api) == ["Assigned"]
    worker.cancel()


async def test_a_failed_status_write_ends_its_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(posting, "QUIET_S", 0.01)
    poster = posting.Poster(Api(), instance="op-1")  # type: ignore[arg-type]
    with pytest.raises(RuntimeError), poster.status_write():
        raise RuntimeError("the write failed")
    assert poster.writing == 0
    await asyncio.sleep(0.05)
    assert poster.paused.is_set()


async def test_the_pause_begins_quiet_s_after_the_last_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A pass writes in windows: a gap between two writes shorter than QUIET_S is no pause."""
    monkeypatch.setattr(posting, "QUIET_S", 0.05)
    api, poster, worker = await _started()
    with poster.status_write():
        poster.post(REGARDING, NOTICE)
    await asyncio.sleep(0.02)
    with poster.status_write():
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.02)
    assert api.posted == []  # 0.02 s since the last write: not yet a pause
    await asyncio.sleep(0.06)
    worker.cancel()
    assert _reasons(api) == ["Assigned"]
