"""The agency queue report: what happened in each queue, per day, channel and counter, from the hub store.

For the bookings of a period (their day), optionally one service or channel:

- bookings (จองทั้งหมด): every booking made for the day, whatever became of it (a changed booking counts
  once for the place given back and once for the new one);
- served (รับบริการแล้ว), no-shows (ไม่มาเมื่อเรียก: called, never came), cancelled (ยกเลิก/ปล่อยคิว: cancelled
  by the person, released after the grace period without a check-in, or closed by a day off);
- waiting time (``wait_seconds``: check-in, or the slot's start, to the first call) and service time
  (``service_seconds``: the last call to served), each as the median and the 90th percentile of the
  bookings that have one. Nearest rank (PostgreSQL's ``percentile_disc``): always a time someone really
  waited, the same on SQLite and PostgreSQL.

Every figure is a GROUP BY in the database along the bookings' index on (agency, day, status): the agencies
in reach are listed (never "every row") and the period bounds the day. On PostgreSQL the table, the days
and the total are one statement (``GROUPING SETS`` with ``percentile_disc``: one pass over the rows); on
SQLite (the embedded store) three, with the percentiles as window ranks (``row_number`` in each group
against its count), which give the same numbers. Nothing here knows about the web: ``in_reach`` says
whose queues a reader's scope shows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select, text, tuple_

from ..registry import Registry
from ..reports.scope import AgencyScope
from ..store import HubStore
from ..store.models import QueueBooking
from .settings import CHANNELS

MAX_DAYS = 366  # one bar a day in the chart, as the lateness view
DEFAULT_DAYS = 30
CANCELLED = ("cancelled", "released", "closed")  # places given back before the visit
# Percentiles as nearest ranks: rank = ceil(p × n) = (a × n + b − 1) // b for p = a / b.
MEDIAN, P90 = (1, 2), (9, 10)


@dataclass(frozen=True)
class Figures:
    bookings: int = 0
    served: int = 0
    no_show: int = 0
    cancelled: int = 0
    wait_median: int | None = None  # seconds
    wait_p90: int | None = None
    service_median: int | None = None
    service_p90: int | None = None

    def values(self) -> tuple[int | None, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))


FIGURES: tuple[str, ...] = tuple(f.name for f in fields(Figures))
COUNTS = FIGURES[:4]
TIMES = FIGURES[4:]


@dataclass(frozen=True)
class Row:
    """One line of the table: an agency's queue on one day, one channel, one counter (None: never called)."""

    agency: str
    day: dt.date
    channel: str
    counter: str | None
    figures: Figures


@dataclass(frozen=True)
class QueueReport:
    start: dt.date
    end: dt.date
    agencies: tuple[str, ...]
    service: str | None
    channel: str | None
    rows: list[Row]
    days: list[tuple[dt.date, Figures]]  # every day of the period, empty ones too (the chart)
    total: Figures


def in_reach(scope: AgencyScope, registry: Registry, agency: str) -> bool:
    """Whether a reader with ``scope`` sees ``agency``'s queue: one their scope covers (the OPDC every one,
    an agency admin their department's and its divisions'), and for a division's officers also their
    department's own queue, the one hall its divisions staff. Never a sibling division's."""
    unit = registry.agencies.get(agency)
    if unit is None or unit.level not in ("department", "division"):
        return False
    if scope.covers(unit, registry):
        return True
    mine = registry.agencies.get(scope.code or "")
    return scope.level == "division" and unit.level == "department" and mine is not None and mine.parent == unit.code


def agencies_in_reach(scope: AgencyScope, registry: Registry) -> list[str]:
    """Every department and division whose queue the reader sees, in the registry's order (with or without
    a settings file today: bookings outlive a removed file)."""
    return [a.code for a in registry.agencies.values() if in_reach(scope, registry, a.code)]


def default_period(today: dt.date, days: int = DEFAULT_DAYS) -> tuple[dt.date, dt.date]:
    return today - dt.timedelta(days=days - 1), today


def queue_report(store: HubStore, agencies: Sequence[str], start: dt.date, end: dt.date,
                 service: str | None = None, channel: str | None = None) -> QueueReport:
    """The figures of the queues of ``agencies`` over [start, end] (the bookings' day)."""
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    if (end - start).days >= MAX_DAYS:
        raise ValueError(f"the period is longer than {MAX_DAYS} days")
    t = QueueBooking
    where: list[ColumnElement[bool]] = [t.agency.in_(list(agencies)), t.day >= start, t.day <= end]
    if service:
        where.append(t.service == service)
    if channel:
        where.append(t.channel == channel)
    rows: list[Row] = []
    by_day: dict[dt.date, Figures] = {}
    total = Figures()
    if agencies:
        with store.session() as s:
            if s.get_bind().dialect.name == "postgresql":
                rows, by_day, total = _all_at_once(s, where)
            else:
                keys = [t.agency, t.day, t.channel, t.counter]
                rows = [Row(*key, f) for key, f in _grouped(s, keys, where)]
                by_day = {key[0]: f for key, f in _grouped(s, [t.day], where)}
                total = next((f for _, f in _grouped(s, [], where)), Figures())
    order = {c: i for i, c in enumerate(CHANNELS)}
    rows.sort(key=lambda r: (r.day, r.agency, order.get(r.channel, 9), r.counter is None, r.counter or ""))
    days, d = [], start
    while d <= end:
        days.append((d, by_day.get(d, Figures())))
        d += dt.timedelta(days=1)
    return QueueReport(start, end, tuple(agencies), service, channel, rows, days, total)


def _figures(values: Sequence[Any]) -> Figures:
    return Figures(*(int(v or 0) for v in values[:4]), *(None if v is None else int(v) for v in values[4:]))


def _all_at_once(s: Any, where: list[ColumnElement[bool]]) -> tuple[list[Row], dict[dt.date, Figures], Figures]:
    """PostgreSQL: the table's groups, the days and the total in one pass (GROUPING SETS), each percentile
    by ``percentile_disc`` (nearest rank, as ``_grouped``). Measured: see the module's tests and the notes."""
    t = QueueBooking
    s.execute(text("SET LOCAL jit = off"))  # compiling costs more than it saves on these (measured 27 → 13 ms)
    keys = (t.agency, t.day, t.channel, t.counter)

    def pct(p: float, column: Any) -> Any:
        return func.percentile_disc(p).within_group(column)

    query = (select(*keys, func.grouping(*keys), func.count(),
                    func.sum(case((t.status == "served", 1), else_=0)),
                    func.sum(case((t.status == "no_show", 1), else_=0)),
                    func.sum(case((t.status.in_(CANCELLED), 1), else_=0)),
                    pct(MEDIAN[0] / MEDIAN[1], t.wait_seconds), pct(P90[0] / P90[1], t.wait_seconds),
                    pct(MEDIAN[0] / MEDIAN[1], t.service_seconds), pct(P90[0] / P90[1], t.service_seconds))
             .where(*where).group_by(func.grouping_sets(tuple_(*keys), tuple_(t.day), tuple_())))
    rows, by_day, total = [], {}, Figures()
    for r in s.execute(query):
        agency, day, channel, counter, grouped, *values = r
        if grouped == 0:
            rows.append(Row(agency, day, channel, counter, _figures(values)))
        elif grouped == 0b1011:  # only the day kept
            by_day[day] = _figures(values)
        elif values[0]:
            total = _figures(values)
    return rows, by_day, total


def _rank(n: Any, p: tuple[int, int]) -> Any:
    a, b = p
    return (n * a + (b - 1)) // b


def _grouped(s: Any, keys: list[Any], where: list[ColumnElement[bool]]) -> list[tuple[tuple[Any, ...], Figures]]:
    """Counts and nearest-rank percentiles per group of ``keys`` (none: one line for everything)."""
    t = QueueBooking
    part = keys or None
    inner = select(
        *[k.label(f"k{i}") for i, k in enumerate(keys)], t.status, t.wait_seconds, t.service_seconds,
        # nulls last on both databases: the measured times rank 1..n within their group
        func.row_number().over(partition_by=part, order_by=(t.wait_seconds.is_(None), t.wait_seconds)).label("w_rank"),
        func.count(t.wait_seconds).over(partition_by=part).label("w_n"),
        func.row_number().over(partition_by=part,
                               order_by=(t.service_seconds.is_(None), t.service_seconds)).label("s_rank"),
        func.count(t.service_seconds).over(partition_by=part).label("s_n"),
    ).where(*where).subquery()
    c = inner.c

    def count_of(*statuses: str) -> Any:
        return func.sum(case((c.status.in_(statuses), 1), else_=0))

    def at_rank(value: Any, rank: Any, n: Any, p: tuple[int, int]) -> Any:
        return func.max(case((and_(n > 0, rank == _rank(n, p)), value)))

    group = [c[f"k{i}"] for i in range(len(keys))]
    query = select(*group, func.count(), count_of("served"), count_of("no_show"), count_of(*CANCELLED),
                   at_rank(c.wait_seconds, c.w_rank, c.w_n, MEDIAN), at_rank(c.wait_seconds, c.w_rank, c.w_n, P90),
                   at_rank(c.service_seconds, c.s_rank, c.s_n, MEDIAN),
                   at_rank(c.service_seconds, c.s_rank, c.s_n, P90))
    if group:
        query = query.group_by(*group)
    out = []
    for row in s.execute(query):
        key, values = tuple(row[:len(keys)]), row[len(keys):]
        if not values[0]:
            continue  # no booking at all (the one line of an empty total)
        out.append((key, _figures(values)))
    return out
