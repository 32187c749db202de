"""One dispatch run over the outbox: lease due rows, hand them to their channels, record each outcome."""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import socket
import uuid
from typing import Any

import requests

from .. import config
from ..config import DispatchConfig
from ..errors import PermanentDeliveryError, TemporaryDeliveryError
from ..messages import refusal_alert
from ..registry import Registry
from ..store import HubStore
from ..store.repo import Delivery
from . import status as st
from .email import Attachment, Email, send_emails
from .letters import LetterMaker
from .sms_providers import create_provider, fit

log = logging.getLogger(__name__)


def worker_name() -> str:
    """Unique per dispatcher process: a lease names who holds a row."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def backoff(attempt: int, rng: random.Random | None = None,
            base: dt.timedelta = dt.timedelta(minutes=1)) -> dt.timedelta:
    """1, 4, 16, 64 × base… capped at 360 × base (6 hours), each ±50 % so retries after an outage spread out."""
    return base * min(4 ** (attempt - 1), 360) * (rng or random).uniform(0.5, 1.5)


def reclaim_dead_workers(store: HubStore) -> int:
    """Free at once the rows of dispatchers on this host whose process is gone (killed, crashed),
    instead of waiting for their leases to run out. Returns the rows freed."""
    host = socket.gethostname()
    dead = []
    for name in store.lease_holders(f"{host}:"):
        try:
            pid = int(name.split(":")[1])
            os.kill(pid, 0)
        except (IndexError, ValueError, ProcessLookupError):
            dead.append(name)
        except PermissionError:  # alive, someone else's
            pass
    freed = store.expire_leases_of(dead)
    if freed:
        log.warning("dispatch: took back %d notice(s) from %d dispatcher(s) that died on this host", freed, len(dead))
    return freed


def dispatch(store: HubStore, cfg: DispatchConfig, batch: int = 500, worker: str | None = None,
             registry: Registry | None = None) -> dict[str, Any]:
    """Send every due outbox row, recording each outcome the moment it is known.

    Before a message goes out its attempt is logged as handed over; if this process dies before
    the answer is recorded, the next dispatcher resends it marked as in doubt (same Message-ID).
    A notice refused for good (bad address, rejected number) is reported to the agency, by the
    ``alert_email`` of its department in the registry, so it can correct the contact.
    """
    worker = worker or worker_name()
    with store.job("dispatch") as job:
        for key in ("sent", "retry", "failed", "dead"):
            job.add(key, 0)
        if reclaimed := reclaim_dead_workers(store):
            job.add("reclaimed", reclaimed)
        session = requests.Session()
        options = {"username": cfg.sms.username} if cfg.sms.username else {}
        sms = create_provider(cfg.sms.provider, cfg.sms, session, **options)
        registry = registry or Registry.load()
        letters = LetterMaker(store, registry)
        started = config.now()
        while rows := store.claim_outbox(worker, batch, due_by=started):
            refused = _send_batch(store, cfg, job, worker, rows, letters, sms)
            if refused:
                job.add("agency_alerts", store.add_outbox(_refusal_alerts(store, registry, refused)))
        log.info("dispatch: %s", job.stats)
        return dict(job.stats)


def _send_batch(store: HubStore, cfg: DispatchConfig, job: Any, worker: str, rows: list[Any],
                letters: LetterMaker, sms: Any) -> list[tuple[Any, Delivery]]:
    """Send one leased batch; returns the deliveries refused for good."""
    doubtful = store.in_doubt([r.id for r in rows if r.attempts > 1])
    if doubtful:
        job.add("in_doubt", len(doubtful))
    refused: list[tuple[Any, Delivery]] = []

    def record(row: Any, outcome: Exception | str) -> None:
        d = _delivery(job, row, outcome, cfg)
        store.record_deliveries(worker, [d])
        if d.status == st.FAILED and row.channel in ("email", "sms"):
            refused.append((row, d))

    mails: list[tuple[Any, Email]] = []
    for r in rows:
        if r.channel not in st.EMAIL_CHANNELS:
            continue
        try:  # the applicant's email carries the notice's letter(s) as PDF
            attached = tuple(Attachment(*a) for a in letters.attachments(r)) if r.channel == "email" else ()
        except TemporaryDeliveryError as exc:
            record(r, exc)
            continue
        mails.append((r, Email(r.idempotency_key, r.recipient, r.subject, r.body, attached,
                               in_doubt=r.id in doubtful)))
    send_emails([m for _, m in mails], cfg.smtp,
                on_handoff=lambda i: store.mark_handed(mails[i][0].id, mails[i][0].attempts, worker),
                on_result=lambda i, outcome: record(mails[i][0], outcome))
    for r in rows:
        if r.channel == "letter":
            try:
                record(r, letters.to_print_queue(r))
            except Exception as exc:  # every failure is recorded on the row
                record(r, exc)
        if r.channel == "sms":
            try:
                store.mark_handed(r.id, r.attempts, worker)
                record(r, sms.send(r.recipient, fit(r.body), r.idempotency_key))
            except Exception as exc:  # every failure is recorded on the row
                record(r, exc)
    return refused


def dispatch_until_done(store: HubStore, cfg: DispatchConfig, limit: dt.timedelta, batch: int = 500,
                        poll: float = 1.0) -> dict[str, Any]:
    """Dispatch again and again, waiting for retries to fall due, until every notice is finished
    (sent, failed or dead) or ``limit`` has passed. For a standing dispatcher and for drills."""
    import time

    worker = worker_name()
    totals: dict[str, Any] = {}
    stop_at = time.monotonic() + limit.total_seconds()
    while True:
        for key, value in dispatch(store, cfg, batch, worker).items():
            if isinstance(value, int | float):
                totals[key] = totals.get(key, 0) + value
        pending, _ = store.pending_outbox()
        totals["pending"] = pending
        if not pending or time.monotonic() >= stop_at:
            return totals
        time.sleep(poll)


def _refusal_alerts(store: HubStore, registry: Registry, refused: list[tuple[Any, Delivery]]) -> list[dict[str, Any]]:
    requests_by_id = store.requests_by_id([row.request_id for row, _ in refused])
    alerts = []
    for row, d in refused:
        request = requests_by_id.get(row.request_id)
        agency = registry.agencies.get(request.department) if request else None
        if request is None or agency is None or not agency.alert_email:
            continue
        subject, body = refusal_alert(agency.name, request.request_no, row.kind, row.sequence, row.channel, d.detail)
        alerts.append({"request_id": row.request_id, "kind": "refused", "sequence": row.id, "channel": "agency",
                       "owed_on": row.owed_on, "late_days": 0, "recipient": agency.alert_email, "subject": subject,
                       "body": body, "idempotency_key": f"refused-{row.idempotency_key}"[:120]})
    return alerts


def _delivery(job: Any, row: Any, outcome: Exception | str, cfg: DispatchConfig) -> Delivery:
    if not isinstance(outcome, Exception):
        job.add("sent")
        job.add(f"sent_{row.channel}")
        return Delivery(row.id, row.attempts, st.SENT, provider_ref=str(outcome)[:200])
    detail = str(outcome)[:500]
    if isinstance(outcome, PermanentDeliveryError):
        job.add("failed")
        return Delivery(row.id, row.attempts, st.FAILED, detail)
    retry_at = config.now() + backoff(row.attempts, base=cfg.retry_base)
    if row.attempts >= cfg.max_attempts or (row.deadline_at is not None and retry_at > row.deadline_at):
        job.add("dead")
        return Delivery(row.id, row.attempts, st.DEAD, detail)
    job.add("retry")
    return Delivery(row.id, row.attempts, st.QUEUED, detail, retry_at=retry_at)
