"""Tables of the hub store. Every change here comes with an Alembic migration."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.expression import false, text, true


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so store naive UTC there)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the hub store; use an aware UTC datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {dict[str, Any]: JSON, list[Any]: JSON}


class Agency(Base):
    __tablename__ = "agencies"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(12))  # ministry | department | division
    parent: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str] = mapped_column(String(60), default="")


class Manual(Base):
    __tablename__ = "manuals"
    manual_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    division: Mapped[str] = mapped_column(String(40))
    process_code: Mapped[str] = mapped_column(String(40))
    process_name: Mapped[str] = mapped_column(String(300))
    processing_days: Mapped[int | None] = mapped_column(Integer)  # None: a draft manual (no due date from it)
    day_unit: Mapped[str] = mapped_column(String(10))  # working | calendar
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Request(Base):
    __tablename__ = "requests"
    __table_args__ = (
        UniqueConstraint("agency", "request_no", name="uq_requests_agency_request_no"),
        Index("ix_requests_status_due", "status", "due_on"),
        Index("ix_requests_needs_sweep", "needs_sweep", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(40))  # department code: request_no is unique within it
    request_no: Mapped[str] = mapped_column(String(80))
    ministry: Mapped[str] = mapped_column(String(40))
    department: Mapped[str] = mapped_column(String(40))
    division: Mapped[str | None] = mapped_column(String(40))
    process_code: Mapped[str] = mapped_column(String(40))
    manual_id: Mapped[str] = mapped_column(String(40))
    submitted_on: Mapped[dt.date] = mapped_column(Date)
    clock_started_on: Mapped[dt.date | None] = mapped_column(Date)
    pauses: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(20))
    completed_on: Mapped[dt.date | None] = mapped_column(Date)
    result: Mapped[str | None] = mapped_column(Text)
    delay_reason: Mapped[str | None] = mapped_column(Text)
    applicant_name: Mapped[str | None] = mapped_column(String(300))
    applicant_email: Mapped[str | None] = mapped_column(String(300))
    applicant_phone: Mapped[str | None] = mapped_column(String(20))
    applicant_address: Mapped[str | None] = mapped_column(Text)
    applicant_nid_hash: Mapped[str | None] = mapped_column(String(64))
    applicant_nid_masked: Mapped[str | None] = mapped_column(String(20))
    consent: Mapped[bool | None] = mapped_column()
    # th | en: the language of the applicant's email and SMS (the official letter is always Thai).
    applicant_language: Mapped[str] = mapped_column(String(2), default="th", server_default="th")
    source_connector: Mapped[str] = mapped_column(String(80))
    source_record_id: Mapped[str] = mapped_column(String(120))
    source_fetched_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    checksum: Mapped[str] = mapped_column(String(64))
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    due_basis: Mapped[str | None] = mapped_column(String(120))  # manual days + calendar version
    # Pauses the hub derived from status changes into and out of waiting_applicant.
    derived_pauses: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    # Sweep state: which delay notices are already queued, whether the result notice is, and
    # whether the request still needs the daily sweep (open, or changed since the last one).
    known_on: Mapped[dt.date | None] = mapped_column(Date)  # the Bangkok day the hub first saw it
    last_delay_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    result_queued: Mapped[bool] = mapped_column(default=False, server_default=false())
    needs_sweep: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class RequestEvent(Base):
    """Every status change and due-date change of a request, kept forever."""

    __tablename__ = "request_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    kind: Mapped[str] = mapped_column(String(20))  # created | status | updated | due
    from_value: Mapped[str | None] = mapped_column(String(80))
    to_value: Mapped[str | None] = mapped_column(String(80))
    source: Mapped[str] = mapped_column(String(80))


class Quarantine(Base):
    __tablename__ = "quarantine"
    # the same bad record read again (or by two workers at once) is kept once per connector
    __table_args__ = (UniqueConstraint("connector_id", "checksum", "field", name="uq_quarantine_record_field"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connector_id: Mapped[str] = mapped_column(String(80), index=True)
    source_record_id: Mapped[str | None] = mapped_column(String(120))
    field: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[dict[str, Any]] = mapped_column()
    checksum: Mapped[str] = mapped_column(String(64))
    job_run_id: Mapped[int | None] = mapped_column(ForeignKey("job_runs.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Cursor(Base):
    __tablename__ = "cursors"
    connector_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class JobRun(Base):
    """One run of ingest, sweep or dispatch, with what it did: the operator's trail."""

    __tablename__ = "job_runs"
    # the staleness check after every ingest task asks for one connector's latest runs
    __table_args__ = (Index("ix_job_runs_job_subject_started", "job", "subject", "started_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(20))  # ingest | sweep | dispatch
    subject: Mapped[str | None] = mapped_column(String(80))  # connector id for ingest
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(12))  # running | success | failed
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class Outbox(Base):
    """One row per notice per channel; the unique key makes "exactly once" a database fact."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("request_id", "kind", "sequence", "channel", name="uq_outbox_notice_channel"),
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
        Index("ix_outbox_provider_ref", "provider_ref"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # A Section 10 notice belongs to a request; a queue message (a one-time code, a booking's
    # confirmation) to no request, and a confirmation to its booking.
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), index=True)
    queue_booking_id: Mapped[int | None] = mapped_column(ForeignKey("queue_bookings.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # delay | result
    sequence: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(12))  # email | sms | opdc
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    owed_on: Mapped[dt.date] = mapped_column(Date)
    late_days: Mapped[int] = mapped_column(Integer, default=0)
    recipient: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_ref: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    # The worker holding the row while it sends, and until when; an expired lease frees the row.
    leased_by: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    # Temporary failures are retried until this moment, then the row is dead.
    deadline_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    # The notice's facts as the sweep saw them (reason, due date…), so its letter renders the same later.
    payload: Mapped[dict[str, Any] | None] = mapped_column()
    # What the SMS gateway's delivery report said (delivered | failed | expired), and when.
    report_status: Mapped[str | None] = mapped_column(String(20))
    reported_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    outcome: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(Text)


class FileLedger(Base):
    """Each dropped file's content, read once per connector whatever name it comes under."""

    __tablename__ = "file_ledger"
    connector_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    file_name: Mapped[str] = mapped_column(String(500))
    rows: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # processed | quarantined
    read_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class PushBatch(Base):
    """A batch an agency pushed; the idempotency key makes a retried batch return the first answer."""

    __tablename__ = "push_batches"
    __table_args__ = (UniqueConstraint("connector_id", "idempotency_key", name="uq_push_batches_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connector_id: Mapped[str] = mapped_column(String(80))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    accepted: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column()


class PushRecord(Base):
    """An accepted pushed record, stored before the agency gets its answer; read by its ingest DAG."""

    __tablename__ = "push_records"
    __table_args__ = (Index("ix_push_records_connector_id", "connector_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connector_id: Mapped[str] = mapped_column(String(80))
    batch_id: Mapped[int] = mapped_column(ForeignKey("push_batches.id"))
    record: Mapped[dict[str, Any]] = mapped_column()
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Letter(Base):
    """An outgoing letter's number (ที่ …/n) and date, given once per notice and kept, and the
    fingerprints of its archived PDFs: the official Thai letter and, for an applicant who reads
    English, its English translation (``*_en``)."""

    __tablename__ = "letters"
    __table_args__ = (UniqueConstraint("request_id", "kind", "sequence", name="uq_letters_notice"),
                      UniqueConstraint("department", "year_be", "running_no", name="uq_letters_number"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"))
    kind: Mapped[str] = mapped_column(String(12))
    sequence: Mapped[int] = mapped_column(Integer)
    department: Mapped[str] = mapped_column(String(40))
    year_be: Mapped[int] = mapped_column(Integer)
    running_no: Mapped[int] = mapped_column(Integer)
    letter_date: Mapped[dt.date] = mapped_column(Date)
    # sha256 of the PDF as first rendered and archived (what was sent; a retry sends the archived
    # bytes), and a digest of the template and letter settings it was rendered from.
    sha256: Mapped[str | None] = mapped_column(String(64))
    template_digest: Mapped[str | None] = mapped_column(String(64))
    sha256_en: Mapped[str | None] = mapped_column(String(64))
    template_digest_en: Mapped[str | None] = mapped_column(String(64))


# --- the people's web application: accounts and the audit trail ------------------------------------

class User(Base):
    """A person who signs in to the web application. The role and agency decide what they see:
    an officer their division, an agency admin their department, the OPDC every agency."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("username", name="uq_users_username"),
        CheckConstraint("role IN ('officer', 'agency_admin', 'opdc')", name="ck_users_role"),
        CheckConstraint("(role = 'opdc' AND agency IS NULL) OR (role <> 'opdc' AND agency IS NOT NULL)",
                        name="ck_users_agency_scope"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(80))  # kept in lower case
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # officer | agency_admin | opdc
    agency: Mapped[str | None] = mapped_column(String(40))  # division (officer), department (agency_admin)
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id; the password itself is never kept
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    password_changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class WebSession(Base):
    """A signed-in session. The cookie carries a random token; this row (keyed by the token's
    sha256, so the table gives nobody a usable cookie) lets signing out end the session for good."""

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class AuditLog(Base):
    """Who did what to which subject and when, with the values before and after. Only ever added to."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_subject_at", "subject", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)  # None: the system
    username: Mapped[str | None] = mapped_column(String(80))  # as it was then
    action: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(200))
    before: Mapped[dict[str, Any] | None] = mapped_column()
    after: Mapped[dict[str, Any] | None] = mapped_column()


# The lateness report reads requests finished after a day and notices owed in a period.
Index("ix_requests_completed_on", Request.__table__.c.completed_on)
Index("ix_outbox_owed_on", Outbox.__table__.c.owed_on)


# --- the officer's desk: reasons added at the desk, the print queue, forms sent once ---------------

class DeskReason(Base):
    """A delay reason an officer gave at the desk for a request whose back office gives none.

    Kept beside the request, not in its columns: every ingest of a changed record rewrites those from
    the back office, so the officer's reason would be lost. The sweep takes the record's own reason
    first and this one where the record has none."""

    __tablename__ = "desk_reasons"
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(80))  # username, as it was then
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class PrintLetter(Base):
    """A notice's letter that goes by post (the applicant gave no email: its outbox row's channel is
    ``letter``), queued with that row in the same transaction, and waiting in its agency's print queue
    until an officer records it signed and posted: the day it went and its registered-mail number.
    Only the letters still to post are indexed, so the queue costs what is waiting, not the history."""

    __tablename__ = "print_letters"
    __table_args__ = (UniqueConstraint("request_id", "kind", "sequence", name="uq_print_letters_notice"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"))
    kind: Mapped[str] = mapped_column(String(12))  # delay | result
    sequence: Mapped[int] = mapped_column(Integer)
    owed_on: Mapped[dt.date] = mapped_column(Date)
    queued_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    posted_on: Mapped[dt.date | None] = mapped_column(Date)
    registered_no: Mapped[str | None] = mapped_column(String(13))  # UPU S10, e.g. RR123456785TH
    recorded_by: Mapped[str | None] = mapped_column(String(80))
    recorded_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class FormSubmission(Base):
    """A one-time form token, kept once its form is saved: the same form sent again (a double click,
    a browser resending it) finds its token here and saves nothing twice. ``subject`` says where the
    first submission led, so the second gets the same answer."""

    __tablename__ = "form_submissions"
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject: Mapped[str] = mapped_column(String(200))
    used_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)


Index("ix_print_letters_waiting", PrintLetter.__table__.c.owed_on, PrintLetter.__table__.c.id,
      postgresql_where=PrintLetter.__table__.c.posted_on.is_(None),
      sqlite_where=PrintLetter.__table__.c.posted_on.is_(None))
# The desk lists a division's (or a department's) requests newest first, by status, without
# reading the rest of the store.
Index("ix_requests_division_status_id", Request.__table__.c.division, Request.__table__.c.status,
      Request.__table__.c.id)
Index("ix_requests_division_id", Request.__table__.c.division, Request.__table__.c.id)
Index("ix_requests_department_id", Request.__table__.c.department, Request.__table__.c.id)
# Search-as-you-type on request numbers (a prefix, listed in number order): PostgreSQL uses an index
# for LIKE 'prefix%' only under the C collation, whatever the database's own; this one also gives the
# order. SQLite compares bytes already: a range on the unique (agency, request_no) index does it.
Index("ix_requests_agency_request_no_c", Request.__table__.c.agency,
      Request.__table__.c.request_no.collate("C")).ddl_if(dialect="postgresql")


# --- the citizen's tracking page: attempts limited per client and per request number -------------

class RateLimit(Base):
    """Attempts in one bucket (a limit and whom it counts, e.g. one client or one request number),
    counted in fixed windows of the limit's length; the previous window's count makes the estimate
    slide. The bucket holds a keyed hash, never an address or a request number in clear. One UPSERT
    counts an attempt, so concurrent attempts on any number of processes are each counted once.
    UNLOGGED on PostgreSQL (migration 0013): counters need no flush to disk, and a crash only resets them."""

    __tablename__ = "rate_limits"
    bucket: Mapped[str] = mapped_column(String(100), primary_key=True)
    window_no: Mapped[int] = mapped_column(Integer)  # unix time // the limit's window
    hits: Mapped[int] = mapped_column(Integer)  # in window window_no
    prev_hits: Mapped[int] = mapped_column(Integer)  # in window window_no - 1
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)  # the row counts for nothing after


# A citizen looks a request up by its number alone (the agency is not asked).
Index("ix_requests_request_no", Request.__table__.c.request_no)


# --- the central queue (ระบบการจองคิวกลาง): slots, queue numbers, bookings, one-time codes ----------

QUEUE_CHANNELS = ("walk_in", "web", "mobile")


class QueueSlot(Base):
    """The places of one channel in one time slot of one service on one day (settings in data/queue/).

    ``booked`` moves only by a guarded ``UPDATE … SET booked = booked + 1 WHERE booked < capacity`` in
    the booking's own transaction, and the check constraint makes the database itself refuse a slot
    with more bookings than places. ``handed_over`` counts web places given to walk-ins in the afternoon."""

    __tablename__ = "queue_slots"
    __table_args__ = (
        UniqueConstraint("agency", "service", "day", "channel", "starts_at", name="uq_queue_slots_key"),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="ck_queue_slots_capacity"),
        CheckConstraint("channel IN ('walk_in', 'web', 'mobile')", name="ck_queue_slots_channel"),
        Index("ix_queue_slots_agency_day", "agency", "day", "channel"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(40))  # the department or division whose queue it is
    service: Mapped[str] = mapped_column(String(40))
    day: Mapped[dt.date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(8))  # walk_in | web | mobile
    starts_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    capacity: Mapped[int] = mapped_column(Integer)
    booked: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    handed_over: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class QueueCounter(Base):
    """The last queue number given in one agency's channel on one day (A001, W001, M001…), moved by the
    same transaction that books, so numbers are never given twice."""

    __tablename__ = "queue_counters"
    agency: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    last_no: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class QueueBooking(Base):
    """One person's place in a queue. ``active`` while booked or checked in: the partial unique index
    allows one active booking per person, agency and day across the three channels. The person is a
    keyed hash of the national ID (or of the mobile number); the ID itself is never kept."""

    __tablename__ = "queue_bookings"
    __table_args__ = (
        UniqueConstraint("agency", "day", "channel", "number", name="uq_queue_bookings_number"),
        UniqueConstraint("ref", name="uq_queue_bookings_ref"),
        Index("uq_queue_bookings_person_day", "agency", "day", "person_key", unique=True,
              postgresql_where=text("active"), sqlite_where=text("active")),
        Index("ix_queue_bookings_status_starts", "status", "starts_at"),
        Index("ix_queue_bookings_slot", "slot_id"),
        Index("ix_queue_bookings_agency_day_status", "agency", "day", "status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ref: Mapped[str] = mapped_column(String(24))  # the random half of the booking's signed link
    slot_id: Mapped[int] = mapped_column(ForeignKey("queue_slots.id"))
    agency: Mapped[str] = mapped_column(String(40))
    service: Mapped[str] = mapped_column(String(40))
    day: Mapped[dt.date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(8))
    starts_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    number: Mapped[int] = mapped_column(Integer)
    queue_no: Mapped[str] = mapped_column(String(10))  # the channel's prefix and the number: W012
    person_key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    nid_masked: Mapped[str | None] = mapped_column(String(20))
    phone: Mapped[str | None] = mapped_column(String(20))  # for the queue's SMS only
    language: Mapped[str] = mapped_column(String(2), default="th", server_default="th")
    # booked | checked_in | called | served | no_show | cancelled | released | closed (day off declared)
    status: Mapped[str] = mapped_column(String(12))
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    checked_in_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    # the counter side (migration 0011): where and when called, how often, the measured times
    counter: Mapped[str | None] = mapped_column(String(20))  # called to, or transferred to
    calls: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    first_called_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    called_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    wait_seconds: Mapped[int | None] = mapped_column(Integer)  # check-in (or slot start) to first call
    service_seconds: Mapped[int | None] = mapped_column(Integer)  # last call to served
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())  # the day-before reminder
    near_alerted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())  # "your turn is near"
    # the booker agreed to be asked about the service afterwards (migration 0015)
    survey_consent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class QueueHallCall(Base):
    """One call shown in the hall (queue number → counter), in order: every web process serving a hall
    display reads new rows from here, woken by PostgreSQL NOTIFY (or Redis) when one is written."""

    __tablename__ = "queue_hall_calls"
    __table_args__ = (Index("ix_queue_hall_calls_agency_id", "agency", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(40))
    day: Mapped[dt.date] = mapped_column(Date)
    booking_id: Mapped[int] = mapped_column(ForeignKey("queue_bookings.id"))
    queue_no: Mapped[str] = mapped_column(String(10))
    counter: Mapped[str] = mapped_column(String(20))
    service: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(8))  # call | recall
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class QueueOtp(Base):
    """A one-time code sent by SMS to confirm a mobile number: only its keyed hash (over the code, the
    number and this row's random id) is kept, with its expiry and the attempts made."""

    __tablename__ = "queue_otps"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    verified_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class SurveyQuestionSet(Base):
    """One version of a question set: the OPDC's standard set (owner ``OPDC``) or an agency's own questions
    (owner its code, at most three). A changed file in data/survey/ becomes the next version; an answer
    points at the versions it answered, so old answers keep their wording."""

    __tablename__ = "survey_question_sets"
    __table_args__ = (UniqueConstraint("owner", "version", name="uq_survey_question_sets_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    questions: Mapped[list[Any]] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64))  # of the questions: an unchanged file is no new version
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class SurveyInvitation(Base):
    """One invitation to answer, made by one event (a queue visit served, a request completed or rejected, a
    result notice sent): unique per event. The token is kept only as a keyed hash. The visit's facts are
    copied here so the answer can be stored with them and without any link to the person."""

    __tablename__ = "survey_invitations"
    __table_args__ = (
        UniqueConstraint("token_hash", name="uq_survey_invitations_token"),
        UniqueConstraint("event", "event_ref", name="uq_survey_invitations_event"),
        Index("ix_survey_invitations_agency_visit", "agency", "visit_on"),
        Index("ix_survey_invitations_expires_at", "expires_at"),  # housekeeping removes them after expiry
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    # queue_served | request_finished (completed or rejected: the result notice is the same event, one invitation)
    event: Mapped[str] = mapped_column(String(20))
    event_ref: Mapped[str] = mapped_column(String(80))  # e.g. the booking's or the request's id
    agency: Mapped[str] = mapped_column(String(40))
    service: Mapped[str] = mapped_column(String(80))  # the queue's service code or the request's process code
    channel: Mapped[str] = mapped_column(String(12))  # walk_in | web | mobile | desk | connector
    counter: Mapped[str | None] = mapped_column(String(20))
    visit_on: Mapped[dt.date] = mapped_column(Date)
    wait_seconds: Mapped[int | None] = mapped_column(Integer)  # the queue's measured wait
    days_late: Mapped[int | None] = mapped_column(Integer)  # the request's days past its due date
    language: Mapped[str] = mapped_column(String(2), default="th", server_default="th")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    answered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class SurveyAnswer(Base):
    """One answer, anonymous: only where and when the service was, what was measured of it and what was
    said (comments masked before they are stored). Nothing points back to the invitation or the person."""

    __tablename__ = "survey_answers"
    __table_args__ = (
        CheckConstraint("overall BETWEEN 1 AND 5", name="ck_survey_answers_overall"),
        Index("ix_survey_answers_agency_visit", "agency", "visit_on"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency: Mapped[str] = mapped_column(String(40))
    service: Mapped[str] = mapped_column(String(80))
    channel: Mapped[str] = mapped_column(String(12))
    counter: Mapped[str | None] = mapped_column(String(20))
    visit_on: Mapped[dt.date] = mapped_column(Date)
    standard_set_id: Mapped[int] = mapped_column(ForeignKey("survey_question_sets.id"))
    agency_set_id: Mapped[int | None] = mapped_column(ForeignKey("survey_question_sets.id"))
    overall: Mapped[int] = mapped_column(SmallInteger)  # 1–5
    speed: Mapped[int | None] = mapped_column(SmallInteger)
    courtesy: Mapped[int | None] = mapped_column(SmallInteger)
    clarity: Mapped[int | None] = mapped_column(SmallInteger)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the agency's own questions: id → answer
    comment: Mapped[str | None] = mapped_column(Text)  # masked
    wait_seconds: Mapped[int | None] = mapped_column(Integer)
    days_late: Mapped[int | None] = mapped_column(Integer)


class SurveyDaily(Base):
    """Invitations and answers per agency, service, channel, counter ('' when none) and day, moved in the
    same transaction as each invitation and answer: the reports read these instead of every answer."""

    __tablename__ = "survey_daily"
    __table_args__ = (Index("ix_survey_daily_day", "day"),)
    agency: Mapped[str] = mapped_column(String(40), primary_key=True)
    service: Mapped[str] = mapped_column(String(80), primary_key=True)
    channel: Mapped[str] = mapped_column(String(12), primary_key=True)
    counter: Mapped[str] = mapped_column(String(20), primary_key=True, server_default="")
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    invited: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    answers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    overall_1: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    overall_2: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    overall_3: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    overall_4: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    overall_5: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    wait_seconds_sum: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    wait_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    days_late_sum: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    days_late_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # the standard set's optional sub-scores: sums and how many gave one, for their means
    speed_sum: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    speed_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    courtesy_sum: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    courtesy_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    clarity_sum: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    clarity_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
