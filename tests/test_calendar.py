"""The Thai government working-day calendar."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from delayhub.calendar import ThaiCalendar
from delayhub.errors import ConfigError

D = dt.date


@pytest.fixture
def cal() -> ThaiCalendar:
    return ThaiCalendar.load()


@pytest.mark.parametrize(
    ("day", "working"),
    [
        pytest.param(D(2026, 11, 24), True, id="tue-ordinary"),
        pytest.param(D(2026, 11, 28), False, id="saturday"),
        pytest.param(D(2026, 11, 29), False, id="sunday"),
        pytest.param(D(2026, 12, 5), False, id="father-day-saturday"),
        pytest.param(D(2026, 12, 7), False, id="father-day-substitution-monday"),
        pytest.param(D(2026, 12, 8), True, id="day-after-substitution"),
        pytest.param(D(2026, 4, 13), False, id="songkran-13"),
        pytest.param(D(2026, 4, 14), False, id="songkran-14"),
        pytest.param(D(2026, 4, 15), False, id="songkran-15"),
        pytest.param(D(2026, 4, 16), True, id="after-songkran"),
        pytest.param(D(2026, 12, 30), False, id="cabinet-special-day-from-yaml"),
        pytest.param(D(2026, 12, 29), True, id="day-before-special-day"),
    ],
)
def test_days_off(cal: ThaiCalendar, day: dt.date, working: bool) -> None:
    assert cal.is_working_day(day) is working


def test_version_names_yaml_version_and_holidays_package(cal: ThaiCalendar) -> None:
    assert "2026.11-1" in cal.version
    assert "holidays-" in cal.version


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        pytest.param(D(2026, 11, 23), 1, D(2026, 11, 24), id="monday+1-is-tuesday"),
        pytest.param(D(2026, 11, 28), 1, D(2026, 11, 30), id="saturday+1-is-monday"),
        pytest.param(D(2026, 11, 29), 1, D(2026, 11, 30), id="sunday+1-is-monday"),
        pytest.param(D(2026, 12, 4), 1, D(2026, 12, 8), id="friday+1-skips-substitution-monday"),
        pytest.param(D(2026, 12, 7), 1, D(2026, 12, 8), id="holiday-monday+1-is-tuesday"),
        pytest.param(D(2026, 11, 27), 5, D(2026, 12, 4), id="friday+5-is-next-friday"),
        pytest.param(D(2026, 4, 9), 2, D(2026, 4, 16), id="across-songkran"),
        pytest.param(D(2026, 12, 29), 1, D(2027, 1, 4), id="across-year-end-and-special-day"),
    ],
)
def test_add_working_days(cal: ThaiCalendar, start: dt.date, n: int, expected: dt.date) -> None:
    assert cal.add_working_days(start, n) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        pytest.param(D(2026, 11, 24), D(2026, 11, 24), id="working-day-is-itself"),
        pytest.param(D(2026, 12, 5), D(2026, 12, 8), id="saturday-holiday-to-tuesday"),
        pytest.param(D(2026, 4, 12), D(2026, 4, 16), id="sunday-before-songkran"),
        pytest.param(D(2026, 12, 30), D(2027, 1, 4), id="special-day-to-new-year-monday"),
    ],
)
def test_next_working_day(cal: ThaiCalendar, day: dt.date, expected: dt.date) -> None:
    assert cal.next_working_day(day) == expected


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        pytest.param(D(2026, 11, 23), D(2026, 11, 30), 5, id="one-plain-week"),
        pytest.param(D(2026, 12, 1), D(2026, 12, 11), 6, id="week-with-father-day-and-constitution-day"),
        pytest.param(D(2026, 4, 13), D(2026, 4, 18), 2, id="songkran-week"),
        pytest.param(D(2026, 11, 24), D(2026, 11, 24), 0, id="empty-range"),
        pytest.param(D(2026, 11, 24), D(2026, 11, 25), 1, id="end-excluded"),
    ],
)
def test_working_days_between(cal: ThaiCalendar, start: dt.date, end: dt.date, expected: int) -> None:
    assert cal.working_days_between(start, end) == expected


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "thai_government.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "where"),
    [
        pytest.param("version: t\nspecial_days_off:\n  - name: no date here\n", "special_days_off[0]",
                     id="date-missing"),
        pytest.param("version: t\nspecial_days_off:\n  - date: '2026-13-01'\n", "special_days_off[0]",
                     id="month-13"),
        pytest.param("version: t\nspecial_days_off:\n  - date: 2026-11-27\n  - date: 'soon'\n",
                     "special_days_off[1]", id="second-entry-bad"),
        pytest.param("version: t\nspecial_days_off:\n  - 2026-11-27\n", "special_days_off[0]",
                     id="bare-date-not-a-mapping"),
    ],
)
def test_bad_special_day_entry_names_file_and_entry(tmp_path: Path, text: str, where: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        ThaiCalendar.load(path)
    assert path.name in str(info.value)
    assert where in str(info.value)


def test_impossible_unquoted_date_names_file(tmp_path: Path) -> None:
    # Operators write dates unquoted, as in the shipped file; YAML itself then rejects 30 February.
    path = _write(tmp_path, "version: t\nspecial_days_off:\n  - date: 2026-02-30\n")
    with pytest.raises(ConfigError) as info:
        ThaiCalendar.load(path)
    assert path.name in str(info.value)


def test_bad_not_days_off_entry_names_file_and_entry(tmp_path: Path) -> None:
    path = _write(tmp_path, "version: t\nnot_days_off: [someday]\n")
    with pytest.raises(ConfigError) as info:
        ThaiCalendar.load(path)
    assert path.name in str(info.value)
    assert "not_days_off[0]" in str(info.value)


@pytest.mark.parametrize(
    "entry",
    [pytest.param("2026-12-10", id="bare-date"), pytest.param("{date: 2026-12-10}", id="mapping")],
)
def test_not_days_off_removes_a_holiday(tmp_path: Path, entry: str) -> None:
    assert not ThaiCalendar.load().is_working_day(D(2026, 12, 10))  # Constitution Day
    cal = ThaiCalendar.load(_write(tmp_path, f"version: test-7\nnot_days_off:\n  - {entry}\n"))
    assert cal.is_working_day(D(2026, 12, 10))
    assert cal.add_working_days(D(2026, 12, 9), 1) == D(2026, 12, 10)
    assert cal.version.startswith("test-7+holidays-")


def test_own_special_day_is_off(tmp_path: Path) -> None:
    cal = ThaiCalendar.load(_write(tmp_path, "version: t\nspecial_days_off:\n  - date: 2026-11-27\n    name: x\n"))
    assert not cal.is_working_day(D(2026, 11, 27))
    assert cal.add_working_days(D(2026, 11, 26), 1) == D(2026, 11, 30)
    # The shipped file's special day is not in this file, so 30 December is a working day here.
    assert cal.is_working_day(D(2026, 12, 30))
