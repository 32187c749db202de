"""The survey's questions, as files: the OPDC's standard set ``data/survey/standard.yaml`` and each agency's
own questions ``data/survey/agencies/<AGENCY>.yaml`` (at most three). Every mistake is reported with the file
and the field (``ConfigError``), before anything is stored.

Both are versioned. ``sync`` keeps each file's version as a row of ``survey_question_sets``: a new version
becomes a new row, an unchanged file makes none (its digest matches the stored one), and a changed file that
kept its version number is refused, so an answer's pinned version always means the wording it was given.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import config
from ..errors import ConfigError
from ..registry import Registry
from ..store.models import SurveyQuestionSet
from .daily import insert_for

OPDC = "OPDC"  # owner of the standard set
SURVEY_ENV = "DELAYHUB_SURVEY"  # another folder for the question files (tests)
# The standard set's questions are the answer table's columns: their ids and kinds are fixed.
STANDARD = {"overall": "scale", "speed": "scale", "courtesy": "scale", "clarity": "scale", "comment": "text"}
SCALED = ("overall", "speed", "courtesy", "clarity")
AGENCY_KINDS = ("scale", "yes_no", "short_text")
MAX_AGENCY_QUESTIONS = 3
COMMENT_MAX = (1, 2000)
SHORT_TEXT_MAX = (1, 500)
DEFAULT_SHORT_TEXT = 200
LINK_DAYS = (1, 90)
_ID = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,39}$")


@dataclass(frozen=True)
class Question:
    id: str
    kind: str  # scale (1–5) | yes_no | text (the comment) | short_text
    text: Mapping[str, str]  # th, en
    required: bool = False
    max_length: int | None = None  # text kinds

    def label(self, lang: str) -> str:
        return self.text.get(lang) or self.text["th"]

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "kind": self.kind, "text": dict(self.text), "required": self.required}
        if self.max_length is not None:
            out["max_length"] = self.max_length
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Question:
        return cls(data["id"], data["kind"], dict(data["text"]), bool(data.get("required")), data.get("max_length"))


@dataclass(frozen=True)
class QuestionSet:
    owner: str  # OPDC or the agency's code
    version: int
    questions: tuple[Question, ...]
    source: str  # the file, for messages

    @property
    def digest(self) -> str:
        raw = json.dumps([q.as_json() for q in self.questions], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(raw.encode()).hexdigest()

    def get(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)


@dataclass(frozen=True)
class SurveyFiles:
    standard: QuestionSet
    link_days: int  # the OPDC's setting: how long an invitation's link works
    agencies: Mapping[str, QuestionSet] = field(default_factory=dict)

    def for_agency(self, agency: str, registry: Registry | None = None) -> QuestionSet | None:
        """The agency's own questions; a division without a file of its own asks its department's."""
        found = self.agencies.get(agency)
        if found is None and registry is not None and agency in registry.agencies:
            found = self.agencies.get(registry.department_of(agency).code)
        return found


@dataclass(frozen=True)
class StoredSet:
    """A question set as stored: what an answer pins (``id``) and the wording it was given."""

    id: int
    owner: str
    version: int
    questions: tuple[Question, ...]


def survey_dir() -> Path:
    return Path(os.environ.get(SURVEY_ENV) or config.project_root() / "data" / "survey")


# --- reading the files ---------------------------------------------------------------------------------

def load(folder: Path | None = None, registry: Registry | None = None) -> SurveyFiles:
    """The standard set, the OPDC's settings and every agency's own questions. The first mistake stops it."""
    folder = folder or survey_dir()
    data = _read(folder / "standard.yaml")
    standard, link_days = parse_standard(data, str(folder / "standard.yaml"))
    agencies: dict[str, QuestionSet] = {}
    for path in sorted((folder / "agencies").glob("*.yaml")):
        found = parse_agency(_read(path), str(path), registry, expected=path.stem)
        agencies[found.owner] = found
    return SurveyFiles(standard, link_days, agencies)


_cache: dict[str, tuple[tuple[Any, ...], SurveyFiles]] = {}
_cache_lock = threading.Lock()


def current(folder: Path | None = None) -> SurveyFiles:
    """``load`` again only when a file changed (their times and sizes): cheap on every invitation."""
    folder = folder or survey_dir()
    paths = [folder / "standard.yaml", *sorted((folder / "agencies").glob("*.yaml"))]
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in paths if p.exists())
    key = str(folder)
    with _cache_lock:
        held = _cache.get(key)
        if held is not None and held[0] == stamp:
            return held[1]
    files = load(folder)
    with _cache_lock:
        _cache[key] = (stamp, files)
    return files


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ConfigError(str(path), "", f"cannot read the survey questions: {exc}") from exc


def parse_standard(data: Any, source: str) -> tuple[QuestionSet, int]:
    """The OPDC's set and its ``settings.link_days``."""
    if not isinstance(data, dict):
        raise ConfigError(source, "", "the file must be a mapping (version, settings, questions)")
    _known(source, data, "", {"version", "settings", "questions"})
    version = _integer(source, data.get("version"), "version", 1, 10_000)
    settings = data.get("settings")
    if not isinstance(settings, dict):
        raise ConfigError(source, "settings", "is missing or not a mapping (link_days: 14)")
    _known(source, settings, "settings", {"link_days"})
    link_days = _integer(source, settings.get("link_days"), "settings.link_days", *LINK_DAYS)
    questions = _questions(source, data, set(STANDARD.values()))
    ids = [q.id for q in questions]
    if sorted(ids) != sorted(STANDARD) or len(ids) != len(STANDARD):
        raise ConfigError(source, "questions", f"the standard set asks exactly {', '.join(STANDARD)} (got "
                                               f"{', '.join(ids)})")
    for i, q in enumerate(questions):
        if q.kind != STANDARD[q.id]:
            raise ConfigError(source, f"questions[{i}].kind", f"'{q.id}' must be a {STANDARD[q.id]} question")
    if not next(q for q in questions if q.id == "overall").required:
        raise ConfigError(source, "questions", "'overall' must be required: every answer gives it")
    return QuestionSet(OPDC, version, questions, source), link_days


def parse_agency(data: Any, source: str, registry: Registry | None = None, expected: str | None = None) -> QuestionSet:
    """An agency's own questions (at most three: scale, yes_no or short_text)."""
    if not isinstance(data, dict):
        raise ConfigError(source, "", "the file must be a mapping (agency, version, questions)")
    _known(source, data, "", {"agency", "version", "questions"})
    agency = str(data.get("agency") or "").strip()
    if not _CODE.match(agency):
        raise ConfigError(source, "agency", f"'{agency}' is not an agency code")
    if registry is not None and agency not in registry.agencies:
        raise ConfigError(source, "agency", f"'{agency}' is not in data/registry/agencies.json")
    if expected is not None and expected != agency:
        raise ConfigError(source, "agency", f"the file for '{agency}' must be named {agency}.yaml")
    version = _integer(source, data.get("version"), "version", 1, 10_000)
    questions = _questions(source, data, set(AGENCY_KINDS))
    if len(questions) > MAX_AGENCY_QUESTIONS:
        raise ConfigError(source, "questions", f"an agency adds at most {MAX_AGENCY_QUESTIONS} questions "
                                               f"(got {len(questions)})")
    for i, q in enumerate(questions):
        if q.id in STANDARD:
            raise ConfigError(source, f"questions[{i}].id", f"'{q.id}' is one of the OPDC's standard questions")
    return QuestionSet(agency, version, questions, source)


def _questions(source: str, data: dict[str, Any], kinds: set[str]) -> tuple[Question, ...]:
    items = data.get("questions")
    if not isinstance(items, list) or not items:
        raise ConfigError(source, "questions", "must list at least one question")
    out: list[Question] = []
    for i, item in enumerate(items):
        where = f"questions[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(source, where, "must be {id, kind, text: {th, en}}")
        _known(source, item, where, {"id", "kind", "text", "required", "max_length"})
        qid = str(item.get("id") or "")
        if not _ID.match(qid):
            raise ConfigError(source, f"{where}.id", f"'{qid}' must be lower-case letters, digits and '_' "
                                                      "(at most 30), starting with a letter")
        if any(q.id == qid for q in out):
            raise ConfigError(source, f"{where}.id", f"question '{qid}' appears twice")
        kind = item.get("kind")
        if kind not in kinds:
            raise ConfigError(source, f"{where}.kind", f"must be one of {', '.join(sorted(kinds))} (got {kind!r})")
        text = item.get("text")
        if not isinstance(text, dict):
            raise ConfigError(source, f"{where}.text", "must give the wording in Thai and English: {th: …, en: …}")
        _known(source, text, f"{where}.text", {"th", "en"})
        for lang in ("th", "en"):
            if not isinstance(text.get(lang), str) or not text[lang].strip():
                raise ConfigError(source, f"{where}.text.{lang}", "is missing or empty")
        required = item.get("required", False)
        if required not in (True, False):
            raise ConfigError(source, f"{where}.required", "must be true or false")
        max_length = None
        if kind == "text":
            max_length = _integer(source, item.get("max_length", 1000), f"{where}.max_length", *COMMENT_MAX)
        elif kind == "short_text":
            max_length = _integer(source, item.get("max_length", DEFAULT_SHORT_TEXT), f"{where}.max_length",
                                  *SHORT_TEXT_MAX)
        elif "max_length" in item:
            raise ConfigError(source, f"{where}.max_length", f"only text questions have a length, not {kind}")
        out.append(Question(qid, kind, {"th": text["th"].strip(), "en": text["en"].strip()}, bool(required),
                            max_length))
    return tuple(out)


def _known(source: str, data: dict[str, Any], where: str, allowed: set[str]) -> None:
    unknown = sorted(set(map(str, data)) - allowed)
    if unknown:
        name = f"{where}.{unknown[0]}" if where else unknown[0]
        raise ConfigError(source, name, f"unknown setting (expected one of {', '.join(sorted(allowed))})")


def _integer(source: str, value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(source, where, f"must be a whole number from {low:,} to {high:,} (got {value!r})")
    if not low <= value <= high:
        raise ConfigError(source, where, f"must be from {low:,} to {high:,} (got {value:,})")
    return value


# --- in the store --------------------------------------------------------------------------------------

def sync(session: Session, files: SurveyFiles, now: dt.datetime | None = None) -> dict[str, StoredSet]:
    """Each file's version as a row (made once; an unchanged file makes none). A changed file under a version
    already stored is refused with its file and field. Returns the stored sets by owner."""
    now = now or config.now()
    out: dict[str, StoredSet] = {}
    for qs in (files.standard, *files.agencies.values()):
        t = SurveyQuestionSet
        found = session.execute(select(t.id, t.digest).where(t.owner == qs.owner, t.version == qs.version)).first()
        if found is None:
            # two processes syncing the same new version at once: one row, the other reads it
            session.execute(insert_for(session)(t).values(owner=qs.owner, version=qs.version,
                                              questions=[q.as_json() for q in qs.questions], digest=qs.digest,
                                              created_at=now).on_conflict_do_nothing())
            found = session.execute(select(t.id, t.digest).where(t.owner == qs.owner, t.version == qs.version)).one()
        if found.digest != qs.digest:
            raise ConfigError(qs.source, "version", f"the questions changed but version {qs.version} is already "
                                                     f"stored with other wording: give the changed set a new version "
                                                     f"(e.g. {qs.version + 1})")
        out[qs.owner] = StoredSet(found.id, qs.owner, qs.version, qs.questions)
    return out


def stored(session: Session, set_id: int) -> StoredSet | None:
    """One stored version, as it was worded."""
    row = session.get(SurveyQuestionSet, set_id)
    if row is None:
        return None
    return StoredSet(row.id, row.owner, row.version, tuple(Question.from_json(q) for q in row.questions))
