"""Due dates by the citizen manual: working or calendar days, first day not counted, pauses added back."""

from __future__ import annotations

import datetime as dt

import pytest

from delayhub.calendar import ThaiCalendar
from delayhub.duedates import due_date

D = dt.date
MON = D(2026, 11, 23)  # an ordinary Monday


@pytest.fixture
def cal() -> ThaiCalendar:
    return ThaiCalendar.load()


@pytest.mark.parametrize(
    ("start", "days", "unit", "expected"),
    [
        pytest.param(MON, 1, "working", D(2026, 11, 24), id="working-1-from-monday"),
        pytest.param(MON, 5, "working", D(2026, 11, 30), id="working-5-skips-weekend"),
        pytest.param(D(2026, 12, 3), 3, "working", D(2026, 12, 9), id="working-3-skips-substitution-day"),
        pytest.param(D(2026, 11, 27), 5, "working", D(2026, 12, 4), id="working-5-from-friday"),
        pytest.param(D(2026, 11, 27), 5, "calendar", D(2026, 12, 2), id="calendar-5-from-friday"),
        pytest.param(MON, 3, "calendar", D(2026, 11, 26), id="calendar-ends-on-working-day"),
        pytest.param(MON, 5, "calendar", D(2026, 11, 30), id="calendar-ends-saturday-moves-to-monday"),
        pytest.param(MON, 12, "calendar", D(2026, 12, 8), id="calendar-ends-holiday-saturday-moves-to-tuesday"),
        pytest.param(D(2026, 10, 1), 60, "calendar", D(2026, 11, 30), id="calendar-60-days"),
    ],
)
def test_due_date_units(cal: ThaiCalendar, start: dt.date, days: int, unit: str, expected: dt.date) -> None:
    assert due_date(start, days, unit, cal) == expected


@pytest.mark.parametrize(
    ("days", "unit", "pauses", "expected"),
    [
        pytest.param(5, "working", [(D(2026, 11, 25), D(2026, 11, 25))], D(2026, 12, 1),
                     id="one-day-pause-counts-inclusive"),
        pytest.param(5, "working", [(D(2026, 11, 25), D(2026, 11, 26))], D(2026, 12, 2),
                     id="two-working-days-added"),
        pytest.param(5, "working", [(D(2026, 11, 28), D(2026, 11, 29))], D(2026, 11, 30),
                     id="weekend-pause-adds-nothing-to-working-manual"),
        pytest.param(3, "calendar", [(D(2026, 11, 24), D(2026, 11, 24))], D(2026, 11, 27),
                     id="calendar-one-day-pause"),
        # 6 calendar days from Mon 23 end Sun 29 (due Mon 30 by s.193/8); the paused Sat 28 + Sun 29
        # push the count to Tue Dec 1
        pytest.param(6, "calendar", [(D(2026, 11, 28), D(2026, 11, 29))], D(2026, 12, 1),
                     id="calendar-weekend-pause-adds-both-days"),
        # 2 calendar days from Mon 23 end Wed 25; a pause beginning Sat 28 comes after the deadline
        pytest.param(2, "calendar", [(D(2026, 11, 28), D(2026, 11, 29))], D(2026, 11, 25),
                     id="pause-after-the-deadline-does-not-extend-it"),
        pytest.param(5, "working", [(D(2026, 11, 24), D(2026, 11, 26)), (D(2026, 11, 25), D(2026, 11, 27))],
                     D(2026, 12, 4), id="overlapping-pauses-merged"),
        pytest.param(5, "working", [(D(2026, 11, 25), D(2026, 11, 27)), (D(2026, 11, 24), D(2026, 11, 26))],
                     D(2026, 12, 4), id="overlapping-pauses-unsorted"),
        pytest.param(5, "working", [(D(2026, 11, 25), D(2026, 11, 25)), (D(2026, 11, 25), D(2026, 11, 25))],
                     D(2026, 12, 1), id="same-pause-twice-counted-once"),
        pytest.param(5, "working", [(D(2026, 11, 23), D(2026, 11, 30)), (D(2026, 11, 25), D(2026, 11, 26))],
                     # paused Mon 23–Mon 30 (the start day itself is never counted), so the
                     # 5 days run Dec 1, 2, 3, 4 and — past Dec 5–7 (Sat, Sun, substitution) — Dec 8
                     D(2026, 12, 8), id="nested-pause-counted-once"),
        pytest.param(5, "working", [(D(2026, 11, 24), D(2026, 11, 24)), (D(2026, 11, 25), D(2026, 11, 25))],
                     D(2026, 12, 2), id="adjacent-pauses-both-counted"),
        pytest.param(4, "calendar", [(D(2026, 11, 24), D(2026, 11, 26)), (D(2026, 11, 25), D(2026, 11, 27))],
                     D(2026, 12, 1), id="calendar-overlapping-pauses-merged"),
    ],
)
def test_pauses_are_added_back(cal: ThaiCalendar, days: int, unit: str, pauses: list,
                               expected: dt.date) -> None:
    assert due_date(MON, days, unit, cal, pauses) == expected


@pytest.mark.parametrize(
    "pauses",
    [
        pytest.param([(D(2026, 11, 25), None)], id="only-pause-open"),
        pytest.param([(D(2026, 11, 24), D(2026, 11, 24)), (D(2026, 11, 26), None)], id="last-pause-open"),
    ],
)
@pytest.mark.parametrize("unit", ["working", "calendar"])
def test_open_pause_means_no_due_date(cal: ThaiCalendar, pauses: list, unit: str) -> None:
    assert due_date(MON, 5, unit, cal, pauses) is None


def test_unknown_unit_is_refused(cal: ThaiCalendar) -> None:
    with pytest.raises(ValueError, match="unknown day unit 'weeks'"):
        due_date(MON, 2, "weeks", cal)
