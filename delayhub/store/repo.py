"""Every read and write of the hub store goes through HubStore."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, create_engine, event, func, insert, or_, select, text, true, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .. import config
from ..errors import InDoubtDeliveryError
from ..pdpa import hash_national_id, mask_national_id
from ..registry import Registry
from . import migrate
from .models import (
    Agency,
    Cursor,
    DeliveryAttempt,
    DeskReason,
    FileLedger,
    FormSubmission,
    JobRun,
    Letter,
    Manual,
    Outbox,
    PrintLetter,
    PushBatch,
    PushRecord,
    Quarantine,
    Request,
    RequestEvent,
)

# The attempt-log outcome written just before a message is handed to its server.
HANDED = "handed"
IN_DOUBT = InDoubtDeliveryError.PREFIX

# Letter columns holding each language's archived PDF fingerprint: (sha256, template digest).
_ARCHIVE_COLUMNS = {"th": ("sha256", "template_digest"), "en": ("sha256_en", "template_digest_en")}

# How long temporary failures are retried before a notice is given up as dead.
DELIVERY_DEADLINE = dt.timedelta(days=3)

# Standard-request fields copied onto Request columns as they are.
_PLAIN = ("request_no", "process_code", "manual_id", "status", "result", "delay_reason")
_DATES = ("submitted_on", "clock_started_on", "completed_on")


@dataclass
class UpsertStats:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    status_changes: int = 0


@dataclass
class QuarantineEntry:
    connector_id: str
    source_record_id: str | None
    field: str
    reason: str
    raw: dict[str, Any]
    checksum: str


@dataclass(frozen=True)
class Delivery:
    """The outcome of one attempt to hand an outbox row to its channel."""

    outbox_id: int
    attempt: int
    status: str
    detail: str | None = None
    provider_ref: str | None = None
    retry_at: dt.datetime | None = None


@dataclass
class JobRecorder:
    """Counts a job adds up while it runs; saved with the job's row when it ends."""

    id: int
    stats: dict[str, Any] = field(default_factory=dict)

    def add(self, key: str, n: int = 1) -> None:
        self.stats[key] = self.stats.get(key, 0) + n


class HubStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.session = sessionmaker(engine, expire_on_commit=False)
        # Each statement its own transaction: for work that is one statement (a read, an upsert), one round
        # trip instead of BEGIN, the statement and ROLLBACK/COMMIT (half a desk page's database time).
        self.autocommit = sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"),
                                       expire_on_commit=False)

    @classmethod
    def open(cls, url: str | None = None, *, migrate_schema: bool = True) -> HubStore:
        url = url or config.database_url()
        kwargs: dict[str, Any] = {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 30}
        else:  # a web process serves tens of requests at once: a pool smaller than that opens and closes
            # a connection per page beyond it (5 % of a desk page's time at 10 clients)
            kwargs.update(pool_size=config.db_pool_size(), max_overflow=config.db_pool_size())
        engine = create_engine(url, **kwargs)
        if engine.dialect.name == "sqlite":
            @event.listens_for(engine, "connect")
            def _pragmas(dbapi_conn: Any, _record: Any) -> None:
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.close()
        if migrate_schema:
            migrate.upgrade(engine)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.session() as session, session.begin():
            yield session

    @contextmanager
    def _within(self, session: Session | None) -> Iterator[Session]:
        """The caller's transaction when it passes one (its change and its audit row land together),
        else a transaction of its own."""
        if session is not None:
            yield session
            return
        with self.transaction() as s:
            yield s

    # --- registry ---------------------------------------------------------------------------
    def sync_registry(self, registry: Registry) -> int:
        """Bring agencies and manuals in line with the registry files; returns manuals changed."""
        now, changed = config.now(), 0
        with self.transaction() as s:
            for a in registry.agencies.values():
                s.merge(Agency(code=a.code, name=a.name, level=a.level, parent=a.parent,
                               address=a.address, phone=a.phone))
            current = {m.manual_id: m for m in s.scalars(select(Manual))}
            for m in registry.manuals.values():
                row = current.get(m.manual_id)
                values = dict(division=m.division, process_code=m.process_code, process_name=m.process_name,
                              processing_days=m.processing_days, day_unit=m.day_unit)
                if row is None:
                    s.add(Manual(manual_id=m.manual_id, updated_at=now, **values))
                    changed += 1
                elif any(getattr(row, k) != v for k, v in values.items()):
                    for k, v in values.items():
                        setattr(row, k, v)
                    row.updated_at = now
                    changed += 1
        return changed

    # --- ingest -------------------------------------------------------------------------------
    def upsert_requests(self, requests: Sequence[dict[str, Any]], session: Session | None = None) -> UpsertStats:
        """Insert or update standard requests, idempotent on (department, request_no).

        A record whose checksum is unchanged is left alone; each status change is kept as an
        event. One transaction per batch (``session``'s, when given).
        """
        stats = UpsertStats()
        if not requests:
            return stats
        now, today = config.now(), config.today()
        by_key = {(r["agency"]["department"], r["request_no"]): r for r in requests}
        with self._within(session) as s:
            existing = {}
            for agency in {k[0] for k in by_key}:
                numbers = [k[1] for k in by_key if k[0] == agency]
                for row in s.scalars(select(Request).where(Request.agency == agency,
                                                           Request.request_no.in_(numbers))):
                    existing[(row.agency, row.request_no)] = row
            fresh = []
            for key, rec in by_key.items():
                row = existing.get(key)
                if row is not None and row.checksum == rec["source"]["checksum"]:
                    stats.unchanged += 1
                elif row is None:
                    values = _values(rec, now)
                    values.update(agency=key[0], created_at=now, known_on=today,
                                  derived_pauses=_track_waiting(None, values["status"], [], today))
                    fresh.append(values)
                else:
                    before = row.status
                    for name, value in _values(rec, now).items():
                        setattr(row, name, value)
                    stats.updated += 1
                    if before != row.status:
                        row.derived_pauses = _track_waiting(before, row.status, row.derived_pauses or [], today)
                        stats.status_changes += 1
                        s.add(RequestEvent(request_id=row.id, at=now, kind="status", from_value=before,
                                           to_value=row.status, source=rec["source"]["connector"]))
            if fresh:
                # one multi-row INSERT … RETURNING for the new requests, then their "created" events
                ids = s.execute(insert(Request).returning(Request.id, sort_by_parameter_order=True), fresh).scalars()
                s.execute(insert(RequestEvent), [
                    {"request_id": rid, "at": now, "kind": "created", "to_value": v["status"],
                     "source": v["source_connector"]} for rid, v in zip(ids, fresh, strict=True)])
                stats.inserted += len(fresh)
        return stats

    def quarantine(self, entries: Sequence[QuarantineEntry], job_run_id: int | None = None) -> int:
        """Keep bad records with their reason. The same bad record read again by the same connector
        is kept once: the unique key decides, so two workers at once cannot keep it twice."""
        if not entries:
            return 0
        now, rows, seen = config.now(), [], set()
        for e in entries:
            if (e.connector_id, e.checksum, e.field) not in seen:
                seen.add((e.connector_id, e.checksum, e.field))
                rows.append(dict(connector_id=e.connector_id, source_record_id=e.source_record_id, field=e.field,
                                 reason=e.reason, raw=e.raw, checksum=e.checksum, job_run_id=job_run_id,
                                 created_at=now))
        with self.transaction() as s:
            dialect = s.get_bind().dialect.name
            insert_ = postgresql_insert if dialect == "postgresql" else sqlite_insert
            added = 0
            for i in range(0, len(rows), 500):  # within SQLite's bound-parameter limit
                stmt = (insert_(Quarantine).values(rows[i:i + 500]).returning(Quarantine.id)
                        .on_conflict_do_nothing(index_elements=["connector_id", "checksum", "field"]))
                added += len(s.execute(stmt).all())
            return added

    def get_cursor(self, connector_id: str) -> str | None:
        with self.session() as s:
            row = s.get(Cursor, connector_id)
            return row.value if row else None

    def set_cursor(self, connector_id: str, value: str | None) -> None:
        with self.transaction() as s:
            s.merge(Cursor(connector_id=connector_id, value=value, updated_at=config.now()))

    # --- connector state: file ledger and push inbox (connectors.base.ConnectorState) ----------
    def ledger_has(self, connector_id: str, sha256: str) -> bool:
        with self.session() as s:
            return s.get(FileLedger, (connector_id, sha256)) is not None

    def ledger_add(self, connector_id: str, sha256: str, name: str, rows: int, status: str) -> None:
        with self.transaction() as s:
            s.merge(FileLedger(connector_id=connector_id, sha256=sha256, file_name=name, rows=rows, status=status,
                               read_at=config.now()))

    def pushed_records(self, connector_id: str, after_id: int, limit: int) -> list[tuple[int, dict[str, Any]]]:
        with self.session() as s:
            rows = s.execute(select(PushRecord.id, PushRecord.record)
                             .where(PushRecord.connector_id == connector_id, PushRecord.id > after_id)
                             .order_by(PushRecord.id).limit(limit))
            return [(r.id, r.record) for r in rows]

    def accept_push(self, connector_id: str, idempotency_key: str, records: Sequence[dict[str, Any]],
                    response: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Store a pushed batch's accepted records and its answer in one transaction.

        Returns (answer, replayed): a batch already received under the same key gets the first
        answer back and stores nothing, even when both arrive at once (the unique key decides).
        """
        now = config.now()
        try:
            with self.transaction() as s:
                if s.get_bind().dialect.name == "postgresql":
                    # one writer per connector at a time, so push ids commit in order and a reader
                    # never saves a cursor past a batch still being written (SQLite serialises anyway)
                    s.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"push:{connector_id}"})
                batch = PushBatch(connector_id=connector_id, idempotency_key=idempotency_key, received_at=now,
                                  accepted=len(records), rejected=response.get("rejected", 0), response=response)
                s.add(batch)
                s.flush()
                if records:
                    s.execute(insert(PushRecord), [{"connector_id": connector_id, "batch_id": batch.id,
                                                    "record": r, "received_at": now} for r in records])
            return response, False
        except IntegrityError:
            with self.session() as s:
                first = s.scalar(select(PushBatch.response).where(PushBatch.connector_id == connector_id,
                                                                  PushBatch.idempotency_key == idempotency_key))
            if first is None:
                raise
            return first, True

    # --- job runs -----------------------------------------------------------------------------
    @contextmanager
    def job(self, job: str, subject: str | None = None) -> Iterator[JobRecorder]:
        with self.transaction() as s:
            row = JobRun(job=job, subject=subject, started_at=config.now(), status="running", stats={})
            s.add(row)
            s.flush()
            recorder = JobRecorder(row.id)
        try:
            yield recorder
        except BaseException as exc:
            self._finish_job(recorder, "failed", f"{type(exc).__name__}: {exc}")
            raise
        self._finish_job(recorder, "success", None)

    def _finish_job(self, recorder: JobRecorder, status: str, error: str | None) -> None:
        with self.transaction() as s:
            s.execute(update(JobRun).where(JobRun.id == recorder.id).values(
                status=status, error=error, stats=dict(recorder.stats), finished_at=config.now()))

    def job_runs_since(self, since: dt.datetime) -> list[JobRun]:
        with self.session() as s:
            return list(s.scalars(select(JobRun).where(JobRun.started_at >= since).order_by(JobRun.id)))

    # --- sweep --------------------------------------------------------------------------------
    def sweep_batch(self, after_id: int, limit: int) -> list[Any]:
        """The next requests that need the sweep (open, or changed since), by id, with their manual.

        Walks the (needs_sweep, id) index: the cost follows open requests, not the history.
        """
        query = (_sweep_query().where(Request.needs_sweep == true(), Request.id > after_id)
                 .order_by(Request.id).limit(limit))
        with self.session() as s:
            return list(s.execute(query))

    def sweep_rows(self, ids: Sequence[int], session: Session | None = None) -> list[Any]:
        """The sweep's view of these requests (as ``sweep_batch`` gives it), whether they need the
        sweep or not: the desk sweeps one request at once."""
        query = _sweep_query().where(Request.id.in_(list(ids))).order_by(Request.id)
        with self._within(session) as s:
            return list(s.execute(query))

    def apply_sweep(self, due_changes: Sequence[tuple[int, dt.date | None, dt.date | None, str]],
                    outbox_rows: Sequence[dict[str, Any]], states: Sequence[dict[str, Any]],
                    session: Session | None = None) -> int:
        """One transaction (``session``'s, when given): new due dates (each change kept as an event),
        the queued notices and each request's sweep state. Either all of it lands or none, so a notice
        is never counted as queued without its outbox row. Returns the outbox rows added."""
        now = config.now()
        with self._within(session) as s:
            if due_changes:
                s.execute(update(Request), [{"id": rid, "due_on": new, "due_basis": basis}
                                            for rid, _old, new, basis in due_changes])
                s.execute(insert(RequestEvent), [
                    {"request_id": rid, "at": now, "kind": "due", "source": basis,
                     "from_value": old.isoformat() if old else None, "to_value": new.isoformat() if new else None}
                    for rid, old, new, basis in due_changes])
            added = self._add_outbox(s, outbox_rows, now)
            if states:
                s.execute(update(Request), list(states))
        return added

    def add_outbox(self, rows: Sequence[dict[str, Any]]) -> int:
        """Queue notices; a (request, kind, sequence, channel) already queued is skipped."""
        with self.transaction() as s:
            return self._add_outbox(s, rows, config.now())

    @staticmethod
    def _add_outbox(s: Session, rows: Sequence[dict[str, Any]], now: dt.datetime) -> int:
        if not rows:
            return 0
        keys = [r["idempotency_key"] for r in rows]
        have: set[str] = set()
        for i in range(0, len(keys), 500):
            have.update(s.scalars(select(Outbox.idempotency_key).where(Outbox.idempotency_key.in_(keys[i:i + 500]))))
        fresh = {r["idempotency_key"]: r for r in rows if r["idempotency_key"] not in have}
        if fresh:
            s.execute(insert(Outbox), [{"status": "queued", "attempts": 0, "next_attempt_at": now, "created_at": now,
                                        "deadline_at": now + DELIVERY_DEADLINE, "payload": None, **r}
                                       for r in fresh.values()])
            posted = [r for r in fresh.values() if r["channel"] == "letter"]
            if posted:  # a letter to post waits in its agency's print queue until recorded as posted
                s.execute(insert(PrintLetter), [{"request_id": r["request_id"], "kind": r["kind"],
                                                 "sequence": r["sequence"], "owed_on": r["owed_on"], "queued_at": now}
                                                for r in posted])
        return len(fresh)

    # --- dispatch -----------------------------------------------------------------------------
    def claim_outbox(self, worker: str, limit: int = 500, lease: dt.timedelta = dt.timedelta(minutes=10),
                     due_by: dt.datetime | None = None) -> list[Outbox]:
        """Lease up to ``limit`` rows that are due — queued and due, or sending with a lease that
        ran out (their worker died) — to ``worker`` and return them.

        On PostgreSQL the rows are locked with FOR UPDATE SKIP LOCKED, so concurrent workers take
        different rows without waiting; on SQLite the guarded UPDATE re-checks each row (SQLite
        runs one writer at a time). Either way no row is processed by two workers at once.
        """
        now = config.now()
        # due_by: a run retries only what was due when it began, so a long run during an outage does
        # not try a row again within the same run; new rows (an agency alert it queued) still go
        retry_due = or_(Outbox.attempts == 0, Outbox.next_attempt_at <= (due_by or now))
        due = or_(and_(Outbox.status == "queued", Outbox.next_attempt_at <= now, retry_due),
                  and_(Outbox.status == "sending", Outbox.lease_until < now))
        for _ in range(5):  # lost every row to a concurrent worker: look again
            claimed: list[Outbox] = []
            with self.transaction() as s:
                query = select(Outbox.id).where(due).order_by(Outbox.id).limit(limit)
                if s.get_bind().dialect.name == "postgresql":
                    query = query.with_for_update(skip_locked=True)
                ids = list(s.scalars(query))
                for oid in ids:
                    result = s.execute(update(Outbox).where(Outbox.id == oid, due).values(
                        status="sending", attempts=Outbox.attempts + 1, leased_by=worker,
                        lease_until=now + lease))
                    if result.rowcount == 1:
                        claimed.append(s.get(Outbox, oid))
            if claimed or not ids:
                return claimed
        return []

    def expire_leases_of(self, workers: Sequence[str]) -> int:
        """End the leases of workers known to be dead (a dispatcher restarted after a crash on the
        same host), so their rows are taken again now rather than when the lease runs out."""
        if not workers:
            return 0
        with self.transaction() as s:
            result = s.execute(update(Outbox).where(Outbox.status == "sending", Outbox.leased_by.in_(list(workers)))
                               .values(lease_until=config.now() - dt.timedelta(seconds=1)))
            return result.rowcount or 0

    def lease_holders(self, prefix: str) -> list[str]:
        """Workers named ``prefix…`` that hold rows in ``sending``."""
        with self.transaction() as s:
            return list(s.scalars(select(Outbox.leased_by).where(
                Outbox.status == "sending", Outbox.leased_by.startswith(prefix, autoescape=True)).distinct()))

    def mark_handed(self, outbox_id: int, attempt: int, worker: str) -> None:
        """Log, before a message goes to the mail server or gateway, that this attempt is handing it
        over: if the worker dies before recording the answer, the next one knows it is in doubt."""
        with self.transaction() as s:
            s.add(DeliveryAttempt(outbox_id=outbox_id, attempt=attempt, at=config.now(), outcome=HANDED,
                                  detail=worker[:80]))

    def in_doubt(self, ids: Sequence[int]) -> set[int]:
        """Rows whose last attempt was handed over and then got no answer (the worker died) or lost
        its connection before the answer: the server may have the message already."""
        if not ids:
            return set()
        with self.transaction() as s:
            last = (select(DeliveryAttempt.outbox_id, func.max(DeliveryAttempt.id).label("last_id"))
                    .where(DeliveryAttempt.outbox_id.in_(list(ids))).group_by(DeliveryAttempt.outbox_id).subquery())
            broken = and_(DeliveryAttempt.outcome == "queued", DeliveryAttempt.detail.startswith(IN_DOUBT))
            return set(s.scalars(select(DeliveryAttempt.outbox_id).join(last, DeliveryAttempt.id == last.c.last_id)
                                 .where(or_(DeliveryAttempt.outcome == HANDED, broken))))

    def pending_outbox(self) -> tuple[int, dt.datetime | None]:
        """(rows not yet finished, when the next queued one is due)."""
        with self.transaction() as s:
            n = s.scalar(select(func.count()).select_from(Outbox).where(Outbox.status.in_(("queued", "sending"))))
            due = s.scalar(select(func.min(Outbox.next_attempt_at)).where(Outbox.status == "queued"))
            return int(n or 0), due

    def record_deliveries(self, worker: str, outcomes: Sequence[Delivery]) -> int:
        """Record a batch of attempts in one transaction: each row's new status and the attempt log.

        Only rows this worker still holds are updated: if its lease ran out and another worker
        took the row, that worker's outcome counts. Returns the rows recorded.
        """
        if not outcomes:
            return 0
        now, recorded = config.now(), 0
        with self.transaction() as s:
            for d in outcomes:
                values: dict[str, Any] = {"status": d.status, "last_error": d.detail if d.status != "sent" else None,
                                          "leased_by": None, "lease_until": None}
                if d.status == "sent":
                    values.update(sent_at=now, provider_ref=d.provider_ref)
                if d.retry_at is not None:
                    values["next_attempt_at"] = d.retry_at
                result = s.execute(update(Outbox).where(Outbox.id == d.outbox_id, Outbox.leased_by == worker,
                                                        Outbox.status == "sending").values(**values))
                if result.rowcount != 1:
                    continue
                recorded += 1
                s.add(DeliveryAttempt(outbox_id=d.outbox_id, attempt=d.attempt, at=now, outcome=d.status,
                                      detail=d.detail))
        return recorded

    def letter_number(self, request_id: int, kind: str, sequence: int, department: str,
                      day: dt.date) -> tuple[int, dt.date]:
        """The notice's letter number and date: given once (the department's next number in the
        Buddhist-Era year) and the same every time after, so a letter re-renders identically."""
        for _ in range(5):  # two dispatchers numbering at once: the unique number decides, retry
            try:
                with self.transaction() as s:
                    found = s.scalar(select(Letter).where(Letter.request_id == request_id, Letter.kind == kind,
                                                          Letter.sequence == sequence))
                    if found is not None:
                        return found.running_no, found.letter_date
                    year = day.year + 543
                    last = s.scalar(select(func.max(Letter.running_no)).where(Letter.department == department,
                                                                               Letter.year_be == year)) or 0
                    s.add(Letter(request_id=request_id, kind=kind, sequence=sequence, department=department,
                                 year_be=year, running_no=last + 1, letter_date=day))
                return last + 1, day
            except IntegrityError:
                continue
        raise RuntimeError(f"could not number the letter for request {request_id} after 5 tries")

    def archived_letters(self, request_id: int, kind: str, sequence: int) -> dict[str, tuple[str, str]]:
        """{language: (sha256, template digest)} of the notice's letters already archived."""
        with self.session() as s:
            found = s.scalar(select(Letter).where(Letter.request_id == request_id, Letter.kind == kind,
                                                  Letter.sequence == sequence))
            if found is None:
                return {}
            return {lang: (getattr(found, sha), getattr(found, digest))
                    for lang, (sha, digest) in _ARCHIVE_COLUMNS.items() if getattr(found, sha)}

    def record_archived_letter(self, request_id: int, kind: str, sequence: int, language: str, sha256: str,
                               template_digest: str) -> tuple[str, str]:
        """Record, once, the sha256 and template digest of a notice's letter in ``language`` (numbered
        by ``letter_number`` first). Returns what is recorded: another dispatcher's, if it was first."""
        sha, digest = _ARCHIVE_COLUMNS[language]
        where = and_(Letter.request_id == request_id, Letter.kind == kind, Letter.sequence == sequence)
        with self.transaction() as s:
            s.execute(update(Letter).where(where, getattr(Letter, sha).is_(None))
                      .values({sha: sha256, digest: template_digest}))
            row = s.execute(select(getattr(Letter, sha), getattr(Letter, digest)).where(where)).one_or_none()
        if row is None or row[0] is None:
            raise RuntimeError(f"no letter numbered for request {request_id} {kind} {sequence}: number it first")
        return row[0], row[1]

    def requests_by_id(self, ids: Sequence[int]) -> dict[int, Request]:
        with self.session() as s:
            return {r.id: r for r in s.scalars(select(Request).where(Request.id.in_(set(ids))))}

    def record_sms_report(self, provider_ref: str, status: str, detail: str | None) -> bool:
        """A gateway's delivery report: kept on the SMS row; a failed or expired one makes the
        delivery failed. False when no SMS carries that provider id. Safe to repeat."""
        with self.transaction() as s:
            row = s.scalar(select(Outbox).where(Outbox.provider_ref == provider_ref, Outbox.channel == "sms"))
            if row is None:
                return False
            row.report_status, row.reported_at = status, config.now()
            if status != "delivered" and row.status == "sent":
                row.status, row.last_error = "failed", f"delivery report: {status}" + (f" ({detail})" if detail else "")
            s.add(DeliveryAttempt(outbox_id=row.id, attempt=row.attempts, at=config.now(), outcome=f"report:{status}",
                                  detail=detail))
        return True

    # --- reading ------------------------------------------------------------------------------
    def counts(self, model: type, *group: Any, where: Any = None) -> dict[Any, int]:
        with self.session() as s:
            query = select(*group, func.count()).select_from(model)
            if where is not None:
                query = query.where(where)
            query = query.group_by(*group)
            return {tuple(row[:-1]) if len(group) > 1 else row[0]: row[-1] for row in s.execute(query)}

    def quarantine_reasons(self, limit: int = 5, since: dt.datetime | None = None) -> list[Quarantine]:
        with self.session() as s:
            query = select(Quarantine).order_by(Quarantine.id)
            if since is not None:
                query = query.where(Quarantine.created_at >= since)
            return list(s.scalars(query.limit(limit)))

    # --- connector activity (delayhub.staleness) ------------------------------------------------
    def connector_activity(self, connector_id: str) -> tuple[dt.datetime | None, dt.datetime | None,
                                                             dt.datetime | None]:
        """(first ingest run, last ingest run that stored a new or changed record, last stale alert)
        of one connector, from its job runs; None where there is none."""
        mine = JobRun.subject == connector_id
        with self.session() as s:
            first = s.scalar(select(func.min(JobRun.started_at)).where(JobRun.job == "ingest", mine))
            last_new = s.scalar(select(func.max(JobRun.started_at)).where(
                JobRun.job == "ingest", mine, JobRun.stats["stored"].as_integer() > 0))
            alerted = s.scalar(select(func.max(JobRun.started_at)).where(JobRun.job == "stale_alert", mine))
        return first, last_new, alerted

    # --- the officer's desk (delayhub.desk) -------------------------------------------------------
    def form_used(self, token: str) -> str | None:
        """Where the form sent with this one-time token led, if it was saved already."""
        with self.session() as s:
            return s.scalar(select(FormSubmission.subject).where(FormSubmission.token == token))

    @staticmethod
    def use_form(s: Session, token: str, subject: str) -> None:
        """Spend a one-time form token in the transaction that saves its form. The same token sent
        twice at once: the second insert waits for the first and fails on the key, so one form is saved."""
        s.add(FormSubmission(token=token, subject=subject, used_at=config.now()))
        s.flush()

    @staticmethod
    def lock_request(s: Session, request_id: int) -> bool:
        """Hold the request's row until the transaction ends, so two desks sweeping it at once run one
        after the other. It is a write: PostgreSQL locks the row, SQLite takes its one writer's lock
        (a read would leave the second with a stale snapshot). False when there is no such request."""
        done = s.execute(update(Request).where(Request.id == request_id).values(needs_sweep=Request.needs_sweep))
        return done.rowcount == 1

    @staticmethod
    def set_desk_reason(s: Session, request_id: int, reason: str | None, by: str) -> None:
        """Keep (or, with None, drop) the desk's delay reason of a request, and sweep it again."""
        row = s.get(DeskReason, request_id)
        if reason is None:
            if row is not None:
                s.delete(row)
        elif row is None:
            s.add(DeskReason(request_id=request_id, reason=reason, updated_by=by, updated_at=config.now()))
        else:
            row.reason, row.updated_by, row.updated_at = reason, by, config.now()
        s.execute(update(Request).where(Request.id == request_id).values(needs_sweep=True))


def _sweep_query() -> Any:
    """What the sweep reads of a request, with its manual. The delay reason is the record's own, else
    the one an officer gave at the desk (``desk_reasons``), which no ingest overwrites."""
    columns = [Request.id, Request.agency, Request.request_no, Request.ministry, Request.department,
               Request.division, Request.process_code, Request.manual_id, Request.status, Request.submitted_on,
               Request.clock_started_on, Request.completed_on, Request.pauses, Request.derived_pauses,
               Request.due_on, Request.due_basis, Request.known_on, Request.last_delay_seq,
               Request.result_queued, func.coalesce(Request.delay_reason, DeskReason.reason).label("delay_reason"),
               Request.source_connector, Request.applicant_name,
               Request.applicant_email, Request.applicant_phone, Request.applicant_address, Request.applicant_language,
               Manual.processing_days, Manual.day_unit,
               Manual.process_name]
    return (select(*columns).join(Manual, Manual.manual_id == Request.manual_id, isouter=True)
            .join(DeskReason, DeskReason.request_id == Request.id, isouter=True))


def _values(rec: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """Request columns from a standard request (national ID hashed and masked, never kept)."""
    values: dict[str, Any] = {name: rec.get(name) for name in _PLAIN}
    for name in _DATES:
        values[name] = dt.date.fromisoformat(rec[name]) if rec.get(name) else None
    agency, applicant, src = rec["agency"], rec.get("applicant") or {}, rec["source"]
    nid = applicant.get("national_id")
    values.update(
        ministry=agency["ministry"], department=agency["department"], division=agency.get("division"),
        pauses=rec.get("pauses") or [], applicant_name=applicant.get("name"), applicant_email=applicant.get("email"),
        applicant_phone=applicant.get("phone"), applicant_address=applicant.get("address"),
        consent=applicant.get("consent"), applicant_language=applicant.get("language") or "th",
        applicant_nid_hash=hash_national_id(nid) if nid else None,
        applicant_nid_masked=mask_national_id(nid) if nid else None, source_connector=src["connector"],
        source_record_id=src["record_id"],
        source_fetched_at=dt.datetime.fromisoformat(src["fetched_at"]) if src.get("fetched_at") else now,
        checksum=src["checksum"], updated_at=now, needs_sweep=True)
    return values


def _track_waiting(before: str | None, after: str, pauses: list[dict[str, Any]],
                   today: dt.date) -> list[dict[str, Any]]:
    """Open a pause when a request starts waiting for the applicant; close it when it stops.

    The pause runs from the day the hub saw the request start waiting to the day before it saw
    it stop (the clock runs again on the day the applicant answers).
    """
    pauses = [dict(p) for p in pauses]
    if after == "waiting_applicant" and before != "waiting_applicant":
        pauses.append({"from": today.isoformat(), "to": None, "reason": "waiting_applicant"})
    elif before == "waiting_applicant" and after != "waiting_applicant" and pauses and pauses[-1]["to"] is None:
        end = today - dt.timedelta(days=1)
        if end < dt.date.fromisoformat(pauses[-1]["from"]):
            pauses.pop()  # waited less than a day: nothing to add back
        else:
            pauses[-1]["to"] = end.isoformat()
    return pauses
