"""The agency queue report (ระบบการจองคิวกลาง): per day, channel and counter, bookings, people served,
no-shows, cancellations and the waiting and service times, with two daily charts and the same table as
CSV and Excel. An agency's officers and administrators see their agency's queues, the OPDC every one
(``queueing.report.in_reach``); asking for another agency's queue answers 404, as a missing one does."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from ..queueing.booking import clock, local_day
from ..queueing.report import (
    COUNTS,
    FIGURES,
    MAX_DAYS,
    TIMES,
    QueueReport,
    agencies_in_reach,
    default_period,
    queue_report,
)
from ..queueing.settings import CHANNELS, QueueSettings
from ..registry import Registry
from ..reports.tables import Table
from . import i18n
from .accounts import Role, WebUser
from .chart import bar_chart
from .deps import RegistryDep, StoreDep, require
from .downloads import filters_table, refused, tables_download
from .queue_api import queue_web
from .report_filters import PeriodRule, date_inputs
from .templating import lang_of, render

router = APIRouter()
Viewer = Annotated[WebUser, Depends(require(Role.OPDC, Role.AGENCY_ADMIN, Role.OFFICER))]
MAX_AHEAD_DAYS = 90  # the longest booking horizon a settings file may give: later days hold no booking
PERIOD = PeriodRule(default_period, MAX_DAYS, ahead_days=MAX_AHEAD_DAYS)
MAX_ROWS_SHOWN = 500  # the page's table; the downloads hold every row


@dataclass
class Choice:
    """What the reader asked for, checked against their reach."""

    reach: list[str]  # every agency whose queue they see
    options: list[tuple[str, str]]  # (code, name) of those with a queue today, for the agency list
    agency: str | None
    service: str | None
    channel: str | None
    start: dt.date
    end: dt.date
    raw: dict[str, str]
    services: list[tuple[str, str]] = field(default_factory=list)  # (code, name) for the service list
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def agencies(self) -> list[str]:
        return [self.agency] if self.agency else self.reach

    def query(self) -> dict[str, str]:
        return {"agency": self.agency or "", "service": self.service or "", "channel": self.channel or "",
                "start": self.start.isoformat(), "end": self.end.isoformat()}


def _name(registry: Registry, code: str, lang: str) -> str:
    unit = registry.agencies.get(code)
    if unit is None:
        return code
    return unit.name_en if lang == "en" and unit.name_en else unit.name


def _choice(request: Request, user: WebUser, registry: Registry, lang: str, agency: str, service: str,
            channel: str, start: str, end: str) -> Choice:
    t, today = i18n.translator(lang), local_day(clock())
    settings: dict[str, QueueSettings] = dict(queue_web(request.app.state.hub).queue.settings.items())
    reach = agencies_in_reach(user.scope, registry)
    options = [(code, _name(registry, code, lang)) for code in reach if code in settings]
    agency = agency.strip()
    if agency and agency not in reach:
        raise HTTPException(404)  # another agency's queue: the same answer as one that does not exist
    period = PERIOD.read(start, end, today=today, lang=lang)
    choice = Choice(reach, options, agency or None, None, None, period.start, period.end,
                    {"agency": agency, "service": service, "channel": channel, "start": start, "end": end})
    names: dict[str, set[str]] = {}
    for code in choice.agencies:
        for s in settings[code].services.values() if code in settings else ():
            names.setdefault(s.code, set()).add(s.label(lang))
    choice.services = [(code, " / ".join(sorted(labels))) for code, labels in sorted(names.items())]
    if service.strip():
        if service.strip() in names:
            choice.service = service.strip()
        else:
            choice.errors.append(("service", t("qr_service_invalid")))
    if channel.strip():
        if channel.strip() in CHANNELS:
            choice.channel = channel.strip()
        else:
            choice.errors.append(("channel", t("qr_channel_invalid")))
    choice.errors += period.errors
    return choice


def _report(store: Any, choice: Choice) -> QueueReport:
    return queue_report(store, choice.agencies, choice.start, choice.end, choice.service, choice.channel)


def duration(seconds: int | None) -> str:
    """``12:05`` (minutes:seconds; an hour's wait is ``60:00``), ``–`` when nothing was measured."""
    if seconds is None:
        return "–"
    return f"{seconds // 60}:{seconds % 60:02d}"


@router.get("/queue-report", name="agency_queue_report")
def queue_report_page(request: Request, user: Viewer, store: StoreDep, registry: RegistryDep, agency: str = "",
                      service: str = "", channel: str = "", start: str = "", end: str = "") -> Response:
    lang = lang_of(request)
    choice = _choice(request, user, registry, lang, agency, service, channel, start, end)
    t = i18n.translator(lang)
    context: dict[str, Any] = {
        "choice": choice, "errors": choice.errors, "counts": COUNTS, "times": TIMES,
        "channel_items": [(c, t(f"queue_channel_{c}")) for c in CHANNELS],
        "report": None, "duration": duration, "max_rows": MAX_ROWS_SHOWN,
        "names": {code: name for code, name in choice.options}, **date_inputs(choice, start, end, lang)}
    if choice.options and not choice.errors:
        report = _report(store, choice)
        context.update(report=report, download_query=choice.query(), many=len({r.agency for r in report.rows}) > 1,
                       charts=_charts(report, t, lang),
                       names={code: _name(registry, code, lang) for code in {r.agency for r in report.rows}
                              | {c for c, _ in choice.options}})
    return render(request, "queue_report.html", context, status_code=400 if choice.errors else 200)


def _charts(report: QueueReport, t: Any, lang: str) -> list[Any]:
    """People served per day, and the median wait per day in whole minutes."""
    def day(d: dt.date) -> str:
        return i18n.format_date(d, lang)

    def label(d: dt.date, with_year: bool) -> str:
        return i18n.format_date(d, lang, short=True, year=with_year)

    served = [(d, f.served) for d, f in report.days]
    peak_day, peak = max(served, key=lambda p: (p[1], p[0]))
    waits = {d: f.wait_median for d, f in report.days}
    minutes = [(d, round((w or 0) / 60)) for d, w in waits.items()]
    long_day, longest = max(minutes, key=lambda p: (p[1], p[0]))
    median = duration(report.total.wait_median)
    return [
        bar_chart(served, title=t("qr_chart_served_title"), chart_id="served-chart", label=label,
                  desc=t("qr_chart_served_desc", start=day(report.start), end=day(report.end),
                         total=i18n.number(report.total.served), max=i18n.number(peak), max_date=day(peak_day)),
                  bar_title=lambda d, n: t("qr_chart_served_bar", date=day(d), n=i18n.number(n))),
        bar_chart(minutes, title=t("qr_chart_wait_title"), chart_id="wait-chart", label=label,
                  desc=t("qr_chart_wait_desc", start=day(report.start), end=day(report.end), median=median,
                         max=i18n.number(longest), max_date=day(long_day)),
                  bar_title=lambda d, n: t("qr_chart_wait_bar", date=day(d), n=i18n.number(n))
                  if waits[d] is not None else t("qr_chart_no_wait", date=day(d))),
    ]


def export_tables(report: QueueReport, registry: Registry, lang: str) -> tuple[Table, Table, Table]:
    """The rows by day and counter, the days, and the filters, for CSV and Excel (times in seconds)."""
    t = i18n.translator(lang)
    figures = [t(f"qr_col_{f}") if f in COUNTS else t("qr_seconds", label=t(f"qr_col_{f}")) for f in FIGURES]
    header = [t("date"), t("qr_agency_code"), t("qr_agency_col"), t("qr_channel"), t("qr_counter"), *figures]
    rows: list[list[Any]] = [
        [r.day, r.agency, _name(registry, r.agency, lang), t(f"queue_channel_{r.channel}"),
         r.counter if r.counter is not None else t("qr_not_called"), *r.figures.values()] for r in report.rows]
    rows.append([t("total"), "", "", "", "", *report.total.values()])
    days = Table(t("qr_sheet_days"), [t("date"), *figures], [[d, *f.values()] for d, f in report.days])
    filters = filters_table(t, lang, t("qr_sheet_filters"), [
        [t("agency"), ", ".join(report.agencies) if len(report.agencies) <= 20 else t("qr_all_queues")],
        [t("qr_service"), report.service or t("qr_all_services")],
        [t("qr_channel"), t(f"queue_channel_{report.channel}") if report.channel else t("qr_all_channels")]],
        report.start, report.end)
    return Table(t("qr_sheet_rows"), header, rows), days, filters


@router.get("/queue-report.csv", name="agency_queue_report_csv")
@router.get("/queue-report.xlsx", name="agency_queue_report_xlsx")
def queue_report_download(request: Request, user: Viewer, store: StoreDep, registry: RegistryDep, agency: str = "",
                          service: str = "", channel: str = "", start: str = "", end: str = "") -> Response:
    lang = lang_of(request)
    choice = _choice(request, user, registry, lang, agency, service, channel, start, end)
    if choice.errors:
        return refused(choice.errors)
    report = _report(store, choice)
    return tables_download(request, export_tables(report, registry, lang), stem="queue",
                           scope=report.agencies[0] if len(report.agencies) == 1 else None, start=report.start,
                           end=report.end)
