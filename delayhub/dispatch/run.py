"""One dispatch run over the outbox."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import requests

from .. import config
from ..config import DispatchConfig
from ..errors import PermanentDeliveryError
from ..store import HubStore
from ..store.repo import Delivery
from . import status as st
from .email import Email, send_emails
from .sms import Sms, send_sms

log = logging.getLogger(__name__)


def backoff(attempt: int) -> dt.timedelta:
    """1, 4, 16, 64 minutes… capped at 6 hours."""
    return dt.timedelta(minutes=min(4 ** (attempt - 1), 360))


def dispatch(store: HubStore, cfg: DispatchConfig, batch: int = 500) -> dict[str, Any]:
    """Send every due outbox row; each outcome is recorded before the next batch is claimed."""
    with store.job("dispatch") as job:
        for key in ("sent", "retry", "failed"):
            job.add(key, 0)
        job.add("released", store.release_stale_claims())
        session = requests.Session()
        while rows := store.claim_outbox(batch):
            mails = [r for r in rows if r.channel in st.EMAIL_CHANNELS]
            outcomes: list[tuple[Any, Exception | str]] = list(zip(mails, send_emails(
                [Email(r.idempotency_key, r.recipient, r.subject, r.body) for r in mails], cfg.smtp), strict=True))
            for r in rows:
                if r.channel == "sms":
                    try:
                        outcomes.append((r, send_sms(Sms(r.idempotency_key, r.recipient, r.body), cfg.sms, session)))
                    except Exception as exc:
                        outcomes.append((r, exc))
            store.record_deliveries([_delivery(job, row, outcome, cfg) for row, outcome in outcomes])
        log.info("dispatch: %s", job.stats)
        return dict(job.stats)


def _delivery(job: Any, row: Any, outcome: Exception | str, cfg: DispatchConfig) -> Delivery:
    if not isinstance(outcome, Exception):
        job.add("sent")
        job.add(f"sent_{row.channel}")
        return Delivery(row.id, row.attempts, st.SENT, provider_ref=str(outcome)[:200])
    detail = str(outcome)[:500]
    job.add("failed" if isinstance(outcome, PermanentDeliveryError) or row.attempts >= cfg.max_attempts else "retry")
    if isinstance(outcome, PermanentDeliveryError):
        return Delivery(row.id, row.attempts, st.PERMANENT_FAILURE, detail)
    if row.attempts >= cfg.max_attempts:
        return Delivery(row.id, row.attempts, st.TECHNICAL_FAILURE, detail)
    return Delivery(row.id, row.attempts, st.PENDING, detail, retry_at=config.now() + backoff(row.attempts))
