"""Thai data realities: Thai digits, Buddhist-Era dates, Thai date formatting."""

from __future__ import annotations

import datetime as dt
import re

BE_OFFSET = 543
THAI_DIGITS = "๐๑๒๓๔๕๖๗๘๙"
_TO_ARABIC = str.maketrans(THAI_DIGITS, "0123456789")
_TO_THAI = str.maketrans("0123456789", THAI_DIGITS)

THAI_MONTHS = (
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
)
THAI_MONTHS_ABBR = (
    "ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.",
    "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.",
)

# Years above this are taken as Buddhist Era (2400 BE = 1857 CE; no request is that old,
# and no CE year in this system reaches 2400).
_BE_THRESHOLD = 2400

_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?$")


def to_arabic_digits(text: str) -> str:
    """Replace Thai digits (๐–๙) with Arabic ones; other characters are kept."""
    return text.translate(_TO_ARABIC)


def to_thai_digits(text: str) -> str:
    return text.translate(_TO_THAI)


def parse_date(value: str | dt.date) -> dt.date:
    """Parse a back-office date: ``24/11/2569``, ``๒๔/๑๑/๒๕๖๙``, ``2569-11-24``, ``2026-11-24``.

    Four-digit years above 2400 are Buddhist Era. A time part after an ISO date is ignored.
    Raises ValueError with the offending text when the value is not a real date.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = to_arabic_digits(str(value).strip())
    if m := _DMY.match(text):
        day, month, year = (int(g) for g in m.groups())
    elif m := _YMD.match(text):
        year, month, day = (int(g) for g in m.groups())
    else:
        raise ValueError(f"'{value}' is not a date (expected dd/mm/yyyy or yyyy-mm-dd, BE or CE)")
    if year > _BE_THRESHOLD:
        year -= BE_OFFSET
    try:
        return dt.date(year, month, day)
    except ValueError as exc:
        raise ValueError(f"'{value}' is not a real date ({exc})") from None


def format_thai_date(day: dt.date, *, thai_digits: bool = True, short: bool = False) -> str:
    """``24 พฤศจิกายน 2569`` (BE year), in Thai digits by default."""
    months = THAI_MONTHS_ABBR if short else THAI_MONTHS
    text = f"{day.day} {months[day.month - 1]} {day.year + BE_OFFSET}"
    return to_thai_digits(text) if thai_digits else text
