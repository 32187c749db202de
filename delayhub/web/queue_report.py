"""The agency queue report (ระบบการจองคิวกลาง): per day, channel and counter, bookings, people served,
no-shows, cancellations and the waiting and service times, with two daily charts and the same table as
CSV and Excel. An agency's officers and administrators see their agency's queues, the OPDC every one
(``queueing.report.in_reach``); asking for another agency's queue answers 404, as a missing one does."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.exceptions import HTTPException

from .. import config
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
from ..reports.tables import Table, csv_bytes, xlsx_bytes
from ..thai import parse_date
from . import i18n
from .accounts import Role, WebUser
from .chart import bar_chart
from .deps import RegistryDep, StoreDep, require
from .queue_api import queue_web
from .templating import lang_of, remember_lang, render

router = APIRouter()
Viewer = Annotated[WebUser, Depends(require(Role.OPDC, Role.AGENCY_ADMIN, Role.OFFICER))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_AHEAD_DAYS = 90  # the longest booking horizon a settings file may give: later days hold no booking
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
    first, last = default_period(today)
    choice = Choice(reach, options, agency or None, None, None, first, last,
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
    for name, value in (("start", start), ("end", end)):
        if value.strip():
            try:
                setattr(choice, name, parse_date(value))
            except ValueError:
                choice.errors.append((name, t(f"{name}_invalid")))
    if end.strip() and not start.strip() and not any(f in ("start", "end") for f, _ in choice.errors):
        choice.start = default_period(choice.end)[0]
    if not any(f in ("start", "end") for f, _ in choice.errors):
        furthest = today + dt.timedelta(days=MAX_AHEAD_DAYS)
        if choice.end > furthest:
            choice.errors.append(("end", t("qr_end_too_far", days=MAX_AHEAD_DAYS,
                                           last=i18n.format_date(furthest, lang))))
        elif choice.end < choice.start:
            choice.errors.append(("end", t("end_before_start")))
        elif (choice.end - choice.start).days >= MAX_DAYS:
            choice.errors.append(("start", t("period_too_long", days=MAX_DAYS)))
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
        "names": {code: name for code, name in choice.options},
        "start_value": start if choice.errors else i18n.date_input_value(choice.start, lang),
        "end_value": end if choice.errors else i18n.date_input_value(choice.end, lang)}
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
    filters = Table(t("qr_sheet_filters"), [t("item"), t("value")], [
        [t("agency"), ", ".join(report.agencies) if len(report.agencies) <= 20 else t("qr_all_queues")],
        [t("qr_service"), report.service or t("qr_all_services")],
        [t("qr_channel"), t(f"queue_channel_{report.channel}") if report.channel else t("qr_all_channels")],
        [t("start"), i18n.format_date(report.start, lang)], [t("end"), i18n.format_date(report.end, lang)],
        [t("generated_at"), config.now().astimezone(config.TIMEZONE).strftime("%Y-%m-%d %H:%M")]])
    return Table(t("qr_sheet_rows"), header, rows), days, filters


def _download(request: Request, user: WebUser, store: Any, registry: Registry, params: dict[str, str]
              ) -> tuple[QueueReport | None, Response | None, str]:
    lang = lang_of(request)
    choice = _choice(request, user, registry, lang, **params)
    if choice.errors:
        return None, PlainTextResponse("\n".join(m for _, m in choice.errors), status_code=400), lang
    return _report(store, choice), None, lang


def _filename(report: QueueReport, ext: str) -> str:
    scope = f"-{report.agencies[0]}" if len(report.agencies) == 1 else ""
    return f"queue{scope}-{report.start.isoformat()}-{report.end.isoformat()}.{ext}"


@router.get("/queue-report.csv", name="agency_queue_report_csv")
def queue_report_csv(request: Request, user: Viewer, store: StoreDep, registry: RegistryDep, agency: str = "",
                     service: str = "", channel: str = "", start: str = "", end: str = "") -> Response:
    report, refused, lang = _download(request, user, store, registry, {
        "agency": agency, "service": service, "channel": channel, "start": start, "end": end})
    if refused is not None:
        return refused
    assert report is not None
    table, _, _ = export_tables(report, registry, lang)
    response = Response(csv_bytes(table), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{_filename(report, "csv")}"'})
    remember_lang(request, response)
    return response


@router.get("/queue-report.xlsx", name="agency_queue_report_xlsx")
def queue_report_xlsx(request: Request, user: Viewer, store: StoreDep, registry: RegistryDep, agency: str = "",
                      service: str = "", channel: str = "", start: str = "", end: str = "") -> Response:
    report, refused, lang = _download(request, user, store, registry, {
        "agency": agency, "service": service, "channel": channel, "start": start, "end": end})
    if refused is not None:
        return refused
    assert report is not None
    response = Response(xlsx_bytes(export_tables(report, registry, lang)), media_type=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{_filename(report, "xlsx")}"'})
    remember_lang(request, response)
    return response
