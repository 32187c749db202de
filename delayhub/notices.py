"""Section 10 as rules: which notices a request is owed on a given day.

Past the due date and unfinished, delay notice k is owed on due + 1 + 7·(k−1); a finished
request is owed a result notice within 7 days of finishing. Every notice goes to each of the
applicant's channels and a copy to the OPDC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

UNFINISHED = frozenset({"received", "in_progress", "waiting_applicant"})
FINISHED = frozenset({"completed", "rejected"})
RESULT_WITHIN_DAYS = 7
REPEAT_DAYS = 7


@dataclass(frozen=True)
class NoticeDue:
    kind: str  # delay | result
    sequence: int
    owed_on: dt.date
    late_days: int  # days between when it was owed and the day it is created


def delay_sequence_on(due_on: dt.date, day: dt.date) -> int:
    """How many delay notices are owed by ``day`` (0 on or before the due date)."""
    if day <= due_on:
        return 0
    return (day - due_on - dt.timedelta(days=1)).days // REPEAT_DAYS + 1


def delay_owed_on(due_on: dt.date, k: int) -> dt.date:
    return due_on + dt.timedelta(days=1 + REPEAT_DAYS * (k - 1))


def notices_owed(status: str, due_on: dt.date | None, completed_on: dt.date | None,
                 today: dt.date, known_since: dt.date) -> list[NoticeDue]:
    """Notices owed by ``today``.

    Every delay notice owed since the hub first knew the request (``known_since``) is listed,
    so after an outage each missed one is sent once, marked late. Periods that passed before
    the hub knew the request are covered by the first notice it sends, not replayed.
    """
    if status in UNFINISHED and due_on is not None:
        last = delay_sequence_on(due_on, today)
        first = max(1, delay_sequence_on(due_on, known_since))
        return [NoticeDue("delay", k, delay_owed_on(due_on, k), (today - delay_owed_on(due_on, k)).days)
                for k in range(first, last + 1)]
    if status in FINISHED and completed_on is not None:
        deadline = completed_on + dt.timedelta(days=RESULT_WITHIN_DAYS)
        if known_since <= completed_on or today <= deadline:
            return [NoticeDue("result", 1, completed_on, max(0, (today - deadline).days))]
    return []
