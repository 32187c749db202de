"""Invitations to answer the survey, each made by the event itself, in the event's own transaction.

**Events.** ``queue_served`` (a queue visit marked served; ``event_ref`` the booking's id) and
``request_finished`` (a request completed or rejected, as the sweep queues its result notice; ``event_ref``
the request's id). Completion and the result notice are one moment to the hub (the sweep marks the result
queued when it sees the request finished), so one request gives one invitation whichever is said to cause
it. The unique (event, event_ref) makes "one invitation per event" a database fact: a second call, or a
second process, inserts nothing and sends nothing.

**Consent.** Only people who agreed to be contacted are sent one: ``queue_bookings.survey_consent``,
``requests.consent``. Paper is another matter: the walk-in ticket and the result letter carry a QR code with
a *derived* token (a keyed HMAC of the booking's ref, or of the request's id: no row until used), which
makes or reuses the same invitation when opened (``answer.Survey.resolve``), so a visit is still answered
once.

**Tokens.** A random token goes in the SMS or email; only its keyed hash (``DELAYHUB_PII_KEY``, as the
tracking code) is stored. The link expires after the OPDC's ``settings.link_days`` (data/survey/standard.yaml).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from .. import config
from ..config import TIMEZONE
from ..notices import FINISHED
from ..queueing.booking import clock, sms_row
from ..queueing.messages import public_url
from ..store.models import Agency, Outbox, QueueBooking, Request, SurveyInvitation
from ..thai import format_thai_date
from . import questions
from .daily import bump, insert_for

EVENT_QUEUE = "queue_served"
EVENT_REQUEST = "request_finished"
KIND = "survey"  # the outbox rows' kind
TOKEN_BYTES = 18  # 144 random bits, 24 characters in a link
SIG_CHARS = 16  # a derived token's signature: 96 bits
SMS_DEADLINE = dt.timedelta(days=1)  # an invitation texted days after the visit is no use
EMAIL_DEADLINE = dt.timedelta(days=2)
LETTER_POST_DAYS = 7  # the result letter may go up to 7 days after completion (Section 10), then the post

Db = Session | Connection


def now_utc() -> dt.datetime:
    """The survey's clock: the queue's (``DELAYHUB_NOW`` pins it in demos and tests), else real time."""
    return clock()


# --- tokens -----------------------------------------------------------------------------------------------

def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What the store keeps of a token: a keyed hash, so a copy of the database opens no survey."""
    return hmac.new(config.pii_key(), b"delayhub survey token\0" + token.encode(), hashlib.sha256).hexdigest()


def _sig(kind: str, value: str) -> str:
    digest = hmac.new(config.pii_key(), f"delayhub survey {kind}\0{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:SIG_CHARS]


def ticket_token(ref: str) -> str:
    """The token on a walk-in's printed ticket: the booking's ref and its signature (no row needed)."""
    return f"q.{ref}.{_sig('queue', ref)}"


def request_token(request_id: int) -> str:
    """The token for a request's result letter (its QR code), derived like the ticket's."""
    return f"r.{request_id}.{_sig('request', str(request_id))}"


def derived(token: str) -> tuple[str, str] | None:
    """("queue", booking ref) or ("request", request id) of a genuine derived token; else None."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] not in ("q", "r"):
        return None
    kind = "queue" if parts[0] == "q" else "request"
    if kind == "request" and not parts[1].isdigit():
        return None
    if not hmac.compare_digest(parts[2], _sig(kind, parts[1])):
        return None
    return kind, parts[1]


def survey_link(token: str, base: str | None = None) -> str:
    """The survey page of ``token``, from the configured public address (never a request's Host header)."""
    return f"{(base or public_url()).rstrip('/')}/survey/{token}"


def request_survey_link(request_id: int, base: str | None = None) -> str:
    """The link a request's result letter prints as a QR code: opened once the request is finished, it is the
    request's one invitation (the same one an SMS or email invitation opens)."""
    return survey_link(request_token(request_id), base)


# --- the invitation ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Visit:
    """The facts of one service that an invitation copies, so its answer needs nothing else."""

    event: str
    event_ref: str
    agency: str
    service: str
    channel: str
    counter: str | None
    visit_on: dt.date
    wait_seconds: int | None
    days_late: int | None
    language: str


def create(s: Db, visit: Visit, token: str, now: dt.datetime, expires_at: dt.datetime) -> int | None:
    """Insert the invitation and count it in the roll-up; None (and nothing written) when the event already
    has its invitation."""
    t = SurveyInvitation.__table__
    stmt = insert_for(s)(t).values(
        token_hash=token_hash(token), event=visit.event, event_ref=visit.event_ref, agency=visit.agency,
        service=visit.service, channel=visit.channel, counter=visit.counter, visit_on=visit.visit_on,
        wait_seconds=visit.wait_seconds, days_late=visit.days_late, language=visit.language, created_at=now,
        expires_at=expires_at, answered_at=None)
    new_id = s.execute(stmt.on_conflict_do_nothing().returning(t.c.id)).scalar()
    if new_id is None:
        return None
    bump(s, visit.agency, visit.service, visit.channel, visit.counter, visit.visit_on, invited=1)
    return int(new_id)


def find(s: Db, event: str, event_ref: str) -> Any:
    t = SurveyInvitation
    return s.execute(select(t.id, t.token_hash, t.expires_at, t.answered_at)
                     .where(t.event == event, t.event_ref == event_ref)).first()


def link_days() -> int:
    return questions.current().link_days


def _minutes(seconds: int | None) -> int | None:
    """A measured time kept to the minute: enough for averages, and no exact value to match a visit by."""
    return None if seconds is None else round(seconds / 60) * 60


def _agency_name(s: Db, code: str) -> str:
    return s.execute(select(Agency.name).where(Agency.code == code)).scalar() or ""


# --- a queue visit served ---------------------------------------------------------------------------------

_BOOKING = (QueueBooking.id, QueueBooking.ref, QueueBooking.agency, QueueBooking.service, QueueBooking.channel,
            QueueBooking.counter, QueueBooking.day, QueueBooking.wait_seconds, QueueBooking.language,
            QueueBooking.status, QueueBooking.phone, QueueBooking.survey_consent, QueueBooking.queue_no,
            QueueBooking.ended_at)


def queue_visit(row: Any) -> Visit:
    return Visit(EVENT_QUEUE, str(row.id), row.agency, row.service, row.channel, row.counter, row.day,
                 _minutes(row.wait_seconds), None, row.language if row.language in ("th", "en") else "th")


def queue_served(s: Db, booking: Any, *, now: dt.datetime | None = None) -> str | None:
    """In the transaction that marked ``booking`` (its id, or anything with ``.id``) served: invite its booker
    by SMS if they consented and left a number. Returns the link's token when an invitation was made now."""
    booking_id = booking if isinstance(booking, int) else booking.id
    row = s.execute(select(*_BOOKING).where(QueueBooking.id == booking_id)).first()
    if row is None or row.status != "served" or not row.survey_consent or not row.phone:
        return None
    now = now or now_utc()
    token = new_token()
    expires = now + dt.timedelta(days=link_days())
    invitation_id = create(s, queue_visit(row), token, now, expires)
    if invitation_id is None:
        return None
    text = queue_sms_text(row.queue_no, survey_link(token), _agency_name(s, row.agency), row.language)
    s.execute(insert_for(s)(Outbox).values(**sms_row(row.id, KIND, row.phone, text, now, now + SMS_DEADLINE,
                                                     key=f"survey-{invitation_id}")).on_conflict_do_nothing())
    return token


def queue_sms_text(queue_no: str, link: str, agency: str, lang: str) -> str:
    """Thanks and the link; the agency's name last (the dispatcher's ``fit`` may shorten only that)."""
    if lang == "en":
        return f"Queue {queue_no}: thank you. How was our service? {link}"
    return f"คิว {queue_no} ขอบคุณที่ใช้บริการ โปรดประเมินความพึงพอใจ {link} {agency}".rstrip()


# --- a request completed or rejected ----------------------------------------------------------------------

_REQUEST = (Request.id, Request.request_no, Request.agency, Request.department, Request.division,
            Request.process_code, Request.status, Request.completed_on, Request.due_on, Request.consent,
            Request.applicant_phone, Request.applicant_email, Request.applicant_language, Request.source_connector)


def request_visit(row: Any) -> Visit:
    from ..desk import from_desk  # here: the desk imports the sweep, which imports this module

    late = max(0, (row.completed_on - row.due_on).days) if row.due_on and row.completed_on else None
    return Visit(EVENT_REQUEST, str(row.id), row.division or row.department, row.process_code,
                 "desk" if from_desk(row.source_connector) else "connector", None, row.completed_on, None, late,
                 row.applicant_language if row.applicant_language in ("th", "en") else "th")


def requests_finished(s: Db, request_ids: Iterable[int], *, now: dt.datetime | None = None) -> int:
    """In the sweep's transaction that queued these requests' result notices: invite each applicant who
    consented, by SMS (their mobile number) or else email. Returns the invitations made now."""
    ids = sorted(set(request_ids))
    if not ids:
        return 0
    now = now or config.now()
    made = 0
    for i in range(0, len(ids), 500):
        rows = s.execute(select(*_REQUEST).where(Request.id.in_(ids[i:i + 500]), Request.consent.is_(True),
                                                 Request.status.in_(FINISHED), Request.completed_on.is_not(None))
                         .order_by(Request.id)).all()
        for row in rows:
            made += _invite_request(s, row, now) is not None
    return made


def request_finished(s: Db, request: Any, *, now: dt.datetime | None = None) -> str | None:
    """One request (its id, or anything with ``.id``): see ``requests_finished``. Returns the token when an
    invitation was made now."""
    request_id = request if isinstance(request, int) else request.id
    row = s.execute(select(*_REQUEST).where(Request.id == request_id)).first()
    if row is None or not row.consent or row.status not in FINISHED or row.completed_on is None:
        return None
    return _invite_request(s, row, now or config.now())


def _invite_request(s: Db, row: Any, now: dt.datetime) -> str | None:
    if not row.applicant_phone and not row.applicant_email:
        return None  # nobody to send it to: the result letter's QR code opens the same survey
    token = new_token()
    expires = now + dt.timedelta(days=link_days())
    invitation_id = create(s, request_visit(row), token, now, expires)
    if invitation_id is None:
        return None
    link, lang = survey_link(token), row.applicant_language if row.applicant_language in ("th", "en") else "th"
    agency = _agency_name(s, row.department)
    common = {"request_id": row.id, "queue_booking_id": None, "kind": KIND, "sequence": 1,
              "idempotency_key": f"survey-{invitation_id}", "owed_on": now.astimezone(TIMEZONE).date(),
              "late_days": 0, "status": "queued", "attempts": 0, "next_attempt_at": now, "created_at": now}
    if row.applicant_phone:  # the survey is made for a phone: the SMS, when there is a number
        values = dict(common, channel="sms", recipient=row.applicant_phone, subject="",
                      body=request_sms_text(row.request_no, link, agency, lang), deadline_at=now + SMS_DEADLINE)
    else:
        subject, body = request_email(row.request_no, link, agency, expires, lang)
        values = dict(common, channel="email", recipient=row.applicant_email, subject=subject, body=body,
                      deadline_at=now + EMAIL_DEADLINE)
    # (request, kind, sequence, channel) is unique: an invitation is never queued twice for one request
    s.execute(insert_for(s)(Outbox).values(**values).on_conflict_do_nothing())
    return token


def request_sms_text(request_no: str, link: str, agency: str, lang: str) -> str:
    if lang == "en":
        return f"Request {request_no}: how was our service? Please tell us: {link}"
    return f"คำขอ {request_no} โปรดประเมินความพึงพอใจต่อการบริการ {link} {agency}".rstrip()


def request_email(request_no: str, link: str, agency: str, expires_at: dt.datetime, lang: str) -> tuple[str, str]:
    """(subject, body): one short message; the link, and that answers are anonymous."""
    until = expires_at.astimezone(TIMEZONE).date()
    if lang == "en":
        return (f"How was our service? Request {request_no}",
                f"Your request {request_no} has been decided. Please tell us how the service went: five short "
                f"questions, about a minute.\n\n{link}\n\nThe link works until {until.day} {until:%B %Y}. Your "
                "answer is anonymous: it is not kept with your name or contact details.")
    date = format_thai_date(until, thai_digits=False)
    return (f"แบบประเมินความพึงพอใจต่อการบริการ คำขอเลขที่ {request_no}",
            f"คำขอเลขที่ {request_no} ของท่านพิจารณาแล้วเสร็จ {agency} ขอความกรุณาท่านประเมินความพึงพอใจต่อการบริการ "
            f"ใช้เวลาประมาณ 1 นาที\n\n{link}\n\nลิงก์นี้ใช้ได้ถึงวันที่ {date} คำตอบของท่านไม่ระบุตัวตน "
            "ระบบไม่เก็บคำตอบไว้กับชื่อหรือข้อมูลติดต่อของท่าน")
