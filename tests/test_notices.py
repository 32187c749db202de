"""Section 10 as rules: which notices a request is owed on a given day."""

from __future__ import annotations

import datetime as dt

import pytest

from delayhub.notices import NoticeDue, delay_owed_on, delay_sequence_on, notices_owed

D = dt.date
DUE = D(2026, 11, 30)
EARLY = D(2026, 11, 20)  # the hub knew the request well before it was due


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        pytest.param(D(2026, 11, 29), 0, id="day-before-due"),
        pytest.param(DUE, 0, id="due-day"),
        pytest.param(D(2026, 12, 1), 1, id="due+1"),
        pytest.param(D(2026, 12, 7), 1, id="due+7"),
        pytest.param(D(2026, 12, 8), 2, id="due+8"),
        pytest.param(D(2026, 12, 14), 2, id="due+14"),
        pytest.param(D(2026, 12, 15), 3, id="due+15"),
    ],
)
def test_delay_sequence_on(day: dt.date, expected: int) -> None:
    assert delay_sequence_on(DUE, day) == expected


@pytest.mark.parametrize(
    ("due", "k", "expected"),
    [
        pytest.param(DUE, 1, D(2026, 12, 1), id="k1-due+1"),
        pytest.param(DUE, 2, D(2026, 12, 8), id="k2-due+8"),
        pytest.param(DUE, 3, D(2026, 12, 15), id="k3-due+15"),
        pytest.param(D(2026, 12, 30), 1, D(2026, 12, 31), id="k1-year-end"),
        pytest.param(D(2026, 12, 30), 2, D(2027, 1, 7), id="k2-into-next-year"),
    ],
)
def test_delay_owed_on(due: dt.date, k: int, expected: dt.date) -> None:
    assert delay_owed_on(due, k) == expected


def delay(k: int, owed_on: dt.date, late: int) -> NoticeDue:
    return NoticeDue("delay", k, owed_on, late)


def result(owed_on: dt.date, late: int) -> NoticeDue:
    return NoticeDue("result", 1, owed_on, late)


@pytest.mark.parametrize(
    ("status", "due_on", "completed_on", "today", "known_since", "expected"),
    [
        pytest.param("in_progress", DUE, None, DUE, EARLY, [], id="in-progress-on-due-day-none"),
        pytest.param("in_progress", DUE, None, D(2026, 11, 25), EARLY, [], id="in-progress-before-due-none"),
        pytest.param("in_progress", DUE, None, D(2026, 12, 1), EARLY, [delay(1, D(2026, 12, 1), 0)],
                     id="due+1-first-delay-on-time"),
        pytest.param("in_progress", DUE, None, D(2026, 12, 7), EARLY, [delay(1, D(2026, 12, 1), 6)],
                     id="due+7-still-only-first"),
        pytest.param("in_progress", DUE, None, D(2026, 12, 8), EARLY,
                     [delay(1, D(2026, 12, 1), 7), delay(2, D(2026, 12, 8), 0)],
                     id="due+8-first-late-and-second"),
        pytest.param("received", DUE, None, D(2026, 12, 10), EARLY,
                     [delay(1, D(2026, 12, 1), 9), delay(2, D(2026, 12, 8), 2)],
                     id="received-counts-too-after-outage"),
        pytest.param("in_progress", DUE, None, D(2026, 12, 10), D(2026, 12, 10), [delay(2, D(2026, 12, 8), 2)],
                     id="learned-late-current-period-only"),
        pytest.param("in_progress", DUE, None, D(2026, 12, 21), D(2026, 12, 20), [delay(3, D(2026, 12, 15), 6)],
                     id="learned-in-third-period"),
        pytest.param("in_progress", DUE, None, D(2026, 12, 16), D(2026, 12, 8),
                     [delay(2, D(2026, 12, 8), 8), delay(3, D(2026, 12, 15), 1)],
                     id="learned-on-second-owed-day-then-outage"),
        pytest.param("waiting_applicant", None, None, D(2026, 12, 22), EARLY, [],
                     id="waiting-applicant-no-due-date-none"),
        pytest.param("in_progress", None, None, D(2026, 12, 22), EARLY, [], id="no-due-date-none"),
        pytest.param("withdrawn", DUE, None, D(2026, 12, 22), EARLY, [], id="withdrawn-none"),
        pytest.param("completed", DUE, D(2026, 12, 3), D(2026, 12, 3), EARLY, [result(D(2026, 12, 3), 0)],
                     id="completed-result-same-day-no-delay"),
        pytest.param("completed", DUE, D(2026, 12, 3), D(2026, 12, 10), EARLY, [result(D(2026, 12, 3), 0)],
                     id="completed-result-on-7th-day-not-late"),
        pytest.param("completed", DUE, D(2026, 12, 3), D(2026, 12, 12), EARLY, [result(D(2026, 12, 3), 2)],
                     id="completed-result-after-outage-late"),
        pytest.param("rejected", DUE, D(2026, 11, 26), D(2026, 11, 26), EARLY, [result(D(2026, 11, 26), 0)],
                     id="rejected-before-due-result"),
        pytest.param("completed", DUE, D(2026, 11, 20), D(2026, 11, 25), D(2026, 11, 25),
                     [result(D(2026, 11, 20), 0)], id="learned-within-7-days-of-completion"),
        pytest.param("completed", DUE, D(2026, 10, 1), D(2026, 11, 25), D(2026, 11, 25), [],
                     id="completed-long-ago-learned-later-none"),
    ],
)
def test_notices_owed(status: str, due_on: dt.date | None, completed_on: dt.date | None, today: dt.date,
                      known_since: dt.date, expected: list[NoticeDue]) -> None:
    assert notices_owed(status, due_on, completed_on, today, known_since) == expected
