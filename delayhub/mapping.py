"""Connector mappings: one YAML file per agency connector in ``mappings/``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .config import mappings_dir
from .cursors import parse_window
from .errors import ConfigError
from .schemas import error_path, explain, iter_errors


@dataclass(frozen=True)
class FieldSpec:
    path: str | None
    transform: str = "text"
    map: dict[str, str | None] | None = None
    default: Any = None


@dataclass(frozen=True)
class Mapping:
    id: str
    title: str
    agency: dict[str, str]
    schedule: str
    tags: tuple[str, ...]
    source: dict[str, Any]
    id_path: str
    fields: dict[str, FieldSpec]
    statuses: dict[str, str]
    delay_reasons: dict[str, Any]
    pauses: dict[str, str] | None
    lookback: dt.timedelta | None
    file: Path
    text: str
    # No new or changed record for longer than this flags the source as stale (delayhub.staleness).
    stale_after: dt.timedelta | None = None

    @property
    def dag_id(self) -> str:
        return dag_id_for(self.id)

    def default_delay_reason(self, process_code: str | None) -> str | None:
        by_process = self.delay_reasons.get("by_process") or {}
        return by_process.get(process_code or "") or self.delay_reasons.get("default")


def dag_id_for(connector_id: str) -> str:
    """The ingest DAG of a connector id (which is also its mappings file's name)."""
    return f"ingest_{connector_id.replace('-', '_')}"


def schema_problems(data: object, path: Path) -> list[tuple[str, str]]:
    """Every (dotted path, problem) the connector schema and the file-name rule find."""
    if not isinstance(data, dict):
        return [("", "must be a YAML mapping of keys to values")]
    found = [(error_path(e), explain(e)) for e in iter_errors("connector", data)]
    if not found and path.stem != data["id"]:
        found.append(("id", f"'{data['id']}' must match the file name '{path.stem}'"))
    return found


def load_mapping(path: Path) -> Mapping:
    """Read and check one mappings file; errors name the file and the dotted field path."""
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(_shown(path), "", f"not valid YAML: {exc}") from exc
    problems = schema_problems(data, path)
    if problems:
        where, problem = problems[0]
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise ConfigError(_shown(path), where, problem + more)
    assert isinstance(data, dict)
    fields = {}
    for name, spec in data["fields"].items():
        if isinstance(spec, str):
            spec = {"path": spec}
        fields[name] = FieldSpec(spec.get("path"), spec.get("transform", "text"), spec.get("map"),
                                 spec.get("default"))
    return Mapping(
        id=data["id"], title=data["title"], agency=data["agency"],
        schedule=data.get("schedule", "@hourly"), tags=tuple(data.get("tags", [])),
        source=data["source"], id_path=data["record"]["id_path"], fields=fields,
        statuses=data["statuses"], delay_reasons=data.get("delay_reasons", {}), pauses=data.get("pauses"),
        lookback=parse_window(data["lookback"]) if data.get("lookback") else None, file=path, text=text,
        stale_after=parse_window(data["stale_after"]) if data.get("stale_after") else None,
    )


def mapping_files(folder: Path | None = None) -> list[Path]:
    """Mapping files in a stable order, so DAGs are generated the same way every parse."""
    return sorted((folder or mappings_dir()).glob("*.yaml"))


def load_all(folder: Path | None = None, dag_id: str | None = None) -> tuple[list[Mapping], list[ConfigError]]:
    """Every valid mapping, and the errors of the broken ones: one bad file blocks no other.

    With ``dag_id``, only the file of that ingest DAG is read (a task re-parses its DAG file, and
    reading and checking 500 mappings to run one would cost more than the run's own parse).
    """
    good, bad = [], []
    for path in mapping_files(folder):
        if dag_id is not None and dag_id_for(path.stem) != dag_id:
            continue
        try:
            good.append(load_mapping(path))
        except ConfigError as exc:
            bad.append(exc)
    return good, bad


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
