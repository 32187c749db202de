"""The central queue on the hub store: slots made from each agency's settings, bookings whose places the
database itself counts, queue numbers, cancelling and changing, check-in, and the minute-by-minute work
(releasing no-shows, handing unused web places to walk-ins).

Never overbooked: a place is taken by ``UPDATE queue_slots SET booked = booked + 1 WHERE … AND booked <
capacity`` in the same transaction that numbers and inserts the booking, and a check constraint refuses
``booked > capacity`` whatever the code does. On PostgreSQL that whole transaction is one statement
(``WITH … UPDATE … RETURNING``: one round trip, row locks re-checked by the database on conflict); on
SQLite the same steps run in one transaction, which SQLite serialises. One active booking per person,
agency and day is a partial unique index: two channels booking the same person at once, one wins and the
other's transaction (its place included) is rolled back.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from .. import config
from ..calendar import ThaiCalendar, default_calendar
from ..config import TIMEZONE
from ..pdpa import mask_phone
from ..registry import Registry
from ..store import HubStore
from ..store.models import Outbox, QueueBooking, QueueCounter, QueueSlot
from . import messages
from .rules import (
    Booker,
    Refused,
    distance_m,
    manage_token,
    new_ref,
    normalise_phone,
    phone_proof,
    proven_phone,
    ref_of,
)
from .settings import CHANNELS, LiveCalendar, QueueSettings

NOW_ENV = "DELAYHUB_NOW"  # pin the queue's clock (ISO datetime with zone): demos and tests
WAITING = ("booked", "checked_in")  # not yet called (or sent on to another counter): people ahead count these
ACTIVE = (*WAITING, "called")  # counts for "one booking per person"
AUTO_PICK_TRIES = 3  # walk-in and mobile take the earliest slot with room; a lost race tries the next


def clock() -> dt.datetime:
    """Now, as an aware UTC datetime. ``DELAYHUB_NOW`` pins it; ``DELAYHUB_TODAY`` alone pins the day
    and keeps the time of day, so the queue and the rest of the hub agree on which day it is."""
    pinned = os.environ.get(NOW_ENV)
    if pinned:
        return dt.datetime.fromisoformat(pinned).astimezone(dt.UTC)
    now = config.now()
    day = os.environ.get("DELAYHUB_TODAY")
    if day:
        local = now.astimezone(TIMEZONE)
        return dt.datetime.combine(dt.date.fromisoformat(day), local.time(), TIMEZONE).astimezone(dt.UTC)
    return now


def local_day(at: dt.datetime) -> dt.date:
    return at.astimezone(TIMEZONE).date()


@dataclass(frozen=True)
class SlotInfo:
    """What never changes about a slot (its places do): cached per process once the day is open."""

    id: int
    agency: str
    service: str
    day: dt.date
    channel: str
    starts_at: dt.datetime
    ends_at: dt.datetime


@dataclass(frozen=True)
class Plan:
    """A booking the rules allow, ready for the one statement that takes its place."""

    agency: str
    service: str
    channel: str
    slot_ids: tuple[int, ...]  # the slot (web) or today's candidates, earliest first (walk-in, mobile)
    booker: Booker
    language: str
    ref: str
    prefix: str
    sms: str | None  # the confirmation SMS with "{no}" for the number; None without a phone
    now: dt.datetime
    deadline: dt.datetime  # the confirmation is pointless after the slot starts
    survey_consent: bool = False  # the booker agreed to be asked about the service afterwards

    @property
    def auto(self) -> bool:
        return self.channel != "web"

    def params(self) -> dict[str, Any]:
        b = self.booker
        return {"slot_id": self.slot_ids[0], "candidates": list(self.slot_ids), "ref": self.ref,
                "service": self.service, "prefix": self.prefix, "person_key": b.person_key, "name": b.name,
                "nid_masked": b.nid_masked, "phone": b.phone, "language": self.language, "now": self.now,
                "today": local_day(self.now), "send_sms": self.sms is not None, "sms": self.sms or "",
                "deadline": self.deadline, "survey_consent": self.survey_consent}


@dataclass(frozen=True)
class Booking:
    id: int
    ref: str
    token: str
    queue_no: str
    number: int
    agency: str
    service: str
    channel: str
    day: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    name: str
    nid_masked: str | None
    phone: str | None
    language: str
    slot_id: int

    @property
    def phone_masked(self) -> str | None:
        return mask_phone(self.phone) if self.phone else None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


def queue_label(prefix: str, number: int) -> str:
    """A001 … A999, then A1000: three digits at least, never cut."""
    return f"{prefix}{number:03d}"


# The whole booking as one PostgreSQL statement: take the place, number it, insert the booking and its
# confirmation SMS. A full slot returns no row (and so numbers and inserts nothing); a second active
# booking of the same person fails on the unique index and rolls all of it back.
_PG_BOOK = """
WITH s AS (
  UPDATE queue_slots SET booked = booked + 1
  WHERE id = @SLOT@ AND booked < capacity
  RETURNING id, agency, day, channel, starts_at
), n AS (
  UPDATE queue_counters c SET last_no = c.last_no + 1
  FROM s WHERE c.agency = s.agency AND c.day = s.day AND c.channel = s.channel
  RETURNING c.last_no
), b AS (
  INSERT INTO queue_bookings (ref, slot_id, agency, service, day, channel, starts_at, number, queue_no,
                              person_key, name, nid_masked, phone, language, status, active, created_at,
                              survey_consent)
  SELECT CAST(:ref AS text), s.id, s.agency, CAST(:service AS text), s.day, s.channel, s.starts_at, n.last_no,
         CAST(:prefix AS text) || lpad(n.last_no::text, greatest(3, length(n.last_no::text)), '0'),
         CAST(:person_key AS text), CAST(:name AS text), CAST(:nid_masked AS text), CAST(:phone AS text),
         CAST(:language AS text), 'booked', true, CAST(:now AS timestamptz), CAST(:survey_consent AS boolean)
  FROM s, n
  RETURNING id, slot_id, number, queue_no
), o AS (
  INSERT INTO outbox (request_id, queue_booking_id, kind, sequence, channel, idempotency_key, owed_on,
                      late_days, recipient, subject, body, status, attempts, next_attempt_at, created_at,
                      deadline_at)
  SELECT NULL, b.id, 'queue_booked', b.id, 'sms', 'queue-booked-' || b.id::text, CAST(:today AS date), 0,
         CAST(:phone AS text), '', replace(CAST(:sms AS text), '{no}', b.queue_no), 'queued', 0,
         CAST(:now AS timestamptz), CAST(:now AS timestamptz), CAST(:deadline AS timestamptz)
  FROM b WHERE CAST(:send_sms AS boolean)
)
SELECT id, slot_id, number, queue_no FROM b
"""
# Every parameter is cast to its type, so the statement also runs with untyped (text) parameters.
_PICK = ("(SELECT id FROM queue_slots WHERE id = ANY(CAST(:candidates AS integer[])) AND booked < capacity"
         " ORDER BY starts_at, id LIMIT 1)")
PG_BOOK = {False: _PG_BOOK.replace("@SLOT@", "CAST(:slot_id AS integer)"), True: _PG_BOOK.replace("@SLOT@", _PICK)}
PERSON_INDEX = "uq_queue_bookings_person_day"


def is_person_conflict(exc: BaseException) -> bool:
    """Is this the unique index of one active booking per person (not some other key)?"""
    diag = getattr(getattr(exc, "orig", exc), "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name is not None:
        return name == PERSON_INDEX
    return "queue_bookings.person_key" in str(exc)  # SQLite names the columns, not the index


class Queue:
    """The central queue over the hub store. One per process; safe to share between threads."""

    def __init__(self, store: HubStore, registry: Registry, settings: Mapping[str, QueueSettings], key: bytes,
                 calendar: ThaiCalendar | LiveCalendar | None = None, now: Callable[[], dt.datetime] = clock) -> None:
        # ``settings`` may be a ``LiveSettings`` and ``calendar`` a ``LiveCalendar``: edits then apply while
        # running, and a day's slots are made again when either changes (see ``_made_from``).
        self.store, self.registry, self.settings, self.key = store, registry, settings, key
        self.calendar = calendar or default_calendar()
        self.now = now
        self.dialect = store.engine.dialect.name
        self._lock = threading.Lock()
        self._opened: dict[str, tuple[dt.date, str, ThaiCalendar]] = {}  # agency: what its slots were made from
        self._slots: dict[int, SlotInfo] = {}
        self._working: dict[str, frozenset[dt.date]] = {}
        # agency: {(service, channel, day): its slots, earliest first}
        self._day_slots: dict[str, dict[tuple[str, str, dt.date], tuple[SlotInfo, ...]]] = {}

    # --- what there is ---------------------------------------------------------------------------
    def settings_of(self, agency: str) -> QueueSettings:
        found = self.settings.get(agency)
        if found is None:
            raise Refused("no_queue", "agency", status=404)
        return found

    def service_of(self, agency: str, service: str) -> QueueSettings:
        settings = self.settings_of(agency)
        if service not in settings.services:
            raise Refused("no_service", "service", status=404)
        return settings

    def counters(self, agency: str, channel: str) -> tuple[str, ...]:
        return self.settings_of(agency).desks[channel].counters

    def agency_name(self, agency: str, lang: str = "th") -> str:
        a = self.registry.agencies[agency]
        return a.name_en if lang == "en" and a.name_en else a.name

    def current_calendar(self) -> ThaiCalendar:
        return self.calendar.current() if isinstance(self.calendar, LiveCalendar) else self.calendar

    def _made_from(self, settings: QueueSettings, now: dt.datetime) -> tuple[dt.date, str, ThaiCalendar]:
        return local_day(now), settings.digest, self.current_calendar()

    def calendar_of(self, agency: str) -> ThaiCalendar:
        return self.current_calendar().for_agency(agency, self.registry.department_of(agency).code,
                                                  self.registry.ministry_of(agency).code)

    # --- slots --------------------------------------------------------------------------------------
    def open(self, agency: str, now: dt.datetime | None = None) -> None:
        """Make the agency's slots up to its booking horizon (once a day per process; cheap after)."""
        settings = self.settings_of(agency)
        made = self._made_from(settings, now or self.now())
        if self._opened.get(agency) == made:
            return
        with self._lock:
            if self._opened.get(agency) != made:
                self._materialise(settings, made[0])
                self._opened[agency] = made

    def is_open(self, agency: str, now: dt.datetime) -> bool:
        settings = self.settings.get(agency)
        return settings is not None and self._opened.get(agency) == self._made_from(settings, now)

    def _materialise(self, s: QueueSettings, today: dt.date) -> None:
        cal = self.calendar_of(s.agency)
        days = [today + dt.timedelta(days=i) for i in range(s.horizon_days + 1)]
        working = [d for d in days if cal.is_working_day(d)]
        times = s.slot_times()
        want: dict[tuple[str, dt.date, str, dt.datetime], tuple[int, dt.datetime]] = {}
        for day in working:
            for service in s.services:
                for channel in CHANNELS:
                    for (start, end), places in zip(times, s.split(service, channel), strict=True):
                        want[(service, day, channel, s.local(day, start))] = (places, s.local(day, end))
        t = QueueSlot
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        with self.store.engine.begin() as conn:
            have = {(r.service, r.day, r.channel, r.starts_at): r for r in conn.execute(
                select(t.id, t.service, t.day, t.channel, t.starts_at, t.capacity, t.booked, t.handed_over)
                .where(t.agency == s.agency, t.day >= today))}
            fresh = [{"agency": s.agency, "service": k[0], "day": k[1], "channel": k[2], "starts_at": k[3],
                      "ends_at": end, "capacity": places, "booked": 0, "handed_over": 0}
                     for k, (places, end) in want.items() if k not in have]
            for i in range(0, len(fresh), 1000):
                conn.execute(insert(t).on_conflict_do_nothing(), fresh[i:i + 1000])
            counters = [{"agency": s.agency, "day": d, "channel": c, "last_no": 0} for d in working for c in CHANNELS]
            if counters:
                conn.execute(insert(QueueCounter).on_conflict_do_nothing(), counters)
            # Settings changed since the slots were made: later days follow them, never below the
            # places already booked (today's slots stay as they are: people are queueing in them).
            for key, row in have.items():
                target = want.get(key)
                if row.day == today or row.handed_over:
                    continue
                places = 0 if target is None else target[0]  # a day or service no longer open: close it
                if row.capacity != max(places, row.booked):
                    conn.execute(update(t).where(t.id == row.id, t.handed_over == 0).values(
                        capacity=func.max(t.booked, places) if self.dialect == "sqlite"
                        else func.greatest(t.booked, places)))
            rows = conn.execute(select(t.id, t.agency, t.service, t.day, t.channel, t.starts_at, t.ends_at)
                                .where(t.agency == s.agency, t.day >= today)).all()
        by_key: dict[tuple[str, str, dt.date], list[SlotInfo]] = {}
        for r in rows:
            slot = self._slots[r.id] = SlotInfo(r.id, r.agency, r.service, r.day, r.channel, r.starts_at, r.ends_at)
            by_key.setdefault((r.service, r.channel, r.day), []).append(slot)
        self._day_slots[s.agency] = {k: tuple(sorted(v, key=lambda x: (x.starts_at, x.id))) for k, v in by_key.items()}
        self._working[s.agency] = frozenset(working)

    def slot(self, agency: str, slot_id: int, now: dt.datetime | None = None) -> SlotInfo:
        self.open(agency, now)
        found = self._slots.get(slot_id)
        if found is None or found.agency != agency:
            raise Refused("no_slot", "slot", status=404)
        return found

    def days(self, agency: str, service: str, channel: str, now: dt.datetime | None = None
             ) -> list[tuple[dt.date, int]]:
        """Working days one may book on ``channel``, with the free places left in each."""
        now = now or self.now()
        self.service_of(agency, service)
        self.open(agency, now)
        t = QueueSlot
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(t.day, func.sum(t.capacity - t.booked))
                                .where(t.agency == agency, t.service == service, t.channel == channel,
                                       t.day >= local_day(now), t.ends_at > now)
                                .group_by(t.day).order_by(t.day)).all()
        working = self._working.get(agency, frozenset())
        return [(day, int(free)) for day, free in rows if day in working]

    def slots(self, agency: str, service: str, channel: str, day: dt.date, now: dt.datetime | None = None
              ) -> list[tuple[SlotInfo, int]]:
        """The day's slots not yet over, with their free places, earliest first."""
        now = now or self.now()
        self.service_of(agency, service)
        self.open(agency, now)
        if day not in self._working.get(agency, frozenset()):
            return []
        t = QueueSlot
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(t.id, t.capacity - t.booked)
                                .where(t.agency == agency, t.service == service, t.channel == channel,
                                       t.day == day, t.ends_at > now).order_by(t.starts_at)).all()
        return [(self._slots[r[0]], int(r[1])) for r in rows if r[0] in self._slots]

    def _candidates(self, agency: str, service: str, channel: str, now: dt.datetime) -> tuple[int, ...]:
        today = local_day(now)
        if today not in self._working.get(agency, frozenset()):
            return ()
        mine = self._day_slots.get(agency, {}).get((service, channel, today), ())
        return tuple(s.id for s in mine if s.ends_at > now)

    # --- booking -------------------------------------------------------------------------------------
    def plan(self, channel: str, agency: str, service: str, booker: Booker, *, slot_id: int | None = None,
             position: tuple[float, float] | None = None, proof: str = "", lang: str = "th",
             now: dt.datetime | None = None) -> Plan:
        """Check everything that needs no database and say which slot(s) the booking may take.

        Web and mobile bookings need the booker's mobile number confirmed by a one-time code (``proof``);
        mobile ones a position within the agency's radius, and they join today's queue; walk-ins (at the
        agency's kiosk) take today's next walk-in slot with room."""
        now = now or self.now()
        if channel != "walk_in" and booker.phone and proven_phone(self.key, proof, now.timestamp()) != booker.phone:
            self.precheck(channel, agency, service, booker, slot_id=slot_id, position=position, now=now)
            raise Refused("phone_unconfirmed", "phone", status=401)
        return self._plan(channel, agency, service, booker, slot_id, position, lang, now)

    def precheck(self, channel: str, agency: str, service: str, booker: Booker, *, slot_id: int | None = None,
                 position: tuple[float, float] | None = None, now: dt.datetime | None = None) -> None:
        """Every rule of ``plan`` but the confirmed phone: worth checking before an SMS code is sent."""
        self._plan(channel, agency, service, booker, slot_id, position, "th", now or self.now())

    def _plan(self, channel: str, agency: str, service: str, booker: Booker, slot_id: int | None,
              position: tuple[float, float] | None, lang: str, now: dt.datetime) -> Plan:
        if channel not in CHANNELS:
            raise Refused("no_channel", "channel", status=404)
        settings = self.service_of(agency, service)
        self.open(agency, now)
        if channel != "walk_in" and not booker.phone:
            raise Refused("phone_required", "phone")
        if channel == "web":
            if slot_id is None:
                raise Refused("no_slot", "slot", status=404)
            slot = self.slot(agency, slot_id, now)
            if slot.service != service or slot.channel != "web" or slot.day not in self._working[agency]:
                raise Refused("no_slot", "slot", status=404)
            if slot.ends_at <= now:
                raise Refused("slot_over", "slot", status=409)
            if self.handed_over(settings, slot, now):
                raise Refused("handed_over", "slot", status=409, at=f"{settings.handover_from:%H:%M}")
            ids, starts = (slot.id,), slot.starts_at
        else:
            if channel == "mobile":
                self.check_distance(agency, position)
            ids, starts = self._candidates(agency, service, channel, now), None
            if not ids:
                raise Refused("closed_today", "service", status=409)
        ref = new_ref()
        sms = None
        if booker.phone:
            # Links sent by SMS start at the configured address, never at a request's Host header.
            link = messages.booking_link(messages.public_url(), manage_token(self.key, ref))
            desk = ", ".join(self.counters(agency, channel))
            sms = messages.confirmation_text(link, starts, desk, self.agency_name(agency, lang), lang,
                                             day=local_day(now) if starts is None else None)
        last = self._slots[ids[-1]]
        return Plan(agency, service, channel, ids, booker, lang, ref, settings.desks[channel].prefix, sms, now,
                    last.starts_at if starts is not None else last.ends_at)

    def check_distance(self, agency: str, position: tuple[float, float] | None) -> float:
        """Metres from the agency, if within its mobile radius; else Refused with the distance and the limit."""
        settings = self.settings_of(agency)
        if position is None:
            raise Refused("position_required", "position")
        away = distance_m(position[0], position[1], settings.lat, settings.lon)
        if away > settings.mobile_radius_m:
            raise Refused("too_far", "position", status=403, distance_m=round(away), limit_m=settings.mobile_radius_m)
        return away

    @staticmethod
    def handed_over(settings: QueueSettings, slot: SlotInfo, now: dt.datetime) -> bool:
        """Have today's unused web places of this slot gone to walk-ins (the agency's afternoon rule)?"""
        if settings.handover_from is None or slot.channel != "web" or slot.day != local_day(now):
            return False
        at = settings.local(slot.day, settings.handover_from)
        return now >= at and slot.starts_at >= at

    def book(self, plan: Plan) -> Booking:
        """Take the place, number it and keep the booking: one transaction (one statement on PostgreSQL)."""
        for _ in range(AUTO_PICK_TRIES if plan.auto else 1):
            try:
                with self.store.engine.begin() as conn:
                    row = self._book_in(conn, plan)
            except IntegrityError as exc:
                raise self.conflict(exc) from None
            if row is not None:
                return self.booked(plan, row)
        raise Refused("full", "slot", status=409)

    def conflict(self, exc: BaseException) -> Refused | BaseException:
        return Refused("already_booked", "national_id", status=409) if is_person_conflict(exc) else exc

    def _book_in(self, conn: Connection, plan: Plan) -> Any:
        if self.dialect == "postgresql":
            return conn.execute(text(PG_BOOK[plan.auto]), plan.params()).first()
        # SQLite: the same steps in the caller's transaction; the first write takes SQLite's one lock.
        t = QueueSlot
        target: Any = plan.slot_ids[0]
        if plan.auto:
            target = (select(t.id).where(t.id.in_(plan.slot_ids), t.booked < t.capacity)
                      .order_by(t.starts_at, t.id).limit(1).scalar_subquery())
        slot_id = conn.execute(update(t).where(t.id == target, t.booked < t.capacity)
                               .values(booked=t.booked + 1).returning(t.id)).scalar()
        if slot_id is None:
            return None
        slot = self._slots[slot_id]
        c = QueueCounter
        number = conn.execute(update(c).where(c.agency == slot.agency, c.day == slot.day, c.channel == slot.channel)
                              .values(last_no=c.last_no + 1).returning(c.last_no)).scalar_one()
        label, b = queue_label(plan.prefix, number), plan.booker
        booking_id = conn.execute(QueueBooking.__table__.insert().values(
            ref=plan.ref, slot_id=slot_id, agency=slot.agency, service=plan.service, day=slot.day,
            channel=slot.channel, starts_at=slot.starts_at, number=number, queue_no=label, person_key=b.person_key,
            name=b.name, nid_masked=b.nid_masked, phone=b.phone, language=plan.language, status="booked",
            active=True, created_at=plan.now, survey_consent=plan.survey_consent,
        ).returning(QueueBooking.id)).scalar_one()
        if plan.sms is not None:
            conn.execute(Outbox.__table__.insert().values(**sms_row(
                booking_id, "queue_booked", b.phone or "", plan.sms.replace(messages.NUMBER, label),
                plan.now, plan.deadline)))
        return (booking_id, slot_id, number, label)

    def booked(self, plan: Plan, row: Sequence[Any]) -> Booking:
        booking_id, slot_id, number, label = row[0], row[1], row[2], row[3]
        slot, b = self._slots[slot_id], plan.booker
        return Booking(booking_id, plan.ref, manage_token(self.key, plan.ref), label, number, plan.agency,
                       plan.service, plan.channel, slot.day, slot.starts_at, slot.ends_at, "booked", b.name,
                       b.nid_masked, b.phone, plan.language, slot_id)

    # --- one booking -----------------------------------------------------------------------------------
    def find(self, token: str) -> Booking | None:
        ref = ref_of(self.key, token)
        if ref is None:
            return None
        with self.store.session() as session:
            row = session.execute(_with_end(QueueBooking.ref == ref)).first()
        return None if row is None else self._booking(row[0], row[1], token)

    def _booking(self, b: QueueBooking, ends_at: dt.datetime, token: str | None = None) -> Booking:
        return Booking(b.id, b.ref, token or manage_token(self.key, b.ref), b.queue_no, b.number, b.agency,
                       b.service, b.channel, b.day, b.starts_at, ends_at, b.status, b.name, b.nid_masked, b.phone,
                       b.language, b.slot_id)

    def people_ahead(self, booking: Booking) -> int:
        """Active bookings with an earlier number in the same channel's queue that day."""
        t = QueueBooking
        with self.store.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t).where(
                t.agency == booking.agency, t.day == booking.day, t.channel == booking.channel,
                t.number < booking.number, t.status.in_(WAITING))).scalar_one())

    def cancel(self, token: str, now: dt.datetime | None = None) -> Booking:
        """Give the place back. Only a booking not yet checked in, and not in the past, can be cancelled."""
        now = now or self.now()
        booking = self._manageable(token, now)
        with self.store.engine.begin() as conn:
            self._cancel_in(conn, booking, now)
        return replace(booking, status="cancelled")

    def _manageable(self, token: str, now: dt.datetime) -> Booking:
        booking = self.find(token)
        if booking is None:
            raise Refused("no_booking", "token", status=404)
        if booking.status != "booked" or booking.ends_at <= now:
            raise Refused("not_changeable", "token", status=409, status_now=booking.status)
        return booking

    @staticmethod
    def _cancel_in(conn: Connection, booking: Booking, now: dt.datetime, status: str = "cancelled") -> None:
        t = QueueBooking
        done = conn.execute(update(t).where(t.id == booking.id, t.status == "booked")
                            .values(status=status, active=False, ended_at=now).returning(t.slot_id)).scalar()
        if done is None:  # cancelled, checked in or released meanwhile
            raise Refused("not_changeable", "token", status=409, status_now="changed")
        conn.execute(update(QueueSlot).where(QueueSlot.id == done).values(booked=QueueSlot.booked - 1))
        # A confirmation not sent yet would announce a place the person no longer has (after a change, next
        # to the new one's): it is not sent. One already with the gateway goes; the page says cancelled.
        conn.execute(update(Outbox).where(Outbox.queue_booking_id == booking.id, Outbox.status == "queued")
                     .values(status="dead", last_error=f"booking {status} before the SMS was sent"))

    def change(self, token: str, slot_id: int, *, now: dt.datetime | None = None) -> Booking:
        """Move a web booking to another slot of the same service: the old place is given back and the new
        one taken in one transaction, so a full new slot leaves the old booking as it was."""
        now = now or self.now()
        old = self._manageable(token, now)
        if old.channel != "web":
            raise Refused("not_changeable", "token", status=409, status_now=old.channel)
        if slot_id == old.slot_id:
            return old
        booker = Booker(old.name, self._person_key(old.id), old.nid_masked, old.phone)
        # the number was confirmed when the booking was made, and the link proves it is theirs
        plan = self.plan("web", old.agency, old.service, booker, slot_id=slot_id, lang=old.language,
                         proof=phone_proof(self.key, old.phone or "", now.timestamp()), now=now)
        plan = replace(plan, survey_consent=self._survey_consent(old.id))  # the new booking keeps the answer
        try:
            with self.store.engine.begin() as conn:
                self._cancel_in(conn, old, now, status="cancelled")
                row = self._book_in(conn, plan)
                if row is None:
                    raise Refused("full", "slot", status=409)
        except IntegrityError as exc:
            raise self.conflict(exc) from None
        return self.booked(plan, row)

    def _survey_consent(self, booking_id: int) -> bool:
        with self.store.engine.connect() as conn:
            return bool(conn.execute(select(QueueBooking.survey_consent).where(QueueBooking.id == booking_id)).scalar())

    def _person_key(self, booking_id: int) -> str:
        with self.store.engine.connect() as conn:
            return conn.execute(select(QueueBooking.person_key).where(QueueBooking.id == booking_id)).scalar_one()

    def check_in(self, agency: str, queue_no: str, last4: str, now: dt.datetime | None = None) -> Booking:
        """A web or mobile booker arrives: the kiosk takes the queue number and the phone's last 4 digits."""
        now = now or self.now()
        t = QueueBooking
        queue_no = queue_no.strip().upper()
        with self.store.transaction() as session:
            row = session.execute(_with_end(t.agency == agency, t.day == local_day(now),
                                            t.queue_no == queue_no)).first()
            if row is None or not row[0].phone or not last4 or row[0].phone[-4:] != last4.strip():
                raise Refused("no_booking", "queue_no", status=404)
            if row[0].status != "booked":
                raise Refused("not_changeable", "queue_no", status=409, status_now=row[0].status)
            session.execute(update(t).where(t.id == row[0].id, t.status == "booked")
                            .values(status="checked_in", checked_in_at=now))
        return replace(self._booking(row[0], row[1]), status="checked_in")

    def add_phone(self, token: str, phone: str, *, now: dt.datetime | None = None,
                  survey_consent: bool = False) -> Booking:
        """A walk-in leaves a number (from the QR code on the ticket) to be told when the turn is near, and
        may agree to be asked about the service afterwards."""
        now = now or self.now()
        number = normalise_phone(phone)
        if number is None:
            raise Refused("phone_invalid", "phone")
        booking = self.find(token)
        if booking is None or not booking.active:
            raise Refused("no_booking", "token", status=404)
        link = messages.booking_link(messages.public_url(), token)
        with self.store.engine.begin() as conn:
            # Once, unconfirmed: a ticket cannot be made to text one number after another.
            t = QueueBooking
            done = conn.execute(update(t).where(t.id == booking.id, t.phone.is_(None), t.active.is_(True))
                                .values(phone=number, survey_consent=survey_consent))
            if done.rowcount != 1:
                raise Refused("not_changeable", "phone", status=409, status_now="phone")
            conn.execute(Outbox.__table__.insert().values(**sms_row(
                booking.id, "queue_phone", number, messages.phone_added_text(booking.queue_no, link, booking.language),
                now, booking.ends_at, key=f"queue-phone-{booking.id}-{int(now.timestamp())}")))
        return replace(booking, phone=number)

    # --- every minute ------------------------------------------------------------------------------
    def release_no_shows(self, now: dt.datetime | None = None) -> int:
        """Web and mobile bookings not checked in by their slot's start plus the agency's grace period give
        their place back (and the person may book again). The grace counts from the booking itself when it
        was made after the slot began (a mobile booking joins the slot under way)."""
        now = now or self.now()
        t, released = QueueBooking, 0
        for agency, s in self.settings.items():
            cutoff = now - dt.timedelta(minutes=s.grace_minutes)
            with self.store.engine.begin() as conn:
                slots = conn.execute(update(t).where(t.agency == agency, t.status == "booked",
                                                     t.channel.in_(("web", "mobile")), t.starts_at < cutoff,
                                                     t.created_at < cutoff)
                                     .values(status="released", active=False, ended_at=now)
                                     .returning(t.slot_id)).scalars().all()
                for slot_id, n in sorted(Counter(slots).items()):
                    conn.execute(update(QueueSlot).where(QueueSlot.id == slot_id)
                                 .values(booked=QueueSlot.booked - n))
            released += len(slots)
        return released

    def hand_over(self, now: dt.datetime | None = None) -> int:
        """From the agency's hour, today's web places still free in slots from then on go to the walk-in
        slot at the same time. Run again, it also passes on places freed since (cancellations, no-shows)."""
        now = now or self.now()
        moved, today, t = 0, local_day(now), QueueSlot
        for agency, s in self.settings.items():
            if s.handover_from is None or now < s.local(today, s.handover_from):
                continue
            at = s.local(today, s.handover_from)
            with self.store.engine.begin() as conn:
                spare = conn.execute(select(t.id, t.service, t.starts_at, t.capacity, t.booked).where(
                    t.agency == agency, t.day == today, t.channel == "web", t.starts_at >= at, t.ends_at > now,
                    t.booked < t.capacity).order_by(t.id)).all()
                for row in spare:
                    gone = conn.execute(update(t).where(t.id == row.id, t.capacity == row.capacity,
                                                        t.booked == row.booked)
                                        .values(capacity=t.booked, handed_over=t.handed_over + (t.capacity - t.booked)))
                    if gone.rowcount != 1:
                        continue  # booked meanwhile: the next run takes what is left
                    conn.execute(update(t).where(t.agency == agency, t.service == row.service, t.day == today,
                                                 t.channel == "walk_in", t.starts_at == row.starts_at)
                                 .values(capacity=t.capacity + (row.capacity - row.booked)))
                    moved += row.capacity - row.booked
        return moved

    def free(self, slot_ids: Iterable[int]) -> dict[int, int]:
        with self.store.engine.connect() as conn:
            return {r[0]: int(r[1]) for r in conn.execute(
                select(QueueSlot.id, QueueSlot.capacity - QueueSlot.booked).where(QueueSlot.id.in_(list(slot_ids))))}


def _with_end(*where: Any) -> Any:
    """A booking with its slot's end (past it, a booking can no longer be changed)."""
    return select(QueueBooking, QueueSlot.ends_at).join(QueueSlot, QueueSlot.id == QueueBooking.slot_id).where(*where)


def sms_row(booking_id: int | None, kind: str, phone: str, body: str, now: dt.datetime, deadline: dt.datetime,
            key: str | None = None) -> dict[str, Any]:
    """An outbox row for a queue SMS: no request, the booking it is about (if any)."""
    return {"request_id": None, "queue_booking_id": booking_id, "kind": kind, "sequence": booking_id or 0,
            "channel": "sms", "idempotency_key": key or f"queue-booked-{booking_id}", "owed_on": local_day(now),
            "late_days": 0, "recipient": phone, "subject": "", "body": body, "status": "queued", "attempts": 0,
            "next_attempt_at": now, "created_at": now, "deadline_at": deadline}

