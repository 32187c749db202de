"""The one Thai government working-day calendar.

Saturdays and Sundays are off; so are Thai public and government holidays from the
``holidays`` package (Buddhist holidays and substitution days included), the Cabinet's
special days off listed in ``data/calendar/thai_government.yaml`` and, for one agency only,
that agency's closures from the same file. All dates are Asia/Bangkok calendar dates.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

import holidays
import numpy as np
import yaml

from .config import project_root
from .errors import ConfigError

_YEARS = range(2015, 2036)


class ThaiCalendar:
    def __init__(self, days_off: dict[dt.date, str], version: str,
                 closures: dict[str, dict[dt.date, str]] | None = None) -> None:
        self.days_off = days_off
        self.version = version
        self.closures = closures or {}
        self._busdays = np.busdaycalendar(
            weekmask="1111100", holidays=np.array(sorted(days_off), dtype="datetime64[D]")
        )
        self._per_agency: dict[frozenset[str], ThaiCalendar] = {}

    def for_agency(self, *codes: str | None) -> ThaiCalendar:
        """This calendar plus the closures of any of ``codes`` (division, department, ministry)."""
        closed = frozenset(c for c in codes if c and c in self.closures)
        if not closed:
            return self
        if closed not in self._per_agency:
            days = dict(self.days_off)
            for code in sorted(closed):
                days.update(self.closures[code])
            self._per_agency[closed] = ThaiCalendar(days, f"{self.version}+closed:{','.join(sorted(closed))}")
        return self._per_agency[closed]

    @classmethod
    def load(cls, path: Path | None = None) -> ThaiCalendar:
        path = path or project_root() / "data" / "calendar" / "thai_government.yaml"
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, ValueError, yaml.YAMLError) as exc:  # YAML itself raises ValueError on 2026-02-30
            raise ConfigError(str(path), "", f"cannot read calendar file: {exc}") from exc
        days: dict[dt.date, str] = dict(
            holidays.Thailand(years=_YEARS, categories=("public", "government"), language="th")
        )
        for i, item in enumerate(data.get("special_days_off") or []):
            day = _entry_date(item, path, f"special_days_off[{i}]")
            days[day] = str(item.get("name", ""))
        for i, item in enumerate(data.get("not_days_off") or []):
            days.pop(_entry_date(item, path, f"not_days_off[{i}]", bare_ok=True), None)
        closures: dict[str, dict[dt.date, str]] = {}
        for i, item in enumerate(data.get("agency_closures") or []):
            where = f"agency_closures[{i}]"
            if not isinstance(item, dict) or not item.get("agency"):
                raise ConfigError(str(path), where, "needs agency, from, to (and a reason)")
            first = _entry_date({"date": item.get("from")}, path, f"{where}.from")
            last = _entry_date({"date": item.get("to", item.get("from"))}, path, f"{where}.to")
            if last < first:
                raise ConfigError(str(path), where, f"'to' {last} is before 'from' {first}")
            span = closures.setdefault(str(item["agency"]), {})
            for n in range((last - first).days + 1):
                span[first + dt.timedelta(days=n)] = str(item.get("reason", ""))
        package = f"holidays-{holidays.__version__}"
        return cls(days, f"{data.get('version', 'unversioned')}+{package}", closures)

    @property
    def busdaycalendar(self) -> np.busdaycalendar:
        return self._busdays

    def is_working_day(self, day: dt.date) -> bool:
        return bool(np.is_busday(np.datetime64(day, "D"), busdaycal=self._busdays))

    def add_working_days(self, start: dt.date, n: int) -> dt.date:
        """The date n working days after ``start``, not counting ``start`` itself (CCC s.193/3).

        A start on a day off counts from the working day before it, so documents completed on
        a Saturday with one working day are due on Monday.
        """
        out = np.busday_offset(np.datetime64(start, "D"), n, roll="backward", busdaycal=self._busdays)
        return out.astype(dt.date)

    def next_working_day(self, day: dt.date) -> dt.date:
        """``day`` itself when it is a working day, else the first working day after it."""
        out = np.busday_offset(np.datetime64(day, "D"), 0, roll="forward", busdaycal=self._busdays)
        return out.astype(dt.date)

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in the half-open range [start, end)."""
        return int(np.busday_count(np.datetime64(start, "D"), np.datetime64(end, "D"),
                                   busdaycal=self._busdays))


def _entry_date(item: object, path: Path, where: str, bare_ok: bool = False) -> dt.date:
    """The date of one calendar-file entry: ``{date: 2026-12-30, name: …}`` (or a bare date where allowed)."""
    value = item.get("date") if isinstance(item, dict) else (item if bare_ok else None)
    if value is None:
        form = "a date or {date: YYYY-MM-DD}" if bare_ok else "{date: YYYY-MM-DD, name: …}"
        raise ConfigError(str(path), where, f"{item!r} is not {form}")
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(str(path), where, f"'{value}' is not a YYYY-MM-DD date") from None


@lru_cache(maxsize=1)
def default_calendar() -> ThaiCalendar:
    return ThaiCalendar.load()
