"""ServiceAccount tokens: the TokenRequest subresource and the tokens it mints.

``kubectl create token NAME`` POSTs a TokenRequest to ``serviceaccounts/NAME/token`` and prints
``status.token``; controllers and CI jobs then authenticate with it as
``system:serviceaccount:NS:NAME`` (groups ``system:serviceaccounts`` and
``system:serviceaccounts:NS``), so RBAC applies. As on the real server a token is a JWT naming
the account (and, when bound, a Pod, Secret or Node) and expires after ``expirationSeconds``
(default 3600, at least 600); it stops authenticating once it expires or once the
ServiceAccount or bound object it names is gone or was recreated (another uid). Tokens are
signed with a per-server key (HS256 here, RS256 on a real cluster: clients do not check).

A token bound to a Pod that is on a node also names the node (ServiceAccountTokenPodNodeInfo,
on by default since 1.30, GA in 1.32), and authenticating with it gives the user the extras
``authentication.kubernetes.io/pod-name``, ``pod-uid``, ``node-name``, ``node-uid`` and
``credential-id`` (``JTI=<jti>``): what ValidatingAdmissionPolicies bind a node's agent to its
node by. As kubelet asks for 3607 s and the real server's ``--service-account-extend-token-
expiration`` (on by default) then signs such a pod-bound token for a year, with a
``warnafter`` at the time asked, a node agent's credential outlives any lab run.
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
#: k8s.io/kubernetes/pkg/serviceaccount: what kubelet asks for, and what a pod-bound token of
#: that length really lasts (``WarnOnlyBoundTokenExpirationSeconds``, ``ExpirationExtension...``)
WARN_ONLY_SECONDS = 3607
EXTENDED_SECONDS = 365 * 24 * 60 * 60
#: k8s.io/apiserver/pkg/authentication/serviceaccount's extra keys
POD_NAME_KEY = "authentication.kubernetes.io/pod-name"
POD_UID_KEY = "authentication.kubernetes.io/pod-uid"
NODE_NAME_KEY = "authentication.kubernetes.io/node-name"
NODE_UID_KEY = "authentication.kubernetes.io/node-uid"
CREDENTIAL_ID_KEY = "authentication.kubernetes.io/credential-id"
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

    def _bound(self, ns: str, account: str, ref: Any) -> dict[str, str]:
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
        if plural == "pods" and (found.get("spec") or {}).get("serviceAccountName") != account:
            raise status.bad_request(
                f'cannot bind token for serviceaccount "{account}" to pod running with different '
                "serviceaccount name."
            )
        if ref.get("uid") and ref["uid"] != uid:
            raise status.ApiError(
                409,
                "Conflict",
                f"the UID in the bound object reference ({ref['uid']}) does not match the UID "
                "in record. The object might have been deleted and then recreated",
            )
        return {"kind": str(ref["kind"]), "name": name, "uid": uid}

    def _node_of(self, ns: str, pod_name: str) -> dict[str, str] | None:
        """The node a bound Pod is on: name, and uid if the Node exists (as token.go does)."""
        pod = self.store.get(("", "pods"), ns, pod_name) or {}
        node_name = str((pod.get("spec") or {}).get("nodeName") or "")
        if not node_name:
            return None
        node = self.store.get(("", "nodes"), "", node_name)
        return {"name": node_name, **({"uid": node["metadata"]["uid"]} if node else {})}

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
        ref = spec.get("boundObjectRef")
        bound = self._bound(ns, name, ref) if ref else None
        now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        expires = now + datetime.timedelta(seconds=seconds)
        lasts = seconds
        if (
            bound is not None
            and bound["kind"] == "Pod"
            and seconds == WARN_ONLY_SECONDS
            and set(audiences) <= {AUDIENCE}
        ):
            lasts = EXTENDED_SECONDS  # the token says when to warn; it fails only after a year
        claims: dict[str, Any] = {
            "aud": audiences,
            "exp": int((now + datetime.timedelta(seconds=lasts)).timestamp()),
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
            private = claims["kubernetes.io"]
            private[bound["kind"].lower()] = {"name": bound["name"], "uid": bound["uid"]}
            node = self._node_of(ns, bound["name"]) if bound["kind"] == "Pod" else None
            if node is not None:
                private["node"] = node
            if lasts != seconds:
                private["warnafter"] = int(expires.timestamp())
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
            if ref is None or (kind == "Node" and "pod" in info):
                continue  # a pod-bound token's node is information; the pod is what binds it
            found = self.store.get((group, plural), ns if namespaced else "", ref["name"])
            if found is None or found["metadata"]["uid"] != ref["uid"]:
                return None
        return rbac.User.service_account(ns, account["name"], account["uid"], _extra(claims))


def _extra(claims: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """The user's extras from a token's claims, as ServiceAccountInfo.UserInfo sets them."""
    info = claims["kubernetes.io"]
    extra: dict[str, tuple[str, ...]] = {}
    pod, node = info.get("pod"), info.get("node")
    if pod is not None:
        extra[POD_NAME_KEY], extra[POD_UID_KEY] = (pod["name"],), (pod["uid"],)
    if claims.get("jti"):
        extra[CREDENTIAL_ID_KEY] = (f"JTI={claims['jti']}",)
    if node is not None:
        extra[NODE_NAME_KEY] = (node["name"],)
        if node.get("uid"):
            extra[NODE_UID_KEY] = (node["uid"],)
    return extra


class ServiceAccounts(Kind):
    """The ServiceAccount strategy: a DNS subdomain name, as ``ValidateServiceAccount``."""

    def admit(self, adm: Admission) -> None:
        name = str(adm.obj["metadata"].get("name") or "")
        errors = checks.each("metadata.name", name, checks.dns1123_subdomain(name))
        checks.raise_invalid(adm.res, adm.obj, errors)
