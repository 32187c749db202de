"""Section 10 as rules: which notices a request is owed on a given day.

Past the due date and unfinished, delay notice k is owed on due + 1 + 7·(k−1) calendar days,
until the request completes, is rejected or withdrawn. A finished request is owed a result
notice within 7 days of finishing. Every notice goes to each of the applicant's channels and a
copy to the OPDC (see sweep). The sequence arithmetic below works on single values and on
numpy arrays alike, so the per-request path and the set-based sweep share one formula.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

UNFINISHED = frozenset({"received", "in_progress", "waiting_applicant"})
FINISHED = frozenset({"completed", "rejected"})
CLOSED = FINISHED | {"withdrawn"}
RESULT_WITHIN_DAYS = 7
REPEAT_DAYS = 7


@dataclass(frozen=True)
class NoticeDue:
    kind: str  # delay | result
    sequence: int
    owed_on: dt.date
    late_days: int  # days between when it was owed and the day it is created


def sequence_after(days_past_due: Any) -> Any:
    """Delay notices owed when ``days_past_due`` days have passed since the due date (0 if none).

    Day 1 past due owes notice 1, day 8 notice 2, day 15 notice 3…; int in, int out;
    array in, array out.
    """
    past = np.asarray(days_past_due)
    k = np.where(past > 0, (past - 1) // REPEAT_DAYS + 1, 0)
    return int(k) if k.ndim == 0 else k


def delay_ranges(due: np.ndarray, today: dt.date, known: np.ndarray, sent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For whole arrays of open requests: the first and last delay notice to queue today.

    ``due`` and ``known`` are datetime64[D] (NaT: no due date), ``sent`` the last sequence
    already queued. Nothing is owed where first > last.
    """
    has_due = ~np.isnat(due)
    today64 = np.datetime64(today, "D")
    last = np.where(has_due, sequence_after((today64 - due).astype(np.int64)), 0)
    first = np.maximum(1, np.where(has_due, sequence_after((known - due).astype(np.int64)), 0))
    return np.maximum(first, sent + 1), last


def delay_sequence_on(due_on: dt.date, day: dt.date) -> int:
    """How many delay notices are owed by ``day`` (0 on or before the due date)."""
    return sequence_after((day - due_on).days)


def delay_owed_on(due_on: dt.date, k: int) -> dt.date:
    return due_on + dt.timedelta(days=1 + REPEAT_DAYS * (k - 1))


def first_sequence(due_on: dt.date, known_since: dt.date) -> int:
    """The first delay notice the hub owes: periods that passed before it knew the request are
    covered by the first notice it sends, not replayed one by one."""
    return max(1, delay_sequence_on(due_on, known_since))


def result_owed(completed_on: dt.date, today: dt.date, known_since: dt.date) -> bool:
    """A finished request is owed its result notice if the hub knew it before it finished, or
    the 7 days have not yet run out."""
    return known_since <= completed_on or today <= completed_on + dt.timedelta(days=RESULT_WITHIN_DAYS)


def result_late_days(completed_on: dt.date, today: dt.date) -> int:
    return max(0, (today - completed_on - dt.timedelta(days=RESULT_WITHIN_DAYS)).days)


def notices_owed(status: str, due_on: dt.date | None, completed_on: dt.date | None,
                 today: dt.date, known_since: dt.date, already_sent: int = 0) -> list[NoticeDue]:
    """Notices owed by ``today`` that are not yet among the first ``already_sent`` delay notices.

    Every delay notice owed since the hub first knew the request is listed, so after an outage
    each missed one is sent once, marked late with how many days.
    """
    if status in UNFINISHED and due_on is not None:
        last = delay_sequence_on(due_on, today)
        first = max(first_sequence(due_on, known_since), already_sent + 1)
        return [NoticeDue("delay", k, delay_owed_on(due_on, k), (today - delay_owed_on(due_on, k)).days)
                for k in range(first, last + 1)]
    if status in FINISHED and completed_on is not None and result_owed(completed_on, today, known_since):
        return [NoticeDue("result", 1, completed_on, result_late_days(completed_on, today))]
    return []
