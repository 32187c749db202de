"""The daily notice sweep: one set-based pass over the requests that need it.

For each batch of open (or just changed) requests, in id order along an index: due dates for
the whole batch at once through the calendar's numpy core (a per-request path only for
requests with pauses), notices owed from the same vectorised sequence formula, then one
transaction that stores the new due dates (each change kept as an event), the queued notices
and each request's sweep state. Its cost follows the open requests, not the history.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import defaultdict
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .calendar import ThaiCalendar
from .config import DispatchConfig
from .duedates import base_due_dates, due_date
from .errors import ConfigError
from .letters import LetterSettings, load_settings
from .mapping import Mapping
from .messages import LANGUAGES, NoticeContext, email_text, held_alert, notice_payload, opdc_copy, sms_text
from .notices import (
    FINISHED,
    UNFINISHED,
    NoticeDue,
    delay_owed_on,
    delay_ranges,
    first_sequence,
    result_late_days,
    result_owed,
)
from .registry import Registry
from .store import HubStore
from .survey.invite import requests_finished
from .tracking import tracking_code

log = logging.getLogger(__name__)
BATCH = 20_000
_NAT = np.datetime64("NaT", "D")


def idempotency_key(request: Any, kind: str, sequence: int, channel: str) -> str:
    """Stable, ASCII-only (it becomes the email's Message-ID), without personal data."""
    raw = f"{request.agency}|{request.request_no}|{kind}|{sequence}|{channel}"
    return "n-" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def _pauses(row: Any) -> list[tuple[dt.date, dt.date | None]]:
    return [(dt.date.fromisoformat(p["from"]), dt.date.fromisoformat(p["to"]) if p.get("to") else None)
            for p in [*(row.pauses or []), *(row.derived_pauses or [])]]


def due_dates(rows: list[Any], calendar: ThaiCalendar) -> np.ndarray:
    """Due dates of a batch (NaT where there is none: no manual's time and none set before, or an open pause)."""
    out = np.full(len(rows), _NAT)
    groups: dict[ThaiCalendar, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        if row.processing_days is None:
            # No processing time to count from: the manual is a draft again, or gone from the registry. A due
            # date set before, from the time the request was taken under, stands (its notices go on); none is
            # ever computed from a missing time.
            if row.due_on is not None:
                out[i] = np.datetime64(row.due_on, "D")
            continue
        cal = calendar.for_agency(row.division, row.department, row.ministry)
        if row.pauses or row.derived_pauses:
            due = due_date(row.clock_started_on or row.submitted_on, row.processing_days, row.day_unit, cal,
                           _pauses(row))
            out[i] = np.datetime64(due, "D") if due else _NAT
        else:
            groups[cal].append(i)
    for cal, idx in groups.items():
        picked = [rows[i] for i in idx]
        starts = np.array([r.clock_started_on or r.submitted_on for r in picked], dtype="datetime64[D]")
        days = np.array([r.processing_days for r in picked])
        working = np.array([r.day_unit == "working" for r in picked])
        out[idx] = base_due_dates(starts, days, working, cal)
    return out


def basis(row: Any, calendar: ThaiCalendar) -> str:
    """What a due date was computed from: a change in either recomputes it and is recorded."""
    cal = calendar.for_agency(row.division, row.department, row.ministry)
    return f"{row.manual_id}:{row.processing_days}{(row.day_unit or '?')[0]}@{cal.version}"


@dataclass
class EnglishNames:
    """Agencies' English names for English messages: the ones their English letters print (the
    letter settings in data/letters/), each department's read once, and only when needed."""

    settings: dict[str, LetterSettings | None] = field(default_factory=dict)

    def of(self, department: str, division: str | None) -> tuple[str, str]:
        """(department, division) in English; empty where the settings have none."""
        if department not in self.settings:
            try:
                self.settings[department] = load_settings(department)
            except ConfigError as exc:  # the notice still goes out, with the Thai names
                log.warning("English names of %s unavailable: %s", department, exc)
                self.settings[department] = None
        found = self.settings[department]
        if found is None:
            return "", ""
        unit = found.for_unit(division)
        return unit.agency_name.get("en", ""), (unit.owning_unit.get("en", "") if division else "")


@dataclass
class Plan:
    due_changes: list[tuple[int, dt.date | None, dt.date | None, str]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    states: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    names: EnglishNames = field(default_factory=EnglishNames)
    finished: list[int] = field(default_factory=list)  # requests seen finished now: each asked to rate the service


def plan_batch(rows: list[Any], registry: Registry, calendar: ThaiCalendar, mappings: dict[str, Mapping],
               dispatch: DispatchConfig, today: dt.date) -> Plan:
    """What one batch owes today; pure (writes nothing, and reads nothing but the letter settings of
    agencies with applicants who read English, for their English names)."""
    plan = Plan()
    due = due_dates(rows, calendar)
    today64 = np.datetime64(today, "D")
    known = np.array([r.known_on for r in rows], dtype="datetime64[D]")
    unfinished = np.isin(np.array([r.status for r in rows]), list(UNFINISHED))
    has_due = ~np.isnat(due)
    start, k_last = delay_ranges(due, today, known, np.array([r.last_delay_seq for r in rows]))
    owes_delay = unfinished & has_due & (k_last >= start)
    plan.counts["requests"] += len(rows)
    plan.counts["overdue"] += int((unfinished & has_due & (due < today64)).sum())
    plan.counts["no_manual"] += sum(r.processing_days is None for r in rows)

    for i, row in enumerate(rows):
        new_due = due[i].astype(dt.date) if has_due[i] else None
        b = basis(row, calendar)
        if row.processing_days is not None and (new_due != row.due_on or b != row.due_basis):
            plan.due_changes.append((row.id, row.due_on, new_due, b))
        if owes_delay[i]:
            queued = _delay_notices(plan, row, range(int(start[i]), int(k_last[i]) + 1), new_due, today,
                                    registry, mappings, dispatch)
            if queued > row.last_delay_seq:
                plan.states.append({"id": row.id, "last_delay_seq": queued})
        elif row.status in FINISHED and not row.result_queued and row.completed_on is not None:
            known_on = known[i].astype(dt.date)
            owed = result_owed(row.completed_on, today, known_on)
            if (row.processing_days is not None or row.due_on is not None) and owed:
                notice = NoticeDue("result", 1, row.completed_on, result_late_days(row.completed_on, today))
                plan.outbox.extend(_rows(row, registry, notice, new_due, None, dispatch, plan.names))
                plan.counts["notices_owed"] += 1
            if owed:  # everyone served is asked, whatever the result (not a request finished long before)
                plan.finished.append(row.id)
            plan.states.append({"id": row.id, "result_queued": True, "needs_sweep": False})
        elif not unfinished[i] and row.status not in FINISHED:  # withdrawn: nothing more is owed
            plan.states.append({"id": row.id, "needs_sweep": False})
    return plan


def _delay_notices(plan: Plan, row: Any, ks: range, due: dt.date, today: dt.date, registry: Registry,
                   mappings: dict[str, Mapping], dispatch: DispatchConfig) -> int:
    """Queue delay notices ks; returns the last sequence queued (held ones stop the run)."""
    mapping = mappings.get(row.source_connector)
    reason = row.delay_reason or (mapping.default_delay_reason(row.process_code) if mapping else None)
    last = row.last_delay_seq
    for k in ks:
        owed_on = delay_owed_on(due, k)
        notice = NoticeDue("delay", k, owed_on, (today - owed_on).days)
        if not reason:
            plan.counts["held_no_reason"] += 1
            plan.outbox.extend(_alert(row, registry, notice, due, mapping, dispatch))
            break  # never sent blank; sent late, once, when a reason arrives
        plan.outbox.extend(_rows(row, registry, notice, due, reason, dispatch, plan.names))
        plan.counts["notices_owed"] += 1
        if notice.late_days > 0:
            plan.counts["late"] += 1
        last = k
    return last


def sweep(store: HubStore, registry: Registry, calendar: ThaiCalendar, mappings: dict[str, Mapping],
          dispatch: DispatchConfig, today: dt.date, batch: int = BATCH) -> dict[str, Any]:
    store.sync_registry(registry)
    with store.job("sweep") as job:
        for key in ("requests", "overdue", "due_changed", "notices_owed", "late", "outbox_added",
                    "held_no_reason", "survey_invited"):
            job.add(key, 0)
        job.stats["calendar"] = calendar.version
        after = 0
        while rows := store.sweep_batch(after, batch):
            after = rows[-1].id
            plan = plan_batch(rows, registry, calendar, mappings, dispatch, today)
            with store.transaction() as s:  # the result notices and their survey invitations land together
                job.add("outbox_added", store.apply_sweep(plan.due_changes, plan.outbox, plan.states, session=s))
                job.add("survey_invited", requests_finished(s, plan.finished))
            job.add("due_changed", len(plan.due_changes))
            for key, n in plan.counts.items():
                job.add(key, n)
        log.info("sweep %s: %s", today, job.stats)  # counts only: no personal data
        return dict(job.stats)


def _context(row: Any, registry: Registry, notice: NoticeDue, due: dt.date | None, reason: str | None,
             dispatch: DispatchConfig, names: EnglishNames | None = None) -> NoticeContext:
    """The notice's facts; with ``names``, in the applicant's language (without: Thai, for agencies)."""
    department = registry.agencies.get(row.department)
    division = registry.agencies.get(row.division or "")
    language = row.applicant_language if names is not None and row.applicant_language in LANGUAGES else "th"
    department_en, division_en = names.of(row.department, row.division) if language == "en" else ("", "")
    return NoticeContext(
        request_no=row.request_no, department=department.name if department else row.department,
        division=division.name if division else "", process_name=row.process_name or "",
        applicant_name=row.applicant_name, submitted_on=row.submitted_on, due_on=due,
        kind=notice.kind, sequence=notice.sequence, reason=reason, status=row.status,
        completed_on=row.completed_on, late_days=notice.late_days,
        contact_phone=department.phone if department else "", tracking_url=dispatch.tracking_url,
        language=language, department_en=department_en, division_en=division_en,
        tracking_code=tracking_code(row.agency, row.request_no),
    )


def _keyed(row: Any, notice: NoticeDue, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    common = dict(request_id=row.id, kind=notice.kind, sequence=notice.sequence, owed_on=notice.owed_on,
                  late_days=notice.late_days)
    return [dict(common, **item, idempotency_key=idempotency_key(row, notice.kind, notice.sequence, item["channel"]))
            for item in items]


def _rows(row: Any, registry: Registry, notice: NoticeDue, due: dt.date | None, reason: str | None,
          dispatch: DispatchConfig, names: EnglishNames) -> list[dict[str, Any]]:
    """One outbox row per channel the applicant has, and the copy to the OPDC (in Thai)."""
    ctx = _context(row, registry, notice, due, reason, dispatch, names)
    subject, body = email_text(ctx)
    payload = {**notice_payload(ctx), "division_code": row.division, "department_code": row.department}
    items = []
    if row.applicant_email:  # the email carries the letter as a PDF
        items.append(dict(channel="email", recipient=row.applicant_email, subject=subject, body=body,
                          payload=payload))
    else:  # no email: the letter goes to the agency's print queue, to be posted
        # Only a posted letter carries the postal address (its window-envelope block): an emailed one
        # has no use for it, and it stays out of the email row's facts.
        posted = {**payload, "applicant_address": row.applicant_address} if row.applicant_address else payload
        items.append(dict(channel="letter", recipient=row.applicant_name or "", subject=subject, body=body,
                          payload=posted))
    if row.applicant_phone:
        items.append(dict(channel="sms", recipient=row.applicant_phone, subject="", body=sms_text(ctx)))
    copy_subject, copy_body = opdc_copy(ctx)
    items.append(dict(channel="opdc", recipient=dispatch.opdc_email, subject=copy_subject, body=copy_body))
    return _keyed(row, notice, items)


def _alert(row: Any, registry: Registry, notice: NoticeDue, due: dt.date, mapping: Mapping | None,
           dispatch: DispatchConfig) -> list[dict[str, Any]]:
    """Tell the agency, once per held notice, that it needs a reason before it can be sent."""
    department = registry.agencies.get(row.department)
    if department is None or not department.alert_email:
        log.warning("held notice for %s: agency %s has no alert_email in the registry", row.id, row.department)
        return []
    held = NoticeDue("held", notice.sequence, notice.owed_on, notice.late_days)
    subject, body = held_alert(_context(row, registry, notice, due, None, dispatch),
                               f"mappings/{mapping.file.name}" if mapping else None)
    return _keyed(row, held, [dict(channel="agency", recipient=department.alert_email, subject=subject, body=body)])


# --- one request, now: the officer's desk ("ออกหนังสือแจ้ง") --------------------------------------

@dataclass(frozen=True)
class RequestSweep:
    """What sweeping one request now did: the same due date and notices the daily sweep would give it."""

    due_on: dt.date | None
    queued: tuple[tuple[str, int], ...]  # (kind, sequence) of each notice queued now, channels aside
    added: int  # outbox rows added: none when this sweep's notices were queued already
    held: bool  # a delay notice is owed but held: the request has no reason for its delay
    next_notice_on: dt.date | None  # when the next delay notice falls due (unfinished, with a due date)


def sweep_request(store: HubStore, registry: Registry, calendar: ThaiCalendar, mappings: dict[str, Mapping],
                  dispatch: DispatchConfig, today: dt.date, request_id: int, *, notices: bool = True,
                  session: Any = None) -> RequestSweep | None:
    """Sweep one request at once through ``plan_batch`` and ``apply_sweep``, as the daily sweep would,
    in ``session``'s transaction when given. Without ``notices`` only its due date is stored (a request
    just entered shows its due date; its notices wait for the sweep or the officer). None when there
    is no such request. The outbox's unique notice key keeps a notice from being queued twice, whoever
    sweeps first."""
    rows = store.sweep_rows([request_id], session)
    if not rows:
        return None
    row = rows[0]
    plan = plan_batch(rows, registry, calendar, mappings, dispatch, today)
    outbox, states = (plan.outbox, plan.states) if notices else ([], [])
    with nullcontext(session) if session is not None else store.transaction() as s:
        added = store.apply_sweep(plan.due_changes, outbox, states, session=s)
        if notices:
            requests_finished(s, plan.finished)
    due = plan.due_changes[-1][2] if plan.due_changes else row.due_on
    queued = tuple(sorted({(r["kind"], r["sequence"]) for r in outbox if r["channel"] != "agency"}))
    last = next((st["last_delay_seq"] for st in states if "last_delay_seq" in st), row.last_delay_seq)
    return RequestSweep(due, queued, added, notices and plan.counts["held_no_reason"] > 0,
                        next_delay_notice_on(row.status, due, row.known_on or today, last))


def next_delay_notice_on(status: str, due_on: dt.date | None, known_on: dt.date, last_delay_seq: int) -> dt.date | None:
    """When the next delay notice after the ``last_delay_seq`` already queued falls due; None for a
    finished request or one without a due date."""
    if status not in UNFINISHED or due_on is None:
        return None
    return delay_owed_on(due_on, max(first_sequence(due_on, known_on), last_delay_seq + 1))
