"""Property tests of the VirtualIP model (hypothesis).

Proves: every valid spec round-trips through its JSON and YAML forms unchanged; the stored
form is a fixed point; arbitrary JSON (random values, and random values under the real field
names) never makes validation raise anything but a validation error.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from floatip.api import validation

from .strategies import json_values, spec_keys, valid_specs


@given(valid_specs())
def test_valid_specs_are_valid(spec: dict[str, Any]) -> None:
    assert validation.validate_spec(spec) == []


@given(valid_specs())
def test_valid_specs_round_trip_through_json_and_yaml(spec: dict[str, Any]) -> None:
    parsed = validation.parse_spec(spec)
    stored = parsed.to_json()
    assert validation.parse_spec(json.loads(json.dumps(stored))) == parsed
    assert validation.parse_spec(yaml.safe_load(yaml.safe_dump(stored))) == parsed
    assert validation.parse_spec(stored).to_json() == stored
    # Nothing the author wrote is lost or changed by defaulting.
    for key, value in spec.items():
        assert stored[key] == value or isinstance(value, dict)


@settings(max_examples=300)
@given(json_values)
def test_arbitrary_json_only_ever_yields_problems(raw: object) -> None:
    problems = validation.validate_spec(raw)
    assert all(isinstance(p, validation.Problem) for p in problems)
    try:
        validation.parse_spec(raw)
    except validation.InvalidSpecError as exc:
        assert exc.problems
    assert validation.validate_manifest(raw) is not None


@settings(max_examples=300)
@given(st.dictionaries(spec_keys, json_values, max_size=6))
def test_arbitrary_values_under_real_field_names_only_yield_problems(raw: dict[str, Any]) -> None:
    problems = validation.validate_spec(raw)
    if problems:
        try:
            validation.parse_spec(raw)
        except validation.InvalidSpecError as exc:
            assert list(exc.problems) == problems
        else:
            raise AssertionError("parse_spec accepted a spec with problems")
    else:
        validation.parse_spec(raw)
