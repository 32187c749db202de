"""The daily roll-up (``survey_daily``) the reports read: one UPSERT per invitation and per answer, in the
same transaction as the row it counts, so the figures never disagree with the rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..store.models import SurveyDaily

KEY = ("agency", "service", "channel", "counter", "day")


def insert_for(s: Session | Connection) -> Any:
    """The dialect's INSERT, which has ON CONFLICT (PostgreSQL and SQLite alike)."""
    bind = s.get_bind() if isinstance(s, Session) else s
    return postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert


def bump(s: Session | Connection, agency: str, service: str, channel: str, counter: str | None, day: dt.date,
         **add: int) -> None:
    """Add ``add`` (column: amount) to one day's row of an agency, service, channel and counter ('' for none)."""
    t = SurveyDaily.__table__
    stmt = insert_for(s)(t).values(agency=agency, service=service, channel=channel, counter=counter or "", day=day,
                                   **add)
    s.execute(stmt.on_conflict_do_update(index_elements=list(KEY),
                                         set_={name: t.c[name] + stmt.excluded[name] for name in add}))


def answer_figures(overall: int, *, wait_seconds: int | None, days_late: int | None, speed: int | None,
                   courtesy: int | None, clarity: int | None) -> dict[str, int]:
    """What one answer adds to its day's row: the answer, its overall score, and what was measured and said
    of the rest only when known (their means divide by their own counts)."""
    add = {"answers": 1, f"overall_{overall}": 1}
    for name, value in (("wait_seconds", wait_seconds), ("days_late", days_late)):
        if value is not None:
            add.update({f"{name}_sum": value, f"{name.removesuffix('_seconds')}_count": 1})
    for name, value in (("speed", speed), ("courtesy", courtesy), ("clarity", clarity)):
        if value is not None:
            add.update({f"{name}_sum": value, f"{name}_count": 1})
    return add
