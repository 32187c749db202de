"""Opening a survey link and storing its one answer.

**One answer per token.** ``submit`` stores in ONE transaction whose first statement is the guarded
``UPDATE survey_invitations SET answered_at = … WHERE token_hash = … AND answered_at IS NULL AND expires_at >
now``: only the transaction whose UPDATE matched goes on to insert the answer and count it, so a second
submit, a form sent again or two tabs racing store exactly one (PostgreSQL re-checks the row after the
first commit; SQLite has one writer at a time). Validation happens before it: a wrong answer stores nothing
and leaves the token unused.

**Anonymous.** The answer row copies where and when the service was and what was measured of it (agency,
service, channel, counter, visit day, the wait to the minute or the days late) and the pinned question
sets; never the invitation, token, booking, request or anything of the person. The same UPDATE removes the
measured time from the invitation and keeps only the day it was answered, so the invitation row (which
knows the booking or request) offers nothing to match an answer by. Free text is masked
(``pdpa.mask_free_text``) before it is stored.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from ..config import TIMEZONE
from ..notices import FINISHED, UNFINISHED
from ..pdpa import mask_free_text
from ..registry import Registry
from ..store import HubStore
from ..store.models import QueueBooking, Request, SurveyAnswer, SurveyInvitation
from ..thai import to_arabic_digits
from . import invite, questions
from .daily import answer_figures, bump
from .questions import OPDC, SCALED, Question, StoredSet, SurveyFiles

OPEN, ANSWERED, EXPIRED, UNKNOWN, NOT_YET, STORED = "open", "answered", "expired", "unknown", "not_yet", "stored"
TOKEN_MAX = 100
_WAITING_VISIT = ("booked", "checked_in", "called")  # a visit not yet served: asked to come back after it
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Invitation:
    """What the survey page needs of an invitation (nothing of the person)."""

    token_hash: str
    agency: str
    service: str
    channel: str
    counter: str | None
    visit_on: dt.date
    wait_seconds: int | None
    days_late: int | None
    language: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class Found:
    state: str  # open | answered | expired | unknown | not_yet
    invitation: Invitation | None = None
    standard: StoredSet | None = None
    agency_set: StoredSet | None = None  # the agency's own questions, if it has any


@dataclass(frozen=True)
class Submitted:
    state: str  # stored, or why nothing was: answered | expired | unknown | not_yet
    answer_id: int | None = None


class Invalid(Exception):
    """The answer has mistakes (field → required | invalid | too_long): nothing stored, token unused."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Values:
    overall: int
    speed: int | None
    courtesy: int | None
    clarity: int | None
    comment: str | None
    extra: dict[str, Any] | None


def field_name(question: Question, agency: bool) -> str:
    """The form field of a question: the standard ones by id, the agency's prefixed (no clash with the form's
    own fields)."""
    return f"a_{question.id}" if agency else question.id


class Survey:
    """Links opened and answers stored, over the hub store. One per process; thread-safe."""

    def __init__(self, store: HubStore, registry: Registry | None = None, folder: Path | None = None,
                 now: Callable[[], dt.datetime] = invite.now_utc) -> None:
        self.store, self.registry, self.folder, self.now = store, registry, folder, now
        self._lock = threading.Lock()
        self._synced: tuple[SurveyFiles, dict[str, StoredSet]] | None = None

    # --- the question sets ------------------------------------------------------------------------------
    def sets(self) -> tuple[SurveyFiles, dict[str, StoredSet]]:
        """The files and their stored versions; synced again when a file changed (a changed file under an
        old version number raises ``ConfigError`` with the file and field)."""
        files = questions.current(self.folder)
        held = self._synced
        if held is not None and held[0] is files:
            return held
        with self._lock:
            if self._synced is None or self._synced[0] is not files:
                if self.registry is not None:  # the registry checks every agency's code once per change
                    questions.load(self.folder, self.registry)
                with self.store.transaction() as s:
                    self._synced = (files, questions.sync(s, files))
            return self._synced

    def current_sets(self, agency: str) -> tuple[StoredSet, StoredSet | None]:
        files, stored = self.sets()
        own = files.for_agency(agency, self.registry)
        return stored[OPDC], (stored[own.owner] if own is not None else None)

    # --- opening a link ---------------------------------------------------------------------------------
    def resolve(self, token: str, now: dt.datetime | None = None) -> Found:
        """What ``token`` opens now. A ticket's or letter's derived token makes (or finds) the visit's one
        invitation once the visit is served or the request finished."""
        now = now or self.now()
        if not token or len(token) > TOKEN_MAX:
            return Found(UNKNOWN)
        row = self._by_hash(invite.token_hash(token))
        if row is None:
            found = invite.derived(token)
            if found is None:
                return Found(UNKNOWN)
            kind, value = found
            state, row = self._queue_visit(token, value, now) if kind == "queue" else \
                self._request_visit(token, int(value), now)
            if row is None:
                return Found(state)
        if row.answered_at is not None:
            return Found(ANSWERED)
        if row.expires_at <= now:
            return Found(EXPIRED)
        shown = Invitation(row.token_hash, row.agency, row.service, row.channel, row.counter, row.visit_on,
                           row.wait_seconds, row.days_late, row.language, row.expires_at)
        standard, own = self.current_sets(row.agency)
        return Found(OPEN, shown, standard, own)

    def _by_hash(self, token_hash: str) -> Any:
        with self.store.session() as s:
            return s.execute(_invitation().where(SurveyInvitation.token_hash == token_hash)).first()

    def _by_event(self, event: str, event_ref: str) -> Any:
        with self.store.session() as s:
            t = SurveyInvitation
            return s.execute(_invitation().where(t.event == event, t.event_ref == event_ref)).first()

    def _queue_visit(self, token: str, ref: str, now: dt.datetime) -> tuple[str, Any]:
        with self.store.session() as s:
            booking = s.execute(select(*invite._BOOKING).where(QueueBooking.ref == ref)).first()
        if booking is None:
            return UNKNOWN, None
        if booking.status in _WAITING_VISIT:
            return NOT_YET, None
        if booking.status != "served":  # cancelled, released, absent: no visit to rate
            return UNKNOWN, None
        served_at = booking.ended_at or now
        expires = served_at + dt.timedelta(days=invite.link_days())
        return self._made(token, invite.queue_visit(booking), now, expires)

    def _request_visit(self, token: str, request_id: int, now: dt.datetime) -> tuple[str, Any]:
        with self.store.session() as s:
            request = s.execute(select(*invite._REQUEST).where(Request.id == request_id)).first()
        if request is None:
            return UNKNOWN, None
        if request.status in UNFINISHED:
            return NOT_YET, None
        if request.status not in FINISHED or request.completed_on is None:
            return UNKNOWN, None
        # the letter may go up to 7 days after completion, then it is in the post: the link's days count after
        last_day = request.completed_on + dt.timedelta(days=invite.LETTER_POST_DAYS + invite.link_days())
        expires = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), TIMEZONE).astimezone(dt.UTC)
        return self._made(token, invite.request_visit(request), now, expires)

    def _made(self, token: str, visit: invite.Visit, now: dt.datetime, expires: dt.datetime) -> tuple[str, Any]:
        """The visit's invitation: the one its event made (an SMS or email one), else one made now whose
        token is this derived one. Two tabs opening it at once make one (the event is unique)."""
        row = self._by_event(visit.event, visit.event_ref)
        if row is None:
            if expires <= now:
                return EXPIRED, None
            with self.store.transaction() as s:
                invite.create(s, visit, token, now, expires)
            row = self._by_event(visit.event, visit.event_ref)
        return OPEN, row

    # --- answering ------------------------------------------------------------------------------------
    def submit(self, token: str, form: Mapping[str, str], *, standard_set: int | None = None,
               agency_set: int | None = None, now: dt.datetime | None = None) -> Submitted:
        """Store the answer ``form`` gives (field → text) to the question sets the page showed: their ids (no
        ``agency_set``: the page showed no agency questions), or the current ones when ``standard_set`` is not
        given. Raises ``Invalid`` before anything is written."""
        now = now or self.now()
        found = self.resolve(token, now)
        if found.state != OPEN:
            return Submitted(found.state)
        assert found.invitation is not None and found.standard is not None
        standard, own = self._pinned(found, standard_set, agency_set)
        values = validate(form, standard, own)
        inv = found.invitation
        t = SurveyInvitation.__table__.c  # a Core UPDATE: no ORM read before it (SQLite's lock comes first)
        answered_on = dt.datetime.combine(now.astimezone(TIMEZONE).date(), dt.time(), TIMEZONE).astimezone(dt.UTC)
        with self.store.transaction() as s:
            # First: the guard. Only the transaction it matched for stores anything.
            used = s.execute(update(SurveyInvitation.__table__)
                             .where(t.token_hash == inv.token_hash, t.answered_at.is_(None), t.expires_at > now)
                             .values(answered_at=answered_on, wait_seconds=None, days_late=None))
            if used.rowcount == 1:
                answer_id = s.execute(SurveyAnswer.__table__.insert().values(
                    agency=inv.agency, service=inv.service, channel=inv.channel, counter=inv.counter,
                    visit_on=inv.visit_on, standard_set_id=standard.id, agency_set_id=own.id if own else None,
                    overall=values.overall, speed=values.speed, courtesy=values.courtesy, clarity=values.clarity,
                    extra=values.extra, comment=values.comment, wait_seconds=inv.wait_seconds,
                    days_late=inv.days_late).returning(SurveyAnswer.id)).scalar_one()
                bump(s, inv.agency, inv.service, inv.channel, inv.counter, inv.visit_on, **answer_figures(
                    values.overall, wait_seconds=inv.wait_seconds, days_late=inv.days_late, speed=values.speed,
                    courtesy=values.courtesy, clarity=values.clarity))
                return Submitted(STORED, int(answer_id))
        again = self.resolve(token, now)  # answered meanwhile (another tab), or it just expired
        return Submitted(again.state if again.state != OPEN else ANSWERED)

    def _pinned(self, found: Found, standard_set: int | None,
                agency_set: int | None) -> tuple[StoredSet, StoredSet | None]:
        """The versions the page showed, if they are the OPDC's and this agency's; else the current ones."""
        assert found.standard is not None and found.invitation is not None
        if standard_set is None:
            return found.standard, found.agency_set
        standard, own = found.standard, None
        owners = {found.agency_set.owner} if found.agency_set is not None else set()
        with self.store.session() as s:
            if standard_set is not None and standard_set != standard.id:
                shown = questions.stored(s, standard_set)
                standard = shown if shown is not None and shown.owner == OPDC else standard
            if agency_set is not None:
                if found.agency_set is not None and agency_set == found.agency_set.id:
                    own = found.agency_set
                else:
                    shown = questions.stored(s, agency_set)
                    own = shown if shown is not None and shown.owner in owners else found.agency_set
        return standard, own


def _invitation() -> Any:
    t = SurveyInvitation
    return select(t.token_hash, t.agency, t.service, t.channel, t.counter, t.visit_on, t.wait_seconds, t.days_late,
                  t.language, t.expires_at, t.answered_at)


# --- the answer's checks ------------------------------------------------------------------------------------

def validate(form: Mapping[str, str], standard: StoredSet, own: StoredSet | None) -> Values:
    """The answer from the form's fields, or ``Invalid`` with every mistake (field → code)."""
    errors: dict[str, str] = {}
    got: dict[str, Any] = {}
    for agency, qs in ((False, standard), (True, own)):
        for q in (qs.questions if qs is not None else ()):
            name = field_name(q, agency)
            try:
                got[name] = _value(q, form.get(name))
            except ValueError as exc:
                errors[name] = str(exc)
    if errors:
        raise Invalid(errors)
    # every question of the agency's set, None where skipped: "asked, not answered" differs from "not asked"
    extra = {q.id: got[field_name(q, True)] for q in own.questions} if own is not None else None
    scaled = {name: got.get(name) for name in SCALED}
    return Values(scaled["overall"], scaled["speed"], scaled["courtesy"], scaled["clarity"], got.get("comment"), extra)


def _value(q: Question, raw: str | None) -> Any:
    text = _CONTROL.sub("", raw or "").strip()
    if not text:
        if q.required:
            raise ValueError("required")
        return None
    if q.kind == "scale":
        digit = to_arabic_digits(text)
        if digit not in ("1", "2", "3", "4", "5"):
            raise ValueError("invalid")
        return int(digit)
    if q.kind == "yes_no":
        if text not in ("yes", "no"):
            raise ValueError("invalid")
        return text == "yes"
    if q.max_length is not None and len(text) > q.max_length:
        raise ValueError("too_long")
    return mask_free_text(text)
