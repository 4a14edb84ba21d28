"""Access reviews: ask the server's RBAC a question, as ``kubectl auth can-i`` and ``whoami`` do.

authorization.k8s.io/v1 SelfSubjectAccessReview (``can-i VERB RESOURCE``),
SelfSubjectRulesReview (``can-i --list``), SubjectAccessReview and LocalSubjectAccessReview
(an administrator asks about someone else), and authentication.k8s.io/v1 SelfSubjectReview
(``whoami``). Like the real ones they are create-only and never stored: the answer is the
request with its ``status`` filled in, 201 Created. The questions are answered by the same
:mod:`rbac` rules every other request is authorized by.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from floatip_apiserver import fielderrors, rbac, status
from floatip_apiserver.fielderrors import FieldError
from floatip_apiserver.resources import Registry, Resource

_AUTHZ, _AUTHN = "authorization.k8s.io", "authentication.k8s.io"


def _review(group: str, plural: str, kind: str, namespaced: bool = False) -> Resource:
    return Resource(group, "v1", plural, kind, namespaced, singular="", verbs=("create",))


REVIEWS = (
    _review(_AUTHZ, "selfsubjectaccessreviews", "SelfSubjectAccessReview"),
    _review(_AUTHZ, "selfsubjectrulesreviews", "SelfSubjectRulesReview"),
    _review(_AUTHZ, "subjectaccessreviews", "SubjectAccessReview"),
    _review(_AUTHZ, "localsubjectaccessreviews", "LocalSubjectAccessReview", namespaced=True),
    _review(_AUTHN, "selfsubjectreviews", "SelfSubjectReview"),
)
_KEYS = {res.key for res in REVIEWS}


def register(registry: Registry) -> None:
    """Serve the review kinds (discovery lists them with the one verb, create)."""
    for res in REVIEWS:
        registry.add(res)


def is_review(res: Resource) -> bool:
    return res.key in _KEYS


def _invalid(res: Resource, field: str, value: Any, detail: str) -> status.ApiError:
    error = FieldError(field, fielderrors.INVALID, detail, value)
    return status.invalid(res.qualified_kind, "", res.group, res.kind, [error])


def _access(
    res: Resource, spec: Mapping[str, Any], subject: rbac.User, lister: rbac.Lister
) -> dict[str, Any]:
    """SubjectAccessReviewStatus for one resource or non-resource question."""
    attrs = spec.get("resourceAttributes")
    path_attrs = spec.get("nonResourceAttributes")
    if (attrs is None) == (path_attrs is None):
        raise _invalid(
            res,
            "spec.resourceAttributes",
            attrs,
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        )
    if path_attrs is not None:
        verb, path = str(path_attrs.get("verb", "")), str(path_attrs.get("path", ""))
        return {"allowed": rbac.authorize_path(subject, verb, path, lister)}
    assert attrs is not None
    resource = str(attrs.get("resource", ""))
    if attrs.get("subresource"):
        resource += f"/{attrs['subresource']}"
    request = rbac.Request(
        str(attrs.get("verb", "")),
        str(attrs.get("group", "")),
        resource,
        str(attrs.get("namespace", "")),
        str(attrs.get("name", "")),
    )
    if rbac.MASTERS in subject.groups:
        return {"allowed": True}
    reason = next(rbac.grants(subject, request, lister), None)
    return {"allowed": True, "reason": reason} if reason else {"allowed": False}


def _rules(namespace: str, subject: rbac.User, lister: rbac.Lister) -> dict[str, Any]:
    resource_rules, path_rules = [], []
    for rule in rbac.rules(subject, namespace, lister):
        if rule.get("nonResourceURLs"):
            path_rules.append(
                {"verbs": list(rule["verbs"]), "nonResourceURLs": list(rule["nonResourceURLs"])}
            )
        else:
            keys = ("verbs", "apiGroups", "resources", "resourceNames")
            resource_rules.append({k: list(rule[k]) for k in keys if rule.get(k)})
    return {"resourceRules": resource_rules, "nonResourceRules": path_rules, "incomplete": False}


def user_info(user: rbac.User) -> dict[str, Any]:
    """authentication.k8s.io/v1 UserInfo: uid and extra only when set (``omitempty``)."""
    info: dict[str, Any] = {"username": user.name}
    if user.uid:
        info["uid"] = user.uid
    info["groups"] = list(dict.fromkeys(user.all_groups))
    if user.extra:
        info["extra"] = {key: list(values) for key, values in user.extra.items()}
    return info


def answer(
    res: Resource, namespace: str, body: Any, user: rbac.User, lister: rbac.Lister
) -> dict[str, Any]:
    """The review with its status: what the real server answers a create with."""
    review = dict(body) if isinstance(body, dict) else {}
    spec = review.get("spec") or {}
    if not isinstance(spec, dict):
        raise status.bad_request(f"{res.kind}.spec must be an object")
    review.update(apiVersion=res.api_version, kind=res.kind)
    review["metadata"] = {**(review.get("metadata") or {}), "creationTimestamp": None}
    if res.kind == "SelfSubjectReview":
        review["status"] = {"userInfo": user_info(user)}
    elif res.kind == "SelfSubjectRulesReview":
        review["status"] = _rules(str(spec.get("namespace", "")), user, lister)
    elif res.kind == "SelfSubjectAccessReview":
        review["status"] = _access(res, spec, user, lister)
    else:  # (Local)SubjectAccessReview: about the user and groups in the spec
        if not spec.get("user") and not spec.get("groups"):
            raise _invalid(res, "spec.user", "", "at least one of user or group must be specified")
        asked = (spec.get("resourceAttributes") or {}).get("namespace", "")
        if res.namespaced and asked != namespace:
            raise _invalid(
                res, "spec.resourceAttributes.namespace", asked, "must match metadata.namespace"
            )
        subject = rbac.User(str(spec.get("user", "")), tuple(spec.get("groups") or ()))
        review["status"] = _access(res, spec, subject, lister)
    return review
