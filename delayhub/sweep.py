"""The daily notice sweep: recompute due dates, then queue every notice owed today."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Any

from .calendar import ThaiCalendar
from .config import TIMEZONE, DispatchConfig
from .duedates import due_date
from .mapping import Mapping
from .messages import NoticeContext, email_text, opdc_copy, sms_text
from .notices import NoticeDue, notices_owed
from .registry import Registry
from .store import HubStore
from .store.models import Manual, Request

log = logging.getLogger(__name__)


def idempotency_key(request: Request, kind: str, sequence: int, channel: str) -> str:
    """Stable, ASCII-only (it becomes the email's Message-ID), without personal data."""
    raw = f"{request.agency}|{request.request_no}|{kind}|{sequence}|{channel}"
    return "n-" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def request_due(request: Request, manual: Manual, calendar: ThaiCalendar) -> tuple[dt.date | None, str]:
    pauses = [(dt.date.fromisoformat(p["from"]), dt.date.fromisoformat(p["to"]) if p.get("to") else None)
              for p in request.pauses or []]
    if request.status == "waiting_applicant" and not any(end is None for _, end in pauses):
        pauses.append((request.updated_at.astimezone(TIMEZONE).date(), None))
    start = request.clock_started_on or request.submitted_on
    basis = f"{manual.manual_id}:{manual.processing_days}{manual.day_unit[0]}@{calendar.version}"
    return due_date(start, manual.processing_days, manual.day_unit, calendar, pauses), basis


def sweep(store: HubStore, registry: Registry, calendar: ThaiCalendar, mappings: dict[str, Mapping],
          dispatch: DispatchConfig, today: dt.date) -> dict[str, Any]:
    store.sync_registry(registry)
    with store.job("sweep") as job:
        for key in ("requests", "overdue", "due_changed", "notices_owed", "outbox_added", "held_no_reason"):
            job.add(key, 0)
        for batch in store.requests_to_sweep():
            changes, rows = [], []
            for request, manual in batch:
                job.add("requests")
                if manual is None:
                    job.add("no_manual")
                    continue
                due, basis = request_due(request, manual, calendar)
                if due != request.due_on or basis != request.due_basis:
                    changes.append((request.id, request.due_on, due, basis))
                    job.add("due_changed")
                if due is not None and request.status in ("received", "in_progress", "waiting_applicant") \
                        and due < today:
                    job.add("overdue")
                known = request.created_at.astimezone(TIMEZONE).date()
                for notice in notices_owed(request.status, due, request.completed_on, today, known):
                    reason = request.delay_reason
                    mapping = mappings.get(request.source_connector)
                    if not reason and mapping is not None:
                        reason = mapping.default_delay_reason(request.process_code)
                    if notice.kind == "delay" and not reason:
                        job.add("held_no_reason")  # never send a delay notice without its reason
                        continue
                    job.add("notices_owed")
                    rows.extend(_outbox_rows(request, manual, registry, notice, due, reason, dispatch))
            store.set_due_dates(changes)
            job.add("outbox_added", store.add_outbox(rows))
        log.info("sweep %s: %s", today, job.stats)
        return dict(job.stats)


def _outbox_rows(request: Request, manual: Manual, registry: Registry, notice: NoticeDue,
                 due: dt.date | None, reason: str | None, dispatch: DispatchConfig) -> list[dict[str, Any]]:
    department = registry.agencies.get(request.department)
    division = registry.agencies.get(request.division or "")
    ctx = NoticeContext(
        request_no=request.request_no, department=department.name if department else request.department,
        division=division.name if division else "", process_name=manual.process_name,
        applicant_name=request.applicant_name, submitted_on=request.submitted_on, due_on=due,
        kind=notice.kind, sequence=notice.sequence, reason=reason, status=request.status,
        completed_on=request.completed_on, late_days=notice.late_days,
        contact_phone=department.phone if department else "", tracking_url=dispatch.tracking_url,
    )
    common = dict(request_id=request.id, kind=notice.kind, sequence=notice.sequence, owed_on=notice.owed_on,
                  late_days=notice.late_days)
    rows = []
    subject, body = email_text(ctx)
    if request.applicant_email:
        rows.append(dict(common, channel="email", recipient=request.applicant_email, subject=subject, body=body))
    if request.applicant_phone:
        rows.append(dict(common, channel="sms", recipient=request.applicant_phone, subject="", body=sms_text(ctx)))
    copy_subject, copy_body = opdc_copy(ctx)
    rows.append(dict(common, channel="opdc", recipient=dispatch.opdc_email, subject=copy_subject, body=copy_body))
    for row in rows:
        row["idempotency_key"] = idempotency_key(request, notice.kind, notice.sequence, row["channel"])
    return rows
