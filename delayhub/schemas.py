"""The JSON Schemas in ``schemas/`` and readable messages for their errors."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from .config import schemas_dir


@lru_cache(maxsize=None)
def validator(name: str) -> Draft202012Validator:
    """``validator("request")`` checks a standard request; ``validator("connector")`` a mapping."""
    schema = json.loads((schemas_dir() / f"{name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def error_path(error: ValidationError) -> str:
    """Dotted path of the failing value; for a missing key, the key itself."""
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        parts.append(missing)
    return ".".join(p for p in parts if p) or "(record)"


def explain(error: ValidationError, *, show_value: bool = True) -> str:
    """One sentence a person can act on. ``show_value=False`` keeps personal data out of it."""
    best = error
    if error.context:  # oneOf/anyOf: report the branch that got furthest
        best = max(error.context, key=lambda e: len(e.absolute_path))
    kind = best.validator
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


def iter_errors(name: str, instance: Any) -> list[ValidationError]:
    return sorted(validator(name).iter_errors(instance), key=lambda e: list(e.absolute_path))
