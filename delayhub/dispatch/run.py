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


def backoff(attempt: int, rng: random.Random | None = None) -> dt.timedelta:
    """1, 4, 16, 64 minutes… capped at 6 hours, each ±50 % so retries after an outage spread out."""
    base = min(4 ** (attempt - 1), 360)
    return dt.timedelta(minutes=base * (rng or random).uniform(0.5, 1.5))


def dispatch(store: HubStore, cfg: DispatchConfig, batch: int = 500, worker: str | None = None,
             registry: Registry | None = None) -> dict[str, Any]:
    """Send every due outbox row; each batch's outcomes are recorded before the next is leased.

    A notice refused for good (bad address, rejected number) is reported to the agency, by the
    ``alert_email`` of its department in the registry, so it can correct the contact.
    """
    worker = worker or worker_name()
    with store.job("dispatch") as job:
        for key in ("sent", "retry", "failed", "dead"):
            job.add(key, 0)
        session = requests.Session()
        options = {"username": cfg.sms.username} if cfg.sms.username else {}
        sms = create_provider(cfg.sms.provider, cfg.sms, session, **options)
        registry = registry or Registry.load()
        letters = LetterMaker(store, registry)
        while rows := store.claim_outbox(worker, batch):
            outcomes: list[tuple[Any, Exception | str]] = []
            mails: list[tuple[Any, Email]] = []
            for r in rows:
                if r.channel not in st.EMAIL_CHANNELS:
                    continue
                try:  # the applicant's email carries the notice's letter as a PDF
                    made = letters.pdf(r) if r.channel == "email" else None
                except TemporaryDeliveryError as exc:
                    outcomes.append((r, exc))
                    continue
                attached = (Attachment(*made),) if made else ()
                mails.append((r, Email(r.idempotency_key, r.recipient, r.subject, r.body, attached)))
            outcomes += list(zip([r for r, _ in mails], send_emails([m for _, m in mails], cfg.smtp), strict=True))
            for r in rows:
                if r.channel == "letter":
                    try:
                        outcomes.append((r, letters.to_print_queue(r)))
                    except Exception as exc:  # every failure is recorded on the row
                        outcomes.append((r, exc))
                if r.channel == "sms":
                    try:
                        outcomes.append((r, sms.send(r.recipient, fit(r.body), r.idempotency_key)))
                    except Exception as exc:  # every failure is recorded on the row
                        outcomes.append((r, exc))
            deliveries = [_delivery(job, row, outcome, cfg) for row, outcome in outcomes]
            store.record_deliveries(worker, deliveries)
            refused = [(row, d) for (row, _), d in zip(outcomes, deliveries, strict=True)
                       if d.status == st.FAILED and row.channel in ("email", "sms")]
            if refused and registry is not None:
                job.add("agency_alerts", store.add_outbox(_refusal_alerts(store, registry, refused)))
        log.info("dispatch: %s", job.stats)
        return dict(job.stats)


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
    retry_at = config.now() + backoff(row.attempts)
    if row.attempts >= cfg.max_attempts or (row.deadline_at is not None and retry_at > row.deadline_at):
        job.add("dead")
        return Delivery(row.id, row.attempts, st.DEAD, detail)
    job.add("retry")
    return Delivery(row.id, row.attempts, st.QUEUED, detail, retry_at=retry_at)
