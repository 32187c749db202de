"""What an agency's IT team runs before its connector goes live, without a running Airflow:
``delayhub connector validate | test | preview mappings/X.yaml``."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

import connectors

from . import config
from .connections import secrets_from_env
from .errors import DelayhubError
from .mapping import Mapping, load_mapping, schema_problems
from .normalise import normalise
from .pdpa import masked_applicant
from .registry import Registry
from .store import HubStore

NEEDS_CONNECTION = {"rest", "soap", "odbc", "push"}
REQUIRED_FIELDS = ("request_no", "manual_id", "submitted_on", "status")


@dataclass(frozen=True)
class Finding:
    level: str  # error | warning
    line: int | None
    path: str
    message: str

    def render(self, file: str) -> str:
        where = f"{file}:{self.line}" if self.line else file
        field = f" {self.path}:" if self.path else ""
        return f"{where}: {self.level}:{field} {self.message}"


def _line_of(text: str, dotted: str) -> int | None:
    """The line of a dotted path in the YAML text (its parent's line when the key is missing)."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = node.start_mark.line + 1 if node else None
    parts = [p for p in dotted.split(".") if p]
    while parts:
        if isinstance(node, yaml.MappingNode):
            # keys may hold dots themselves ("agency.division"): take the longest that matches
            for n in range(len(parts), 0, -1):
                key_text = ".".join(parts[:n])
                hit = next(((k, v) for k, v in node.value if k.value == key_text), None)
                if hit:
                    line, node, parts = hit[0].start_mark.line + 1, hit[1], parts[n:]
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and parts[0].isdigit() and int(parts[0]) < len(node.value):
            node = node.value[int(parts[0])]
            line, parts = node.start_mark.line + 1, parts[1:]
        else:
            return line
    return line


def validate(path: Path, registry: Registry | None = None) -> list[Finding]:
    """Schema problems, then problems of meaning (agency codes, required fields, connection)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return [Finding("error", None, "", f"cannot read the file: {exc.strerror}")]
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", exc)
        return [Finding("error", mark.line + 1 if mark else None, "", f"not valid YAML: {problem}")]
    found = [Finding("error", _line_of(text, p), p, m) for p, m in schema_problems(data, path)]
    if found:
        return found
    registry = registry or Registry.load()

    def err(where: str, message: str, level: str = "error") -> None:
        found.append(Finding(level, _line_of(text, where), where, message))

    agency, codes = data["agency"], registry.agencies
    ministry, department = codes.get(agency["ministry"]), codes.get(agency["department"])
    if ministry is None or ministry.level != "ministry":
        err("agency.ministry", f"'{agency['ministry']}' is not a ministry in data/registry/agencies.json")
    if department is None or department.level != "department":
        err("agency.department", f"'{agency['department']}' is not a department in data/registry/agencies.json")
    elif department.parent != agency["ministry"]:
        err("agency.department", f"'{department.code}' belongs to ministry {department.parent}, "
                                 f"not {agency['ministry']}")
    divisions = {c for c, a in codes.items() if a.level == "division" and a.parent == agency["department"]}
    division_field = data["fields"].get("agency.division")
    if isinstance(division_field, dict) and division_field.get("map"):
        for value in division_field["map"].values():
            if value is not None and value not in divisions:
                err("fields.agency.division.map", f"'{value}' is not a division of {agency['department']} "
                                                  f"(divisions: {', '.join(sorted(divisions)) or 'none'})")
    for name in REQUIRED_FIELDS:
        if name not in data["fields"]:
            err("fields", f"'{name}' is not mapped: every request needs it")
    source = data["source"]
    if source["type"] in NEEDS_CONNECTION and not source.get("connection_id"):
        err("source", f"a {source['type']} source needs connection_id (the Airflow Connection with its secrets)")
    if "completed" not in data["statuses"].values():
        err("statuses", "no status word maps to 'completed': finished requests would never stop their "
                        "delay notices", "warning")
    if not (data.get("delay_reasons") or {}).get("default"):
        err("delay_reasons", "no default reason: a delay notice whose record gives no reason will be held "
                             "until the back office supplies one", "warning")
    return found


@contextlib.contextmanager
def _state() -> Iterator[HubStore]:
    """The hub store for connectors that keep state (file ledger, push inbox), else a scratch one."""
    url = config.database_url()
    if "DELAYHUB_DATABASE_URL" not in os.environ and not (config.var_dir() / "delayhub.db").exists():
        with tempfile.TemporaryDirectory() as tmp:
            store = HubStore.open(f"sqlite:///{tmp}/scratch.db")
            try:
                yield store
            finally:
                store.close()
        return
    store = HubStore.open(url)
    try:
        yield store
    finally:
        store.close()


_CATEGORIES = [
    ("DNS", r"NameResolution|Name or service not known|nodename nor servname|getaddrinfo|Temporary failure in name"),
    ("TLS", r"SSL|certificate|TLS"),
    ("authentication", r"refused our (client )?credentials|HTTP 401|Unauthori[sz]ed|[Aa]uthentication|login failed"),
    ("permission", r"HTTP 403|[Pp]ermission denied|[Ff]orbidden|not writable|not readable"),
    ("timeout", r"[Tt]imed? ?out|Timeout"),
    ("connection refused", r"[Cc]onnection refused|NewConnectionError|cannot connect"),
    ("configuration", r"is not defined|needs|holds no|has no host|driver"),
]


def classify(message: str) -> str:
    return next((name for name, pattern in _CATEGORIES if re.search(pattern, message)), "error")


def test(path: Path, out: TextIO) -> bool:
    mapping = load_mapping(path)
    try:
        with _state() as state:
            # one quick try: a test that retries a DNS failure for a minute helps nobody
            source = {**mapping.source, "max_retries": 1, "backoff": 0.2}
            connector = connectors.build(source, secrets_from_env(mapping.source.get("connection_id")),
                                         state, mapping.id)
            ok, message = connector.check()
    except DelayhubError as exc:
        ok, message = False, str(exc)
    if ok:
        print(f"OK ({mapping.source['type']}): {message}", file=out)
    else:
        print(f"FAILED — {classify(message)}: {message}", file=out)
    return ok


def _limited(source: dict[str, Any], limit: int) -> dict[str, Any]:
    """The source asking for no more than ``limit`` records a page, where the source allows it."""
    source = dict(source)
    paginator = dict(source.get("paginator") or {})
    if paginator.get("type") == "page_number" and paginator.get("page_size"):
        source["paginator"] = {**paginator, "page_size": min(limit, int(paginator["page_size"]))}
    for key in ("batch_size", "page_size"):
        if key in source or source.get("type") in ("odbc", "push"):
            source[key] = min(limit, int(source.get(key, limit)))
    return source


def preview(path: Path, limit: int, out: TextIO) -> int:
    """Read up to ``limit`` records and show them mapped; writes nothing (no cursor, no ledger)."""
    mapping = load_mapping(path)
    registry, now = Registry.load(), config.now()
    shown = bad = 0
    print(f"{path}: up to {limit} record(s) from {mapping.source['type']} source — nothing is written", file=out)
    with _state() as state:
        connector = connectors.build(_limited(mapping.source, limit),
                                     secrets_from_env(mapping.source.get("connection_id")), state, mapping.id)
        pages = connector.read(None)
        try:
            for page in pages:
                for reject in page.rejects:
                    bad += 1
                    print(f"  ✗ {reject.source_id}: would be quarantined whole — {reject.field}: {reject.reason}",
                          file=out)
                for raw in page.records:
                    if shown + bad >= limit:
                        break
                    outcome = normalise(raw, mapping, registry, now)
                    if outcome.request is None:
                        bad += 1
                        for p in outcome.problems or []:
                            print(f"  ✗ {outcome.record_id or '?'}: would be quarantined — {p.field}: {p.reason}",
                                  file=out)
                        continue
                    shown += 1
                    print(f"  ✓ {_line(outcome.request)}", file=out)
                if shown + bad >= limit:
                    break
        finally:
            close = getattr(pages, "close", None)
            if close:
                close()  # stop the generator: no further pages are fetched
    print(f"{shown + bad} record(s) read: {shown} would be stored, {bad} quarantined", file=out)
    return shown + bad


def _line(request: dict[str, Any]) -> str:
    applicant = masked_applicant({k: v for k, v in (request.get("applicant") or {}).items() if k != "channels"})
    who = " · ".join(str(v) for k, v in applicant.items() if v and k != "consent")
    dates = f"ยื่น {request['submitted_on']}"
    if request.get("completed_on"):
        dates += f" · เสร็จ {request['completed_on']}"
    return (f"{request['source']['record_id']} → {request['request_no']} · {request['agency'].get('division', '')} · "
            f"{request['manual_id']} · {dates} · {request['status']}" + (f"\n      ผู้ยื่น: {who}" if who else ""))


__all__ = ["Finding", "Mapping", "classify", "preview", "test", "validate"]
