"""The lateness view's figures: how late each agency is, aggregated in the hub store.

A reader picks a period [start, end] and, optionally, one agency; their role's ``AgencyScope``
always applies on top. Figures per division, as at the period's last day E:

- open (คำขอที่ยังไม่แล้วเสร็จ): submitted by E and not finished by E (still received, in progress or
  waiting for the applicant, or completed, rejected or withdrawn after E);
- overdue (คำขอที่เกินกำหนด): open on E with its due date before E;
- notices: the Section 10 notices (delay and result) owed in the period, each counted once per
  notice (request, kind, sequence) over the applicant's channels (email, letter, SMS; the OPDC's
  copy and alerts to agencies aside): sent (ส่งแล้ว) when one of its deliveries was sent, sent
  late (ส่งล่าช้า) when sent with ``late_days`` > 0, failed (ส่งไม่สำเร็จ) when none was sent and
  one failed or went dead.

The daily series counts, for each day d of the period, the requests overdue on d: due before d
and not finished by d (``completed_on`` after d). It reads the due date a request has today, and
leaves out finished requests without a completion date (nobody knows when they stopped).

Every figure is a GROUP BY in the database, along indexes (status and due date, completion date,
notices by owed date): Python only adds division rows up into departments and ministries, and
runs a prefix sum over at most one row per day of the period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import ColumnElement, Date, Subquery, and_, case, func, literal, select, union_all
from sqlalchemy.orm import Session

from ..dispatch.status import SENT, UNDELIVERED
from ..notices import UNFINISHED
from ..pdpa import mask_name
from ..registry import Agency, Registry
from ..store import HubStore
from ..store.models import Manual, Outbox, Request
from .scope import LEVELS, AgencyScope

NOTICE_KINDS = ("delay", "result")
APPLICANT_CHANNELS = ("email", "letter", "sms")
TOP_N = 20
DEFAULT_DAYS = 90
MAX_DAYS = 366  # one bar a day in the chart: a year fits on a screen


@dataclass
class Figures:
    open: int = 0
    overdue: int = 0
    sent: int = 0
    late: int = 0
    failed: int = 0

    def add(self, other: Figures) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def values(self) -> tuple[int, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))

    def __bool__(self) -> bool:
        return any(self.values())


FIGURES: tuple[str, ...] = tuple(f.name for f in fields(Figures))


@dataclass(frozen=True)
class LatenessRow:
    """One line of the table: a division, or a department's or ministry's subtotal."""

    level: str  # ministry | department | division
    ministry: str
    ministry_name: str
    department: str | None
    department_name: str
    division: str | None  # None on a division line: requests with no division
    division_name: str
    figures: Figures

    @property
    def code(self) -> str | None:
        return {"ministry": self.ministry, "department": self.department}.get(self.level, self.division)


@dataclass(frozen=True)
class OverdueRequest:
    """A long-overdue request as people may see it: the applicant's name masked."""

    request_no: str
    department: str
    division: str | None
    agency_name: str
    process: str
    applicant: str
    due_on: dt.date
    days_overdue: int
    notices_sent: int


@dataclass
class LatenessReport:
    start: dt.date
    end: dt.date
    agency: Agency | None
    rows: list[LatenessRow]
    total: Figures
    longest: list[OverdueRequest]
    series: list[tuple[dt.date, int]] = field(default_factory=list)


def default_period(today: dt.date, days: int = DEFAULT_DAYS) -> tuple[dt.date, dt.date]:
    return today - dt.timedelta(days=days - 1), today


def lateness_report(store: HubStore, registry: Registry, scope: AgencyScope, start: dt.date, end: dt.date,
                    agency: Agency | None = None, top: int = TOP_N) -> LatenessReport:
    """The figures for ``scope`` (the reader's reach) narrowed to ``agency`` over [start, end]."""
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    if (end - start).days >= MAX_DAYS:
        raise ValueError(f"the period is longer than {MAX_DAYS} days")
    where = [scope.clause()]
    if agency is not None:
        where.append(AgencyScope.of(agency).clause())
    with store.session() as s:
        if s.get_bind().dialect.name == "postgresql":
            # one snapshot for every query below, so the table, the list and the chart agree
            s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        by_division: dict[tuple[str, str, str | None], Figures] = {}
        for key, figures in _request_figures(s, where, end):
            by_division.setdefault(key, Figures()).add(figures)
        for key, figures in _notice_figures(s, where, start, end):
            by_division.setdefault(key, Figures()).add(figures)
        longest = _longest_overdue(s, where, end, registry, top)
        series = _overdue_series(s, where, start, end)
    total = Figures()
    for figures in by_division.values():
        total.add(figures)
    view = max(scope.depth, AgencyScope.of(agency).depth if agency else 0)
    visible = [a for a in scope.agencies(registry) if agency is None or AgencyScope.of(agency).covers(a, registry)]
    return LatenessReport(start, end, agency, _rows(registry, visible, by_division, view), total, longest, series)


def _unfinished_or_finished_after(day: dt.date, columns: list[Any], where: list[ColumnElement[bool]],
                                  finished: tuple[ColumnElement[bool], ...] = ()) -> Subquery:
    """``columns`` of the requests not finished by the end of ``day``, as two index scans.

    Unfinished ones along (status, due_on), finished ones along completed_on: one OR would read
    the whole table on SQLite. ``finished`` narrows the second part further.
    """
    return union_all(
        select(*columns).where(*where, Request.status.in_(UNFINISHED)),
        select(*columns).where(*where, Request.status.not_in(UNFINISHED), Request.completed_on > day, *finished),
    ).subquery()


def _request_figures(s: Session, where: list[ColumnElement[bool]], end: dt.date
                     ) -> Iterator[tuple[tuple[str, str, str | None], Figures]]:
    r = _unfinished_or_finished_after(end, [
        Request.ministry, Request.department, Request.division,
        case((Request.submitted_on <= end, 1), else_=0).label("open"),
        case((Request.due_on < end, 1), else_=0).label("overdue")], where)
    query = (select(r.c.ministry, r.c.department, r.c.division, func.sum(r.c.open), func.sum(r.c.overdue))
             .group_by(r.c.ministry, r.c.department, r.c.division))
    for ministry, department, division, open_, overdue in s.execute(query):
        yield (ministry, department, division), Figures(open=int(open_ or 0), overdue=int(overdue or 0))


def _notice_figures(s: Session, where: list[ColumnElement[bool]], start: dt.date, end: dt.date
                    ) -> Iterator[tuple[tuple[str, str, str | None], Figures]]:
    notice = (select(Request.ministry, Request.department, Request.division,
                     func.max(case((Outbox.status == SENT, 1), else_=0)).label("sent"),
                     func.max(case((Outbox.status.in_(UNDELIVERED), 1), else_=0)).label("failed"),
                     func.max(Outbox.late_days).label("late_days"))
              .join(Request, Request.id == Outbox.request_id)
              .where(Outbox.owed_on >= start, Outbox.owed_on <= end, Outbox.kind.in_(NOTICE_KINDS),
                     Outbox.channel.in_(APPLICANT_CHANNELS), *where)
              .group_by(Outbox.request_id, Outbox.kind, Outbox.sequence,
                        Request.ministry, Request.department, Request.division)).subquery()
    query = (select(notice.c.ministry, notice.c.department, notice.c.division,
                    func.sum(notice.c.sent),
                    func.sum(case((and_(notice.c.sent == 1, notice.c.late_days > 0), 1), else_=0)),
                    func.sum(case((and_(notice.c.sent == 0, notice.c.failed == 1), 1), else_=0)))
             .group_by(notice.c.ministry, notice.c.department, notice.c.division))
    for ministry, department, division, sent, late, failed in s.execute(query):
        yield (ministry, department, division), Figures(sent=int(sent or 0), late=int(late or 0),
                                                        failed=int(failed or 0))


def _longest_overdue(s: Session, where: list[ColumnElement[bool]], end: dt.date, registry: Registry,
                     top: int) -> list[OverdueRequest]:
    r = _unfinished_or_finished_after(end, [Request.id, Request.due_on], [*where, Request.due_on < end])
    first = select(r.c.id, r.c.due_on).order_by(r.c.due_on, r.c.id).limit(top).subquery()
    rows = s.execute(select(Request.id, Request.request_no, Request.department, Request.division,
                            Request.process_code, Manual.process_name, Request.applicant_name, Request.due_on)
                     .join(first, first.c.id == Request.id)
                     .outerjoin(Manual, Manual.manual_id == Request.manual_id)
                     .order_by(Request.due_on, Request.id)).all()
    if not rows:
        return []
    notice = (select(Outbox.request_id)
              .where(Outbox.request_id.in_([r.id for r in rows]), Outbox.status == SENT,
                     Outbox.kind.in_(NOTICE_KINDS), Outbox.channel.in_(APPLICANT_CHANNELS))
              .group_by(Outbox.request_id, Outbox.kind, Outbox.sequence)).subquery()
    sent = {rid: n for rid, n in s.execute(select(notice.c.request_id, func.count()).group_by(notice.c.request_id))}
    out = []
    for r in rows:
        unit = registry.agencies.get(r.division or "") or registry.agencies.get(r.department)
        out.append(OverdueRequest(
            request_no=r.request_no, department=r.department, division=r.division,
            agency_name=unit.name if unit else (r.division or r.department), process=r.process_name or r.process_code,
            applicant=mask_name(r.applicant_name) if r.applicant_name else "", due_on=r.due_on,
            days_overdue=(end - r.due_on).days, notices_sent=sent.get(r.id, 0)))
    return out


def _overdue_series(s: Session, where: list[ColumnElement[bool]], start: dt.date,
                    end: dt.date) -> list[tuple[dt.date, int]]:
    """Requests overdue on each day d of the period, as two GROUP BYs and a prefix sum.

    overdue(d) = #{due_on < d} − #{finished late, completed_on ≤ d} over the requests that can be
    overdue in the period: the unfinished ones, and those finished late after the period began
    (finished late means due_on < completed_on, so the second set lies inside the first).
    """
    day = dt.timedelta(days=1)
    finished_late = (Request.due_on < Request.completed_on,)
    # due dates before the period all count from its first day: one bucket, the day before it
    bucket = case((Request.due_on < start, literal(start - day, Date)), else_=Request.due_on).label("day")
    due = _unfinished_or_finished_after(start, [bucket], [*where, Request.due_on < end], finished_late)
    became_overdue = {d: n for d, n in s.execute(select(due.c.day, func.count()).group_by(due.c.day))}
    stopped = {d: n for d, n in s.execute(select(Request.completed_on, func.count())
                                          .where(*where, Request.status.not_in(UNFINISHED), *finished_late,
                                                 Request.completed_on > start, Request.completed_on <= end)
                                          .group_by(Request.completed_on))}
    series, overdue, d = [], 0, start
    while d <= end:
        overdue += became_overdue.get(d - day, 0) - stopped.get(d, 0)
        series.append((d, overdue))
        d += day
    return series


def _rows(registry: Registry, visible: list[Agency], data: dict[tuple[str, str, str | None], Figures],
          view: int) -> list[LatenessRow]:
    """Division lines with their department's and ministry's subtotals, in the registry's order.

    Subtotals show only for levels the reader sees whole (``view``: how deep their scope and
    filter reach): an agency admin gets no "ministry" line that would hold one department only.
    """
    tree: dict[str, dict[str, dict[str | None, Figures]]] = {}
    for a in visible:
        if a.level == "ministry":
            tree.setdefault(a.code, {})
        elif a.level == "department":
            tree.setdefault(a.parent or "", {}).setdefault(a.code, {})
        else:
            dept = registry.agencies[a.parent or ""]
            tree.setdefault(dept.parent or "", {}).setdefault(dept.code, {}).setdefault(a.code, Figures())
    for (ministry, department, division), figures in sorted(data.items(), key=lambda kv: tuple(x or "" for x in kv[0])):
        tree.setdefault(ministry, {}).setdefault(department, {}).setdefault(division, Figures()).add(figures)

    def name(code: str | None) -> str:
        agency = registry.agencies.get(code or "")
        return agency.name if agency else (code or "")

    rows: list[LatenessRow] = []
    for ministry, departments in tree.items():
        ministry_total = Figures()
        ministry_rows: list[LatenessRow] = []
        for department, divisions in departments.items():
            department_total = Figures()
            division_rows = []
            for division, figures in divisions.items():
                department_total.add(figures)
                if division is None and not figures:
                    continue
                division_rows.append(LatenessRow("division", ministry, name(ministry), department, name(department),
                                                 division, name(division), figures))
            ministry_total.add(department_total)
            if view <= LEVELS.index("department"):
                ministry_rows.append(LatenessRow("department", ministry, name(ministry), department,
                                                 name(department), None, "", department_total))
            ministry_rows.extend(division_rows)
        if view <= LEVELS.index("ministry"):
            rows.append(LatenessRow("ministry", ministry, name(ministry), None, "", None, "", ministry_total))
        rows.extend(ministry_rows)
    return rows
