"""Section 10 as properties: what must hold for any start, length, pauses and day (2024–2027)."""

from __future__ import annotations

import datetime as dt
from itertools import pairwise

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from delayhub.calendar import ThaiCalendar
from delayhub.duedates import CALENDAR, WORKING, base_due_dates, due_date
from delayhub.notices import CLOSED, UNFINISHED, delay_owed_on, notices_owed, sequence_after

CAL = ThaiCalendar.load()
BCD = CAL.for_agency("MOI-DPT-BCD", "MOI-DPT", "MOI")  # with the 14–15 Dec 2026 closure

FIRST, LAST = dt.date(2024, 1, 1), dt.date(2027, 12, 31)
SETTINGS = settings(max_examples=200, deadline=None)

dates = st.dates(min_value=FIRST, max_value=LAST)
units = st.sampled_from([WORKING, CALENDAR])
calendars = st.sampled_from([CAL, BCD])
lengths = st.integers(min_value=0, max_value=300)
positive_lengths = st.integers(min_value=1, max_value=300)


@st.composite
def closed_pauses(draw: st.DrawFn, start: dt.date) -> tuple[dt.date, dt.date]:
    """A closed pause somewhere from a little before the clock start to well after it."""
    first = start + dt.timedelta(days=draw(st.integers(min_value=-10, max_value=120)))
    return first, first + dt.timedelta(days=draw(st.integers(min_value=0, max_value=40)))


@st.composite
def requests(draw: st.DrawFn, days: st.SearchStrategy[int] = lengths) -> tuple:
    start = draw(dates)
    pauses = draw(st.lists(closed_pauses(start), max_size=4))
    return start, draw(days), draw(units), draw(calendars), pauses


def not_earlier(more: dt.date | None, fewer: dt.date | None) -> bool:
    """``more`` (with more pauses) is not earlier than ``fewer``; None (open pause) is never earlier."""
    if more is None:
        return True
    return fewer is not None and more >= fewer


@SETTINGS
@given(requests())
def test_working_day_due_date_is_a_working_day(req: tuple) -> None:
    start, days, _, cal, pauses = req
    due = due_date(start, days, WORKING, cal, pauses)
    assert due is not None and cal.is_working_day(due)


@SETTINGS
@given(requests())
def test_calendar_day_due_date_is_a_working_day(req: tuple) -> None:
    start, days, _, cal, pauses = req
    due = due_date(start, days, CALENDAR, cal, pauses)
    assert due is not None and cal.is_working_day(due)


@SETTINGS
@given(requests(), st.data(), st.booleans())
def test_adding_a_pause_never_brings_the_due_date_earlier(req: tuple, data: st.DataObject, open_: bool) -> None:
    start, days, unit, cal, _ = req
    pause_start, pause_end = data.draw(closed_pauses(start))
    without = due_date(start, days, unit, cal)
    with_pause = due_date(start, days, unit, cal, [(pause_start, None if open_ else pause_end)])
    assert without is not None
    assert not_earlier(with_pause, without)
    if not open_:
        assert with_pause is not None


@SETTINGS
@given(requests(), st.data())
def test_more_pauses_never_earlier_than_fewer(req: tuple, data: st.DataObject) -> None:
    start, days, unit, cal, pauses = req
    extra = data.draw(st.lists(closed_pauses(start), min_size=1, max_size=3))
    open_tail = data.draw(st.none() | dates)
    more = pauses + extra + ([(open_tail, None)] if open_tail else [])
    assert not_earlier(due_date(start, days, unit, cal, more), due_date(start, days, unit, cal, pauses))


@SETTINGS
@given(requests(positive_lengths))
def test_due_date_is_after_the_clock_start(req: tuple) -> None:
    start, days, unit, cal, pauses = req
    assert due_date(start, days, unit, cal) > start
    assert due_date(start, days, unit, cal, pauses) > start


@SETTINGS
@given(dates, st.integers(min_value=1, max_value=200))
def test_delay_notices_are_seven_days_apart(due: dt.date, k: int) -> None:
    assert delay_owed_on(due, 1) == due + dt.timedelta(days=1)
    assert delay_owed_on(due, k + 1) - delay_owed_on(due, k) == dt.timedelta(days=7)


@st.composite
def notice_cases(draw: st.DrawFn) -> tuple:
    due = draw(dates)
    today = due + dt.timedelta(days=draw(st.integers(min_value=-10, max_value=400)))
    known_since = today - dt.timedelta(days=draw(st.integers(min_value=0, max_value=400)))
    status = draw(st.sampled_from(sorted(UNFINISHED | CLOSED)))
    completed_on = None
    if status in CLOSED - {"withdrawn"}:
        completed_on = today - dt.timedelta(days=draw(st.integers(min_value=0, max_value=60)))
    return status, due, completed_on, today, known_since, draw(st.integers(min_value=0, max_value=60))


@SETTINGS
@given(notice_cases())
def test_notices_owed_listed_once_seven_days_apart_and_after_already_sent(case: tuple) -> None:
    status, due, completed_on, today, known_since, already_sent = case
    owed = notices_owed(status, due, completed_on, today, known_since, already_sent)
    delays = [n for n in owed if n.kind == "delay"]
    sequences = [n.sequence for n in delays]
    assert len(sequences) == len(set(sequences))
    assert all(k > already_sent for k in sequences)
    for a, b in pairwise(delays):
        assert b.sequence == a.sequence + 1
        assert b.owed_on - a.owed_on == dt.timedelta(days=7)
    for n in delays:
        assert n.owed_on == delay_owed_on(due, n.sequence)
        assert due < n.owed_on <= today
        assert n.late_days == (today - n.owed_on).days >= 0
    if status not in UNFINISHED:
        assert delays == []
    if status == "withdrawn":
        assert owed == []


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(dates, lengths, st.booleans()), min_size=1, max_size=40), calendars)
def test_vectorised_base_due_dates_agree_with_due_date(rows: list, cal: ThaiCalendar) -> None:
    starts = np.array([s for s, _, _ in rows], dtype="datetime64[D]")
    days = np.array([d for _, d, _ in rows])
    working = np.array([w for _, _, w in rows])
    out = base_due_dates(starts, days, working, cal)
    for i, (start, n, is_working) in enumerate(rows):
        assert out[i].astype(dt.date) == due_date(start, n, WORKING if is_working else CALENDAR, cal)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=-400, max_value=2000), min_size=1, max_size=50))
def test_sequence_after_array_matches_scalar(values: list[int]) -> None:
    out = sequence_after(np.array(values))
    assert isinstance(out, np.ndarray)
    assert out.shape == (len(values),)
    for v, k in zip(values, out.tolist(), strict=True):
        scalar = sequence_after(v)
        assert isinstance(scalar, int)
        assert k == scalar
