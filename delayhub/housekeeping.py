"""Housekeeping: delete the rows the web application leaves behind once they are past their use.

    form_submissions  the desk's one-time form tokens: a form can only be sent again within the
                      session that showed it (8 hours, and its CSRF token dies with it), so a token
                      used a day ago can never match a form again
    web_sessions      signed-in sessions past their expiry (a session signed out expires too, later)
    rate_limits       the tracking page's and the queue's attempt counters whose windows are over
    queue_otps        the queue's one-time SMS codes past their expiry (used or not: a used one is
                      refused the same way as a missing one)
    survey_invitations  a month past their expiry (answered or not): until then an old link still gets
                      the "expired" page; after, nothing left points from an event to the person
                      (answers never did, and the daily roll-up keeps the counts)

Each table is cleared in batches of ``batch`` rows, one short transaction each, along the index on
its time column, so a large backlog never holds a long lock. ``GRACE`` is kept past each expiry, for
hosts whose clocks differ a little. Called daily by the notice-sweep DAG and by ``delayhub
housekeeping``; running it twice, or on two hosts at once, is harmless.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select

from . import config
from .store import HubStore
from .store.models import FormSubmission, QueueOtp, RateLimit, SurveyInvitation, WebSession

log = logging.getLogger(__name__)

BATCH = 5_000
GRACE = dt.timedelta(hours=1)  # past an expiry before the row goes: clocks of several hosts differ a little
FORM_TOKEN_KEEP = dt.timedelta(days=1)  # a form outlives neither its 8-hour session nor its CSRF token
SURVEY_INVITATION_KEEP = dt.timedelta(days=30)  # an expired link still says "expired" for a month


@dataclass(frozen=True)
class Purge:
    """Rows of ``model`` whose ``column`` is before now − ``keep`` are past their use."""

    name: str
    model: Any
    key: str  # the primary key column, to pick a batch
    column: str
    keep: dt.timedelta


PURGES = (
    Purge("form_submissions", FormSubmission, "token", "used_at", FORM_TOKEN_KEEP),
    Purge("web_sessions", WebSession, "id", "expires_at", GRACE),
    Purge("rate_limits", RateLimit, "bucket", "expires_at", GRACE),
    Purge("queue_otps", QueueOtp, "id", "expires_at", GRACE),
    Purge("survey_invitations", SurveyInvitation, "id", "expires_at", SURVEY_INVITATION_KEEP),
)


def housekeeping(store: HubStore, now: dt.datetime | None = None, batch: int = BATCH) -> dict[str, int]:
    """Delete what is past its use; returns the rows deleted per table."""
    if batch < 1:
        raise ValueError(f"batch must be at least 1 (got {batch})")
    now = now or config.now()
    deleted: dict[str, int] = {}
    with store.job("housekeeping") as job:
        for purge in PURGES:
            deleted[purge.name] = _purge(store, purge, now - purge.keep, batch)
            job.add(purge.name, deleted[purge.name])
    log.info("housekeeping: %s", deleted)  # counts only
    return deleted


def _purge(store: HubStore, purge: Purge, cutoff: dt.datetime, batch: int) -> int:
    table = purge.model.__table__
    key, column = table.c[purge.key], table.c[purge.column]
    picked = select(key).where(column < cutoff).limit(batch)
    # The time condition is on the DELETE too: a row refreshed meanwhile (a rate-limit bucket counted
    # again) is checked anew by PostgreSQL before it is deleted, and kept.
    stmt = delete(table).where(column < cutoff, key.in_(picked))
    total = 0
    while True:
        with store.transaction() as s:
            n = s.execute(stmt).rowcount
        total += n
        if n < batch:
            return total
