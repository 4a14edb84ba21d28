"""The Service loop's status writes (floatip_operator.servicestatuswriting), with fake API,
informers, elector and poster.

Proves: a status that changed is written in the background (the offer returns at once) as one
guarded merge patch, its Events posted once it landed; an unchanged one is not written; while
a Service's write is in flight another offer leaves it out and the loop is poked once that
write is done; a first status saying only "announcement pending" is held back (no write)
until the announcement (then one write with the ingress) or until the wait is over (then the
pending one); a follower writes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import Iterator
from typing import Any

import pytest

from floatip.api import servicerequests
from floatip_operator import holdings, servicestatuswriting

VIP = "svc-default.web-v4"
HELD = holdings.Result((holdings.Held(VIP, ipaddress.ip_address("192.0.2.1"), "blue"),))
BODY = {"metadata": {"name": "web", "namespace": "default", "uid": "u1",
                     "resourceVersion": "7", "generation": 1}, "spec": {}}  # fmt: skip
REQUEST = servicerequests.read(BODY)
READY = {"status": {"holder": "server1", "epoch": 1,
                    "conditions": [{"type": "Ready", "status": "True"},
                                   {"type": "Assigned", "status": "True"}],
                    "announcement": {"node": "server1", "epoch": 1, "mac": "02:00:00:00:00:01",
                                     "time": "2026-01-01T00:00:00Z"}}}  # fmt: skip


class Store:
    def __init__(self, objects: dict[str, Any] | None = None) -> None:
        self.store = dict(objects or {})

    def put(self, obj: dict[str, Any]) -> None:
        self.store[obj["metadata"]["name"]] = obj


class Api:
    """Answers each PATCH once ``gate`` is set, echoing the patched status."""

    def __init__(self) -> None:
        self.patches: list[tuple[str, Any]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def request(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        self.patches.append((path, kw["body"]))
        await self.gate.wait()
        return {"metadata": {**BODY["metadata"], "resourceVersion": "8"},
                "status": kw["body"]["status"]}  # fmt: skip


class Elector:
    is_leader = True


class Poster:
    def __init__(self) -> None:
        self.posted: list[str] = []

    def post(self, regarding: Any, notice: Any) -> None:
        self.posted.append(notice.reason.value)

    @contextlib.contextmanager
    def status_write(self) -> Iterator[None]:
        yield


def writes(
    vips: dict[str, Any],
) -> tuple[servicestatuswriting.StatusWrites, Api, Poster, list[int]]:
    api, poster, pokes = Api(), Poster(), []

    async def failed(*args: Any) -> bool:
        raise AssertionError(f"no write should fail here: {args}")

    writer = servicestatuswriting.StatusWrites(
        api=api, services=Store(), vips=Store(vips), elector=Elector(),  # type: ignore[arg-type]
        poster=poster, poke=lambda: pokes.append(1), failed=failed,  # type: ignore[arg-type]
    )  # fmt: skip
    return writer, api, poster, pokes


async def settle(writer: servicestatuswriting.StatusWrites) -> None:
    """Every background write done."""
    await asyncio.gather(*writer.tasks)


async def test_a_changed_status_is_written_once_in_the_background_then_nothing() -> None:
    writer, api, poster, _ = writes({VIP: READY})
    writer.offer(BODY, REQUEST, HELD)
    assert writer.writing == {REQUEST.key} and not api.patches  # not written by the offer
    await settle(writer)
    [(path, patch)] = api.patches
    assert path.endswith("/services/web/status")
    assert patch["metadata"]["resourceVersion"] == "7"
    assert patch["status"]["loadBalancer"]["ingress"] == [{"ip": "192.0.2.1", "ipMode": "VIP"}]
    assert poster.posted == ["IPAllocated"]
    written = {**BODY, "status": patch["status"]}
    writer.offer(written, REQUEST, HELD)
    await settle(writer)
    assert len(api.patches) == 1  # unchanged: no second write


async def test_a_service_with_a_write_in_flight_is_left_out_and_decided_again_after() -> None:
    writer, api, _, pokes = writes({VIP: READY})
    api.gate.clear()
    writer.offer(BODY, REQUEST, HELD)
    await asyncio.sleep(0)
    writer.offer(BODY, REQUEST, HELD)  # a pass while the first write is in flight
    assert writer.skipped == {REQUEST.key} and not pokes
    api.gate.set()
    await settle(writer)
    assert len(api.patches) == 1 and pokes == [1]


async def test_a_first_pending_status_waits_for_the_announcement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    writer, api, _, pokes = writes({VIP: {"status": {"holder": "server1"}}})
    writer.offer(BODY, REQUEST, HELD)
    await settle(writer)
    assert not api.patches and REQUEST.key in writer.waiting
    writer.vips.store[VIP] = READY  # announced within the wait: one write says it all
    writer.offer(BODY, REQUEST, HELD)
    await settle(writer)
    [(_, patch)] = api.patches
    assert patch["status"]["loadBalancer"]["ingress"]
    assert not writer.waiting

    monkeypatch.setattr(servicestatuswriting, "FIRST_STATUS_WAIT_S", 0.05)
    writer, api, _, pokes = writes({VIP: {"status": {"holder": "server1"}}})
    writer.offer(BODY, REQUEST, HELD)
    await asyncio.sleep(0.1)
    assert pokes == [1]  # the loop is poked when the wait is over
    writer.offer(BODY, REQUEST, HELD)
    await settle(writer)
    [(_, patch)] = api.patches  # the pending status, written after the wait
    assert patch["status"]["loadBalancer"] == {"ingress": None}


async def test_a_held_back_first_status_is_not_built_again_until_an_input_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A burst's hundreds of new Services wait for their announcements; each pass offers
    them all again, and building each status again was a tenth of the operator's CPU."""
    built: list[int] = []
    real = servicestatuswriting.servicestatuses.build
    monkeypatch.setattr(servicestatuswriting.servicestatuses, "build",
                        lambda *a, **k: built.append(1) or real(*a, **k))  # fmt: skip
    pending = {"metadata": {"name": VIP, "resourceVersion": "3"}, "status": {"holder": "server1"}}
    writer, api, _, _ = writes({VIP: pending})
    writer.offer(BODY, REQUEST, HELD)
    writer.offer(BODY, REQUEST, HELD)
    assert built == [1] and not api.patches and REQUEST.key in writer.waiting
    writer.vips.store[VIP] = {**READY, "metadata": {"name": VIP, "resourceVersion": "4"}}
    writer.offer(BODY, REQUEST, HELD)  # its VirtualIP changed: built again, and written
    await settle(writer)
    assert built == [1, 1] and len(api.patches) == 1

    monkeypatch.setattr(servicestatuswriting, "FIRST_STATUS_WAIT_S", 0.05)
    writer, api, _, _ = writes({VIP: pending})
    writer.offer(BODY, REQUEST, HELD)
    writer.offer(BODY, REQUEST, HELD)
    assert built == [1, 1, 1] and not api.patches
    await asyncio.sleep(0.1)
    writer.offer(BODY, REQUEST, HELD)  # the same inputs, but the wait is over: written
    await settle(writer)
    assert built == [1, 1, 1, 1] and len(api.patches) == 1
    assert api.patches[0][1]["status"]["loadBalancer"] == {"ingress": None}


async def test_a_follower_writes_no_status() -> None:
    writer, api, poster, _ = writes({VIP: READY})
    writer.elector.is_leader = False  # type: ignore[misc]
    writer.offer(BODY, REQUEST, HELD)
    await settle(writer)
    assert not api.patches and not poster.posted and not writer.writing


async def test_an_unchanged_status_is_not_built_again_until_an_input_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    versioned = {**READY, "metadata": {"name": VIP, "resourceVersion": "3"}}
    writer, api, _, _ = writes({VIP: versioned})
    writer.offer(BODY, REQUEST, HELD)
    await settle(writer)
    [(_, patch)] = api.patches
    written = {**BODY, "metadata": {**BODY["metadata"], "resourceVersion": "8"},
               "status": patch["status"]}  # fmt: skip
    built: list[int] = []
    real = servicestatuswriting.servicestatuses.build
    monkeypatch.setattr(servicestatuswriting.servicestatuses, "build",
                        lambda *a, **k: built.append(1) or real(*a, **k))  # fmt: skip
    writer.offer(written, REQUEST, HELD)
    writer.offer(written, REQUEST, HELD)
    assert built == [1]  # decided unchanged once, then kept
    moved = {"metadata": {"name": VIP, "resourceVersion": "4"},
             "status": {**READY["status"], "holder": "server2",
                        "announcement": {**READY["status"]["announcement"], "node": "server2"}}}  # fmt: skip
    writer.vips.store[VIP] = moved
    writer.offer(written, REQUEST, HELD)
    await settle(writer)
    assert built == [1, 1] and len(api.patches) == 2  # its VirtualIP changed: built and written
    assert "by node server2" in str(api.patches[1][1]["status"]["conditions"])
