"""Incremental cursors as back offices write them, and the look-back window over them."""

from __future__ import annotations

import datetime as dt
import re

from .thai import BE_OFFSET, to_arabic_digits

_STAMP = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:([ T])(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
_WINDOW = re.compile(r"^(\d+) ?(minute|hour|day)s?$")


def parse_window(text: str) -> dt.timedelta:
    """``"2 hours"``, ``"30 minutes"``, ``"1 day"`` → timedelta."""
    m = _WINDOW.match(text.strip())
    if not m:
        raise ValueError(f"'{text}' is not a window like '2 hours', '30 minutes' or '1 day'")
    return dt.timedelta(**{f"{m.group(2)}s": int(m.group(1))})


def shift_back(cursor: str | None, window: dt.timedelta | None) -> str | None:
    """The cursor moved ``window`` earlier, written the way the back office writes it (BE or CE,
    date or timestamp, with or without a zone). A cursor of another form (an id) is kept as is."""
    if not cursor or not window:
        return cursor
    m = _STAMP.match(to_arabic_digits(cursor.strip()))
    if not m:
        return cursor
    year, month, day, sep, hh, mm, ss, frac, zone = m.groups()
    be = int(year) > 2400
    moment = dt.datetime(int(year) - (BE_OFFSET if be else 0), int(month), int(day), int(hh or 0), int(mm or 0),
                         int(ss or 0)) - window
    text = f"{moment.year + (BE_OFFSET if be else 0):04d}-{moment.month:02d}-{moment.day:02d}"
    if sep:
        text += f"{sep}{moment.hour:02d}:{moment.minute:02d}" + (f":{moment.second:02d}" if ss else "")
        text += (frac or "") + (zone or "")
    return text
