"""Agencies (ministry → department → division) and citizen manuals, loaded from files.

``data/registry/agencies.json`` holds the agency tree, ``data/registry/manuals.csv`` the
manuals: which division owns each, its process and its processing time in working or
calendar days. A manual whose ``processing_days`` is left empty is a draft: it is known (the desk
offers it, a record naming it is not "unknown") but no due date can come from it, so nothing is
stored on it until the manual is completed.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from .config import registry_dir
from .errors import ConfigError

DAY_UNITS = ("working", "calendar")


@dataclass(frozen=True)
class Agency:
    """One node of the tree; ``level`` is ministry, department or division."""

    code: str
    name: str
    level: str
    parent: str | None = None
    address: str = ""
    phone: str = ""
    alert_email: str = ""  # where the hub tells the agency that a notice is held
    name_en: str = ""  # for pages and messages in English; empty means show the Thai name


@dataclass(frozen=True)
class Manual:
    manual_id: str
    division: str
    process_code: str
    process_name: str
    processing_days: int | None  # None: a draft, its processing time not settled yet
    day_unit: str

    @property
    def is_draft(self) -> bool:
        return self.processing_days is None


@dataclass
class Registry:
    agencies: dict[str, Agency]
    manuals: dict[str, Manual]
    version: str = ""

    def department_of(self, code: str) -> Agency:
        agency = self.agencies[code]
        while agency.level == "division" and agency.parent:
            agency = self.agencies[agency.parent]
        return agency

    def ministry_of(self, code: str) -> Agency:
        agency = self.agencies[code]
        while agency.level != "ministry" and agency.parent:
            agency = self.agencies[agency.parent]
        return agency

    @classmethod
    def load(cls, folder: Path | None = None) -> Registry:
        folder = folder or registry_dir()
        agencies = load_agencies(folder / "agencies.json")
        manuals = _load_manuals(folder / "manuals.csv", agencies)
        version = json.loads((folder / "agencies.json").read_text(encoding="utf-8")).get("version", "")
        return cls(agencies, manuals, version)


def load_agencies(path: Path) -> dict[str, Agency]:
    """The agency tree alone, without the manuals (what DAG parsing needs)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(str(path), "", f"cannot read agency registry: {exc}") from exc
    out: dict[str, Agency] = {}

    def add(agency: Agency, where: str) -> None:
        if agency.code in out:
            raise ConfigError(str(path), where, f"agency code '{agency.code}' appears twice")
        out[agency.code] = agency

    for i, m in enumerate(data.get("ministries", [])):
        add(Agency(m["code"], m["name"], "ministry", name_en=m.get("name_en", "")), f"ministries[{i}]")
        for j, d in enumerate(m.get("departments", [])):
            where = f"ministries[{i}].departments[{j}]"
            contact = (d.get("address", ""), d.get("phone", ""), d.get("alert_email", ""))
            add(Agency(d["code"], d["name"], "department", m["code"], *contact, name_en=d.get("name_en", "")), where)
            for k, v in enumerate(d.get("divisions", [])):
                add(Agency(v["code"], v["name"], "division", d["code"], *contact, name_en=v.get("name_en", "")),
                    f"{where}.divisions[{k}]")
    return out


def _load_manuals(path: Path, agencies: dict[str, Agency]) -> dict[str, Manual]:
    out: dict[str, Manual] = {}
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read manuals: {exc}") from exc
    for line, row in enumerate(rows, start=2):
        where = f"line {line}"
        if row["division"] not in agencies:
            raise ConfigError(str(path), where, f"division '{row['division']}' is not in agencies.json")
        if row["day_unit"] not in DAY_UNITS:
            raise ConfigError(str(path), where,
                              f"day_unit '{row['day_unit']}' must be one of {', '.join(DAY_UNITS)}")
        text = (row.get("processing_days") or "").strip()
        days: int | None = None  # empty: a draft manual
        if text:
            try:
                days = int(text)
            except ValueError:
                raise ConfigError(str(path), where,
                                  f"processing_days '{text}' is not a whole number (leave it empty for a draft "
                                  f"manual whose processing time is not settled yet)") from None
            if days < 1:
                raise ConfigError(str(path), where, f"processing_days must be at least 1 (got {days}); leave it "
                                                    f"empty for a draft manual")
        out[row["manual_id"]] = Manual(row["manual_id"], row["division"], row["process_code"],
                                       row["process_name"], days, row["day_unit"])
    return out
