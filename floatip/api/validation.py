"""Validation of VirtualIP manifests that reports every problem at once.

The same rules run in three places: ``floatip validate`` before a manifest reaches a cluster,
the operator before it acts on a spec (an invalid one gets ``Ready=False, InvalidSpec``), and
the tests that prove the CRD's schema agrees. Each problem names the field path the way
``kubectl`` prints it (``spec.preferredNodes[1]``) and says what to write instead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

import pydantic
import pydantic_core

from floatip.api import model, names

_M = TypeVar("_M", bound=pydantic.BaseModel)


class Problem(NamedTuple):
    """One thing wrong with a manifest: where, and what to do about it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


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


def validate_manifest(raw: object) -> list[Problem]:
    """Every problem with a whole VirtualIP manifest (apiVersion, kind, metadata, spec)."""
    if not isinstance(raw, Mapping):
        return [Problem("", f"a manifest must be an object (got {_kind(raw)})")]
    problems: list[Problem] = []
    if raw.get("apiVersion") != names.API_VERSION:
        problems.append(
            Problem("apiVersion", f"must be {names.API_VERSION} (got {raw.get('apiVersion')!r})")
        )
    if raw.get("kind") != names.KIND:
        problems.append(Problem("kind", f"must be {names.KIND} (got {raw.get('kind')!r})"))
    metadata = raw.get("metadata")
    if not isinstance(metadata, Mapping):
        problems.append(Problem("metadata", "must be an object with a 'name'"))
    else:
        problems.extend(_model_problems(model.ObjectMeta, metadata, "metadata"))
    if "spec" not in raw:
        problems.append(Problem("spec", "is required: a VirtualIP needs at least spec.address"))
    else:
        problems.extend(validate_spec(raw["spec"]))
    return problems


def is_virtualip(raw: object) -> bool:
    """Whether a parsed YAML document claims to be a VirtualIP (of any version)."""
    return (
        isinstance(raw, Mapping)
        and raw.get("kind") == names.KIND
        and str(raw.get("apiVersion", "")).startswith(f"{names.GROUP}/")
    )


# --- pydantic's errors as problems ---------------------------------------------------------


def _validated(cls: type[_M], raw: object) -> _M:
    """Validate as the API server would see the object: JSON types, no lax coercion.

    Going through JSON keeps ``"3"`` from passing as an integer and ``1`` as a boolean (the
    CRD's schema refuses both), while enums and lists still come from plain JSON values.
    """
    return cls.model_validate_json(json.dumps(raw, default=str), strict=True)


def _model_problems(cls: type[pydantic.BaseModel], raw: object, path: str) -> list[Problem]:
    try:
        _validated(cls, raw)
    except pydantic.ValidationError as exc:
        return [_problem(error, path) for error in exc.errors(include_url=False)]
    return []


def _problem(error: pydantic_core.ErrorDetails, path: str) -> Problem:
    return Problem(_join_path(path, error["loc"]), _message(error))


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


def _message(error: pydantic_core.ErrorDetails) -> str:
    kind = error["type"]
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    given = error.get("input")
    templates: dict[str, str] = {
        "missing": "is required",
        "extra_forbidden": "is not a field of VirtualIP; remove it or check its spelling",
        "greater_than_equal": "must be at least {ge} (got {input!r})",
        "less_than_equal": "must be at most {le} (got {input!r})",
        "string_too_long": "must be at most {max_length} characters",
        "string_too_short": "must not be empty",
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
    check = raw.get("healthCheck")
    if isinstance(check, Mapping):
        if "path" in check and check.get("type") != "http":
            problems.append(
                Problem(
                    f"{path}.healthCheck.path",
                    "path applies to http health checks only; remove it or set type: http",
                )
            )
        interval, timeout = check.get("intervalSeconds"), check.get("timeoutSeconds")
        if isinstance(interval, int) and isinstance(timeout, int) and timeout > interval:
            problems.append(
                Problem(
                    f"{path}.healthCheck.timeoutSeconds",
                    f"must not exceed intervalSeconds ({timeout} > {interval}): a check must "
                    "end before the next one starts",
                )
            )
    return problems


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__
