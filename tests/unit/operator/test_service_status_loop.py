"""The Service loop's statuses follow announcements while a pass still waits for its writes.

A burst of new Services keeps a pass busy with their finalizers and VirtualIP creates for
seconds; an address announced meanwhile must reach its Service's status then, not after the
pass (it did: "with an address" stalled for seconds at 1,000 Services). Proves: the status
loop (`ServiceWriter.offer_statuses`) writes the status of a Service whose own writes are done
while the pass is blocked on another Service's finalizer; a Service the newest plan decides
otherwise is not offered from its old result; nothing is offered by a replica that is not the
leader; a result is not offered again once a VirtualIP it holds reads otherwise than its plan
read it (a foreign host answered the take's probe: the next pass decides), while a VirtualIP
the pass itself created reads as planned.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

from floatip.api import names, services
from floatip_operator import holdings, informing, servicewriting

POOL = {"metadata": {"name": "blue", "resourceVersion": "1"},
        "spec": {"addresses": ["192.0.2.0/28"]}}  # fmt: skip


def service(name: str, *, finalized: bool) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name, "namespace": "default", "uid": f"uid-{name}", "resourceVersion": "1",
        "generation": 1, "creationTimestamp": f"2026-01-01T00:00:0{len(name)}Z",
    }  # fmt: skip
    if finalized:
        meta["finalizers"] = [services.FINALIZER]
    return {"metadata": meta, "spec": {"type": "LoadBalancer", "loadBalancerClass": services.CLASS,
                                       "ports": [{"port": 80, "protocol": "TCP"}]}}  # fmt: skip


class Api:
    """Answers writes like the API server would; a Service's finalizer patch waits while its
    name is in ``held``."""

    def __init__(self, store: dict[str, Any]) -> None:
        self.store = store
        self.held: dict[str, asyncio.Event] = {}
        self.writes: list[tuple[str, str]] = []
        self.version = 10

    async def request(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        self.writes.append((method, path))
        self.version += 1
        body = kw.get("body")
        if method == "POST":  # a VirtualIP recording an address
            return {**body, "metadata": {**body["metadata"], "resourceVersion": str(self.version)}}
        name = path.split("/services/")[1].split("/", maxsplit=1)[0]
        old = self.store[f"default/{name}"]
        meta = {**old["metadata"], "resourceVersion": str(self.version)}
        if path.endswith("/status"):
            return {**old, "metadata": meta, "status": body["status"]}
        if name in self.held:
            await self.held[name].wait()
        return {**old, "metadata": {**meta, "finalizers": [services.FINALIZER]}}


class Elector:
    is_leader = True


class Poster:
    def post(self, regarding: Any, notice: Any) -> None:
        pass

    @contextlib.contextmanager
    def status_write(self) -> Iterator[None]:
        yield


def informer(store: dict[str, Any], *, namespaced: bool = False) -> informing.Informer:
    found = informing.Informer(
        None,  # type: ignore[arg-type]
        "/unused",
        on_change=lambda: None,
        contact=None,
        key=(lambda o: f"{o['metadata']['namespace']}/{o['metadata']['name']}")
        if namespaced
        else (lambda o: str(o["metadata"]["name"])),
    )
    found.store = store
    found.synced.set()
    return found


def writer() -> tuple[servicewriting.ServiceWriter, Api, Elector]:
    svcs = informer({"default/old": service("old", finalized=True)}, namespaced=True)
    api, elector = Api(svcs.store), Elector()
    found = servicewriting.ServiceWriter(
        api=api, services_=svcs, pools=informer({"blue": POOL}), vips=informer({}),  # type: ignore[arg-type]
        namespaces=informer({}), elector=elector, poster=Poster(),  # type: ignore[arg-type]
        default_class=False, debounce_s=0.01,
    )  # fmt: skip
    return found, api, elector


def announce(writer: servicewriting.ServiceWriter, vip: str) -> None:
    """The holder's agent announced ``vip`` at the epoch the operator assigned."""
    body = writer.vips.store[vip]
    announcement = {"node": "server1", "epoch": 1, "mac": "02:00:00:00:00:01",
                    "time": "2026-01-01T00:00:00Z"}  # fmt: skip
    conditions = [{"type": "Assigned", "status": "True"}]
    status = {"holder": "server1", "epoch": 1, "conditions": conditions,
              "announcement": announcement}  # fmt: skip
    meta = {**body["metadata"], "resourceVersion": "99"}
    writer.vips.store[vip] = {**body, "metadata": meta, "status": status}


def status_writes(api: Api, name: str) -> int:
    return sum(path.endswith(f"/services/{name}/status") for _, path in api.writes)


async def test_an_announcement_reaches_its_service_while_a_pass_waits_for_its_writes() -> None:
    loop, api, _ = writer()
    await loop.pass_once()  # "old" gets its VirtualIP; its first status waits for announcing
    [vip] = list(loop.vips.store)
    assert loop.vips.store[vip]["metadata"]["labels"][names.POOL_LABEL] == "blue"
    assert status_writes(api, "old") == 0 and "default/old" in loop.offers

    loop.services.store["default/new"] = service("new", finalized=False)
    api.held["new"] = asyncio.Event()
    busy = asyncio.create_task(loop.pass_once())  # blocked on new's finalizer
    await asyncio.sleep(0.01)
    announce(loop, vip)
    await loop.offer_statuses()
    await asyncio.gather(*loop.statuses.tasks)
    assert not busy.done(), "the pass was to be still waiting for new's finalizer"
    assert status_writes(api, "old") == 1
    ingress = loop.services.store["default/old"]["status"]["loadBalancer"]["ingress"]
    assert ingress == [{"ip": loop.vips.store[vip]["spec"]["address"], "ipMode": "VIP"}]

    api.held["new"].set()
    await busy
    assert "default/new" in loop.offers and len(loop.vips.store) == 2


async def test_a_service_decided_otherwise_or_a_standby_offers_nothing_stale() -> None:
    loop, api, elector = writer()
    await loop.pass_once()
    [vip] = list(loop.vips.store)
    request, result = loop.offers["default/old"]
    # "new" was offered once with an address the new plan does not give it
    loop.services.store["default/new"] = service("new", finalized=False)
    stale = holdings.Result(result.held)
    loop.offers["default/new"] = (dataclasses.replace(request, name="new"), stale)
    api.held["new"] = asyncio.Event()
    busy = asyncio.create_task(loop.pass_once())  # blocked on new's finalizer
    await asyncio.sleep(0.01)
    assert "default/new" not in loop.offers, "offered from a result the new plan changed"
    assert loop.offers["default/old"] == (request, result)  # unchanged: still offered
    api.held["new"].set()
    await busy
    assert loop.offers["default/new"][1] != stale

    elector.is_leader = False
    announce(loop, vip)
    await loop.offer_statuses()
    await loop.pass_once()
    assert not loop.offers and not loop.statuses.tasks and status_writes(api, "old") == 0


async def test_a_result_is_offered_only_while_its_virtualips_read_as_planned() -> None:
    loop, api, _ = writer()
    await loop.pass_once()
    [vip] = list(loop.vips.store)
    assert loop.planned[vip].name == vip  # created by the pass: as the plan meant it
    body = loop.vips.store[vip]
    conflict = {"node": "server1", "mac": "02:00:00:00:00:99", "since": "2026-01-01T00:00:00Z",
                "lastSeen": "2026-01-01T00:00:01Z", "count": 2, "reasserted": 0}  # fmt: skip
    answered = {**body, "metadata": {**body["metadata"], "resourceVersion": "98"},
                "status": {"holder": "server1", "epoch": 1, "conflict": conflict}}  # fmt: skip
    loop.vips.store[vip] = answered
    await loop.offer_statuses()
    assert not loop.statuses.tasks and status_writes(api, "old") == 0  # the next pass decides
    loop.vips.store[vip] = body
    announce(loop, vip)  # an announcement reads as planned
    await loop.offer_statuses()
    await asyncio.gather(*loop.statuses.tasks)
    assert status_writes(api, "old") == 1
