"""Telling booked people ahead of their day: the reminder the working day before, and the closure of a
booked day that became a day off.

Both write to the one outbox (``booking.sms_row``) in the same transaction as the guarded ``UPDATE`` that
marks the booking, so each SMS is queued exactly once however often, and however many at once, they run:
the ``UPDATE … WHERE reminded_at IS NULL`` (or ``WHERE status = 'booked'``) returns a booking to one run
only, and the outbox's unique idempotency key refuses a second row anyway.

- Reminder: a booking with a phone on the agency's next working day (the one Thai calendar with the
  agency's closures) gets one SMS from ``REMIND_FROM`` on the working day before, with the number, the date,
  the time, the counters and the link to see, cancel or change it. A booking made on or after that working
  day has just had its confirmation: no reminder. Runs missed on that day catch up on the days off between.
- Closure: when the calendar makes a booked day a day off (a Cabinet-declared day, the agency's closure),
  the bookings still ``booked`` on it become ``closed`` (inactive: the person may book again), their places
  are given back and the day's slots take no more bookings (capacity down to what is left booked), and each
  person with a phone gets one SMS saying the agency is closed that day, with the link to book again.
  People already checked in (a day off declared on the day itself) are left to the counter.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import Connection, select, update

from ..config import TIMEZONE
from ..store.models import Outbox, QueueBooking, QueueSlot
from . import messages
from .booking import Queue, local_day, sms_row
from .rules import manage_token

# Reminders go in the daytime only: a run at night leaves them to the morning's first run.
REMIND_FROM, REMIND_UNTIL = dt.time(9, 0), dt.time(20, 0)


def next_working_day(queue: Queue, agency: str, today: dt.date) -> dt.date:
    """The first working day after ``today`` at this agency (weekends, holidays and closures skipped)."""
    return queue.calendar_of(agency).next_working_day(today + dt.timedelta(days=1))


def send_reminders(queue: Queue, now: dt.datetime | None = None) -> int:
    """Queue the reminder of every booking due one; returns how many were queued by this run."""
    now = now or queue.now()
    local = now.astimezone(TIMEZONE)
    if not REMIND_FROM <= local.time() < REMIND_UNTIL:
        return 0
    today, sent = local.date(), 0
    base = messages.public_url()
    t = QueueBooking
    for agency in sorted(queue.settings):
        cal = queue.calendar_of(agency)
        day = next_working_day(queue, agency, today)
        eve = cal.add_working_days(day, -1)  # the working day before it (today, or the last one before today)
        made_before = dt.datetime.combine(eve, dt.time(), TIMEZONE).astimezone(dt.UTC)
        with queue.store.engine.begin() as conn:
            # Along (agency, day, status): the days after today up to the next working day hold the bookings.
            due = conn.execute(
                update(t).where(t.agency == agency, t.day > today, t.day <= day, t.status == "booked",
                                t.phone.is_not(None), t.reminded_at.is_(None), t.created_at < made_before)
                .values(reminded_at=now)
                .returning(t.id, t.ref, t.queue_no, t.channel, t.starts_at, t.phone, t.language)).all()
            rows = []
            for b in due:
                link = messages.booking_link(base, manage_token(queue.key, b.ref))
                text = messages.reminder_text(b.queue_no, b.starts_at, ", ".join(queue.counters(agency, b.channel)),
                                              link, queue.agency_name(agency, b.language), b.language)
                rows.append(sms_row(b.id, "queue_remind", b.phone, text, now, b.starts_at,
                                    key=f"queue-reminder-{b.id}"))
            if rows:
                conn.execute(Outbox.__table__.insert(), rows)
        sent += len(due)
    return sent


def close_days_off(queue: Queue, now: dt.datetime | None = None) -> int:
    """Close the bookings on days that are no longer working days; returns how many were closed."""
    now = now or queue.now()
    today, closed = local_day(now), 0
    s = QueueSlot
    for agency in sorted(queue.settings):
        cal = queue.calendar_of(agency)
        with queue.store.engine.connect() as conn:
            # Days with places to give from today on: a day off among them is closed (index agency, day).
            days = conn.execute(select(s.day).where(s.agency == agency, s.day >= today, s.capacity > 0)
                                .group_by(s.day)).scalars().all()
        for day in sorted(d for d in days if not cal.is_working_day(d)):
            with queue.store.engine.begin() as conn:
                closed += _close_day(queue, conn, agency, day, now)
    return closed


def _close_day(queue: Queue, conn: Connection, agency: str, day: dt.date, now: dt.datetime) -> int:
    s, t = QueueSlot, QueueBooking
    # The day's slots first, in id order, as a booking takes its slot first: no new place is taken on
    # the day meanwhile, and two runs at once wait for each other instead of deadlocking.
    conn.execute(select(s.id).where(s.agency == agency, s.day == day).order_by(s.id).with_for_update())
    gone = conn.execute(update(t).where(t.agency == agency, t.day == day, t.status == "booked")
                        .values(status="closed", active=False, ended_at=now)
                        .returning(t.id, t.slot_id, t.ref, t.queue_no, t.phone, t.language)).all()
    for slot_id, n in sorted(Counter(b.slot_id for b in gone).items()):
        conn.execute(update(s).where(s.id == slot_id).values(booked=s.booked - n))
    conn.execute(update(s).where(s.agency == agency, s.day == day, s.capacity != s.booked)
                 .values(capacity=s.booked))
    if not gone:
        return 0
    # A confirmation or reminder not sent yet would announce a visit on a day the agency is closed.
    conn.execute(update(Outbox).where(Outbox.queue_booking_id.in_([b.id for b in gone]), Outbox.status == "queued")
                 .values(status="dead", last_error="booking closed: the day became a day off"))
    link = messages.agency_link(messages.public_url(), agency)
    deadline = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), TIMEZONE).astimezone(dt.UTC)
    rows: list[dict[str, Any]] = [
        sms_row(b.id, "queue_closed", b.phone, messages.closed_text(b.queue_no, day, link,
                                                                    queue.agency_name(agency, b.language),
                                                                    b.language),
                now, deadline, key=f"queue-closed-{b.id}")
        for b in gone if b.phone]
    if rows:
        conn.execute(Outbox.__table__.insert(), rows)
    return len(gone)

