"""floatip's one Kubernetes client against a real HTTP server (floatip.kube.client, watching).

Proves: every failure is an ApiError: an error status with the server's message, or code 0
when nothing answers; a success and a 404 count as contact (the agent's fence), an error
status does not; every watch event counts as contact; list_and_watch yields the list, then
the changes, relists at once on 410 and hands other failures to on_error before retrying;
the list is read in pages and has its first page's resourceVersion, and a continue token that
expired (410) starts the list again; a server URL's path prefix is kept and gzip answers are
read; a hung server is no answer within the request timeout; a kept-alive connection the
server has closed is not used again.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from floatip.kube import client, config, watching


def _api(server: TestServer, contacts: list[int]) -> client.Api:
    endpoint = config.Endpoint(server=str(server.make_url("")).rstrip("/"))
    return client.Api(endpoint, on_contact=lambda: contacts.append(1))


async def test_errors_and_contact() -> None:
    async def answer(request: web.Request) -> web.Response:
        code = int(request.match_info["code"])
        if code == 200:
            return web.json_response({"ok": True})
        return web.json_response({"message": f"said {code}"}, status=code)

    app = web.Application()
    app.router.add_get("/{code}", answer)
    contacts: list[int] = []
    async with TestServer(app) as server:
        url = str(server.make_url("")).rstrip("/")
        api = _api(server, contacts)
        try:
            assert await api.request("GET", "/200") == {"ok": True}
            assert len(contacts) == 1
            for code in (404, 409, 422, 500, 403):
                try:
                    await api.request("GET", f"/{code}")
                except client.ApiError as exc:
                    assert exc.code == code and f"said {code}" in str(exc)
                    assert exc.not_found is (code == 404)
                    assert exc.conflict is (code in (409, 422))
                else:
                    raise AssertionError(f"{code} did not raise")
            assert len(contacts) == 2, "only a success and a 404 prove the server answers"
        finally:
            await api.close()
    refused = client.Api(config.Endpoint(server=url))
    try:
        await refused.request("GET", "/200")
    except client.ApiError as exc:
        assert exc.code == client.NO_ANSWER and "no answer" in str(exc)
    else:
        raise AssertionError("a closed server did not raise")
    finally:
        await refused.close()


async def test_list_and_watch_relists_on_410_and_reports_failures() -> None:
    lists = 0
    watches: list[str] = []

    async def collection(request: web.Request) -> web.StreamResponse:
        nonlocal lists
        if request.query.get("watch") != "true":
            lists += 1
            if lists == 3:
                return web.json_response({"message": "boom"}, status=500)
            items = [{"metadata": {"name": f"v{lists}", "resourceVersion": str(10 * lists)}}]
            return web.json_response(
                {"metadata": {"resourceVersion": str(10 * lists)}, "items": items}
            )
        watches.append(request.query["resourceVersion"])
        if len(watches) > 1:  # the second watch is too old for the server: 410 Gone
            return web.json_response({"message": "too old"}, status=410)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        events: list[dict[str, Any]] = [
            {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "11"}}},
            {"type": "MODIFIED", "object": {"metadata": {"name": "v1", "resourceVersion": "12"}}},
            {"type": "ERROR", "object": {"code": 410, "reason": "Expired"}},
        ]
        for event in events:
            await response.write(json.dumps(event).encode() + b"\n")
        return response

    app = web.Application()
    app.router.add_get("/things", collection)
    contacts: list[int] = []
    failures: list[client.ApiError] = []
    seen: list[Any] = []
    async with TestServer(app) as server:
        api = _api(server, contacts)
        try:
            stream = watching.list_and_watch(api, "/things", on_error=failures.append)
            async for event in stream:
                seen.append(event)
                if len(seen) == 4:
                    break
        finally:
            await api.close()
    names = [
        [o["metadata"]["name"] for o in e.objects] if isinstance(e, watching.Listed) else e.type
        for e in seen
    ]
    assert names == [["v1"], "MODIFIED", ["v2"], ["v4"]]
    assert watches == ["10", "20"]
    assert [f.code for f in failures] == [500]
    assert len(contacts) >= 5  # lists, the watch's opening and each event


async def test_prefix_compression_and_a_server_that_drops_kept_alive_connections() -> None:
    """A server URL's path is kept; gzip answers are read; a server that closes each
    connection after its answer (``Connection: close``) costs no request; otherwise the
    connection is kept alive and used again."""
    seen: list[str] = []
    peers: list[Any] = []

    async def answer(request: web.Request) -> web.StreamResponse:
        seen.append(f"{request.method} {request.path}")
        assert request.transport is not None
        peers.append(request.transport.get_extra_info("peername"))
        response = web.json_response({"name": "x" * 1000})
        response.enable_compression()
        if request.query.get("close"):
            response.force_close()
        return response

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    async with TestServer(app) as server:
        url = str(server.make_url("")).rstrip("/")
        api = client.Api(config.Endpoint(server=f"{url}/k8s/clusters/c1"))
        try:
            for method in ("GET", "PATCH", "GET", "POST"):
                answer_ = await api.request(method, "/api/v1/nodes", params={"close": "1"})
                assert answer_ == {"name": "x" * 1000}
            await api.request("GET", "/api/v1/nodes")
            await api.request("GET", "/api/v1/nodes")
        finally:
            await api.close()
    assert seen[0] == "GET /k8s/clusters/c1/api/v1/nodes"
    assert len(seen) == 6, "each request sent once"
    assert peers[4] == peers[5], "a kept-alive connection is used again"
    assert len(set(peers)) == 5


async def test_a_hung_server_is_no_answer_within_the_timeout() -> None:
    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never answers

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    api = client.Api(config.Endpoint(server=f"http://127.0.0.1:{port}"), request_timeout_s=0.3)
    started = asyncio.get_running_loop().time()
    try:
        await api.request("GET", "/api")
    except client.ApiError as exc:
        assert exc.code == client.NO_ANSWER
    else:
        raise AssertionError("a hung server did not raise")
    finally:
        await api.close()
        server.close()
    assert asyncio.get_running_loop().time() - started < 2


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    """The server answers with keep-alive and then closes (an idle timeout racing the next
    request): the next request goes on a new connection; nothing is reported as no answer."""
    answered = 0

    async def once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal answered
        await reader.readuntil(b"\r\n\r\n")
        body = b'{"ok": true}'
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
        writer.write(head.encode() + b"\r\n\r\n" + body)
        await writer.drain()
        answered += 1
        writer.close()

    server = await asyncio.start_server(once, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    api = client.Api(config.Endpoint(server=f"http://127.0.0.1:{port}"))
    try:
        assert await api.request("GET", "/a") == {"ok": True}
        assert await api.request("GET", "/b") == {"ok": True}
        await asyncio.sleep(0.05)
        assert await api.request("PATCH", "/c", body={}) == {"ok": True}
    finally:
        await api.close()
        server.close()
    assert answered == 3


async def test_list_is_paged_at_the_first_pages_version_and_an_expired_token_relists() -> None:
    pages: list[dict[str, str]] = []

    async def collection(request: web.Request) -> web.StreamResponse:
        if request.query.get("watch") == "true":
            return web.json_response({"message": "no watch here"}, status=500)
        query = dict(request.query)
        pages.append(query)
        token = query.get("continue", "")
        if len(pages) == 2:  # the first continue token expired: 410, the list starts again
            return web.json_response({"message": "too old"}, status=410)
        start = int(token or 0)
        names = [f"v{i}" for i in range(start, min(start + 2, 5))]
        meta: dict[str, Any] = {"resourceVersion": str(7 + len(pages))}
        if start + 2 < 5:
            meta["continue"] = str(start + 2)
        items = [{"metadata": {"name": n}} for n in names]
        return web.json_response({"metadata": meta, "items": items})

    app = web.Application()
    app.router.add_get("/things", collection)
    async with TestServer(app) as server:
        api = _api(server, [])
        original = watching.PAGE
        watching.PAGE = 2
        try:
            listed = await anext(
                aiter(watching.list_and_watch(api, "/things", on_error=lambda e: None))
            )
            _, version = await watching.list_all(api, "/things")
        finally:
            watching.PAGE = original
            await api.close()
    assert isinstance(listed, watching.Listed)
    assert [o["metadata"]["name"] for o in listed.objects] == ["v0", "v1", "v2", "v3", "v4"]
    assert version == "13", "the list's version is its first page's (6 pages before it)"
    assert [p.get("continue", "") for p in pages] == ["", "2", "", "2", "4", "", "2", "4"]
    assert {p["limit"] for p in pages} == {"2"}
