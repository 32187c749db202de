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
            mails = [r for r in rows if r.channel in ("email", "opdc")]
            outcomes: list[tuple[Any, Exception | str]] = list(zip(mails, send_emails(
                [Email(r.idempotency_key, r.recipient, r.subject, r.body) for r in mails], cfg.smtp)))
            for r in rows:
                if r.channel == "sms":
                    try:
                        outcomes.append((r, send_sms(Sms(r.idempotency_key, r.recipient, r.body), cfg.sms, session)))
                    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row
                        outcomes.append((r, exc))
            for row, outcome in outcomes:
                _record(store, job, row, outcome, cfg)
        log.info("dispatch: %s", job.stats)
        return dict(job.stats)


def _record(store: HubStore, job: Any, row: Any, outcome: Exception | str, cfg: DispatchConfig) -> None:
    if not isinstance(outcome, Exception):
        store.record_delivery(row.id, row.attempts, st.SENT, provider_ref=str(outcome)[:200])
        job.add("sent")
        job.add(f"sent_{row.channel}")
        return
    detail = str(outcome)[:500]
    if isinstance(outcome, PermanentDeliveryError):
        store.record_delivery(row.id, row.attempts, st.PERMANENT_FAILURE, detail=detail)
        job.add("failed")
    elif row.attempts >= cfg.max_attempts:
        store.record_delivery(row.id, row.attempts, st.TECHNICAL_FAILURE, detail=detail)
        job.add("failed")
    else:
        store.record_delivery(row.id, row.attempts, st.PENDING, detail=detail,
                              retry_at=config.now() + backoff(row.attempts))
        job.add("retry")
