"""ValidatingAdmissionPolicy and its Binding: defaults and validation, as the real registry.

admissionregistration.k8s.io/v1 (GA in 1.30). The defaults are ``SetDefaults_*`` of
``pkg/apis/admissionregistration/v1``: failurePolicy Fail, matchPolicy Equivalent, empty
namespace and object selectors, rule scope ``*``. Validation is
``ValidateValidatingAdmissionPolicy(Binding)``: the fields a policy needs, the supported
values, and every CEL expression compiled when the object is written, so a bad one is a 422
naming its field (``spec.validations[0].expression``) instead of a failure on every later
write. The policies are enforced by :mod:`floatip_apiserver.admission`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from floatip_apiserver import cel
from floatip_apiserver.fielderrors import child, index
from floatip_apiserver.kinds import checks
from floatip_apiserver.kinds.base import Admission, Kind
from floatip_apiserver.kinds.checks import Errors

GROUP = "admissionregistration.k8s.io"
OPERATIONS = ("*", "CONNECT", "CREATE", "DELETE", "UPDATE")
SCOPES = ("*", "Cluster", "Namespaced")
REASONS = ("Forbidden", "Invalid", "RequestEntityTooLarge", "Unauthorized")
ACTIONS = ("Audit", "Deny", "Warn")
_IDENTIFIER = re.compile(r"^[_a-zA-Z][_a-zA-Z0-9]*$")


def _items(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def default_match(match: dict[str, Any]) -> None:
    """``SetDefaults_MatchResources`` and ``SetDefaults_Rule`` (scope ``*``)."""
    match.setdefault("matchPolicy", "Equivalent")
    match.setdefault("namespaceSelector", {})
    match.setdefault("objectSelector", {})
    for field in ("resourceRules", "excludeResourceRules"):
        for rule in match.get(field) or []:
            if isinstance(rule, dict):
                rule.setdefault("scope", "*")


def _expression(path: str, value: Any, required: bool = True) -> Errors:
    """Required, and compiled now: a rule that cannot compile is refused on write."""
    if not value:
        return [checks.required(path)] if required else []
    compiled = cel.compile_rule(str(value))
    return [checks.invalid(path, value, compiled.error)] if compiled.error else []


def _rules(path: str, rules: Any, required: bool) -> Errors:
    found = _items(rules)
    if required and not found:
        return [checks.required(path)]
    errors: Errors = []
    for i, rule in enumerate(found):
        at = index(path, i)
        for field in ("operations", "apiGroups", "apiVersions", "resources"):
            if not rule.get(field):
                errors.append(checks.required(child(at, field)))
        ops = child(at, "operations")
        for j, op in enumerate(rule.get("operations") or []):
            if op not in OPERATIONS:
                errors.append(checks.not_supported(index(ops, j), op, OPERATIONS))
        if rule.get("scope") not in SCOPES:
            errors.append(checks.not_supported(child(at, "scope"), rule.get("scope"), SCOPES))
    return errors


def _match(path: str, match: Any, policy: bool) -> Errors:
    if not isinstance(match, Mapping):
        return [checks.required(path)] if policy else []
    errors = _rules(child(path, "resourceRules"), match.get("resourceRules"), policy)
    errors += _rules(child(path, "excludeResourceRules"), match.get("excludeResourceRules"), False)
    if match.get("matchPolicy") not in ("Equivalent", "Exact"):
        errors.append(
            checks.not_supported(
                child(path, "matchPolicy"), match.get("matchPolicy"), ("Equivalent", "Exact")
            )
        )
    return errors


def _named(path: str, items: Any, name_check: str) -> Errors:
    """matchConditions (qualified names) or variables (CEL identifiers): names and expressions."""
    errors: Errors = []
    for i, item in enumerate(_items(items)):
        at = index(path, i)
        name = str(item.get("name") or "")
        if not name:
            errors.append(checks.required(child(at, "name")))
        elif name_check == "identifier" and not _IDENTIFIER.match(name):
            errors.append(
                checks.invalid(child(at, "name"), name, "name is not a valid CEL identifier")
            )
        elif name_check == "qualified":
            errors += checks.each(child(at, "name"), name, checks.qualified_name(name))
        errors += _expression(child(at, "expression"), item.get("expression"))
    return errors


def _validations(spec: Mapping[str, Any]) -> Errors:
    validations = _items(spec.get("validations"))
    if not validations and not spec.get("auditAnnotations"):
        detail = "validations or auditAnnotations must contain at least one item"
        return [checks.required("spec.validations", detail)]
    errors: Errors = []
    for i, validation in enumerate(validations):
        at = index("spec.validations", i)
        errors += _expression(child(at, "expression"), validation.get("expression"))
        errors += _expression(
            child(at, "messageExpression"), validation.get("messageExpression"), required=False
        )
        reason = validation.get("reason")
        if reason is not None and reason not in REASONS:
            errors.append(checks.not_supported(child(at, "reason"), reason, REASONS))
    for i, annotation in enumerate(_items(spec.get("auditAnnotations"))):
        at = index("spec.auditAnnotations", i)
        errors += _expression(child(at, "valueExpression"), annotation.get("valueExpression"))
    return errors


def _name(obj: Mapping[str, Any]) -> Errors:
    name = str(obj["metadata"].get("name") or "")
    return checks.each("metadata.name", name, checks.dns1123_subdomain(name))


class Policies(Kind):
    """ValidatingAdmissionPolicy: defaulted, validated, every expression compiled."""

    def admit(self, adm: Admission) -> None:
        if adm.subresource == "status":
            return
        spec = adm.spec
        spec.setdefault("failurePolicy", "Fail")
        if isinstance(spec.get("matchConstraints"), dict):
            default_match(spec["matchConstraints"])
        errors = _name(adm.obj)
        kind = spec.get("paramKind")
        if isinstance(kind, Mapping):
            errors += [
                checks.required(f"spec.paramKind.{field}")
                for field in ("apiVersion", "kind")
                if not kind.get(field)
            ]
        errors += _match("spec.matchConstraints", spec.get("matchConstraints"), policy=True)
        if spec["failurePolicy"] not in ("Fail", "Ignore"):
            errors.append(
                checks.not_supported(
                    "spec.failurePolicy", spec["failurePolicy"], ("Fail", "Ignore")
                )
            )
        errors += _validations(spec)
        errors += _named("spec.matchConditions", spec.get("matchConditions"), "qualified")
        errors += _named("spec.variables", spec.get("variables"), "identifier")
        checks.raise_invalid(adm.res, adm.obj, errors)


class Bindings(Kind):
    """ValidatingAdmissionPolicyBinding: its policy, actions, paramRef and matchResources."""

    def admit(self, adm: Admission) -> None:
        spec = adm.spec
        if isinstance(spec.get("matchResources"), dict):
            default_match(spec["matchResources"])
        errors = _name(adm.obj)
        if not spec.get("policyName"):
            errors.append(checks.required("spec.policyName"))
        errors += _actions(spec.get("validationActions"))
        errors += _param_ref(spec.get("paramRef"))
        errors += _match("spec.matchResources", spec.get("matchResources"), policy=False)
        checks.raise_invalid(adm.res, adm.obj, errors)


def _actions(actions: Any) -> Errors:
    path = "spec.validationActions"
    if not actions:
        return [checks.required(path, "at least one validation action is required")]
    errors: Errors = []
    seen: set[str] = set()
    for i, action in enumerate(actions if isinstance(actions, list) else [actions]):
        if action not in ACTIONS:
            errors.append(checks.not_supported(index(path, i), action, ACTIONS))
        elif action in seen:
            errors.append(checks.duplicate(index(path, i), action))
        seen.add(str(action))
    if {"Deny", "Warn"} <= seen:
        errors.append(
            checks.invalid(
                path,
                actions,
                "must not contain both Deny and Warn (repeating the same validation failure "
                "information in the API response and headers serves no purpose)",
            )
        )
    return errors


def _param_ref(ref: Any) -> Errors:
    if not isinstance(ref, Mapping):
        return []
    errors: Errors = []
    if ref.get("name") and ref.get("selector") is not None:
        errors.append(
            checks.forbidden("spec.paramRef.name", "name and selector are mutually exclusive")
        )
    if not ref.get("name") and ref.get("selector") is None:
        errors.append(checks.required("spec.paramRef", "one of name or selector must be set"))
    action = ref.get("parameterNotFoundAction")
    if action is None:
        errors.append(checks.required("spec.paramRef.parameterNotFoundAction"))
    elif action not in ("Allow", "Deny"):
        errors.append(
            checks.not_supported("spec.paramRef.parameterNotFoundAction", action, ("Allow", "Deny"))
        )
    return errors
