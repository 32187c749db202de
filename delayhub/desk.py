"""The officer's desk: requests entered by hand, for agencies without a back office.

A desk form becomes a standard request through the same ``normalise`` as every connector record
(the desk is one more source, ``desk:<division>``, whose record id is the request number), is stored
by ``HubStore.upsert_requests`` and swept by ``sweep.sweep_request``: the same calendar, due dates,
Section 10 rules and outbox as the rest of the hub. From here on nothing tells a desk request apart.

Requests from a back office stay read-only here, but for one desk-owned field: the reason for the
delay, when the back office gives none (kept in ``desk_reasons``, which no ingest rewrites).

Every change runs in one transaction with its audit row and, when the form carried one, its
one-time token: a form sent twice (a double click, a resend) is saved once. No web import: the
caller passes who is acting and how to audit them (``Officer``).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import and_, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import config
from .calendar import ThaiCalendar, default_calendar
from .config import DispatchConfig, dispatch_from_env
from .dispatch.letters import LETTER_KINDS, LetterMaker
from .duedates import due_date
from .mapping import FieldSpec, Mapping, load_all
from .normalise import normalise
from .notices import CLOSED, UNFINISHED
from .pdpa import mask_address, mask_name, masked_applicant
from .registry import Agency, Manual, Registry
from .reports.scope import AgencyScope
from .store import HubStore
from .store.models import DeskReason, Outbox, PrintLetter, Request, RequestEvent
from .sweep import RequestSweep, next_delay_notice_on, sweep_request
from .thai import parse_date

CONNECTOR_PREFIX = "desk:"
STATUSES = ("received", "in_progress", "waiting_applicant", "completed", "rejected", "withdrawn")
# What an officer may move an open request to (it is received when entered).
NEXT_STATUSES = ("in_progress", "waiting_applicant", "completed", "rejected", "withdrawn")
FINISHED_WITH_DATE = ("completed", "rejected")
MAX_REASON = 2000
PAGE_SIZE = 25
SEARCH_LIMIT = 8
PRINT_QUEUE_LIMIT = 200
# UPU S10: two letters, eight digits and a check digit, the country (Thailand Post: …TH).
_S10 = re.compile(r"^[A-Z]{2}(\d{8})(\d)[A-Z]{2}$")
_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)

T = TypeVar("T")
# What a list shows of a request (its applicant's name masked on the way out).
_LIST_COLUMNS = (Request.id, Request.request_no, Request.manual_id, Request.status, Request.submitted_on,
                 Request.due_on, Request.applicant_name, Request.source_connector, Request.last_delay_seq)


def connector_id(division: str) -> str:
    """The desk of one division, as a source: ``desk:MOC-DBD-REG``."""
    return f"{CONNECTOR_PREFIX}{division}"


def from_desk(source_connector: str) -> bool:
    return source_connector.startswith(CONNECTOR_PREFIX)


# --- the desk as a source: its record shape and its mapping ------------------------------------------

_FIELDS = {
    "request_no": FieldSpec("request_no"),
    "process_code": FieldSpec("process_code"),
    "manual_id": FieldSpec("manual_id"),
    "submitted_on": FieldSpec("submitted_on", "date"),
    "clock_started_on": FieldSpec("clock_started_on", "date"),
    "status": FieldSpec("status", "status"),
    "completed_on": FieldSpec("completed_on", "date"),
    "result": FieldSpec("result"),
    "delay_reason": FieldSpec("delay_reason"),
    "applicant.name": FieldSpec("applicant_name"),
    "applicant.email": FieldSpec("applicant_email"),
    "applicant.phone": FieldSpec("applicant_phone", "phone"),
    "applicant.address": FieldSpec("applicant_address"),
    "applicant.consent": FieldSpec("consent", "bool"),
}
# Fields the desk checks itself before normalise: choices rebuilt from their parents, and dates.
_DESK_CHECKED = frozenset({"ministry", "department", "division", "process_code", "manual_id", "submitted_on",
                           "clock_started_on", "status_on"})
# normalise's field names (and the schema's paths) → the desk form's fields
_FORM_FIELD = {"applicant.name": "applicant_name", "applicant.email": "applicant_email",
               "applicant.phone": "applicant_phone", "applicant.address": "applicant_address",
               "applicant.consent": "consent", "agency.division": "division", "pauses": "status_on"}


def desk_mapping(registry: Registry, division: str) -> Mapping:
    """The desk of ``division`` as a connector mapping: the form's fields, the hub's own status words,
    pauses as the desk records them, and no default reason (the officer gives one)."""
    department, ministry = registry.department_of(division), registry.ministry_of(division)
    return Mapping(
        id=connector_id(division), title=f"โต๊ะเจ้าหน้าที่ {registry.agencies[division].name}",
        agency={"ministry": ministry.code, "department": department.code, "division": division},
        schedule="", tags=("desk",), source={"type": "desk"}, id_path="request_no", fields=_FIELDS,
        statuses={s: s for s in STATUSES}, delay_reasons={},
        pauses={"path": "pauses", "from": "from", "to": "to", "reason": "reason"}, lookback=None,
        file=Path("desk"), text="")


@dataclass(frozen=True)
class DeskForm:
    """What the officer typed (text as typed; dates as วัน/เดือน/ปี พ.ศ. or ISO)."""

    request_no: str = ""
    ministry: str = ""
    department: str = ""
    division: str = ""
    process_code: str = ""
    manual_id: str = ""
    submitted_on: str = ""
    clock_started_on: str = ""
    delay_reason: str = ""
    applicant_name: str = ""
    applicant_email: str = ""
    applicant_phone: str = ""
    applicant_address: str = ""
    consent: bool = False


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a form: the form field and a message code (the page words it)."""

    field: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)


class DeskError(Exception):
    """Errors of the desk: ``NotFound`` (no such request within the officer's agency, the same answer
    for another agency's), ``Invalid`` (the form's problems; nothing was saved)."""


class NotFound(DeskError):
    pass


class Invalid(DeskError):
    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(", ".join(f"{p.field}: {p.code}" for p in problems))
        self.problems = list(problems)


Auditor = Callable[[Session, str, str, dict[str, Any] | None, dict[str, Any] | None], Any]


@dataclass(frozen=True)
class Officer:
    """Who acts at the desk: their username, what they may see, and how their changes are audited
    (``audit(session, action, subject, before, after)``, in the change's transaction)."""

    username: str
    scope: AgencyScope
    audit: Auditor


@dataclass
class DeskRules:
    """What the Section 10 path needs besides the store, loaded once per process."""

    registry: Registry
    calendar: ThaiCalendar
    mappings: dict[str, Mapping]
    dispatch: DispatchConfig
    _synced: weakref.WeakSet[HubStore] = field(default_factory=weakref.WeakSet)
    _letters: weakref.WeakKeyDictionary[HubStore, LetterMaker] = field(default_factory=weakref.WeakKeyDictionary)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, registry: Registry) -> DeskRules:
        return cls(registry, default_calendar(), {m.id: m for m in load_all()[0]}, dispatch_from_env())

    def sync(self, store: HubStore) -> None:
        """The store's manuals as the registry has them (the sweep reads processing times from there),
        once per store and process, as the daily sweep does before it starts."""
        with self._lock:
            if store not in self._synced:
                store.sync_registry(self.registry)
                self._synced.add(store)

    def letters(self, store: HubStore) -> LetterMaker:
        with self._lock:  # one per store: it keeps its typst compiler warm
            if store not in self._letters:
                self._letters[store] = LetterMaker(store, self.registry)
            return self._letters[store]


# --- what the pages show --------------------------------------------------------------------------

@dataclass(frozen=True)
class Process:
    code: str
    name: str
    division: str


@dataclass(frozen=True)
class Choices:
    """The form's cascading options within the officer's scope: กระทรวง → กรม → กอง, then the
    division's processes and each process's manuals."""

    ministries: list[Agency]
    departments: list[Agency]
    divisions: list[Agency]
    processes: list[Process]
    manuals: list[Manual]


@dataclass(frozen=True)
class Preview:
    """The manual's processing time and the due date, as far as the fields allow."""

    manual: Manual | None
    start: dt.date | None
    due_on: dt.date | None

    @property
    def processing_days(self) -> int | None:
        return self.manual.processing_days if self.manual is not None else None

    @property
    def incomplete_manual(self) -> bool:
        """A manual is chosen but says no processing time: nothing can be saved on it yet."""
        return self.manual is not None and self.manual.is_draft


@dataclass(frozen=True)
class ListRow:
    request_no: str
    process_name: str
    status: str
    submitted_on: dt.date
    due_on: dt.date | None
    days_overdue: int
    applicant: str  # masked
    from_desk: bool
    last_delay_seq: int


@dataclass(frozen=True)
class Page:
    rows: list[ListRow]
    next_after: str | None  # keyset cursor of the next page (an id, or a number when searching one)
    prev_before: str | None  # and of the previous page


@dataclass
class Notice:
    """One notice of a request, over its channels."""

    kind: str
    sequence: int
    owed_on: dt.date
    late_days: int
    channels: list[tuple[str, str]] = field(default_factory=list)  # (channel, outbox status)
    has_letter: bool = False
    posted: tuple[dt.date, str] | None = None  # (day, registered-mail number) of its printed letter


@dataclass(frozen=True)
class RequestView:
    """One request as its officer sees it (personal data in full: it is their request)."""

    row: Request
    process_name: str
    manual: Manual | None
    desk_reason: DeskReason | None
    default_reason: str | None  # the back office's mapping's, when its record gives none
    pauses: list[dict[str, Any]]
    due_on: dt.date | None
    events: list[RequestEvent]
    notices: list[Notice]
    next_notice_on: dt.date | None

    @property
    def from_desk(self) -> bool:
        return from_desk(self.row.source_connector)

    @property
    def reason(self) -> str | None:
        """The reason the next notice gives: the record's own, the desk's, or the mapping's default."""
        return self.row.delay_reason or (self.desk_reason.reason if self.desk_reason else None) or self.default_reason

    @property
    def closed(self) -> bool:
        return self.row.status in CLOSED


@dataclass(frozen=True)
class PrintItem:
    item_id: int
    request_no: str
    kind: str
    sequence: int
    owed_on: dt.date
    queued_on: dt.date
    applicant: str  # masked
    address: str  # masked


@dataclass(frozen=True)
class Done:
    """A change saved, and the request it was about (``request:<department>/<number>``); ``replayed``
    when the same form came again and the first one's change stands."""

    subject: str
    replayed: bool = False
    sweep: RequestSweep | None = None


def request_subject(department: str, request_no: str) -> str:
    return f"request:{department}/{request_no}"


def parse_subject(subject: str) -> tuple[str, str] | None:
    """(department, request number) of a request subject; None for any other."""
    kind, _, rest = subject.partition(":")
    department, _, number = rest.partition("/")
    return (department, number) if kind == "request" and number else None


def registered_no_valid(text: str) -> bool:
    """A UPU S10 item number with its check digit right (``RR123456785TH``)."""
    m = _S10.match(text)
    if not m:
        return False
    check = 11 - sum(int(d) * w for d, w in zip(m.group(1), _S10_WEIGHTS, strict=True)) % 11
    return int(m.group(2)) == {10: 0, 11: 5}.get(check, check)


class Desk:
    """One officer's desk over the hub store."""

    def __init__(self, store: HubStore, rules: DeskRules, officer: Officer) -> None:
        if officer.scope.level not in ("division", "department") or not officer.scope.code:
            raise ValueError("the desk serves an agency: a division's officers or a department's administrators")
        self.store, self.rules, self.officer = store, rules, officer
        self.registry = rules.registry
        self.scope = officer.scope
        self.department = self.registry.department_of(officer.scope.code).code

    # --- the form's options and its preview ---------------------------------------------------------
    def choices(self) -> Choices:
        divisions = [a for a in self.scope.agencies(self.registry) if a.level == "division"]
        codes = {d.code for d in divisions}
        departments = [a for a in self.registry.agencies.values()
                       if a.level == "department" and any(d.parent == a.code for d in divisions)]
        ministries = [a for a in self.registry.agencies.values()
                      if a.level == "ministry" and any(d.parent == a.code for d in departments)]
        manuals = [m for m in self.registry.manuals.values() if m.division in codes]
        processes = list({(m.division, m.process_code): Process(m.process_code, m.process_name, m.division)
                          for m in manuals}.values())
        return Choices(ministries, departments, divisions, processes, manuals)

    def preview(self, manual_id: str, submitted_on: str, clock_started_on: str = "",
                pauses: Sequence[dict[str, Any]] = ()) -> Preview:
        """The due date the sweep will give, from the manual and the dates typed so far."""
        manual = self.registry.manuals.get(manual_id)
        if manual is not None and not self.scope.covers(self.registry.agencies[manual.division], self.registry):
            manual = None
        start = _date_or_none(clock_started_on) or _date_or_none(submitted_on)
        if manual is None or manual.processing_days is None or start is None:  # a draft gives no due date
            return Preview(manual, start, None)
        department = self.registry.department_of(manual.division)
        cal = self.rules.calendar.for_agency(manual.division, department.code, department.parent)
        spans = [(dt.date.fromisoformat(p["from"]), dt.date.fromisoformat(p["to"]) if p.get("to") else None)
                 for p in pauses]
        return Preview(manual, start, due_date(start, manual.processing_days, manual.day_unit, cal, spans))

    # --- reading --------------------------------------------------------------------------------------
    def page(self, *, status: str = "", overdue: bool = False, q: str = "", after: str | None = None,
             before: str | None = None, size: int = PAGE_SIZE) -> Page:
        """A page of the scope's requests by keyset: newest first (on id, along the (division, status, id)
        or (division, id) index), or, when searching a number prefix, by number (along the prefix index).
        ``after``/``before`` are the cursors a previous page gave; a cursor that is not one is ignored."""
        today = config.today()
        where = [self.scope.clause()]
        if status == "open":
            where.append(Request.status.in_(sorted(UNFINISHED)))
        elif status in STATUSES:
            where.append(Request.status == status)
        if overdue:
            where += [Request.status.in_(sorted(UNFINISHED)), Request.due_on < today]
        by_number = bool(q.strip())
        if by_number:
            where += [Request.agency == self.department, self._prefix(q.strip())]
        key: Any = self._number if by_number else Request.id
        cursor: Callable[[str], Any] = str if by_number else int
        try:
            after_key = cursor(after) if after else None
            before_key = None if after_key is not None or not before else cursor(before)
        except ValueError:
            after_key = before_key = None
        query = select(*_LIST_COLUMNS).where(*where)
        if before_key is None:  # onwards the way the list reads: ids down, numbers up
            onwards = (key > after_key if by_number else key < after_key) if after_key is not None else true()
            query = query.where(onwards).order_by(key.asc() if by_number else key.desc())
        else:  # the previous page: read back from its cursor, then turn it the right way round
            query = query.where(key < before_key if by_number else key > before_key) \
                .order_by(key.desc() if by_number else key.asc())
        with self.store.autocommit() as s:
            found = list(s.execute(query.limit(size + 1)))
        more = len(found) > size
        found = found[:size]
        if before_key is not None:
            found.reverse()
        if not found:
            return Page([], None, None)
        has_next = more if before_key is None else True
        has_prev = (after_key is not None) if before_key is None else more

        def mark(r: Any) -> str:
            return str(r.request_no if by_number else r.id)

        return Page([self._list_row(r, today) for r in found], mark(found[-1]) if has_next else None,
                    mark(found[0]) if has_prev else None)

    def search(self, q: str) -> list[ListRow]:
        """Requests of the scope whose number starts with ``q`` (as typed, or in capitals)."""
        q = q.strip()
        if not q:
            return []
        query = (select(*_LIST_COLUMNS).where(self.scope.clause(), Request.agency == self.department, self._prefix(q))
                 .order_by(self._number).limit(SEARCH_LIMIT))
        with self.store.autocommit() as s:
            found = list(s.execute(query))
        today = config.today()
        return [self._list_row(r, today) for r in found]

    def _list_row(self, r: Any, today: dt.date) -> ListRow:
        overdue = r.due_on is not None and r.due_on < today and r.status in UNFINISHED
        return ListRow(r.request_no, self._process_name(r.manual_id), r.status, r.submitted_on, r.due_on,
                       (today - r.due_on).days if overdue else 0,
                       mask_name(r.applicant_name) if r.applicant_name else "", from_desk(r.source_connector),
                       r.last_delay_seq)

    def view(self, request_no: str) -> RequestView:
        """The request with this number in the officer's agency; NotFound otherwise, whether it does
        not exist or belongs to another agency."""
        with self.store.session() as s:
            row = self._row(s, request_no)
            desk_reason = s.get(DeskReason, row.id)
            events = list(s.scalars(select(RequestEvent).where(RequestEvent.request_id == row.id)
                                    .order_by(RequestEvent.id)))
            outbox = list(s.scalars(select(Outbox).where(Outbox.request_id == row.id,
                                                         Outbox.kind.in_(LETTER_KINDS))
                                    .order_by(Outbox.kind, Outbox.sequence, Outbox.id)))
            posted = {(p.kind, p.sequence): (p.posted_on, p.registered_no) for p in s.scalars(
                select(PrintLetter).where(PrintLetter.request_id == row.id, PrintLetter.posted_on.is_not(None)))}
        notices: dict[tuple[str, int], Notice] = {}
        for o in outbox:
            n = notices.setdefault((o.kind, o.sequence), Notice(o.kind, o.sequence, o.owed_on, o.late_days))
            n.channels.append((o.channel, o.status))
            if o.channel in ("email", "letter"):  # the rows that carry the letter's facts
                n.has_letter, n.posted = True, posted.get((o.kind, o.sequence))
        manual = self.registry.manuals.get(row.manual_id)
        mapping = self.rules.mappings.get(row.source_connector)
        pauses = [*(row.pauses or []), *(row.derived_pauses or [])]
        due = row.due_on
        if due is None:
            due = self.preview(row.manual_id, row.submitted_on.isoformat(),
                               row.clock_started_on.isoformat() if row.clock_started_on else "", pauses).due_on
        return RequestView(row, self._process_name(row.manual_id), manual, desk_reason,
                           mapping.default_delay_reason(row.process_code) if mapping else None, pauses, due, events,
                           list(notices.values()),
                           next_delay_notice_on(row.status, due, row.known_on or config.today(), row.last_delay_seq))

    def print_queue(self) -> list[PrintItem]:
        """Letters of the scope's notices that go by post (the applicant gave no email) and are not yet
        recorded as signed and posted, the oldest first."""
        # along the index of the letters still waiting (all agencies'), each checked against the scope
        query = (select(PrintLetter.id, PrintLetter.kind, PrintLetter.sequence, PrintLetter.owed_on,
                        PrintLetter.queued_at, Request.request_no, Request.applicant_name, Request.applicant_address)
                 .join(Request, Request.id == PrintLetter.request_id)
                 .where(PrintLetter.posted_on.is_(None), self.scope.clause())
                 .order_by(PrintLetter.owed_on, PrintLetter.id).limit(PRINT_QUEUE_LIMIT))
        with self.store.session() as s:
            found = list(s.execute(query))
        return [PrintItem(r.id, r.request_no, r.kind, r.sequence, r.owed_on,
                          r.queued_at.astimezone(config.TIMEZONE).date(),
                          mask_name(r.applicant_name) if r.applicant_name else "",
                          mask_address(r.applicant_address) if r.applicant_address else "") for r in found]

    def letter(self, request_no: str, kind: str, sequence: int) -> tuple[str, bytes]:
        """The official letter of one of the request's notices, as archived (the same bytes every time;
        the first call numbers and archives it). NotFound when the notice has no letter."""
        with self.store.session() as s:
            row = self._row(s, request_no)
            notice = s.scalar(select(Outbox).where(Outbox.request_id == row.id, Outbox.kind == kind,
                                                   Outbox.sequence == sequence,
                                                   Outbox.channel.in_(("email", "letter"))).limit(1))
        made = self.rules.letters(self.store).pdf(notice) if notice is not None else None
        if made is None:
            raise NotFound(f"{request_no} {kind} {sequence}")
        return made

    def letter_of_posting(self, item_id: int) -> tuple[str, bytes]:
        """The letter of a print-queue item (the same bytes as from the request's page)."""
        with self.store.session() as s:
            item = self._print_item(s, item_id)
            notice = s.scalar(select(Outbox).where(Outbox.request_id == item.request_id, Outbox.kind == item.kind,
                                                   Outbox.sequence == item.sequence, Outbox.channel == "letter"))
        made = self.rules.letters(self.store).pdf(notice) if notice is not None else None
        if made is None:
            raise NotFound(str(item_id))
        return made

    # --- changes --------------------------------------------------------------------------------------
    def create(self, form: DeskForm, token: str | None = None) -> Done:
        """Enter a new request; Invalid (nothing saved) when the form is wrong or the number is taken."""
        number = form.request_no.strip()
        subject = request_subject(self.department, number)
        if token and (earlier := self.store.form_used(token)):
            return Done(earlier, replayed=True)
        rec = self._standard(form, status="in_progress")
        self.rules.sync(self.store)

        def work(s: Session) -> Done:
            if self._existing(s, number) is not None:
                raise Invalid([Problem("request_no", "exists")])
            self.store.upsert_requests([rec], session=s)
            self._sweep_due(s, self._existing(s, number))
            self.officer.audit(s, "desk.request.created", subject, None, _audited(rec))
            return Done(subject)

        try:
            return self._once(token, subject, work)
        except IntegrityError:  # entered at the same moment by someone else
            raise Invalid([Problem("request_no", "exists")]) from None

    def update(self, request_no: str, form: DeskForm, checksum: str, token: str | None = None) -> Done:
        """Save the edited form of a desk request (its number and status stay)."""
        with self.store.session() as s:
            row = self._row(s, request_no)
        if not from_desk(row.source_connector):
            raise NotFound(request_no)  # a back office's request is not edited here
        subject = request_subject(self.department, row.request_no)
        form = DeskForm(**{**form.__dict__, "request_no": row.request_no})
        rec = self._standard(form, status=row.status, completed_on=row.completed_on, result=row.result,
                             pauses=row.pauses or [])
        self.rules.sync(self.store)

        def work(s: Session) -> Done:
            before = self._locked(s, row.id, checksum)
            self.store.upsert_requests([rec], session=s)
            self._sweep_due(s, row.id)
            self.officer.audit(s, "desk.request.updated", subject, _audited(before), _audited(rec))
            return Done(subject)

        return self._once(token, subject, work)

    def change_status(self, request_no: str, status: str, status_on: str, result: str, checksum: str,
                      token: str | None = None) -> Done:
        """Move an open desk request on: in progress, waiting for the applicant (a pause from
        ``status_on``), completed or rejected (on ``status_on``), or withdrawn. Leaving the wait closes
        the pause the day before ``status_on`` (the clock runs again the day the applicant answers)."""
        with self.store.session() as s:
            row = self._row(s, request_no)
        if not from_desk(row.source_connector):
            raise NotFound(request_no)
        problems: list[Problem] = []
        if row.status in CLOSED:
            problems.append(Problem("status", "closed"))
        elif status not in NEXT_STATUSES or status == row.status:
            problems.append(Problem("status", "required"))
        day = None
        needs_day = status in (*FINISHED_WITH_DATE, "waiting_applicant") or row.status == "waiting_applicant"
        if not problems and needs_day:
            day = self._day(problems, "status_on", status_on, not_before=row.submitted_on)
        if len(result) > MAX_REASON:
            problems.append(Problem("result", "too_long", {"n": MAX_REASON}))
        pauses = [dict(p) for p in row.pauses or []]
        if not problems and day is not None and row.status == "waiting_applicant" and pauses \
                and not pauses[-1].get("to"):
            began = dt.date.fromisoformat(pauses[-1]["from"])
            if day < began:
                problems.append(Problem("status_on", "before_pause", {"day": began}))
            elif day - dt.timedelta(days=1) < began:
                pauses.pop()  # answered the day the wait began: no day to add back
            else:
                pauses[-1]["to"] = (day - dt.timedelta(days=1)).isoformat()
        if problems:
            raise Invalid(problems)
        if status == "waiting_applicant" and day is not None:
            pauses.append({"from": day.isoformat(), "to": None, "reason": "waiting_applicant"})
        subject = request_subject(self.department, row.request_no)
        finished = status in FINISHED_WITH_DATE
        rec = self._standard(form_of(row), status=status, completed_on=day if finished else None,
                             result=(result.strip() or None) if finished else row.result, pauses=pauses)
        self.rules.sync(self.store)

        def work(s: Session) -> Done:
            before = self._locked(s, row.id, checksum)
            self.store.upsert_requests([rec], session=s)
            self._sweep_due(s, row.id)
            keys = ("status", "completed_on", "result", "pauses")
            self.officer.audit(s, "desk.status.changed", subject, {k: before.get(k) for k in keys},
                               {k: rec.get(k) for k in keys})
            return Done(subject)

        return self._once(token, subject, work)

    def set_reason(self, request_no: str, reason: str, token: str | None = None) -> Done:
        """Give the reason for the delay: a desk request's own field; for a back office's request
        without one, the desk's reason beside it (the next ingest leaves it alone)."""
        with self.store.session() as s:
            row = self._row(s, request_no)
        reason = reason.strip()
        if not reason:
            raise Invalid([Problem("delay_reason", "required")])
        if len(reason) > MAX_REASON:
            raise Invalid([Problem("delay_reason", "too_long", {"n": MAX_REASON})])
        if not from_desk(row.source_connector) and row.delay_reason:
            raise Invalid([Problem("delay_reason", "from_back_office")])
        subject = request_subject(self.department, row.request_no)

        def work(s: Session) -> Done:
            if from_desk(row.source_connector):
                before = self._locked(s, row.id, row.checksum)
                rec = self._standard(form_of(row, delay_reason=reason), status=row.status,
                                     completed_on=row.completed_on, result=row.result, pauses=row.pauses or [])
                self.store.upsert_requests([rec], session=s)
                old = before.get("delay_reason")
            else:
                self.store.lock_request(s, row.id)
                found = s.get(DeskReason, row.id)
                old = found.reason if found else None
                self.store.set_desk_reason(s, row.id, reason, self.officer.username)
            self.officer.audit(s, "desk.reason.set", subject, {"delay_reason": old}, {"delay_reason": reason})
            return Done(subject)

        return self._once(token, subject, work)

    def issue(self, request_no: str, token: str | None = None) -> Done:
        """ออกหนังสือแจ้ง: run the Section 10 rules for this request now. Queues the notice it owes
        today (each channel and the OPDC's copy), never one already queued; ``Done.sweep`` says what was
        queued, or when the next notice falls due."""
        with self.store.session() as s:
            row = self._row(s, request_no)
        subject = request_subject(self.department, row.request_no)
        self.rules.sync(self.store)

        def work(s: Session) -> Done:
            self.store.lock_request(s, row.id)
            r = self.rules
            swept = sweep_request(self.store, r.registry, r.calendar, r.mappings, r.dispatch, config.today(), row.id,
                                  session=s)
            if swept is not None and swept.queued:
                self.officer.audit(s, "desk.notice.issued", subject, {"last_delay_seq": row.last_delay_seq},
                                   {"queued": [f"{k}:{n}" for k, n in swept.queued], "outbox_rows": swept.added})
            return Done(subject, sweep=swept)

        return self._once(token, subject, work)

    def record_posting(self, item_id: int, posted_on: str, registered_no: str, token: str | None = None) -> Done:
        """Record that a printed letter was signed and posted: the day and the registered-mail number.
        The letter leaves the print queue; recorded once (a second record finds it posted)."""
        with self.store.session() as s:
            item = self._print_item(s, item_id)
            request_no = s.scalar(select(Request.request_no).where(Request.id == item.request_id))
        problems: list[Problem] = []
        queued_on = item.queued_at.astimezone(config.TIMEZONE).date()
        day = self._day(problems, "posted_on", posted_on, not_before=queued_on)
        number = re.sub(r"[\s-]", "", registered_no).upper()
        if not number:
            problems.append(Problem("registered_no", "required"))
        elif not registered_no_valid(number):
            problems.append(Problem("registered_no", "invalid"))
        if problems:
            raise Invalid(problems)
        subject = request_subject(self.department, request_no)

        def work(s: Session) -> Done:
            done = s.execute(update(PrintLetter).where(PrintLetter.id == item_id, PrintLetter.posted_on.is_(None))
                             .values(posted_on=day, registered_no=number, recorded_by=self.officer.username,
                                     recorded_at=config.now()))
            if done.rowcount != 1:  # recorded by someone else in the meantime: it is posted
                return Done(subject, replayed=True)
            self.officer.audit(s, "desk.letter.posted", subject, None, {
                "kind": item.kind, "sequence": item.sequence, "posted_on": day, "registered_no": number})
            return Done(subject)

        return self._once(token, subject, work)

    # --- inside ---------------------------------------------------------------------------------------
    def _once(self, token: str | None, subject: str, work: Callable[[Session], T]) -> T | Done:
        """Run ``work`` in one transaction with the token spent first: the token's insert takes the
        write lock, so a second copy of the form waits, then finds the token and saves nothing."""
        if token and (earlier := self.store.form_used(token)):
            return Done(earlier, replayed=True)
        try:
            with self.store.transaction() as s:
                if token:
                    self.store.use_form(s, token, subject)
                return work(s)
        except IntegrityError:
            if token and (earlier := self.store.form_used(token)):
                return Done(earlier, replayed=True)
            raise

    def _row(self, s: Session, request_no: str) -> Request:
        row = s.scalar(select(Request).where(Request.agency == self.department, Request.request_no == request_no,
                                             self.scope.clause()))
        if row is None:
            raise NotFound(request_no)
        return row

    def _existing(self, s: Session, request_no: str) -> int | None:
        """The id of the department's request with this number, within the officer's scope or not."""
        return s.scalar(select(Request.id).where(Request.agency == self.department, Request.request_no == request_no))

    def _print_item(self, s: Session, item_id: int) -> PrintLetter:
        item = s.scalar(select(PrintLetter).join(Request, Request.id == PrintLetter.request_id).where(
            PrintLetter.id == item_id, self.scope.clause()))
        if item is None:
            raise NotFound(str(item_id))
        return item

    def _locked(self, s: Session, request_id: int, checksum: str) -> dict[str, Any]:
        """Lock the request and check nobody saved it since the form was opened; its values before."""
        self.store.lock_request(s, request_id)
        row = s.get(Request, request_id, populate_existing=True)
        if row is None or row.checksum != checksum:
            raise Invalid([Problem("form", "changed")])
        return {"request_no": row.request_no, "process_code": row.process_code, "manual_id": row.manual_id,
                "submitted_on": row.submitted_on, "clock_started_on": row.clock_started_on, "status": row.status,
                "completed_on": row.completed_on, "result": row.result, "delay_reason": row.delay_reason,
                "pauses": row.pauses, "agency": {"division": row.division},
                "applicant": {"name": row.applicant_name, "email": row.applicant_email, "phone": row.applicant_phone,
                              "address": row.applicant_address, "consent": row.consent}}

    def _sweep_due(self, s: Session, request_id: int | None) -> None:
        """Store the request's due date now (its notices wait for the sweep or ``issue``). The caller
        synced the registry first: that writes in a transaction of its own."""
        if request_id is None:
            return
        r = self.rules
        sweep_request(self.store, r.registry, r.calendar, r.mappings, r.dispatch, config.today(), request_id,
                      notices=False, session=s)

    def _process_name(self, manual_id: str) -> str:
        manual = self.registry.manuals.get(manual_id)
        return manual.process_name if manual else manual_id

    @property
    def _number(self) -> Any:
        """The request number compared byte by byte, as the prefix index on PostgreSQL holds it
        (SQLite compares bytes already)."""
        return Request.request_no.collate("C") if self.store.engine.dialect.name == "postgresql" \
            else Request.request_no

    def _prefix(self, q: str) -> Any:
        """request_no starts with ``q`` or its capitals: a range on the number's byte order, which the
        (agency, request_no) index answers on either backend."""
        def starts(text: str) -> Any:
            return and_(self._number >= text, self._number < text + "\U0010ffff")
        return starts(q) if q.upper() == q else or_(starts(q), starts(q.upper()))

    def _day(self, problems: list[Problem], name: str, text: str, *, not_before: dt.date | None = None,
             required: bool = True) -> dt.date | None:
        """A date typed in a box, checked: a real date, not after today, not before ``not_before``."""
        if not text.strip():
            if required:
                problems.append(Problem(name, "required"))
            return None
        try:
            day = parse_date(text)
        except ValueError:
            problems.append(Problem(name, "date"))
            return None
        if day > config.today():
            problems.append(Problem(name, "future"))
        elif not_before is not None and day < not_before:
            problems.append(Problem(name, "too_early", {"day": not_before}))
        return day

    def _standard(self, form: DeskForm, *, status: str, completed_on: dt.date | None = None,
                  result: str | None = None, pauses: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
        """The standard request of a desk form, through the connectors' normalise; Invalid with every
        problem found (the desk's own checks first: choices, dates, the manual's processing time)."""
        problems: list[Problem] = []
        choices = self.choices()
        number = form.request_no.strip()
        if not number:
            problems.append(Problem("request_no", "required"))
        ministry = _pick(problems, "ministry", form.ministry, {a.code: a for a in choices.ministries})
        department = _pick(problems, "department", form.department,
                           {a.code: a for a in choices.departments if ministry and a.parent == ministry.code},
                           skip=ministry is None)
        division = _pick(problems, "division", form.division,
                         {a.code: a for a in choices.divisions if department and a.parent == department.code},
                         skip=department is None)
        process = _pick(problems, "process_code", form.process_code,
                        {p.code: p for p in choices.processes if division and p.division == division.code},
                        skip=division is None)
        manual = _pick(problems, "manual_id", form.manual_id,
                       {m.manual_id: m for m in choices.manuals
                        if process and m.division == process.division and m.process_code == process.code},
                       skip=process is None)
        if manual is not None and manual.is_draft:
            problems.append(Problem("manual_id", "no_processing_time"))
        submitted = self._day(problems, "submitted_on", form.submitted_on)
        clock = self._day(problems, "clock_started_on", form.clock_started_on, not_before=submitted,
                          required=False) if submitted else None
        if not form.applicant_name.strip():
            problems.append(Problem("applicant_name", "required"))
        if (form.applicant_email.strip() or form.applicant_phone.strip()) and not form.consent:
            problems.append(Problem("consent", "required"))
        if len(form.delay_reason.strip()) > MAX_REASON:
            problems.append(Problem("delay_reason", "too_long", {"n": MAX_REASON}))
        raw = {"request_no": number, "process_code": manual.process_code if manual else None,
               "manual_id": manual.manual_id if manual else None,
               "submitted_on": submitted.isoformat() if submitted else None,
               "clock_started_on": clock.isoformat() if clock else None,
               "status": status, "completed_on": completed_on.isoformat() if completed_on else None,
               "result": result, "delay_reason": form.delay_reason.strip() or None,
               "applicant_name": form.applicant_name.strip(), "applicant_email": form.applicant_email.strip(),
               "applicant_phone": form.applicant_phone.strip(), "applicant_address": form.applicant_address.strip(),
               "consent": bool(form.consent), "pauses": [dict(p) for p in pauses]}
        # The connectors' rules (e-mail and phone formats, lengths…) run even when the desk's own
        # checks failed, so the officer sees every problem at once.
        home = division.code if division else choices.divisions[0].code
        outcome = normalise(raw, desk_mapping(self.registry, home), self.registry, config.now())
        seen = {p.field for p in problems}
        for p in outcome.problems or []:
            name = _FORM_FIELD.get(p.field, p.field.split("[")[0])
            name = name if name in DeskForm.__dataclass_fields__ or name == "status_on" else "form"
            if name in _DESK_CHECKED:
                continue  # the desk's own checks above word these, and fail a child of a missing parent
            if name not in seen and not (name == "form" and problems):
                seen.add(name)
                problems.append(Problem(name, "invalid"))
        if problems or outcome.request is None:
            raise Invalid(problems or [Problem("form", "invalid")])
        return outcome.request


def _pick(problems: list[Problem], name: str, value: str, options: dict[str, T], *, skip: bool = False) -> T | None:
    """The chosen option, rebuilt from the posted parent: a child that does not belong to it fails."""
    if skip:
        return None
    found = options.get(value.strip())
    if found is None:
        problems.append(Problem(name, "required" if not value.strip() else "choice"))
    return found


def _date_or_none(text: str) -> dt.date | None:
    try:
        return parse_date(text) if text.strip() else None
    except ValueError:
        return None


def form_of(row: Request, **changes: Any) -> DeskForm:
    """The desk form a stored desk request was saved from (to edit it, or save it again with a change)."""
    values = dict(
        request_no=row.request_no, ministry=row.ministry, department=row.department, division=row.division or "",
        process_code=row.process_code, manual_id=row.manual_id, submitted_on=row.submitted_on.isoformat(),
        clock_started_on=row.clock_started_on.isoformat() if row.clock_started_on else "",
        delay_reason=row.delay_reason or "", applicant_name=row.applicant_name or "",
        applicant_email=row.applicant_email or "", applicant_phone=row.applicant_phone or "",
        applicant_address=row.applicant_address or "", consent=bool(row.consent))
    values.update(changes)
    return DeskForm(**values)


def _audited(rec: dict[str, Any]) -> dict[str, Any]:
    """What the audit keeps of a request: its facts, and the applicant's personal data masked."""
    keys = ("request_no", "process_code", "manual_id", "submitted_on", "clock_started_on", "status",
            "completed_on", "result", "delay_reason", "pauses")
    applicant = {k: v for k, v in (rec.get("applicant") or {}).items() if k != "channels"}
    return {**{k: rec.get(k) for k in keys}, "division": (rec.get("agency") or {}).get("division"),
            "applicant": masked_applicant(applicant)}
