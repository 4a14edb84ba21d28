"""Validation of VirtualIP and VirtualIPPool manifests, and of what a LoadBalancer Service asks
of floatip, that reports every problem at once.

The same rules run in three places: ``floatip validate`` before a manifest reaches a cluster,
the operator before it acts on a spec (an invalid one gets ``Ready=False, InvalidSpec``), and
the tests that prove the CRD's schema agrees. Each problem names the field path the way
``kubectl`` prints it (``spec.preferredNodes[1]``) and says what to write instead.

A Service is judged by what floatip reads of it (`servicerequests`), exactly as the operator
will: the mistakes it would report as ``AllocationFailed`` (``InvalidRequest``) on a Service it
serves, and floatip's annotations on a Service it does not serve, which it would ignore.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, TypeGuard, TypeVar

import pydantic
import pydantic_core

from floatip.api import model, names, servicerequests, services

_M = TypeVar("_M", bound=pydantic.BaseModel)


class Problem(NamedTuple):
    """One thing wrong with a manifest: where, and what to do about it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class InvalidSpecError(ValueError):
    """A spec that floatip cannot act on; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(problem) for problem in self.problems))


def parse_spec(raw: object) -> model.VirtualIPSpec:
    """The spec as a model, or :class:`InvalidSpecError` with every problem found."""
    problems = validate_spec(raw)
    if problems:
        raise InvalidSpecError(problems)
    return _validated(model.VirtualIPSpec, raw)


def validate_spec(raw: object, *, path: str = "spec") -> list[Problem]:
    """Every problem with a VirtualIP ``spec`` (an empty list when it is valid)."""
    if not isinstance(raw, Mapping):
        return [Problem(path, f"must be an object with at least 'address' (got {_kind(raw)})")]
    problems = _model_problems(model.VirtualIPSpec, raw, path)
    problems.extend(_cross_field_problems(raw, path))
    return problems


def parse_pool_spec(raw: object) -> model.VirtualIPPoolSpec:
    """A VirtualIPPool spec as a model, or :class:`InvalidSpecError` with every problem."""
    problems = validate_pool_spec(raw)
    if problems:
        raise InvalidSpecError(problems)
    return _validated(model.VirtualIPPoolSpec, raw)


def validate_pool_spec(raw: object, *, path: str = "spec") -> list[Problem]:
    """Every problem with a VirtualIPPool ``spec`` (an empty list when it is valid)."""
    if not isinstance(raw, Mapping):
        return [Problem(path, f"must be an object with at least 'addresses' (got {_kind(raw)})")]
    problems = _model_problems(model.VirtualIPPoolSpec, raw, path, kind=names.POOL_KIND)
    template = raw.get("template")
    if isinstance(template, Mapping):
        problems.extend(
            _health_check_problems(template.get("healthCheck"), f"{path}.template.healthCheck")
        )
    return problems


def validate_manifest(raw: object) -> list[Problem]:
    """Every problem with a whole VirtualIP manifest (apiVersion, kind, metadata, spec)."""
    return _manifest_problems(
        raw, names.KIND, validate_spec, "a VirtualIP needs at least spec.address"
    )


def validate_pool_manifest(raw: object) -> list[Problem]:
    """Every problem with a whole VirtualIPPool manifest (apiVersion, kind, metadata, spec)."""
    return _manifest_problems(
        raw, names.POOL_KIND, validate_pool_spec, "a VirtualIPPool needs at least spec.addresses"
    )


def _manifest_problems(
    raw: object, kind: str, spec_problems: Callable[[object], list[Problem]], needs: str
) -> list[Problem]:
    if not isinstance(raw, Mapping):
        return [Problem("", f"a manifest must be an object (got {_kind(raw)})")]
    problems: list[Problem] = []
    if raw.get("apiVersion") != names.API_VERSION:
        problems.append(
            Problem("apiVersion", f"must be {names.API_VERSION} (got {raw.get('apiVersion')!r})")
        )
    if raw.get("kind") != kind:
        problems.append(Problem("kind", f"must be {kind} (got {raw.get('kind')!r})"))
    metadata = raw.get("metadata")
    if not isinstance(metadata, Mapping):
        problems.append(Problem("metadata", "must be an object with a 'name'"))
    else:
        problems.extend(_model_problems(model.ObjectMeta, metadata, "metadata"))
    if "spec" not in raw:
        problems.append(Problem("spec", f"is required: {needs}"))
    else:
        problems.extend(spec_problems(raw["spec"]))
    return problems


#: The kinds ``floatip validate`` checks, with the validator of each whole manifest.
MANIFEST_VALIDATORS: dict[str, Callable[[object], list[Problem]]] = {
    names.KIND: validate_manifest,
    names.POOL_KIND: validate_pool_manifest,
}


SERVICE_KIND = "Service"
#: The annotations people write on a Service for floatip (`services`).
SERVICE_ANNOTATIONS = (
    services.ADDRESSES_ANNOTATION,
    services.POOL_ANNOTATION,
    services.SHARING_KEY_ANNOTATION,
)


def is_service(raw: object) -> TypeGuard[Mapping[str, Any]]:
    """Whether a parsed YAML document claims to be a core/v1 Service."""
    return (
        isinstance(raw, Mapping)
        and raw.get("apiVersion") == "v1"
        and raw.get("kind") == SERVICE_KIND
    )


def concerns_floatip(raw: object) -> bool:
    """Whether a Service is floatip's to judge: one floatip serves (``type: LoadBalancer``, its
    class or none, as the chart's ``services.defaultClass`` has it), or one carrying floatip's
    annotations."""
    return is_service(raw) and (_served(raw) or bool(_floatip_annotations(raw)))


def validate_service_manifest(raw: object) -> list[Problem]:
    """Every problem floatip would find in a Service: what it asks for that cannot be met as
    written, or floatip's annotations on a Service floatip would not serve."""
    if not isinstance(raw, Mapping):
        return [Problem("", f"a manifest must be an object (got {_kind(raw)})")]
    metadata = raw.get("metadata")
    if not isinstance(metadata, Mapping) or not (
        metadata.get("name") or metadata.get("generateName")
    ):
        return [Problem("metadata.name", "is required: a Service needs a name")]
    if not _served(raw):
        written = ", ".join(_floatip_annotations(raw))
        return [
            Problem(
                "metadata.annotations",
                f"{written}: floatip reads these only on a Service of spec.type "
                f"{services.LOAD_BALANCER} whose spec.loadBalancerClass is {services.CLASS} or "
                "unset: make it one, or remove the annotations",
            )
        ]
    return [Problem("", problem) for problem in servicerequests.problems(raw)]


def _served(raw: Mapping[str, Any]) -> bool:
    return servicerequests.is_floatips(raw, default_class=True)


def _floatip_annotations(raw: Mapping[str, Any]) -> list[str]:
    metadata = raw.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    if not isinstance(annotations, Mapping):
        return []
    return [name for name in SERVICE_ANNOTATIONS if name in annotations]


def floatip_kind(raw: object) -> str | None:
    """The kind a parsed YAML document claims, when it is one of floatip's (of any version)."""
    if not isinstance(raw, Mapping) or not str(raw.get("apiVersion", "")).startswith(
        f"{names.GROUP}/"
    ):
        return None
    kind = raw.get("kind")
    return kind if isinstance(kind, str) and kind in MANIFEST_VALIDATORS else None


def is_virtualip(raw: object) -> bool:
    """Whether a parsed YAML document claims to be a VirtualIP (of any version)."""
    return floatip_kind(raw) == names.KIND


def is_virtualippool(raw: object) -> bool:
    """Whether a parsed YAML document claims to be a VirtualIPPool (of any version)."""
    return floatip_kind(raw) == names.POOL_KIND


# --- pydantic's errors as problems ---------------------------------------------------------


def _validated(cls: type[_M], raw: object) -> _M:
    """Validate as the API server would see the object: JSON types, no lax coercion.

    Going through JSON keeps ``"3"`` from passing as an integer and ``1`` as a boolean (the
    CRD's schema refuses both), while enums and lists still come from plain JSON values.
    """
    return cls.model_validate_json(json.dumps(raw, default=str), strict=True)


def _model_problems(
    cls: type[pydantic.BaseModel], raw: object, path: str, *, kind: str = names.KIND
) -> list[Problem]:
    try:
        _validated(cls, raw)
    except pydantic.ValidationError as exc:
        return [
            _problem(error, path, kind)
            for error in exc.errors(include_url=False)
            if not _counts_invalid_items(error)
        ]
    return []


def _counts_invalid_items(error: pydantic_core.ErrorDetails) -> bool:
    """A list "too short" only because items of it are invalid (reported on their own)."""
    given, ctx = error.get("input"), error.get("ctx") or {}
    return (
        error["type"] == "too_short"
        and isinstance(given, list | tuple)
        and len(given) >= int(ctx.get("min_length", 0))
    )


def _problem(error: pydantic_core.ErrorDetails, path: str, kind: str) -> Problem:
    return Problem(_join_path(path, error["loc"]), _message(error, kind))


def _join_path(base: str, loc: tuple[int | str, ...]) -> str:
    # A bad map key comes as (..., key, "[key]"): the path stops at the map, as kubectl's does.
    if loc and loc[-1] == "[key]":
        loc = loc[:-2]
    path = base
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def _message(error: pydantic_core.ErrorDetails, object_kind: str) -> str:
    kind = error["type"]
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    given = error.get("input")
    templates: dict[str, str] = {
        "missing": "is required",
        "extra_forbidden": f"is not a field of {object_kind}; remove it or check its spelling",
        "greater_than_equal": "must be at least {ge} (got {input!r})",
        "less_than_equal": "must be at most {le} (got {input!r})",
        "string_too_long": "must be at most {max_length} characters",
        "string_too_short": "must not be empty",
        "too_short": "must have at least {min_length} item(s)",
        "too_long": "must have at most {max_length} items",
        "string_pattern_mismatch": "must match the pattern {pattern} (got {input!r})",
        "int_type": "must be an integer (got {input!r})",
        "int_parsing": "must be an integer (got {input!r})",
        "int_from_float": "must be a whole number (got {input!r})",
        "bool_type": "must be true or false (got {input!r})",
        "bool_parsing": "must be true or false (got {input!r})",
        "string_type": "must be a string (got {input!r})",
        "enum": "must be one of {expected} (got {input!r})",
        "literal_error": "must be {expected} (got {input!r})",
        "model_type": "must be an object",
        "model_attributes_type": "must be an object",
        "dict_type": "must be an object of string keys and values",
        "tuple_type": "must be a list",
        "list_type": "must be a list",
    }
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    template = templates.get(kind)
    if template is None:
        return str(error["msg"])
    try:
        return template.format(input=given, **ctx)
    except (KeyError, IndexError):
        return str(error["msg"])


# --- rules across fields (checked on the raw object, so they show with other problems) ---


def _cross_field_problems(raw: Mapping[str, Any], path: str) -> list[Problem]:
    problems: list[Problem] = []
    preferred = raw.get("preferredNodes")
    if raw.get("preempt") is True and not preferred:
        problems.append(
            Problem(
                f"{path}.preempt",
                "preempt needs preferredNodes: it returns the address to the first healthy "
                "preferred node; list them or remove preempt",
            )
        )
    problems.extend(_health_check_problems(raw.get("healthCheck"), f"{path}.healthCheck"))
    return problems


def _health_check_problems(check: object, path: str) -> list[Problem]:
    """The rules across a health check's fields (a VirtualIP's, or a pool's template's)."""
    if not isinstance(check, Mapping):
        return []
    problems: list[Problem] = []
    if "path" in check and check.get("type") != "http":
        problems.append(
            Problem(
                f"{path}.path",
                "path applies to http health checks only; remove it or set type: http",
            )
        )
    interval, timeout = check.get("intervalSeconds"), check.get("timeoutSeconds")
    if isinstance(interval, int) and isinstance(timeout, int) and timeout > interval:
        problems.append(
            Problem(
                f"{path}.timeoutSeconds",
                f"must not exceed intervalSeconds ({timeout} > {interval}): a check must "
                "end before the next one starts",
            )
        )
    return problems


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__
