"""Thai data realities: Buddhist-Era dates, Thai digits, dates written the Thai way."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from delayhub.thai import format_thai_date, parse_date, to_arabic_digits, to_thai_digits

NOV_24 = dt.date(2026, 11, 24)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("24/11/2569", NOV_24, id="dmy-be"),
        pytest.param("๒๔/๑๑/๒๕๖๙", NOV_24, id="dmy-be-thai-digits"),
        pytest.param("2569-11-24", NOV_24, id="iso-be"),
        pytest.param("2026-11-24", NOV_24, id="iso-ce"),
        pytest.param("2569-11-24 10:00:00", NOV_24, id="iso-be-with-time"),
        pytest.param("2026-11-24T10:00:00+07:00", NOV_24, id="iso-ce-with-T-time"),
        pytest.param("24/11/2026", NOV_24, id="dmy-ce"),
        pytest.param("1/2/2569", dt.date(2026, 2, 1), id="dmy-single-digit-day-month"),
        pytest.param("24.11.2569", NOV_24, id="dmy-dots"),
        pytest.param("24-11-2569", NOV_24, id="dmy-dashes"),
        pytest.param("  24/11/2569 ", NOV_24, id="surrounding-spaces"),
        pytest.param("29/02/2567", dt.date(2024, 2, 29), id="leap-day-be-2567"),
        pytest.param(dt.datetime(2026, 11, 24, 10, 0), NOV_24, id="datetime-input"),
        pytest.param(NOV_24, NOV_24, id="date-input"),
    ],
)
def test_parse_date(value: object, expected: dt.date) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("31/02/2569", "'31/02/2569' is not a real date", id="31-february"),
        pytest.param("29/02/2569", "'29/02/2569' is not a real date", id="29-february-not-leap-year"),
        pytest.param("ไม่ระบุ", "'ไม่ระบุ' is not a date (expected dd/mm/yyyy or yyyy-mm-dd, BE or CE)",
                     id="thai-word-not-specified"),
        pytest.param("", "'' is not a date (expected dd/mm/yyyy or yyyy-mm-dd, BE or CE)", id="empty"),
        pytest.param("24/11/69", "'24/11/69' is not a date", id="two-digit-year"),
    ],
)
def test_parse_date_errors_quote_the_value(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_date(value)


@pytest.mark.parametrize(
    ("day", "kwargs", "expected"),
    [
        pytest.param(NOV_24, {}, "๒๔ พฤศจิกายน ๒๕๖๙", id="default-thai-digits"),
        pytest.param(NOV_24, {"thai_digits": False}, "24 พฤศจิกายน 2569", id="arabic-digits"),
        pytest.param(NOV_24, {"short": True}, "๒๔ พ.ย. ๒๕๖๙", id="short-month"),
        pytest.param(dt.date(2027, 1, 1), {}, "๑ มกราคม ๒๕๗๐", id="no-zero-padding-new-year"),
        pytest.param(dt.date(2026, 12, 5), {"thai_digits": False}, "5 ธันวาคม 2569", id="december"),
    ],
)
def test_format_thai_date(day: dt.date, kwargs: dict, expected: str) -> None:
    assert format_thai_date(day, **kwargs) == expected


@pytest.mark.parametrize(
    ("thai", "arabic"),
    [
        pytest.param("๐๑๒๓๔๕๖๗๘๙", "0123456789", id="all-digits"),
        pytest.param("๐๘๑-๒๓๔-๕๖๗๘", "081-234-5678", id="phone-with-dashes"),
        pytest.param("ทบ.๒๕๖๙/๐๐๐๑๒", "ทบ.2569/00012", id="thai-letters-kept"),
        pytest.param("", "", id="empty"),
    ],
)
def test_digits_both_ways(thai: str, arabic: str) -> None:
    assert to_arabic_digits(thai) == arabic
    assert to_thai_digits(arabic) == thai


def test_arabic_digits_left_alone_by_to_arabic_and_thai_left_alone_by_to_thai() -> None:
    assert to_arabic_digits("2569 ๒๕๖๙") == "2569 2569"
    assert to_thai_digits("2569 ๒๕๖๙") == "๒๕๖๙ ๒๕๖๙"
