"""When a request is due, by its citizen manual, on the Thai government calendar."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from .calendar import ThaiCalendar

Pause = tuple[dt.date, dt.date | None]


def merge_pauses(pauses: Iterable[Pause]) -> list[tuple[dt.date, dt.date]] | None:
    """Overlapping pauses merged; None when one is still open (no due date while waiting)."""
    spans = []
    for start, end in pauses:
        if end is None:
            return None
        if end >= start:
            spans.append((start, end))
    spans.sort()
    merged: list[tuple[dt.date, dt.date]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1] + dt.timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def due_date(clock_start: dt.date, days: int, unit: str, calendar: ThaiCalendar,
             pauses: Iterable[Pause] = ()) -> dt.date | None:
    """The last day to finish, or None while the clock is paused with no end.

    The first day is not counted (CCC s.193/3). Working-day manuals count working days;
    calendar-day manuals count calendar days and, when the last one is a day off, end on
    the next working day (s.193/8). Each paused day (inclusive range) is added back: paused
    working days for a working-day manual, every paused day for a calendar-day one.
    """
    spans = merge_pauses(pauses)
    if spans is None:
        return None
    if unit == "working":
        extra = sum(calendar.working_days_between(s, e + dt.timedelta(days=1)) for s, e in spans)
        return calendar.add_working_days(clock_start, days + extra)
    if unit == "calendar":
        extra = sum((e - s).days + 1 for s, e in spans)
        return calendar.next_working_day(clock_start + dt.timedelta(days=days + extra))
    raise ValueError(f"unknown day unit '{unit}' (expected working or calendar)")
