"""The JSON Schemas in ``schemas/`` and readable messages for their errors."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from .config import schemas_dir


@cache
def _registry() -> Registry:
    """Every schema under schemas/, by its $id, so one may $ref another (sources/<type>.schema.json)."""
    resources = []
    for path in sorted(schemas_dir().rglob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        resources.append((schema["$id"], Resource.from_contents(schema, default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


@cache
def validator(name: str) -> Draft202012Validator:
    """``validator("request")`` checks a standard request; ``validator("connector")`` a mapping."""
    schema = json.loads((schemas_dir() / f"{name}.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema, registry=_registry(), format_checker=FormatChecker())


def _deepest(error: ValidationError) -> ValidationError:
    """For oneOf/anyOf, the branch error that got furthest into the value."""
    while error.context:
        error = max(error.context, key=lambda e: (len(e.absolute_path), e.validator != "const"))
    return error


def error_path(error: ValidationError) -> str:
    """Dotted path of the failing value; for a missing key, the key itself."""
    error = _deepest(error)
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        parts.append(missing)
    return ".".join(p for p in parts if p) or "(record)"


def explain(error: ValidationError, *, show_value: bool = True) -> str:
    """One sentence a person can act on. ``show_value=False`` keeps personal data out of it."""
    best = _deepest(error)
    kind = best.validator
    if kind == "const" and best.absolute_path and best.absolute_path[-1] == "type":
        options = sorted({c.validator_value for c in _walk(error) if c.validator == "const"})
        return f"{best.instance!r} is not a known type (available: {', '.join(options)})"
    if kind == "required":
        return "is required but missing"
    if kind == "enum":
        allowed = ", ".join(repr(v) for v in best.validator_value)
        shown = f"{best.instance!r} " if show_value else ""
        return f"{shown}is not one of the allowed values: {allowed}"
    if kind == "additionalProperties":
        return best.message.replace("Additional properties are not allowed", "unknown key(s)")
    if not show_value:
        return {"pattern": "does not have the expected form", "format": "is not a valid value",
                "type": f"must be {best.validator_value}"}.get(kind, f"fails the '{kind}' rule")
    return best.message


def _walk(error: ValidationError) -> list[ValidationError]:
    out = [error]
    for child in error.context or []:
        out.extend(_walk(child))
    return out


def iter_errors(name: str, instance: Any) -> list[ValidationError]:
    return sorted(validator(name).iter_errors(instance), key=lambda e: list(e.absolute_path))
