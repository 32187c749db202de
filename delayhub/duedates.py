"""When a request is due, by its citizen manual, on the Thai government calendar.

The first day is not counted (CCC s.193/3): documents complete on a Monday with one working
day are due on Tuesday; complete on a Saturday, due on Monday. Working-day manuals count
working days; calendar-day manuals count calendar days and, when the last one is a day off,
end on the next working day (s.193/8).

Pauses while waiting for the applicant cover their first to last day inclusive and add back
each paused working day (each paused day for a calendar-day manual). Only a pause that begins
on or before the due date reached so far extends it: once the deadline has passed unfinished,
the notices are owed and waiting on the applicant afterwards does not undo that. A pause that
is still open and began in time leaves the request with no due date until it ends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np

from .calendar import ThaiCalendar

Pause = tuple[dt.date, dt.date | None]
WORKING, CALENDAR = "working", "calendar"


def base_due_dates(starts: np.ndarray, days: np.ndarray, working: np.ndarray, calendar: ThaiCalendar) -> np.ndarray:
    """Due dates without pauses for whole arrays (datetime64[D] starts, int days, bool working)."""
    busdays = calendar.busdaycalendar
    out = np.empty(starts.shape, dtype="datetime64[D]")
    if working.any():
        out[working] = np.busday_offset(starts[working], days[working], roll="backward", busdaycal=busdays)
    cal = ~working
    if cal.any():
        out[cal] = np.busday_offset(starts[cal] + days[cal].astype("timedelta64[D]"), 0, roll="forward",
                                    busdaycal=busdays)
    return out


def merge_pauses(pauses: Iterable[Pause]) -> list[tuple[dt.date, dt.date | None]]:
    """Pauses sorted with overlapping or touching ones merged; an open one swallows what follows."""
    merged: list[tuple[dt.date, dt.date | None]] = []
    for start, end in sorted(pauses, key=lambda p: p[0]):
        if end is not None and end < start:
            continue  # an inverted pause covers no day
        if merged:
            last_start, last_end = merged[-1]
            if last_end is None:
                break
            if start <= last_end + dt.timedelta(days=1):
                merged[-1] = (last_start, None if end is None else max(last_end, end))
                continue
        merged.append((start, end))
    return merged


def due_date(clock_start: dt.date, days: int, unit: str, calendar: ThaiCalendar,
             pauses: Iterable[Pause] = ()) -> dt.date | None:
    """The last day to finish, or None while a pause that began in time is still open."""
    if unit not in (WORKING, CALENDAR):
        raise ValueError(f"unknown day unit '{unit}' (expected working or calendar)")
    working = unit == WORKING
    due = base_due_dates(np.array([clock_start], dtype="datetime64[D]"), np.array([days]),
                         np.array([working]), calendar)[0].astype(dt.date)
    raw_end = clock_start + dt.timedelta(days=days)  # calendar-day count before the s.193/8 roll
    counted_from = clock_start + dt.timedelta(days=1)
    for start, end in merge_pauses(pauses):
        if start > due:
            break
        if end is None:
            return None
        first = max(start, counted_from)
        if end < first:
            continue
        if working:
            extra = calendar.working_days_between(first, end + dt.timedelta(days=1))
            due = calendar.add_working_days(due, extra)
        else:
            raw_end += dt.timedelta(days=(end - first).days + 1)
            due = calendar.next_working_day(raw_end)
    return due
