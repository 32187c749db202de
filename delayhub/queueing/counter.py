"""The counter side of the central queue (ช่องบริการ): calling the next person, calling again, marking an
absent person after the agency's number of calls, sending a person on to another counter, and marking them
served with the measured times. No web framework here: ``delayhub.web.queue_counter`` serves it.

Who comes next at a counter (the counters of each channel are in the agency's settings):

1. someone sent on (transferred) to this very counter, in the order they were sent;
2. web and mobile bookers who have checked in and whose slot has started, in slot order (then by number);
3. then the rest by number: walk-ins (at the agency since they took their ticket), and web or mobile
   bookers who checked in before their slot. A web or mobile booking not checked in is not called.

A counter that serves several channels (one agency's mobile and web share counter 2) interleaves them by
when they booked. Every change is a guarded ``UPDATE … WHERE status = …``: two officers pressing "call
next" at once may aim at the same person, but only one UPDATE matches; the other takes the next one. A
counter has one person at a time (the UPDATE also requires that nobody is called there; on PostgreSQL a
per-counter advisory lock serialises the choice). Each call writes its hall row and its "your turn" SMS
in the same transaction; the hall is woken after the commit (``hall``), and the "your turn is near" SMS
go in a transaction of their own right after it.

Waiting times come from the measured service times (``service_seconds``) of the service at the counters
concerned: the median of the recent ones, falling back to what the agency's slot length plans per person
only when nothing has been measured yet (``service_estimate``, ``wait_minutes``).
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import statistics
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, select, text, update
from sqlalchemy.orm import Session

from ..store.models import Outbox, QueueBooking, QueueHallCall
from ..survey import invite as survey
from . import hall, messages
from .booking import WAITING, Booking, Queue, local_day, sms_row
from .rules import Refused
from .settings import CHANNELS, QueueSettings

CALL_TRIES = 5  # a lost race for every candidate in view reads the line again
CANDIDATES = 20  # how far down the line one call tries before reading it again
ESTIMATE_SAMPLES = 20  # the median of this many recent service times…
ESTIMATE_DAYS = 14  # …of at most this many days
CALL_SMS_MINUTES = 15  # "your turn" is pointless later than this
NEAR_SMS_MINUTES = 60
# audited(session, action, subject, before, after): the web layer's audit trail, in the change's transaction
Audited = Callable[[Session, str, str, dict[str, Any] | None, dict[str, Any] | None], None]

_t = QueueBooking
_COLUMNS = (_t.id, _t.agency, _t.day, _t.service, _t.channel, _t.queue_no, _t.number, _t.status, _t.counter,
            _t.calls, _t.called_at, _t.first_called_at, _t.wait_seconds, _t.service_seconds, _t.name, _t.phone,
            _t.language, _t.starts_at, _t.created_at, _t.checked_in_at, _t.near_alerted_at)


@dataclass(frozen=True)
class AtCounter:
    """A booking as a counter sees it (no national ID; pages show the name masked)."""

    id: int
    agency: str
    service: str
    channel: str
    queue_no: str
    number: int
    status: str
    counter: str | None
    calls: int
    called_at: dt.datetime | None
    first_called_at: dt.datetime | None
    wait_seconds: int | None
    service_seconds: int | None
    name: str
    phone: str | None
    language: str
    starts_at: dt.datetime
    checked_in_at: dt.datetime | None


@dataclass(frozen=True)
class Position:
    """Where a waiting booking stands: people to be called before it, and the estimated wait."""

    ahead: int
    minutes: int


@dataclass(frozen=True)
class Estimate:
    seconds: float  # one person of the service at these counters
    samples: int  # measured service times it comes from (0: the settings' plan)


def _at(row: Any) -> AtCounter:
    return AtCounter(row.id, row.agency, row.service, row.channel, row.queue_no, row.number, row.status, row.counter,
                     row.calls, row.called_at, row.first_called_at, row.wait_seconds, row.service_seconds, row.name,
                     row.phone, row.language, row.starts_at, row.checked_in_at)


def _ts(at: dt.datetime | None) -> float:
    return at.timestamp() if at is not None else 0.0


def callable_now(row: Any) -> bool:
    """Present at the agency: a walk-in, a checked-in booker, or someone sent on from another counter."""
    return row.counter is not None or row.channel == "walk_in" or row.status == "checked_in"


def order_key(row: Any, now: dt.datetime, mixed: bool) -> tuple[int, float, float, int, int]:
    """A waiting booking's place in a counter's line (see the module's docstring); ``mixed`` when the
    counter serves several channels, whose numbers are separate sequences."""
    if row.counter is not None:  # sent on to this counter: first, in the order they were sent
        return (0, _ts(row.called_at), 0.0, 0, row.id)
    booked = _ts(row.created_at) if mixed else 0.0
    if row.channel != "walk_in" and row.starts_at <= now:
        return (1, _ts(row.starts_at), booked, row.number, row.id)
    return (2, booked, 0.0, row.number, row.id)


def planned_seconds(settings: QueueSettings, counters: Collection[str]) -> float:
    """What the settings plan per person at one of these counters: a slot's length times the counters of
    their channels, over the places those channels hold per slot (every service); never more than a slot
    nor less than a minute."""
    slot = settings.slot_minutes * 60
    channels = [ch for ch, desk in settings.desks.items() if set(desk.counters) & set(counters)]
    staffed = {c for ch in channels for c in settings.desks[ch].counters}
    n_slots = max(1, len(settings.slot_times()))
    places = sum(s.capacity.get(ch, 0) for s in settings.services.values() for ch in channels) / n_slots
    return float(min(slot, max(60.0, slot * max(1, len(staffed)) / max(1.0, places))))


def service_estimate(session: Session, settings: QueueSettings, service: str, counters: Collection[str],
                     now: dt.datetime) -> Estimate:
    """How long one person of ``service`` takes at ``counters``: the median of the last ``ESTIMATE_SAMPLES``
    service times measured there (served − last call) over ``ESTIMATE_DAYS`` days; the settings' plan
    (``planned_seconds``) only when none was measured."""
    since = local_day(now) - dt.timedelta(days=ESTIMATE_DAYS)
    found = session.execute(
        select(_t.service_seconds).where(_t.agency == settings.agency, _t.day >= since, _t.status == "served",
                                         _t.service == service, _t.counter.in_(list(counters)),
                                         _t.service_seconds.is_not(None))
        .order_by(_t.ended_at.desc()).limit(ESTIMATE_SAMPLES)).scalars().all()
    if found:
        return Estimate(float(statistics.median(found)), len(found))
    return Estimate(planned_seconds(settings, counters), 0)


def wait_minutes(session: Session, settings: QueueSettings, services_ahead: Iterable[str],
                 counters: Collection[str], now: dt.datetime) -> int:
    """The estimated wait behind people of ``services_ahead``: their estimated service times shared by
    the counters that will call them, in whole minutes (at least 1 when anyone is ahead)."""
    cache: dict[str, float] = {}
    total = 0.0
    count = 0
    for service in services_ahead:
        if service not in cache:
            cache[service] = service_estimate(session, settings, service, counters, now).seconds
        total += cache[service]
        count += 1
    if not count:
        return 0
    return max(1, math.ceil(total / max(1, len(counters)) / 60))


class Counters:
    """The counters of every agency's queue, over the queue's store, settings and clock. Thread-safe."""

    def __init__(self, queue: Queue) -> None:
        self.queue = queue
        self.store = queue.store

    def now(self) -> dt.datetime:
        return self.queue.now()

    # --- what there is ----------------------------------------------------------------------------------
    def names(self, agency: str) -> list[str]:
        """The agency's counters, each once, in the settings' order (walk-in's first)."""
        settings = self.queue.settings_of(agency)
        out: list[str] = []
        for ch in CHANNELS:
            out += [c for c in settings.desks[ch].counters if c not in out]
        return out

    def channels_of(self, agency: str, counter: str) -> tuple[str, ...]:
        settings = self.queue.settings_of(agency)
        found = tuple(ch for ch in CHANNELS if counter in settings.desks[ch].counters)
        if not found:
            raise Refused("no_counter", "counter", status=404)
        return found

    def no_show_after(self, agency: str) -> int:
        return self.queue.settings_of(agency).no_show_after_calls

    def current(self, agency: str, counter: str, now: dt.datetime | None = None) -> AtCounter | None:
        """The person called to ``counter`` and not yet done with."""
        with self.store.session() as s:
            row = self._current(s, agency, counter, local_day(now or self.now()))
        return None if row is None else _at(row)

    def waiting(self, agency: str, counter: str, now: dt.datetime | None = None) -> list[AtCounter]:
        """Who ``counter`` would call, in order (the first is the next "call next")."""
        now = now or self.now()
        channels = self.channels_of(agency, counter)
        with self.store.session() as s:
            return [_at(r) for r in self._line(s, agency, local_day(now), [counter], channels, now)]

    def estimates(self, agency: str, counter: str, now: dt.datetime | None = None) -> dict[str, Estimate]:
        """Each service's estimated time per person at ``counter``."""
        now = now or self.now()
        settings = self.queue.settings_of(agency)
        self.channels_of(agency, counter)
        with self.store.session() as s:
            return {code: service_estimate(s, settings, code, [counter], now) for code in settings.services}

    def position(self, booking: Booking, now: dt.datetime | None = None) -> Position | None:
        """People ahead and the estimated wait of a booking waiting today (None when it is not waiting,
        or is a web or mobile booking whose slot has not started and who has not checked in)."""
        now = now or self.now()
        if booking.status not in WAITING or booking.day != local_day(now):
            return None
        settings = self.queue.settings_of(booking.agency)
        with self.store.session() as s:
            row = s.execute(select(*_COLUMNS).where(_t.id == booking.id)).first()
            if row is None or row.status not in WAITING or not self._expects_call(row, now):
                return None
            counters = (row.counter,) if row.counter is not None else settings.desks[row.channel].counters
            ahead = self._ahead(s, settings, row, counters, now)
            return Position(len(ahead), wait_minutes(s, settings, [r.service for r in ahead], counters, now))

    def called_to(self, booking: Booking) -> str | None:
        """The counter a called booking was called to."""
        with self.store.session() as s:
            return s.execute(select(_t.counter).where(_t.id == booking.id, _t.status == "called")).scalar()

    # --- the counter's buttons ---------------------------------------------------------------------------
    def call_next(self, agency: str, counter: str, *, audited: Audited | None = None,
                  now: dt.datetime | None = None) -> AtCounter:
        """Call the next person in ``counter``'s line. Refused ``counter_busy`` while someone called there is
        not yet done with, ``nobody_waiting`` when the line is empty."""
        now = now or self.now()
        channels = self.channels_of(agency, counter)
        today = local_day(now)
        for _ in range(CALL_TRIES):
            with self.store.transaction() as s:
                if s.get_bind().dialect.name == "postgresql":  # one choice at a time per counter
                    s.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                              {"key": f"queue-counter:{agency}:{counter}"})
                if self._current(s, agency, counter, today) is not None:
                    raise Refused("counter_busy", "counter", status=409)
                line = self._line(s, agency, today, [counter], channels, now)
                if not line:
                    raise Refused("nobody_waiting", "counter", status=409)
                called = None
                for row in line[:CANDIDATES]:
                    called = self._take(s, row, counter, today, now)
                    if called is not None:
                        break
                if called is None:
                    continue  # every one of them was called by another counter meanwhile: read again
                hall_id = self._hall_row(s, called, "call", today, now)
                if called.phone:
                    s.execute(Outbox.__table__.insert().values(**sms_row(
                        called.id, "queue_called", called.phone,
                        messages.called_text(called.queue_no, counter, called.language), now,
                        now + dt.timedelta(minutes=CALL_SMS_MINUTES), key=f"queue-call-{hall_id}")))
                if audited is not None:
                    audited(s, "queue.call", f"queue_booking:{called.id}", {"status": row.status},
                            {"agency": agency, "queue_no": called.queue_no, "counter": counter, "calls": called.calls})
            hall.announced(self.store, agency)
            # Everyone behind moved up one: is anyone's turn near now? A transaction of its own, so a call
            # never waits for another call's rows while holding its own (the next call or tick retries it).
            with self.store.transaction() as s:
                for channel in channels:
                    self._alert_near(s, agency, channel, now)
            return called
        raise Refused("nobody_waiting", "counter", status=409)

    def recall(self, agency: str, counter: str, booking_id: int, *, calls: int | None = None,
               audited: Audited | None = None, now: dt.datetime | None = None) -> AtCounter:
        """Call the person at ``counter`` again (the hall shows it again). ``calls``, when given, is the
        number of calls the officer saw: a form sent twice calls once."""
        now = now or self.now()
        today = local_day(now)
        with self.store.transaction() as s:
            row = self._at_counter(s, agency, counter, booking_id)
            guard = [_t.calls == (row.calls if calls is None else calls)]
            got = s.execute(update(_t).where(*self._here(booking_id, counter), *guard)
                            .values(calls=_t.calls + 1, called_at=now).returning(*_COLUMNS)).first()
            if got is None:
                raise Refused("changed", "booking", status=409)
            called = _at(got)
            self._hall_row(s, called, "recall", today, now)
            if audited is not None:
                audited(s, "queue.recall", f"queue_booking:{booking_id}", {"calls": row.calls},
                        {"agency": agency, "queue_no": called.queue_no, "counter": counter, "calls": called.calls})
        hall.announced(self.store, agency)
        return called

    def no_show(self, agency: str, counter: str, booking_id: int, *, audited: Audited | None = None,
                now: dt.datetime | None = None) -> AtCounter:
        """The person called did not come after the agency's number of calls: their booking ends."""
        now = now or self.now()
        needed = self.no_show_after(agency)
        with self.store.transaction() as s:
            row = self._at_counter(s, agency, counter, booking_id)
            if row.calls < needed:
                raise Refused("too_few_calls", "booking", status=409, calls=row.calls, needed=needed)
            got = s.execute(update(_t).where(*self._here(booking_id, counter), _t.calls >= needed)
                            .values(status="no_show", active=False, ended_at=now).returning(*_COLUMNS)).first()
            if got is None:
                raise Refused("changed", "booking", status=409)
            if audited is not None:
                audited(s, "queue.no_show", f"queue_booking:{booking_id}", {"status": "called"},
                        {"agency": agency, "queue_no": got.queue_no, "counter": counter, "calls": got.calls})
        return _at(got)

    def served(self, agency: str, counter: str, booking_id: int, *, audited: Audited | None = None,
               now: dt.datetime | None = None) -> AtCounter:
        """Done: the service time (served − the last call) is kept for the estimates."""
        now = now or self.now()
        with self.store.transaction() as s:
            row = self._at_counter(s, agency, counter, booking_id)
            seconds = max(0, int((now - row.called_at).total_seconds())) if row.called_at else None
            got = s.execute(update(_t).where(*self._here(booking_id, counter), _t.called_at == row.called_at)
                            .values(status="served", active=False, ended_at=now, service_seconds=seconds)
                            .returning(*_COLUMNS)).first()
            if got is None:  # called again meanwhile (another tab): the officer looks again
                raise Refused("changed", "booking", status=409)
            survey.queue_served(s, got.id, now=now)  # the survey's invitation, if they agreed to be asked
            if audited is not None:
                audited(s, "queue.served", f"queue_booking:{booking_id}", {"status": "called"},
                        {"agency": agency, "queue_no": got.queue_no, "counter": counter,
                         "service_seconds": seconds, "wait_seconds": got.wait_seconds})
        return _at(got)

    def transfer(self, agency: str, counter: str, booking_id: int, to: str, *, audited: Audited | None = None,
                 now: dt.datetime | None = None) -> AtCounter:
        """Send the person at ``counter`` on to counter ``to`` of the same agency: they wait there, first
        in its line (in the order sent), and are called again by it."""
        now = now or self.now()
        to = to.strip()
        if to not in self.names(agency):
            raise Refused("no_counter", "to", status=422)
        if to == counter:
            raise Refused("same_counter", "to", status=422)
        with self.store.transaction() as s:
            self._at_counter(s, agency, counter, booking_id)
            # called_at is when they were sent: the new counter's line takes them in that order
            got = s.execute(update(_t).where(*self._here(booking_id, counter))
                            .values(status="checked_in", counter=to, calls=0, called_at=now)
                            .returning(*_COLUMNS)).first()
            if got is None:
                raise Refused("changed", "booking", status=409)
            if audited is not None:
                audited(s, "queue.transfer", f"queue_booking:{booking_id}", {"counter": counter},
                        {"agency": agency, "queue_no": got.queue_no, "counter": to})
        return _at(got)

    def alert_near(self, agency: str, now: dt.datetime | None = None) -> int:
        """Send the due "your turn is near" SMS of every channel (also done after each call); the count sent."""
        now = now or self.now()
        with self.store.transaction() as s:
            return sum(self._alert_near(s, agency, ch, now) for ch in CHANNELS)

    # --- the work -----------------------------------------------------------------------------------------
    @staticmethod
    def _current(s: Session, agency: str, counter: str, day: dt.date) -> Any:
        return s.execute(select(*_COLUMNS).where(_t.agency == agency, _t.day == day, _t.counter == counter,
                                                 _t.status == "called").order_by(_t.called_at.desc())).first()

    @staticmethod
    def _waiting_rows(s: Session, agency: str, day: dt.date, counters: Collection[str],
                      channels: Collection[str]) -> Sequence[Any]:
        """Waiting bookings sent on to one of ``counters``, or not sent anywhere and of one of ``channels``."""
        return s.execute(select(*_COLUMNS).where(
            _t.agency == agency, _t.day == day, _t.status.in_(WAITING),
            (_t.counter.in_(list(counters))) | (_t.counter.is_(None) & _t.channel.in_(list(channels))))).all()

    def _line(self, s: Session, agency: str, day: dt.date, counters: Collection[str], channels: Collection[str],
              now: dt.datetime) -> list[Any]:
        rows = [r for r in self._waiting_rows(s, agency, day, counters, channels) if callable_now(r)]
        mixed = len(channels) > 1
        return sorted(rows, key=lambda r: order_key(r, now, mixed))

    @staticmethod
    def _expects_call(row: Any, now: dt.datetime) -> bool:
        """Worth telling how near the turn is: present, or a web or mobile booker whose slot has started."""
        return callable_now(row) or row.starts_at <= now

    def _ahead(self, s: Session, settings: QueueSettings, row: Any, counters: Collection[str],
               now: dt.datetime) -> list[Any]:
        """The present people the counters concerned will call before ``row`` (as if it were present)."""
        channels = [ch for ch in CHANNELS if set(settings.desks[ch].counters) & set(counters)]
        line = self._line(s, row.agency, row.day, counters, channels, now)
        mixed = len(channels) > 1
        keys = [order_key(r, now, mixed) for r in line]
        mine = order_key(row, now, mixed)
        return [r for r in line[:bisect.bisect_left(keys, mine)] if r.id != row.id]

    def _take(self, s: Session, row: Any, counter: str, day: dt.date, now: dt.datetime) -> AtCounter | None:
        """The guarded UPDATE: only if the booking still waits as it did, and nobody is at the counter."""
        other = QueueBooking.__table__.alias("other")
        busy = exists().where(other.c.agency == row.agency, other.c.day == day, other.c.counter == counter,
                              other.c.status == "called")
        values: dict[str, Any] = {"status": "called", "counter": counter, "calls": 1, "called_at": now}
        if row.first_called_at is None:
            values.update(first_called_at=now, wait_seconds=max(0, int((now - _wait_start(row)).total_seconds())))
        same_place = _t.counter.is_(None) if row.counter is None else _t.counter == row.counter
        got = s.execute(update(_t).where(_t.id == row.id, _t.status == row.status, same_place, ~busy)
                        .values(**values).returning(*_COLUMNS)).first()
        return None if got is None else _at(got)

    @staticmethod
    def _here(booking_id: int, counter: str) -> tuple[Any, ...]:
        return _t.id == booking_id, _t.status == "called", _t.counter == counter

    def _at_counter(self, s: Session, agency: str, counter: str, booking_id: int) -> Any:
        self.channels_of(agency, counter)
        row = s.execute(select(*_COLUMNS).where(_t.id == booking_id, _t.agency == agency)).first()
        if row is None or row.status != "called" or row.counter != counter:
            raise Refused("not_at_counter", "booking", status=409)
        return row

    @staticmethod
    def _hall_row(s: Session, called: AtCounter, kind: str, day: dt.date, now: dt.datetime) -> int:
        assert called.counter is not None
        hall_id = s.execute(QueueHallCall.__table__.insert().values(
            agency=called.agency, day=day, booking_id=called.id, queue_no=called.queue_no, counter=called.counter,
            service=called.service, kind=kind, at=now).returning(QueueHallCall.id)).scalar_one()
        hall.notify_in(s, called.agency)
        return int(hall_id)

    def _alert_near(self, s: Session, agency: str, channel: str, now: dt.datetime) -> int:
        """Once per booking: "N people ahead, about M minutes" when N reaches the agency's threshold."""
        settings = self.queue.settings_of(agency)
        counters = settings.desks[channel].counters
        channels = [ch for ch in CHANNELS if set(settings.desks[ch].counters) & set(counters)]
        # by id: concurrent alerts lock the rows they mark in one order, so they never deadlock
        rows = sorted(self._waiting_rows(s, agency, local_day(now), counters, channels), key=lambda r: r.id)
        mixed = len(channels) > 1
        line = sorted((r for r in rows if callable_now(r)), key=lambda r: order_key(r, now, mixed))
        keys = [order_key(r, now, mixed) for r in line]
        sent = 0
        for row in rows:
            if (row.channel != channel or row.counter is not None or not row.phone or row.near_alerted_at
                    or row.first_called_at or not self._expects_call(row, now)):
                continue
            ahead = [r for r in line[:bisect.bisect_left(keys, order_key(row, now, mixed))] if r.id != row.id]
            if not 1 <= len(ahead) <= settings.people_ahead_alert:
                continue
            marked = s.execute(update(_t).where(_t.id == row.id, _t.status == row.status,
                                                _t.near_alerted_at.is_(None)).values(near_alerted_at=now))
            if marked.rowcount != 1:
                continue
            minutes = wait_minutes(s, settings, [r.service for r in ahead], counters, now)
            s.execute(Outbox.__table__.insert().values(**sms_row(
                row.id, "queue_near", row.phone, messages.near_text(row.queue_no, len(ahead), minutes, row.language),
                now, now + dt.timedelta(minutes=max(NEAR_SMS_MINUTES, minutes)), key=f"queue-near-{row.id}")))
            sent += 1
        return sent


def _wait_start(row: Any) -> dt.datetime:
    """When waiting began: a walk-in's ticket; a booker's check-in, but not before their slot."""
    if row.channel == "walk_in" or row.checked_in_at is None:
        return row.created_at if row.channel == "walk_in" else max(row.starts_at, row.created_at)
    return max(row.checked_in_at, row.starts_at)
