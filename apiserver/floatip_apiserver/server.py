"""HTTP routing: turns Kubernetes REST paths into object operations, as kube-apiserver does.

Paths: ``/api/v1[/namespaces/NS]/PLURAL[/NAME[/status]]`` and the same under
``/apis/GROUP/VERSION``. Every request is authenticated by bearer token, authorized by RBAC,
delayed, hung or held by the active faults, and answered with the object, a List, a Table, a
watch stream, or a ``Status`` error.
"""

from __future__ import annotations

import collections
import functools
from typing import Any

import yaml
from aiohttp import web

from floatip_apiserver import (
    discovery,
    faults,
    gc,
    impersonation,
    jsonwire,
    lifecycle,
    metrics,
    paging,
    protokinds,
    protowire,
    rbac,
    reviews,
    selectors,
    status,
    tables,
    warningheaders,
    watching,
)
from floatip_apiserver.objects import Objects, WriteOptions
from floatip_apiserver.resources import Registry, Resource
from floatip_apiserver.status import ApiError
from floatip_apiserver.store import Store

RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_KINDS = ("clusterroles", "clusterrolebindings", "roles", "rolebindings")
DECISIONS = 4096  # RBAC decisions remembered (users x verbs x resources x names asked)
_VERB = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


class ApiServer:
    """The server's state: objects, kinds, identities, faults. One per running server."""

    def __init__(self, *, history: int = 10_000, bookmark_interval: float = 5.0) -> None:
        self.store = Store(history=history)
        # One LRU per server: (user, request, RBAC objects' revisions) -> allowed.
        self._decisions = functools.lru_cache(maxsize=DECISIONS)(
            lambda user, req, version: rbac.authorize(user, req, self._rbac)
        )
        self.registry = Registry()
        reviews.register(self.registry)
        self.objects = Objects(self.store, self.registry)
        self.lifecycle = lifecycle.Lifecycle(self.objects)
        self.tokens: dict[str, rbac.User] = {}
        self.faults = faults.Faults()
        self.bookmark_interval = bookmark_interval
        self.address = "127.0.0.1"
        #: (verb, resource) -> requests, served as apiserver_request_total at /metrics
        self.request_counts: collections.Counter[tuple[str, str]] = collections.Counter()

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 2**20)
        app.router.add_route("*", "/{tail:.*}", self._route)
        return app

    # ---- plumbing ----------------------------------------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        await self.faults.before_request()
        caught = None
        user = self._identify(request)
        name = user.name if user is not None else None
        if self.faults.holding(request.method, request.path, name) is not None:
            # the whole body has arrived: once released, it applies whatever became of the client
            body = await request.read()
            again = self.faults.holding(request.method, request.path, name)
            if again is not None:
                caught = await self.faults.held(again, request.method, request.path, name, body)
                if caught is None:
                    message = f"{request.method} {request.path} held and dropped by {again.name}"
                    return _error(ApiError(503, "ServiceUnavailable", message))
        try:
            response: web.StreamResponse = await handler(request)
        except ApiError as exc:
            response = _error(exc)
        if caught is not None:
            caught.answer(response.status)
        return response

    def _identify(self, request: web.Request) -> rbac.User | None:
        """The bearer token's user: a minted identity, or a ServiceAccount token (TokenRequest)."""
        token = _bearer(request)
        return self.tokens.get(token) or self.objects.kinds.authenticate(token)

    def _user(self, request: web.Request) -> rbac.User:
        user = self._identify(request)
        if user is None:
            raise ApiError(401, "Unauthorized", "Unauthorized")
        requester = user  # (narrowed: the closure below sees no None)
        return impersonation.effective_user(
            user, request.headers.items(), lambda req: self._allowed(requester, req)
        )

    def _rbac(self, plural: str) -> Any:
        """The stored RBAC objects of one kind (what authorization reads)."""
        return self.store.items((RBAC_GROUP, plural))

    def _allowed(self, user: rbac.User, req: rbac.Request) -> bool:
        """`rbac.authorize`, remembered until a role or binding changes: every request asks,
        and walking the sorted bindings and roles was 5% of the server's time under load."""
        version = tuple(self.store.changed.get((RBAC_GROUP, kind), 0) for kind in RBAC_KINDS)
        return self._decisions(user, req, version)

    def _authorize(self, user: rbac.User, req: rbac.Request) -> None:
        if not self._allowed(user, req):
            resource, _, sub = req.resource.partition("/")
            raise (
                status.forbidden(
                    user.name, req.verb, req.resource, req.group, req.namespace, req.name
                )
                if not sub
                else ApiError(
                    403,
                    "Forbidden",
                    f'{resource}.{req.group} "{req.name}" is forbidden: User "{user.name}" cannot '
                    f'{req.verb} resource "{req.resource}" in API group "{req.group}"'
                    + (
                        f' in the namespace "{req.namespace}"'
                        if req.namespace
                        else " at the cluster scope"
                    ),
                )
            )

    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        if not raw:
            return None
        if request.content_type == protowire.MEDIA_TYPE:
            return protokinds.decode(raw)
        try:
            if "yaml" in request.content_type:
                return yaml.safe_load(raw)
            return jsonwire.loads(raw)
        except (ValueError, yaml.YAMLError) as exc:
            raise status.bad_request(f"the request body is not valid JSON/YAML: {exc}") from None

    # ---- routing -----------------------------------------------------------------------
    async def _route(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/")
        if path in ("/healthz", "/readyz", "/livez"):
            return web.Response(text="ok")
        user = self._user(request)
        parts = [p for p in path.split("/") if p]
        if path == "/metrics":
            return web.Response(text=metrics.render(self.request_counts))
        if parts[:2] == ["_faults", "holds"]:
            return await self._holds(request, user, parts[2:])
        self.request_counts[(request.method, metrics.resource_of(parts))] += 1
        if path == "/version":
            return jsonwire.response(discovery.VERSION)
        if path.startswith("/openapi"):
            return self._openapi(request, parts)
        if parts[:1] == ["api"]:
            if len(parts) == 1:
                return jsonwire.response(discovery.api_versions(f"{self.address}"))
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"]:
            if len(parts) == 1:
                return jsonwire.response(discovery.group_list(self.registry))
            if len(parts) == 2:
                found = discovery.group(self.registry, parts[1])
                if found is None:
                    raise ApiError(
                        404, "NotFound", "the server could not find the requested resource"
                    )
                return jsonwire.response(found)
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(
                404,
                "NotFound",
                f"the server could not find the requested resource ({request.method} {path})",
            )
        if not rest:
            found_list = discovery.resource_list(self.registry, group, version)
            if found_list is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return jsonwire.response(found_list)
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
            namespace, rest = rest[1], rest[2:]
        plural, name, sub = (
            rest[0],
            (rest[1] if len(rest) > 1 else ""),
            (rest[2] if len(rest) > 2 else ""),
        )
        res = self.registry.get(group, version, plural)
        subs = {s.name for s in res.subresources} if res is not None else set()
        if (
            res is None
            or len(rest) > 3
            or (sub and not (sub == "status" and res.status) and sub not in subs)
        ):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if res.namespaced and namespace is None and (name or request.method != "GET"):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if not res.namespaced and namespace is not None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        verb = _VERB.get(request.method)
        if verb is None:
            raise ApiError(405, "MethodNotAllowed", f"{request.method} is not allowed")
        watch = request.query.get("watch") in ("true", "1")
        if verb == "get" and not name:
            verb = "watch" if watch else "list"
        if verb == "delete" and not name:
            verb = "deletecollection"
        self._authorize(
            user,
            rbac.Request(
                verb, group, f"{res.plural}/{sub}" if sub else res.plural, namespace or "", name
            ),
        )
        return await self._resource(request, res, namespace or "", name, sub, verb, user)

    async def _holds(self, request: web.Request, user: rbac.User, rest: list[str]) -> web.Response:
        """The hold fault over HTTP (``faults.Hold``), for tests driving a server process.

        ``POST /_faults/holds`` with ``{"method", "path", "user"?, "count"?}`` starts one;
        ``GET /_faults/holds/NAME`` shows what it caught; ``POST .../NAME/release`` or
        ``.../NAME/drop`` ends it. Not a Kubernetes path: ``system:masters`` only.
        """
        if rbac.MASTERS not in user.groups:
            raise ApiError(403, "Forbidden", f"{user.name} may not control the server's faults")
        if not rest and request.method == "POST":
            body = await self._body(request) or {}
            try:
                hold = self.faults.hold(
                    str(body["method"]),
                    str(body["path"]),
                    user=body.get("user"),
                    count=body.get("count"),
                )
            except KeyError as exc:
                raise status.bad_request(f"a hold needs {exc.args[0]!r}") from None
            return jsonwire.response(hold.as_dict(), status=201)
        found = self.faults.holds.get(rest[0]) if rest else None
        if found is None:
            raise ApiError(404, "NotFound", f"no hold {'/'.join(rest)!r}")
        if len(rest) == 1 and request.method == "GET":
            return jsonwire.response(found.as_dict())
        if len(rest) == 2 and request.method == "POST" and rest[1] in ("release", "drop"):
            if rest[1] == "release":
                found.release()
            else:
                found.drop()
            return jsonwire.response(found.as_dict())
        raise ApiError(405, "MethodNotAllowed", f"{request.method} {request.path} is not allowed")

    def _openapi(self, request: web.Request, parts: list[str]) -> web.Response:
        if parts[:2] == ["openapi", "v2"]:
            if "protobuf" in request.headers.get("Accept", ""):
                return web.Response(
                    body=discovery.openapi_v2_protobuf(),
                    content_type="application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
                )
            return jsonwire.response(discovery.openapi_v2_json(self.registry))
        if parts == ["openapi", "v3"]:
            return jsonwire.response(discovery.openapi_v3_index(self.registry))
        if parts[:2] == ["openapi", "v3"]:
            rest = parts[2:]
            group, version = ("", rest[1]) if rest[:1] == ["api"] else (rest[1], rest[2])
            return jsonwire.response(discovery.openapi_v3_document(self.registry, group, version))
        raise ApiError(404, "NotFound", "the server could not find the requested resource")

    def _options(self, request: web.Request, user: rbac.User) -> WriteOptions:
        agent = request.headers.get("User-Agent", "unknown").split("/")[0]
        dry = request.query.getall("dryRun", [])
        if any(d != "All" for d in dry):
            raise status.bad_request(f"dryRun must be All, not {dry}")
        return WriteOptions(
            dry_run=bool(dry),
            field_validation=request.query.get("fieldValidation", "Warn"),
            manager=request.query.get("fieldManager", agent),
            user=user,
        )

    def _answer(self, data: Any, opts: WriteOptions | None = None, code: int = 200) -> web.Response:
        response = jsonwire.response(data, status=code)
        for line in warningheaders.lines(opts.warnings if opts is not None else ()):
            response.headers.add("Warning", line)
        return response

    async def _resource(  # noqa: PLR0917
        self,
        request: web.Request,
        res: Resource,
        ns: str,
        name: str,
        sub: str,
        verb: str,
        user: rbac.User,
    ) -> web.StreamResponse:
        if reviews.is_review(res):
            if verb != "create":
                raise ApiError(405, "MethodNotAllowed", f"{res.kind} can only be created")
            body = await self._body(request)
            return jsonwire.response(reviews.answer(res, ns, body, user, self._rbac), status=201)
        objects = self.objects
        served = next((s for s in res.subresources if s.name == sub), None)
        if served is not None and served.kind != res.kind:  # serviceaccounts/NAME/token
            if verb not in served.verbs:
                raise ApiError(405, "MethodNotAllowed", f"{res.plural}/{sub} can only be created")
            answer = objects.kinds.subresource(res, ns, name, sub, await self._body(request))
            return self._answer(answer, code=201)
        if verb == "get":
            obj = self.store.get(res.key, ns, name)
            if obj is None:
                raise status.not_found(res.qualified_plural, name, res.group, res.plural)
            if tables.wants_table(request.headers.get("Accept", "")):
                return jsonwire.response(
                    tables.table(
                        res,
                        [objects.view(res, obj)],
                        request.query.get("includeObject", "Metadata"),
                        {"resourceVersion": obj["metadata"]["resourceVersion"]},
                    )
                )
            return jsonwire.response(objects.view(res, obj))
        if verb in ("list", "watch"):
            return await self._list(request, res, ns if res.namespaced and ns else None, verb)
        opts = self._options(request, user)
        body = await self._body(request)
        if verb == "create":
            return self._answer(objects.view(res, objects.create(res, ns, body, opts)), opts, 201)
        if verb == "update":
            return self._answer(
                objects.view(res, objects.update(res, ns, name, body, opts, sub)), opts
            )
        if verb == "patch":
            content_type = request.headers.get("Content-Type", "")
            force = request.query.get("force") in ("true", "1")
            existed = self.store.get(res.key, ns, name) is not None
            obj = objects.patch(res, ns, name, content_type, body, opts, sub, force)
            return self._answer(objects.view(res, obj), opts, 200 if existed else 201)
        if verb == "delete":
            pre = (body or {}).get("preconditions") if isinstance(body, dict) else None
            policy = gc.propagation(body, request.query)
            gone = objects.delete(res, ns, name, opts, pre, propagation=policy)
            return self._answer(objects.view(res, gone), opts)
        if verb == "deletecollection":
            match = selectors.label_selector(request.query.get("labelSelector"))
            policy = gc.propagation(body, request.query)
            for obj in [o for o in self.store.items(res.key, ns or None) if match(o)]:
                where, what = obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
                if self.store.get(res.key, where, what) is not None:  # not collected meanwhile
                    objects.delete(res, where, what, opts, propagation=policy)
            return self._answer(
                {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
            )
        raise ApiError(405, "MethodNotAllowed", f"{verb} is not supported")

    async def _list(
        self, request: web.Request, res: Resource, ns: str | None, verb: str
    ) -> web.StreamResponse:
        labels = selectors.label_selector(request.query.get("labelSelector"))
        fields = selectors.field_selector(
            request.query.get("fieldSelector"), self.objects.kinds.fields(res)
        )

        def match(obj: Any) -> bool:
            return labels(obj) and fields(obj)

        as_table = tables.wants_table(request.headers.get("Accept", ""))
        if verb == "watch":
            timeout = request.query.get("timeoutSeconds")
            return await watching.stream(
                request,
                store=self.store,
                res=res,
                namespace=ns,
                match=match,
                since=request.query.get("resourceVersion", ""),
                bookmarks=request.query.get("allowWatchBookmarks") in ("true", "1"),
                timeout=float(timeout) if timeout else None,
                bookmark_interval=self.bookmark_interval,
                as_table=as_table,
                initial_events=request.query.get("sendInitialEvents") == "true",
                view=lambda obj: self.objects.view(res, obj),
            )
        page, meta = paging.page(
            self.store,
            res.key,
            ns,
            match,
            limit=int(request.query.get("limit") or 0),
            token=request.query.get("continue", ""),
            filtered=bool(request.query.get("labelSelector") or request.query.get("fieldSelector")),
        )
        views = [self.objects.view(res, o) for o in page]
        if as_table:
            return jsonwire.response(
                tables.table(res, views, request.query.get("includeObject", "Metadata"), meta)
            )
        body = {
            "kind": res.list_kind or f"{res.kind}List",
            "apiVersion": res.api_version,
            "metadata": meta,
            "items": views,
        }
        return jsonwire.response(body)


def _bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    return header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""


def _error(exc: ApiError) -> web.Response:
    return jsonwire.response(exc.status(), status=exc.code)
