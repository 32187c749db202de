"""What the report pages' filter forms share: the period from two typed dates, the agencies a reader may
pick, and what the date boxes show again.

The lateness, queue and survey reports read their period the same way: either date may be left empty
(the report's usual period, or the usual length ending on the given end), a date is typed as
day/month/Buddhist-Era year (Thai digits too, ``thai.parse_date``), the end may not lie after today (or,
for the queue, after its booking horizon) nor before the start, and the period is at most a number of
days. Each refusal is ``(field, message)`` for the error summary and the field's own error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..registry import Registry
from ..thai import parse_date
from . import i18n
from .accounts import WebUser

_DEPTH = {"ministry": 0, "department": 1, "division": 2}


@dataclass
class Period:
    """The period read from the form and what was refused (a date that does not read keeps its default)."""

    start: dt.date
    end: dt.date
    errors: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class PeriodRule:
    """One report's period: its usual one, its longest, and how far past today it may reach."""

    default: Callable[[dt.date], tuple[dt.date, dt.date]]  # the usual period ending on a day
    max_days: int
    ahead_days: int = 0  # 0: no later than today; the queue's report also shows days already booked

    def read(self, start: str, end: str, *, today: dt.date, lang: str, judge: bool = True) -> Period:
        """The period typed as ``start`` and ``end``. ``judge=False`` only reads the dates: the lateness and
        survey forms leave the period's length and reach unjudged while another filter is refused."""
        t = i18n.translator(lang)
        period = Period(*self.default(today))
        for name, text in (("start", start), ("end", end)):
            if text.strip():
                try:
                    setattr(period, name, parse_date(text))
                except ValueError:
                    period.errors.append((name, t(f"{name}_invalid")))
        if period.errors or not judge:
            return period
        if end.strip() and not start.strip():
            period.start = self.default(period.end)[0]  # only an end: the usual length of period up to it
        latest = today + dt.timedelta(days=self.ahead_days)
        if period.end > latest:
            message = t("qr_end_too_far", days=self.ahead_days, last=i18n.format_date(latest, lang)) \
                if self.ahead_days else t("end_in_future", today=i18n.format_date(today, lang))
            period.errors.append(("end", message))
        elif period.end < period.start:
            period.errors.append(("end", t("end_before_start")))
        elif (period.end - period.start).days >= self.max_days:
            period.errors.append(("start", t("period_too_long", days=self.max_days)))
        return period


class _Chosen(Protocol):
    start: dt.date
    end: dt.date
    errors: list[tuple[str, str]]


def date_inputs(choice: _Chosen, start: str, end: str, lang: str) -> dict[str, str]:
    """The date boxes' values: what was typed on a refused form (to be corrected), else the period shown."""
    if choice.errors:
        return {"start_value": start, "end_value": end}
    return {"start_value": i18n.date_input_value(choice.start, lang),
            "end_value": i18n.date_input_value(choice.end, lang)}


def agency_options(user: WebUser, registry: Registry) -> list[tuple[str, str]]:
    """The agencies the reader may pick, in tree order, as (code, name) for the agency list: a department
    indented under its ministry, a division under its department (no-break spaces, as a select shows them)."""
    return [(a.code, "\u00a0\u00a0\u00a0" * _DEPTH[a.level] + a.name) for a in user.scope.agencies(registry)]
