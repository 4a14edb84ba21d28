"""ServiceAccount tokens: the TokenRequest subresource and the tokens it mints.

``kubectl create token NAME`` POSTs a TokenRequest to ``serviceaccounts/NAME/token`` and prints
``status.token``; controllers and CI jobs then authenticate with it as
``system:serviceaccount:NS:NAME`` (groups ``system:serviceaccounts`` and
``system:serviceaccounts:NS``), so RBAC applies. As on the real server a token is a JWT naming
the account (and, when bound, a Pod, Secret or Node) and expires after ``expirationSeconds``
(default 3600, at least 600); it stops authenticating once it expires or once the
ServiceAccount or bound object it names is gone or was recreated (another uid). Tokens are
signed with a per-server key (HS256 here, RS256 on a real cluster: clients do not check).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Mapping
from typing import Any

from floatip_apiserver import rbac, status
from floatip_apiserver.kinds import checks
from floatip_apiserver.kinds.base import Admission, Kind
from floatip_apiserver.resources import Resource
from floatip_apiserver.store import Store

AUDIENCE = "https://kubernetes.default.svc.cluster.local"
ISSUER = "https://kubernetes.default.svc.cluster.local"
DEFAULT_SECONDS = 3600
MIN_SECONDS = 600
_BOUND = {"Pod": ("", "pods", True), "Secret": ("", "secrets", True), "Node": ("", "nodes", False)}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Tokens:
    """Mints and checks the bound ServiceAccount tokens of one server."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._key = secrets.token_bytes(32)

    def _sign(self, signing_input: str) -> str:
        return _b64(hmac.new(self._key, signing_input.encode(), hashlib.sha256).digest())

    def _bound(self, ns: str, ref: Any) -> dict[str, str]:
        """The Pod/Secret/Node a token is bound to; 404 if absent, 409 if the uid differs."""
        if not isinstance(ref, Mapping) or ref.get("kind") not in _BOUND:
            raise status.bad_request(
                "spec.boundObjectRef.kind must be Pod, Secret or Node: a token can be bound to "
                "one of those only"
            )
        group, plural, namespaced = _BOUND[str(ref["kind"])]
        name = str(ref.get("name") or "")
        found = self.store.get((group, plural), ns if namespaced else "", name)
        if found is None:
            raise status.not_found(plural, name, group, plural)
        uid = found["metadata"]["uid"]
        if ref.get("uid") and ref["uid"] != uid:
            raise status.ApiError(
                409,
                "Conflict",
                f"the UID in the bound object reference ({ref['uid']}) does not match the UID "
                "in record. The object might have been deleted and then recreated",
            )
        return {"kind": str(ref["kind"]), "name": name, "uid": uid}

    def request(self, res: Resource, ns: str, name: str, body: Any) -> dict[str, Any]:
        """Answer a TokenRequest for ServiceAccount ``ns/name`` (201 with status.token)."""
        account = self.store.get(res.key, ns, name)
        if account is None:
            raise status.not_found(res.qualified_plural, name, res.group, res.plural)
        spec = dict((body or {}).get("spec") or {}) if isinstance(body, Mapping) else {}
        seconds = spec.get("expirationSeconds") or DEFAULT_SECONDS
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < MIN_SECONDS:
            error = checks.invalid(
                "spec.expirationSeconds", seconds, "may not specify a duration less than 10 minutes"
            )
            raise status.invalid(
                "TokenRequest.authentication.k8s.io",
                name,
                "authentication.k8s.io",
                "TokenRequest",
                [error],
            )
        audiences = list(spec.get("audiences") or [AUDIENCE])
        bound = self._bound(ns, spec["boundObjectRef"]) if spec.get("boundObjectRef") else None
        now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        expires = now + datetime.timedelta(seconds=seconds)
        claims: dict[str, Any] = {
            "aud": audiences,
            "exp": int(expires.timestamp()),
            "iat": int(now.timestamp()),
            "iss": ISSUER,
            "jti": str(uuid.uuid4()),
            "nbf": int(now.timestamp()),
            "sub": f"system:serviceaccount:{ns}:{name}",
            "kubernetes.io": {
                "namespace": ns,
                "serviceaccount": {"name": name, "uid": account["metadata"]["uid"]},
            },
        }
        if bound is not None:
            claims["kubernetes.io"][bound["kind"].lower()] = {
                "name": bound["name"],
                "uid": bound["uid"],
            }
        header = _b64(
            json.dumps({"alg": "HS256", "kid": "floatip-apiserver"}, separators=(",", ":")).encode()
        )
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        token = f"{header}.{payload}.{self._sign(f'{header}.{payload}')}"
        return {
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": ns, "creationTimestamp": None},
            "spec": {
                "audiences": audiences,
                "expirationSeconds": seconds,
                "boundObjectRef": spec.get("boundObjectRef"),
            },
            "status": {
                "token": token,
                "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        }

    def authenticate(self, token: str) -> rbac.User | None:
        """The identity of a token this server minted and that is still good, else None."""
        parts = token.split(".")
        if len(parts) != 3 or not hmac.compare_digest(
            parts[2], self._sign(f"{parts[0]}.{parts[1]}")
        ):
            return None
        claims = json.loads(_unb64(parts[1]))
        if claims["exp"] <= datetime.datetime.now(datetime.UTC).timestamp():
            return None
        info = claims["kubernetes.io"]
        ns, account = info["namespace"], info["serviceaccount"]
        stored = self.store.get(("", "serviceaccounts"), ns, account["name"])
        if stored is None or stored["metadata"]["uid"] != account["uid"]:
            return None
        for kind, (group, plural, namespaced) in _BOUND.items():
            ref = info.get(kind.lower())
            if ref is not None:
                found = self.store.get((group, plural), ns if namespaced else "", ref["name"])
                if found is None or found["metadata"]["uid"] != ref["uid"]:
                    return None
        return rbac.User.service_account(ns, account["name"])


class ServiceAccounts(Kind):
    """The ServiceAccount strategy: a DNS subdomain name, as ``ValidateServiceAccount``."""

    def admit(self, adm: Admission) -> None:
        name = str(adm.obj["metadata"].get("name") or "")
        errors = checks.each("metadata.name", name, checks.dns1123_subdomain(name))
        checks.raise_invalid(adm.res, adm.obj, errors)
