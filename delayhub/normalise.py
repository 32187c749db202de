"""Turn a back office's own record into the standard request, or say exactly why not."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from .errors import RecordError
from .mapping import FieldSpec, Mapping
from .registry import Registry
from .schemas import error_path, explain, iter_errors
from .thai import parse_date, to_arabic_digits

_PERSONAL = ("applicant.",)
_TRUE = {"1", "true", "yes", "y", "ใช่", "ยินยอม"}
_FALSE = {"0", "false", "no", "n", "ไม่", "ไม่ยินยอม"}
# How back offices write the applicant's language (en-GB, th_TH count by their first part); any
# other word is left for the schema to refuse with the allowed values.
_LANGUAGES = {"th": "th", "tha": "th", "thai": "th", "ไทย": "th", "ภาษาไทย": "th",
              "en": "en", "eng": "en", "english": "en", "อังกฤษ": "en", "ภาษาอังกฤษ": "en"}


@dataclass(frozen=True)
class Problem:
    """Why one record went to quarantine: the standard field and a reason without personal data."""

    field: str
    reason: str


@dataclass
class Outcome:
    record_id: str | None
    raw: dict[str, Any]
    checksum: str
    request: dict[str, Any] | None = None
    problems: list[Problem] | None = None


def checksum(raw: dict[str, Any]) -> str:
    """Of the record's own content: keys a connector adds (``_file``, ``_row``…) do not count, so
    the same application in tomorrow's export is "unchanged"."""
    own = {k: v for k, v in raw.items() if not str(k).startswith("_")}
    canonical = json.dumps(own, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def get_path(record: Any, path: str) -> Any:
    """Value at a dotted path (``applicant.mobile``, ``items.0.id``); None when absent."""
    value = record
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
        if value is None:
            return None
    return value


def national_id_check_digit(first12: str) -> int:
    """The 13th digit of a Thai national ID: (11 − Σ dᵢ·(13−i) mod 11) mod 10."""
    return (11 - sum(int(d) * (13 - i) for i, d in enumerate(first12)) % 11) % 10


def national_id_valid(nid: str) -> bool:
    return bool(re.fullmatch(r"\d{13}", nid)) and national_id_check_digit(nid[:12]) == int(nid[12])


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _transform(name: str, spec: FieldSpec, value: Any, mapping: Mapping) -> Any:
    if spec.map is not None:
        key = str(value).strip()
        if key not in spec.map:
            shown = "" if name.startswith(_PERSONAL) else f"'{key}' "
            raise RecordError(name, f"{shown}is not in the mapping's map (allowed: {', '.join(spec.map)})")
        value = spec.map[key]
        if value is None:
            return None
    kind = spec.transform
    if kind == "text":
        return str(value).strip()
    if kind == "digits":
        return to_arabic_digits(str(value)).strip()
    if kind == "date":
        try:
            return parse_date(value).isoformat()
        except ValueError as exc:
            raise RecordError(name, str(exc)) from None
    if kind == "status":
        word = str(value).strip()
        if word not in mapping.statuses:
            raise RecordError(name, f"status word '{word}' is not in the mapping's statuses "
                                    f"(known: {', '.join(mapping.statuses)})")
        return mapping.statuses[word]
    if kind == "phone":
        digits = re.sub(r"\D", "", to_arabic_digits(str(value)))
        if digits.startswith("66") and len(digits) in (10, 11):
            digits = "0" + digits[2:]
        if not re.fullmatch(r"0\d{8,9}", digits):
            raise RecordError(name, "is not a Thai phone number (expected 0 and 8–9 more digits)")
        return digits
    if kind == "national_id":
        digits = re.sub(r"[\s-]", "", to_arabic_digits(str(value)))
        if not re.fullmatch(r"\d{13}", digits):
            raise RecordError(name, "must have 13 digits")
        if not national_id_valid(digits):
            raise RecordError(name, "check digit is wrong")
        return digits
    if kind == "bool":
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise RecordError(name, f"'{value}' is not yes/no")
    raise RecordError(name, f"unknown transform '{kind}'")  # the connector schema prevents this


def _pauses(raw: dict[str, Any], mapping: Mapping) -> list[dict[str, Any]]:
    spec = mapping.pauses or {}
    items = get_path(raw, spec["path"]) if spec.get("path") else [raw]
    if items is None:
        return []
    if not isinstance(items, list):
        raise RecordError("pauses", f"'{spec['path']}' is not a list")
    out = []
    for i, item in enumerate(items):
        where = f"pauses[{i}]" if spec.get("path") else "pauses"
        start = get_path(item, spec["from"])
        if _blank(start):
            continue
        end = get_path(item, spec["to"]) if spec.get("to") else None
        reason = get_path(item, spec["reason"]) if spec.get("reason") else None
        try:
            pause = {"from": parse_date(start).isoformat(), "to": None if _blank(end) else parse_date(end).isoformat(),
                     "reason": None if _blank(reason) else str(reason).strip()}
        except ValueError as exc:
            raise RecordError(where, str(exc)) from None
        out.append(pause)
    return out


def _set(target: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[leaf] = value


def normalise(raw: dict[str, Any], mapping: Mapping, registry: Registry,
              fetched_at: dt.datetime) -> Outcome:
    """Map one raw record; on failure every problem found is listed, not just the first."""
    record_id = get_path(raw, mapping.id_path)
    record_id = None if _blank(record_id) else str(record_id)
    out = Outcome(record_id, raw, checksum(raw))
    problems: list[Problem] = []
    request: dict[str, Any] = {"agency": dict(mapping.agency)}
    for name, spec in mapping.fields.items():
        value = get_path(raw, spec.path) if spec.path else None
        if _blank(value):
            value = spec.default
        if _blank(value):
            continue
        try:
            _set(request, name, _transform(name, spec, value, mapping))
        except RecordError as exc:
            problems.append(Problem(exc.field, exc.reason))

    if mapping.pauses:
        try:
            pauses = _pauses(raw, mapping)
        except RecordError as exc:
            problems.append(Problem(exc.field, exc.reason))
        else:
            if pauses:
                request["pauses"] = pauses
    manual = registry.manuals.get(request.get("manual_id", ""))
    if request.get("manual_id") and manual is None:
        problems.append(Problem("manual_id", f"manual '{request['manual_id']}' is not in the registry"))
    elif manual is not None:
        owner = registry.department_of(manual.division).code
        if owner != mapping.agency["department"]:
            problems.append(Problem("manual_id", f"manual '{manual.manual_id}' belongs to {owner}, "
                                                 f"not {mapping.agency['department']}"))
        if manual.is_draft:  # known, but no due date can come from it: stored only once it is completed
            problems.append(Problem("manual_id", f"manual '{manual.manual_id}' is a draft: data/registry/manuals.csv "
                                                 f"gives it no processing_days yet, so no due date can be set; "
                                                 f"complete the manual, then the record can be taken"))
        request["agency"].setdefault("division", manual.division)
        request.setdefault("process_code", manual.process_code)
    applicant = request.get("applicant")
    if applicant and isinstance(applicant.get("language"), str):
        word = re.split(r"[-_]", applicant["language"].strip().lower())[0]
        applicant["language"] = _LANGUAGES.get(word, applicant["language"])
    if applicant:
        applicant["channels"] = [c for c, key in (("email", "email"), ("sms", "phone"), ("letter", "address"))
                                 if applicant.get(key)]
    request["source"] = {"connector": mapping.id, "record_id": record_id or "",
                         "fetched_at": fetched_at.isoformat(), "checksum": out.checksum}
    if record_id is None:
        problems.append(Problem(f"(record id: {mapping.id_path})", "the back office's record id is missing"))
    for error in iter_errors("request", request):
        path = error_path(error)
        if any(p.field == path for p in problems):
            continue
        problems.append(Problem(path, explain(error, show_value=not path.startswith(_PERSONAL))))
    if problems:
        out.problems = problems
    else:
        out.request = request
    return out
