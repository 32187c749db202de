"""Per-agency letter settings: letterhead text, reference prefix, signatory, owning unit, contact.

``data/letters/<DEPARTMENT-CODE>.yaml`` over ``data/letters/default.yaml``: an agency edits its own
file (no code change) and lists only what differs from the default. A value that differs by
language is written ``{th: …, en: …}``; a plain value serves both languages. ``units:`` overrides
any of these for one division (its own signatory or telephone, say).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..config import project_root
from ..errors import ConfigError

LANGUAGES = ("th", "en")
# What a settings file may contain; anything else is a typo we refuse rather than ignore silently.
_KEYS = frozenset({"reference_prefix", "agency_name", "letterhead", "signatory", "owning_unit", "phone",
                   "fax", "email", "emblem", "units"})
_SIGNATORY_KEYS = frozenset({"name", "position"})


def letters_dir() -> Path:
    return Path(os.environ.get("DELAYHUB_LETTERS") or project_root() / "data" / "letters")


@dataclass(frozen=True)
class LetterSettings:
    """Resolved settings for one department (and optionally one of its divisions).

    Text fields map a language code to a value; empty means "take it from the registry".
    """

    department: str
    files: tuple[str, ...]
    reference_prefix: dict[str, str] = field(default_factory=dict)
    agency_name: dict[str, str] = field(default_factory=dict)
    letterhead: dict[str, tuple[str, ...]] = field(default_factory=dict)
    signatory_name: dict[str, str] = field(default_factory=dict)
    signatory_position: dict[str, tuple[str, ...]] = field(default_factory=dict)
    owning_unit: dict[str, str] = field(default_factory=dict)
    phone: str = ""
    fax: str = ""
    email: str = ""
    emblem: str = ""  # an image file under templates/letters/, e.g. a Garuda SVG; empty: leave the space
    units: dict[str, dict[str, Any]] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)  # merged YAML, for ``for_unit``

    def text(self, name: str, language: str) -> str:
        """A language-keyed text field, falling back to Thai (the official language)."""
        values: dict[str, str] = getattr(self, name)
        return values.get(language) or values.get("th") or ""

    def lines(self, name: str, language: str) -> tuple[str, ...]:
        values: dict[str, tuple[str, ...]] = getattr(self, name)
        return values.get(language) or values.get("th") or ()

    def for_unit(self, division: str | None) -> LetterSettings:
        """These settings with the division's ``units:`` overrides applied."""
        override = self.units.get(division or "")
        if not override:
            return self
        return _parse(_merge(self.raw, override), self.department, self.files,
                      f"{self.files[-1]}: units.{division}")


def load_settings(department: str, folder: Path | None = None) -> LetterSettings:
    """Read ``default.yaml`` and the department's file (if any), merged; the files are read each call."""
    folder = folder or letters_dir()
    files = [folder / "default.yaml", folder / f"{department}.yaml"]
    merged: dict[str, Any] = {}
    used: list[str] = []
    for path in files:
        if not path.exists():
            if path.name == "default.yaml":
                raise ConfigError(str(path), "", "the default letter settings file is missing")
            continue
        merged = _merge(merged, _read(path))
        used.append(str(path))
    return _parse(merged, department, tuple(used), used[-1])


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(str(path), "", f"cannot read letter settings: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(str(path), "", "letter settings must be a mapping of keys to values")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ConfigError(str(path), unknown[0], f"unknown key (expected one of: {', '.join(sorted(_KEYS))})")
    signatory = data.get("signatory")
    if signatory is not None and (not isinstance(signatory, dict) or set(signatory) - _SIGNATORY_KEYS):
        raise ConfigError(str(path), "signatory", "must be a mapping with 'name' and 'position'")
    return data


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) and key != "units":
            # {th: …} over {th: …, en: …} keeps en; a plain string replaces both languages
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _localised(value: Any, where: str, source: str, lines: bool = False) -> dict[str, Any]:
    """``"x"`` or ``{th: "x", en: "y"}`` → ``{"th": …, "en": …}``; lists of lines when ``lines``."""
    if value is None:
        return {}
    per = value if isinstance(value, Mapping) else {lang: value for lang in LANGUAGES}
    out: dict[str, Any] = {}
    for lang, v in per.items():
        if lang not in LANGUAGES:
            raise ConfigError(source, f"{where}.{lang}", f"language must be one of {', '.join(LANGUAGES)}")
        if v is None:
            continue
        if lines:
            items = [v] if isinstance(v, str) else v
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise ConfigError(source, f"{where}.{lang}", "must be a line of text or a list of lines")
            out[lang] = tuple(items)
        else:
            if not isinstance(v, str | int):
                raise ConfigError(source, f"{where}.{lang}", "must be text")
            out[lang] = str(v)
    return out


def _plain(data: Mapping[str, Any], key: str, source: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str | int):
        raise ConfigError(source, key, "must be text")
    return str(value)


def _parse(data: Mapping[str, Any], department: str, files: tuple[str, ...], source: str) -> LetterSettings:
    signatory = data.get("signatory") or {}
    units = data.get("units") or {}
    if not isinstance(units, Mapping) or not all(isinstance(v, Mapping) for v in units.values()):
        raise ConfigError(source, "units", "must map division codes to settings")
    for code, unit in units.items():
        bad = sorted(set(unit) - (_KEYS - {"units"}))
        if bad:
            raise ConfigError(source, f"units.{code}.{bad[0]}", "unknown key")
    return LetterSettings(
        department=department, files=files,
        reference_prefix=_localised(data.get("reference_prefix"), "reference_prefix", source),
        agency_name=_localised(data.get("agency_name"), "agency_name", source),
        letterhead=_localised(data.get("letterhead"), "letterhead", source, lines=True),
        signatory_name=_localised(signatory.get("name"), "signatory.name", source),
        signatory_position=_localised(signatory.get("position"), "signatory.position", source, lines=True),
        owning_unit=_localised(data.get("owning_unit"), "owning_unit", source),
        phone=_plain(data, "phone", source), fax=_plain(data, "fax", source), email=_plain(data, "email", source),
        emblem=_plain(data, "emblem", source), units={str(k): dict(v) for k, v in units.items()},
        raw=dict(data),
    )
