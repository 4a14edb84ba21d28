"""ValidatingAdmissionPolicies enforced on writes, as kube-apiserver's admission plugin does.

A write (CREATE, UPDATE — every PATCH is one —, DELETE; subresources included) is matched
against each policy's ``matchConstraints`` (resource rules, exclusions, namespace and object
selectors), then against each of its bindings' ``matchResources``; the policy's
``matchConditions`` must all be true; then every validation runs with the CEL variables
``object``, ``oldObject``, ``request``, ``params``, ``namespaceObject`` and ``variables``, in
the same CEL environment as CRD rules (:mod:`cel`). A false validation is a denial that each of
the binding's ``validationActions`` reports: Deny fails the request with the real server's
wording and the validation's ``reason`` (422 Invalid unless set), Warn adds a ``Warning``
header, Audit logs. An expression that errs follows the policy's failurePolicy. This runs after
the kind's defaulting and validation, as validating admission does, and never for the
admissionregistration.k8s.io kinds themselves, which the real server exempts.

Programs are compiled once per policy generation. With no binding stored a write costs one
dictionary length check, so the server's speed does not change until policies are used.
Messages follow k8s.io/apiserver/pkg/admission/plugin/policy/validating (dispatcher.go,
validator.go).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import uuid
from collections.abc import Mapping
from typing import Any

from celpy import celtypes
from celpy.evaluation import CELEvalError

from floatip_apiserver import cel, celplan, celtwins, rbac, selectors
from floatip_apiserver.kinds import admissionpolicies
from floatip_apiserver.resources import Registry, Resource
from floatip_apiserver.status import ApiError
from floatip_apiserver.store import Store

log = logging.getLogger(__name__)

POLICIES = (admissionpolicies.GROUP, "validatingadmissionpolicies")
BINDINGS = (admissionpolicies.GROUP, "validatingadmissionpolicybindings")
_CODES = {"Unauthorized": 401, "Forbidden": 403, "RequestEntityTooLarge": 413, "Invalid": 422}
_MAX_MESSAGE = 5 * 1024  # celconfig.MaxEvaluatedMessageExpressionSizeBytes
_OPTIONS = {"CREATE": "CreateOptions", "UPDATE": "UpdateOptions", "DELETE": "DeleteOptions"}


@dataclasses.dataclass(frozen=True)
class Request:
    """One write as admission sees it (k8s.io/apiserver's ``admission.Attributes``).

    ``obj`` is None on DELETE and ``old`` None on CREATE; ``user`` is who asked.
    """

    operation: str
    res: Resource
    namespace: str
    name: str
    subresource: str
    obj: Mapping[str, Any] | None
    old: Mapping[str, Any] | None
    user: rbac.User
    dry_run: bool
    manager: str = ""


@dataclasses.dataclass(frozen=True)
class _Program:
    """One named expression compiled; ``program`` None if it did not compile."""

    name: str
    expression: str
    program: Any | None
    error: str | None
    #: the activation's names it refers to: only those are converted to CEL for it
    names: frozenset[str] = frozenset()


@dataclasses.dataclass(frozen=True)
class _Compiled:
    """A policy's programs, valid for one (uid, generation)."""

    key: tuple[str, int]
    validations: tuple[tuple[Mapping[str, Any], _Program, _Program | None], ...]
    conditions: tuple[_Program, ...]
    #: the variables by name as CEL sees it, in their order (the last of a name wins)
    variables: Mapping[Any, _Program]
    #: per activation name, the only top-level fields any program can read (None: all)
    reads: Mapping[str, frozenset[str] | None] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class _Decision:
    """A failed validation (or an error under failurePolicy Fail): what the actions report."""

    message: str
    reason: str = "Invalid"


class _ConfigError(Exception):
    """A binding that cannot be used (its params are missing): follows failurePolicy."""


#: the activation's objects, of which a policy's programs may read only some fields (a
#: matchCondition on ``request.userInfo`` converts only the user, on every write it sees)
_OBJECTS = ("object", "oldObject", "request", "params", "namespaceObject")
_ROOTS = re.compile(r"\b(object|oldObject|request|params|namespaceObject|variables)\b")


def _compile(name: str, expression: str) -> _Program:
    compiled = cel.compile_rule(expression)
    names = frozenset(_ROOTS.findall(expression))  # a name in a string literal: harmless
    return _Program(name, expression, compiled.program, compiled.error, names)


def _compile_policy(policy: Mapping[str, Any]) -> _Compiled:
    spec = policy.get("spec") or {}
    meta = policy["metadata"]
    validations = []
    for item in spec.get("validations") or []:
        message = item.get("messageExpression")
        validations.append(
            (
                item,
                _compile("", str(item.get("expression") or "")),
                _compile("", str(message)) if message else None,
            )
        )
    conditions = tuple(
        _compile(str(c.get("name")), str(c.get("expression") or ""))
        for c in spec.get("matchConditions") or []
    )
    variables = tuple(
        _compile(str(v.get("name")), str(v.get("expression") or ""))
        for v in spec.get("variables") or []
    )
    programs = [*conditions, *variables]
    for _, program, message in validations:
        programs += [program] if message is None else [program, message]
    asts = [p.program.ast for p in programs if p.program is not None]
    reads = {name: celplan.fields_read(asts, name) for name in _OBJECTS}
    return _Compiled(
        (str(meta.get("uid")), int(meta.get("generation", 1))),
        tuple(validations),
        conditions,
        {celtypes.StringType(v.name): v for v in variables},
        reads,
    )


def _has(values: Any, wanted: str) -> bool:
    values = values or []
    return "*" in values or wanted in values


def _rule_matches(rule: Mapping[str, Any], req: Request) -> bool:
    """One NamedRuleWithOperations, as admission/plugin/webhook/predicates/rules does."""
    res = req.res
    if not (
        _has(rule.get("operations"), req.operation)
        and _has(rule.get("apiGroups"), res.group)
        and _has(rule.get("apiVersions"), res.version)
    ):
        return False
    scope = rule.get("scope") or "*"
    cluster = not res.namespaced
    if (scope == "Cluster" and not cluster) or (scope == "Namespaced" and cluster):
        return False
    names = rule.get("resourceNames") or []
    if names and req.name not in names:
        return False
    for entry in rule.get("resources") or []:
        plural, _, sub = str(entry).partition("/")
        if plural in ("*", res.plural) and sub in ("*", req.subresource):
            return True
    return False


def _labels(obj: Mapping[str, Any] | None) -> Mapping[str, str] | None:
    return None if obj is None else (obj.get("metadata") or {}).get("labels") or {}


class Policies:
    """The validating admission policies of one server, evaluated on each write."""

    def __init__(self, store: Store, registry: Registry) -> None:
        self.store = store
        self.registry = registry
        self._compiled: dict[str, _Compiled] = {}

    def validate(self, req: Request, warnings: list[str]) -> None:
        """Raise the first denial (ApiError); add Warn actions' texts to ``warnings``."""
        if self.store.count(BINDINGS) == 0 or req.res.group == admissionpolicies.GROUP:
            return
        by_policy: dict[str, list[Mapping[str, Any]]] = {}
        for stored in self.store.items(BINDINGS):
            by_policy.setdefault((stored.get("spec") or {}).get("policyName", ""), []).append(
                stored
            )
        namespace = self._namespace(req)
        denied: tuple[str, str, _Decision] | None = None
        for name in sorted(by_policy):
            policy = self.store.get(POLICIES, "", name)
            if policy is None or not self._matches(
                (policy.get("spec") or {}).get("matchConstraints") or {}, req, namespace
            ):
                continue
            for binding in by_policy[name]:
                match = (binding.get("spec") or {}).get("matchResources")
                if match and not self._matches(match, req, namespace, binding=True):
                    continue
                for decision in self._decide(policy, binding, req, namespace):
                    actions = (binding.get("spec") or {}).get("validationActions") or []
                    where = (name, str(binding["metadata"]["name"]))
                    if "Deny" in actions and denied is None:
                        denied = (*where, decision)
                    if "Warn" in actions:
                        warnings.append(
                            f"Validation failed for ValidatingAdmissionPolicy '{where[0]}' with "
                            f"binding '{where[1]}': {decision.message}"
                        )
                    if "Audit" in actions:
                        log.info("admission audit: %s/%s: %s", *where, decision.message)
        if denied is not None:
            raise _denial(req, *denied)

    def _namespace(self, req: Request) -> Mapping[str, Any] | None:
        """The request's Namespace object (None for cluster-scoped objects and Namespaces)."""
        if not req.res.namespaced or not req.namespace:
            return None
        return self.store.get(("", "namespaces"), "", req.namespace)

    def _matches(
        self,
        match: Mapping[str, Any],
        req: Request,
        namespace: Mapping[str, Any] | None,
        *,
        binding: bool = False,
    ) -> bool:
        """matchConstraints / matchResources; a binding without resourceRules takes all."""
        rules = match.get("resourceRules") or []
        if not (binding and not rules) and not any(_rule_matches(r, req) for r in rules):
            return False
        if any(_rule_matches(r, req) for r in match.get("excludeResourceRules") or []):
            return False
        if not self._namespace_matches(match.get("namespaceSelector"), req, namespace):
            return False
        selector = match.get("objectSelector")
        return not selector or any(
            labels is not None and selectors.selector_matches(selector, labels)
            for labels in (_labels(req.obj), _labels(req.old))
        )

    @staticmethod
    def _namespace_matches(
        selector: Mapping[str, Any] | None, req: Request, namespace: Mapping[str, Any] | None
    ) -> bool:
        """A Namespace is judged by its own labels; other cluster-scoped objects always match."""
        if not selector:
            return True
        if req.res.key == ("", "namespaces"):
            labels = _labels(req.obj if req.obj is not None else req.old) or {}
        elif not req.res.namespaced:
            return True
        else:
            labels = _labels(namespace) or {}
        return selectors.selector_matches(selector, labels)

    # ---- evaluation ----------------------------------------------------------------------
    def _program(self, policy: Mapping[str, Any]) -> _Compiled:
        meta = policy["metadata"]
        key = (str(meta.get("uid")), int(meta.get("generation", 1)))
        found = self._compiled.get(meta["name"])
        if found is None or found.key != key:
            found = self._compiled[meta["name"]] = _compile_policy(policy)
        return found

    def _decide(
        self,
        policy: Mapping[str, Any],
        binding: Mapping[str, Any],
        req: Request,
        namespace: Mapping[str, Any] | None,
    ) -> list[_Decision]:
        """The failed validations of one binding (every param), errors per failurePolicy."""
        fail = (policy.get("spec") or {}).get("failurePolicy", "Fail") != "Ignore"
        try:
            params = self._params(policy, binding, req)
        except _ConfigError as exc:
            return [_Decision(f"failed to configure binding: {exc}")] if fail else []
        compiled = self._program(policy)
        decisions: list[_Decision] = []
        for param in params:
            activation = _activation(req, param, namespace, compiled)
            error, matched = _conditions(compiled.conditions, activation)
            if error is not None:
                decisions += [_Decision(error)] if fail else []
                continue
            if matched:
                decisions += _validations(compiled, activation, fail)
        return decisions

    def _params(
        self, policy: Mapping[str, Any], binding: Mapping[str, Any], req: Request
    ) -> list[Mapping[str, Any] | None]:
        """collectParams: [None] without paramKind or paramRef, else the objects referred to."""
        kind = (policy.get("spec") or {}).get("paramKind")
        ref = (binding.get("spec") or {}).get("paramRef")
        if not kind or not ref:
            return [None]
        api_version, kind_name = str(kind.get("apiVersion", "")), str(kind.get("kind", ""))
        group, _, version = api_version.rpartition("/")
        res = next(
            (
                r
                for r in self.registry
                if (r.group, r.version, r.kind) == (group, version, kind_name)
            ),
            None,
        )
        if res is None:
            raise _ConfigError(f"paramKind kind `{api_version}, Kind={kind_name}` not known")
        namespace = ""
        if res.namespaced:
            namespace = str(ref.get("namespace") or req.namespace)
            if not namespace:
                raise _ConfigError(
                    "cannot use namespaced paramRef in policy binding that matches "
                    "cluster-scoped resources"
                )
        elif ref.get("namespace"):
            raise _ConfigError(
                "paramRef.namespace must not be provided for a cluster-scoped `paramKind`"
            )
        if ref.get("name"):
            found = self.store.get(res.key, namespace, str(ref["name"]))
            params = [found] if found is not None else []
        else:
            params = [
                obj
                for obj in self.store.items(res.key, namespace if res.namespaced else None)
                if selectors.selector_matches(ref.get("selector") or {}, _labels(obj) or {})
            ]
        if not params and ref.get("parameterNotFoundAction") == "Deny":
            raise _ConfigError(
                "no params found for policy binding with `Deny` parameterNotFoundAction"
            )
        return [dict(p, apiVersion=api_version, kind=kind_name) for p in params]


def _denial(req: Request, policy: str, binding: str, decision: _Decision) -> ApiError:
    """``admission.NewForbidden`` with the decision's reason and code, as dispatcher.go makes.

    The name is the object's (``Unknown`` on DELETE, which has no object), as
    ``extractResourceName`` finds it.
    """
    message = (
        f"ValidatingAdmissionPolicy '{policy}' with binding '{binding}' denied request: "
        f"{decision.message}"
    )
    res = req.res
    name = str(((req.obj or {}).get("metadata") or {}).get("name") or "Unknown")
    details = {
        "name": name,
        "group": res.group,
        "kind": res.plural,
        "causes": [{"message": message}],
    }
    return ApiError(
        _CODES.get(decision.reason, 422),
        decision.reason,
        f'{res.qualified_plural} "{name}" is forbidden: {message}',
        details,
    )


class _Variables(celtypes.MapType):
    """``variables``: each one evaluated when first used, and may use those before it."""

    def __init__(self, programs: Mapping[Any, _Program], activation: _Activation) -> None:
        super().__init__()  # empty (MapType checks what it is given against typing's ABCs)
        self._programs = programs
        self._activation = activation
        self._values: dict[str, Any] = {}

    def __contains__(self, key: object) -> bool:
        return key in self._programs

    def __getitem__(self, key: Any) -> Any:
        if key not in self._values:
            program = self._programs[key]  # KeyError: CEL's "no such key"
            self._values[key] = _evaluate(program, self._activation)
        # An error is returned as CEL's error value, not raised, so that ``||`` and ``&&``
        # absorb it as cel-go does (``true || error`` is true).
        return self._values[key]


def _request(req: Request, fields: frozenset[str] | None = None) -> dict[str, Any]:
    """The AdmissionRequest CEL sees as ``request`` (Go's omitempty fields left out).

    Its ``uid`` is a fresh random one, made only when ``fields`` (those any program can read;
    None: all) hold it: no expression can tell one it never reads."""
    res = req.res
    kind = {"group": res.group, "version": res.version, "kind": res.kind}
    resource = {"group": res.group, "version": res.version, "resource": res.plural}
    user: dict[str, Any] = {"username": req.user.name}
    if req.user.uid:
        user["uid"] = req.user.uid
    user["groups"] = list(dict.fromkeys(req.user.all_groups))
    if req.user.extra:
        user["extra"] = {k: list(v) for k, v in req.user.extra.items()}
    options: dict[str, Any] = {"kind": _OPTIONS[req.operation], "apiVersion": "meta.k8s.io/v1"}
    if req.dry_run:
        options["dryRun"] = ["All"]
    if req.manager and req.operation != "DELETE":
        options["fieldManager"] = req.manager
    found: dict[str, Any] = {
        "uid": str(uuid.uuid4()) if fields is None or "uid" in fields else "",
        "kind": kind,
        "resource": resource,
        "requestKind": kind,
        "requestResource": resource,
        "name": req.name,
        "namespace": req.namespace,
        "operation": req.operation,
        "userInfo": user,
        "options": options,
        "dryRun": req.dry_run,
    }
    if req.subresource:
        found["subResource"] = found["requestSubResource"] = req.subresource
    return {k: v for k, v in found.items() if v != ""}


#: an update's two sides: the one converted second shares what is unchanged (celtwins)
_TWINS = {"object": "oldObject", "oldObject": "object"}


class _Activation:
    """What the expressions see, each top-level name converted to CEL when an expression first
    names it: as the real server's activation wraps the object lazily (UnstructuredToVal), a
    write that a matchCondition on ``request`` leaves out never converts the object, of an
    object only the fields the policy's programs can read at all are converted, and of an
    update's second side only what differs from the first."""

    def __init__(
        self,
        values: dict[str, Any],
        variables: Mapping[Any, _Program],
        reads: Mapping[str, frozenset[str] | None],
    ) -> None:
        self._values = values
        self._reads = reads
        self._converted: dict[str, Any] = {}
        self._raw: dict[str, Any] = {}  # what was converted (the fields read)
        self.variables = _Variables(variables, self)

    def context(self, names: frozenset[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name in names:
            if name == "variables":
                found[name] = self.variables
                continue
            if name not in self._converted:
                self._converted[name] = self._convert(name)
            found[name] = self._converted[name]
        return found

    def _convert(self, name: str) -> Any:
        value = self._values[name]
        fields = self._reads.get(name)
        if fields is not None and isinstance(value, Mapping):
            value = {k: value[k] for k in fields if k in value}  # all it can see
        self._raw[name] = value
        if value is None:
            return None
        twin = _TWINS.get(name, "")
        if self._converted.get(twin) is not None:  # an update's other side, converted
            return celtwins.like(value, self._raw[twin], self._converted[twin])
        return cel.to_cel(value)


def _activation(
    req: Request,
    param: Mapping[str, Any] | None,
    namespace: Mapping[str, Any] | None,
    compiled: _Compiled,
) -> _Activation:
    values = {
        "object": req.obj,
        "oldObject": req.old,
        "request": _request(req, compiled.reads.get("request")),
        "params": param,
        "namespaceObject": namespace,
    }
    return _Activation(values, compiled.variables, compiled.reads)


def _evaluate(program: _Program, activation: _Activation) -> Any:
    """The value, or a CELEvalError (also when the expression did not compile)."""
    if program.program is None:
        return CELEvalError(program.error or "compilation failed")
    return cel.run(program.program, activation.context(program.names))


def _error_text(program: _Program, result: Any) -> str:
    """What cel.Error says about a failed evaluation (filter.go's wording)."""
    return f"expression '{program.expression}' resulted in error: {cel.eval_error_text(result)}"


def _true(result: Any) -> bool:
    return result is True or (isinstance(result, celtypes.BoolType) and bool(result))


def _conditions(
    conditions: tuple[_Program, ...], activation: _Activation
) -> tuple[str | None, bool]:
    """(error, matched): a false condition skips the policy even when another one errs."""
    errors = []
    for condition in conditions:
        result = _evaluate(condition, activation)
        if isinstance(result, CELEvalError):
            errors.append(_error_text(condition, result))
        elif not _true(result):
            return None, False
    if errors:
        return errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]", False
    return None, True


def _validations(compiled: _Compiled, activation: _Activation, fail: bool) -> list[_Decision]:
    decisions = []
    for item, program, message in compiled.validations:
        result = _evaluate(program, activation)
        if isinstance(result, CELEvalError):
            if fail:
                decisions.append(_Decision(_error_text(program, result)))
            continue
        if _true(result):
            continue
        text = _message(message, activation) or str(item.get("message") or "").strip()
        text = text or f"failed expression: {program.expression.strip()}"
        decisions.append(_Decision(text, str(item.get("reason") or "Invalid")))
    return decisions


def _message(program: _Program | None, activation: _Activation) -> str:
    """messageExpression's value if usable (a string, one line, at most 5 KiB), else ''."""
    if program is None:
        return ""
    result = _evaluate(program, activation)
    if not isinstance(result, str):
        return ""
    text = str(result).strip()
    return text if len(text) <= _MAX_MESSAGE and "\n" not in text else ""
