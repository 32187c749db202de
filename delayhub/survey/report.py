"""What citizens said of a service, beside what was measured of it: the agency report and the OPDC ranking.

Figures come from the daily roll-up ``survey_daily`` (one row per agency, service, channel, counter and
day, moved with every invitation and answer), never from counting answers: at millions of answers a
report reads a few thousand roll-up rows. Per group of rows:

- satisfaction (ความพึงพอใจ): the share of answers that gave 4 or 5 overall, (overall_4 + overall_5) / answers;
- the distribution of the overall score 1–5;
- response rate (อัตราการตอบกลับ): answers / invitations, both counted on the visit's day;
- beside them, what was measured: the mean wait (queue visits) and the mean days late (requests), each with
  the number of answers it rests on.

- the means of the three standard sub-scores (speed, courtesy, clarity), from their sums and counts.

Only the newest comments read ``survey_answers`` itself (as stored: masked before they were), one page at
a time along its index on (agency, visit_on).

Who sees what is the reader's ``AgencyScope``: the agencies it covers, as a list of codes (the OPDC's
"everything" adds no condition). A figure resting on fewer answers than ``MIN_ANSWERS`` is marked too few
to compare; the OPDC ranking ranks only the others.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from fractions import Fraction
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, or_, select, union_all

from ..registry import Agency, Registry
from ..reports.scope import AgencyScope
from ..store import HubStore
from ..store.models import SurveyAnswer, SurveyDaily

# The OPDC's threshold below which a figure is "too few to compare" (the one place it is set; the survey's
# standard settings file defines none yet).
MIN_ANSWERS = 30
DEFAULT_MONTHS = 12
MAX_DAYS = 731  # two years: the monthly table and chart stay readable
COMMENTS_PAGE = 20
SCORES = ("speed", "courtesy", "clarity")  # the standard set's sub-scores, 1–5 each, optional
DIMENSIONS = ("service", "channel", "counter", "month")
Level = Literal["department", "unit"]


@dataclass
class Figures:
    """Sums over roll-up rows; every share and mean is derived from them."""

    invited: int = 0
    answers: int = 0
    overall_1: int = 0
    overall_2: int = 0
    overall_3: int = 0
    overall_4: int = 0
    overall_5: int = 0
    wait_seconds_sum: int = 0
    wait_count: int = 0
    days_late_sum: int = 0
    days_late_count: int = 0
    speed_sum: int = 0
    speed_count: int = 0
    courtesy_sum: int = 0
    courtesy_count: int = 0
    clarity_sum: int = 0
    clarity_count: int = 0

    def add(self, other: Figures) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def distribution(self) -> tuple[int, int, int, int, int]:
        return self.overall_1, self.overall_2, self.overall_3, self.overall_4, self.overall_5

    @property
    def satisfied(self) -> int:
        return self.overall_4 + self.overall_5

    @property
    def satisfaction(self) -> float | None:
        """The share (0–1) of answers giving 4 or 5; None without answers."""
        return self.satisfied / self.answers if self.answers else None

    @property
    def response_rate(self) -> float | None:
        return self.answers / self.invited if self.invited else None

    @property
    def mean_wait(self) -> float | None:
        """Seconds, over the answers whose visit had a measured wait."""
        return self.wait_seconds_sum / self.wait_count if self.wait_count else None

    @property
    def mean_days_late(self) -> float | None:
        return self.days_late_sum / self.days_late_count if self.days_late_count else None

    def too_few(self, threshold: int = MIN_ANSWERS) -> bool:
        return self.answers < threshold


SUMS: tuple[str, ...] = tuple(f.name for f in fields(Figures))


def _sums() -> list[Any]:
    return [func.coalesce(func.sum(getattr(SurveyDaily, name)), 0) for name in SUMS]


def _figures(values: Sequence[Any]) -> Figures:
    return Figures(*(int(v or 0) for v in values))


@dataclass(frozen=True)
class Score:
    """The mean of one sub-score over the answers that gave it."""

    mean: float | None
    count: int


@dataclass(frozen=True)
class Comment:
    id: int  # the answer's: only the next page's cursor uses it
    visit_on: dt.date
    agency: str
    service: str
    channel: str
    counter: str | None
    overall: int
    text: str  # masked when stored

    @property
    def cursor(self) -> str:
        return f"{self.visit_on.isoformat()}.{self.id}"


def parse_cursor(text: str) -> tuple[dt.date, int]:
    """``2026-11-20.1234`` (a comment's visit day and id) → the point after which the next page starts."""
    day, _, ident = text.partition(".")
    return dt.date.fromisoformat(day), int(ident)


@dataclass
class AgencySurveyReport:
    start: dt.date
    end: dt.date
    agency: Agency | None  # None: every agency in the reader's scope
    service: str | None
    channel: str | None
    counter: str | None  # '' asks for the answers given without a counter
    total: Figures
    by_service: list[tuple[str, Figures]]
    by_channel: list[tuple[str, Figures]]
    by_counter: list[tuple[str, Figures]]  # '' : no counter (requests, online services)
    by_month: list[tuple[dt.date, Figures]]  # the first of each month of the period, empty months too
    scores: dict[str, Score]
    comments: list[Comment]
    comments_next: str | None  # the cursor of the next (older) page, None on the last page
    threshold: int = MIN_ANSWERS
    options: dict[str, list[str]] = field(default_factory=dict)  # services, channels and counters seen

    def breakdown(self, dimension: str) -> list[tuple[Any, Figures]]:
        return getattr(self, f"by_{dimension}")


@dataclass(frozen=True)
class RankRow:
    rank: int | None  # None: too few answers to compare, listed after the ranked ones
    code: str
    name: str
    name_en: str
    department: str  # the department's name for a division; '' otherwise
    figures: Figures
    too_few: bool
    in_registry: bool  # False for answers under a code the registry no longer has


@dataclass
class Ranking:
    start: dt.date
    end: dt.date
    level: Level
    rows: list[RankRow]
    total: Figures
    threshold: int = MIN_ANSWERS


def default_period(today: dt.date, months: int = DEFAULT_MONTHS) -> tuple[dt.date, dt.date]:
    """The last ``months`` calendar months, this one included: the monthly figures start on a month's first day."""
    index = today.year * 12 + today.month - 1 - (months - 1)
    return dt.date(index // 12, index % 12 + 1, 1), today


def check_period(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    if (end - start).days >= MAX_DAYS:
        raise ValueError(f"the period is longer than {MAX_DAYS} days")


def agency_codes(registry: Registry, scope: AgencyScope, agency: Agency | None = None) -> list[str] | None:
    """The agency codes answers may carry for this reader and choice; None when nothing narrows them (the OPDC,
    every agency): answers of a code no longer in the registry then still count."""
    if agency is None and scope.level == "all":
        return None
    chosen = AgencyScope.of(agency) if agency is not None else scope
    return [a.code for a in scope.agencies(registry) if chosen.covers(a, registry)]


def _where(column_agency: Any, codes: list[str] | None) -> list[ColumnElement[bool]]:
    return [] if codes is None else [column_agency.in_(codes)]


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    out, month = [], start.replace(day=1)
    while month <= end:
        out.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return out


def agency_report(store: HubStore, registry: Registry, scope: AgencyScope, start: dt.date, end: dt.date,
                  agency: Agency | None = None, *, service: str | None = None, channel: str | None = None,
                  counter: str | None = None, comments_after: tuple[dt.date, int] | None = None,
                  comments_limit: int = COMMENTS_PAGE, threshold: int = MIN_ANSWERS) -> AgencySurveyReport:
    """The survey's figures for ``scope`` narrowed to ``agency`` (and its divisions) over [start, end] (the
    visit's day), optionally one service, channel or counter ('' for none)."""
    check_period(start, end)
    codes = agency_codes(registry, scope, agency)
    d, a = SurveyDaily, SurveyAnswer
    where = [*_where(d.agency, codes), d.day >= start, d.day <= end]
    answer_where = [*_where(a.agency, codes), a.visit_on >= start, a.visit_on <= end]
    for column, answer_column, value in ((d.service, a.service, service), (d.channel, a.channel, channel)):
        if value is not None:
            where.append(column == value)
            answer_where.append(answer_column == value)
    if counter is not None:
        where.append(d.counter == counter)
        answer_where.append(a.counter == counter if counter else or_(a.counter.is_(None), a.counter == ""))
    year, month = func.extract("year", d.day), func.extract("month", d.day)
    months = {m: Figures() for m in _months(start, end)}
    total = Figures()
    split: dict[str, dict[str, Figures]] = {"service": {}, "channel": {}, "counter": {}}
    answered: set[str] = set()  # the agencies with an answer in the period: only they can have comments
    with store.session() as s:
        if s.get_bind().dialect.name == "postgresql":
            s.connection(execution_options={"isolation_level": "REPEATABLE READ"})  # one snapshot for all
        # one pass: every dimension is a sum over these few groups
        for row in s.execute(select(d.agency, d.service, d.channel, d.counter, year, month, *_sums()).where(*where)
                             .group_by(d.agency, d.service, d.channel, d.counter, year, month)):
            figures = _figures(row[6:])
            total.add(figures)
            for name, key in (("service", row[1]), ("channel", row[2]), ("counter", row[3] or "")):
                split[name].setdefault(key, Figures()).add(figures)
            months.setdefault(dt.date(int(row[4]), int(row[5]), 1), Figures()).add(figures)
            if figures.answers:
                answered.add(row[0])
        scores = {name: _score(total, name) for name in SCORES}
        comments, following = _comments(s, sorted(answered), answer_where, comments_after, comments_limit)
        options = _options(s, codes, start, end)

    def ordered(data: dict[str, Figures]) -> list[tuple[str, Figures]]:  # most answers first
        return sorted(data.items(), key=lambda kv: (-kv[1].answers, kv[0]))

    return AgencySurveyReport(
        start, end, agency, service, channel, counter, total, ordered(split["service"]), ordered(split["channel"]),
        sorted(split["counter"].items(), key=lambda kv: (kv[0] == "", kv[0])), sorted(months.items()), scores,
        comments, following, threshold, options)


def _score(figures: Figures, name: str) -> Score:
    total, count = getattr(figures, f"{name}_sum"), getattr(figures, f"{name}_count")
    return Score(total / count if count else None, count)


def _comments(s: Any, codes: list[str], where: list[ColumnElement[bool]],
              after: tuple[dt.date, int] | None, limit: int) -> tuple[list[Comment], str | None]:
    """The newest comments of ``codes`` (visit day, then answer id, descending), one page after ``after``.

    One part per agency, each walking the (agency, visit_on) index backwards and stopping after a page, then
    merged: ``agency IN (…)`` ordered by day would sort every answer of the period first."""
    a = SurveyAnswer
    page = [*where, a.comment.is_not(None), a.comment != ""]
    if after is not None:
        day, ident = after
        page += [a.visit_on <= day, or_(a.visit_on < day, a.id < ident)]
    columns = (a.id, a.visit_on, a.agency, a.service, a.channel, a.counter, a.overall, a.comment)
    order = (a.visit_on.desc(), a.id.desc())
    if not codes:
        return [], None
    parts = [select(*columns).where(*page, a.agency == code).order_by(*order).limit(limit + 1).subquery()
             for code in codes]
    merged = union_all(*[select(p) for p in parts]).subquery()
    query = select(merged).order_by(merged.c.visit_on.desc(), merged.c.id.desc()).limit(limit + 1)
    rows = [Comment(*r) for r in s.execute(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].cursor if more and rows else None


def _options(s: Any, codes: list[str] | None, start: dt.date, end: dt.date) -> dict[str, list[str]]:
    """The services, channels and counters the reader's agencies have figures for in the period, whatever the
    other filters: the filters' lists."""
    d = SurveyDaily
    seen = s.execute(select(d.service, d.channel, d.counter)
                     .where(*_where(d.agency, codes), d.day >= start, d.day <= end).distinct()).all()
    return {"service": sorted({r[0] for r in seen}), "channel": sorted({r[1] for r in seen}),
            "counter": sorted({r[2] for r in seen}, key=lambda c: (c == "", c))}


def opdc_ranking(store: HubStore, registry: Registry, start: dt.date, end: dt.date, *, level: Level = "department",
                 threshold: int = MIN_ANSWERS) -> Ranking:
    """Every agency over [start, end], ranked by satisfaction: departments (their divisions' answers added in),
    or each unit as its answers name it (``unit``: departments and divisions apart). Agencies of the registry
    with no answer are listed too. Those with fewer than ``threshold`` answers get no rank: marked, they follow
    the ranked ones. Equal satisfaction, equal rank (1, 2, 2, 4)."""
    check_period(start, end)
    d = SurveyDaily
    by_code: dict[str, Figures] = {}
    with store.session() as s:
        for row in s.execute(select(d.agency, *_sums()).where(d.day >= start, d.day <= end).group_by(d.agency)):
            by_code[row[0]] = _figures(row[1:])
    units = [a for a in registry.agencies.values()
             if a.level == "department" or (level == "unit" and a.level == "division")]
    grouped: dict[str, Figures] = {a.code: Figures() for a in units}
    for code, figures in by_code.items():
        key = code
        if level == "department" and code in registry.agencies and registry.agencies[code].level == "division":
            key = registry.department_of(code).code
        grouped.setdefault(key, Figures()).add(figures)
    total = Figures()
    for figures in by_code.values():
        total.add(figures)

    def key(item: tuple[str, Figures]) -> tuple[Any, ...]:
        figures = item[1]
        share = Fraction(figures.satisfied, figures.answers) if figures.answers else Fraction(-1)
        return (figures.too_few(threshold), -share, -figures.answers, item[0])

    rows: list[RankRow] = []
    previous: Fraction | None = None
    rank = 0
    for i, (code, figures) in enumerate(sorted(grouped.items(), key=key), start=1):
        unit = registry.agencies.get(code)
        parent = registry.agencies.get(unit.parent or "") if unit is not None and unit.level == "division" else None
        few = figures.too_few(threshold)
        if not few:
            share = Fraction(figures.satisfied, figures.answers)
            if share != previous:
                rank, previous = i, share
        rows.append(RankRow(None if few else rank, code, unit.name if unit else code, unit.name_en if unit else "",
                            parent.name if parent else "", figures, few, unit is not None))
    return Ranking(start, end, level, rows, total, threshold)
