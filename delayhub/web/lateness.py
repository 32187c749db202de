"""The lateness view (OPDC operators, agency admins, officers, each within their scope):
the table by ministry → department → division, the longest-overdue requests, the daily chart,
and the same table as CSV and Excel."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from .. import config
from ..registry import Agency, Registry
from ..reports.lateness import FIGURES, MAX_DAYS, TOP_N, LatenessReport, default_period, lateness_report
from ..reports.tables import Table
from ..store import HubStore
from . import i18n
from .accounts import Role, WebUser
from .chart import bar_chart
from .deps import RegistryDep, StoreDep, require
from .downloads import filters_table, refused, tables_download
from .report_filters import PeriodRule, agency_options, date_inputs
from .templating import lang_of, render

router = APIRouter()
Viewer = Annotated[WebUser, Depends(require(Role.OPDC, Role.AGENCY_ADMIN, Role.OFFICER))]
PERIOD = PeriodRule(default_period, MAX_DAYS)


@dataclass
class Choice:
    """What the reader asked for, checked: the agency within their scope and a sane period."""

    agency: Agency | None
    start: dt.date
    end: dt.date
    raw: dict[str, str]
    errors: list[tuple[str, str]] = field(default_factory=list)


def _choice(user: WebUser, registry: Registry, lang: str, agency: str, start: str, end: str) -> Choice:
    errors: list[tuple[str, str]] = []
    found: Agency | None = None
    if agency:
        found = registry.agencies.get(agency)
        if found is None or not user.scope.covers(found, registry):
            errors.append(("agency", i18n.translator(lang)("agency_invalid")))
            found = None
    period = PERIOD.read(start, end, today=config.today(), lang=lang, judge=not errors)
    return Choice(found, period.start, period.end, {"agency": agency, "start": start, "end": end},
                  errors + period.errors)


def _report(store: HubStore, registry: Registry, user: WebUser, choice: Choice) -> LatenessReport:
    return lateness_report(store, registry, user.scope, choice.start, choice.end, choice.agency, top=TOP_N)


@router.get("/lateness", name="lateness")
def lateness_page(request: Request, user: Viewer, store: StoreDep, registry: RegistryDep, agency: str = "",
                  start: str = "", end: str = "") -> Response:
    lang = lang_of(request)
    choice = _choice(user, registry, lang, agency, start, end)
    t = i18n.translator(lang)
    context: dict[str, Any] = {"options": agency_options(user, registry), "choice": choice, "errors": choice.errors,
                               "figures": FIGURES, "top_n": TOP_N, "report": None,
                               **date_inputs(choice, start, end, lang)}
    if not choice.errors:
        report = _report(store, registry, user, choice)
        query = {"agency": choice.agency.code if choice.agency else "", "start": choice.start.isoformat(),
                 "end": choice.end.isoformat()}
        context.update(report=report, download_query=query, chart=_chart(report, t, lang))
    return render(request, "lateness.html", context, status_code=400 if choice.errors else 200)


def _chart(report: LatenessReport, t: Any, lang: str) -> Any:
    series = report.series
    peak_day, peak = max(series, key=lambda p: (p[1], p[0]))
    desc = t("chart_desc", start=i18n.format_date(report.start, lang), end=i18n.format_date(report.end, lang),
             max=i18n.number(peak), max_date=i18n.format_date(peak_day, lang), last=i18n.number(series[-1][1]))
    return bar_chart(series, title=t("chart_title"), desc=desc, chart_id="overdue-chart",
                     label=lambda d, with_year: i18n.format_date(d, lang, short=True, year=with_year),
                     bar_title=lambda d, n: t("chart_bar", date=i18n.format_date(d, lang), n=i18n.number(n)))


def export_tables(report: LatenessReport, lang: str) -> tuple[Table, Table, Table]:
    """The table by agency, the longest-overdue list and the filters, for CSV and Excel."""
    t = i18n.translator(lang)
    header = [t("level"), t("code"), t("ministry"), t("department"), t("division"), *(t(f"col_{f}") for f in FIGURES)]
    rows: list[list[Any]] = []
    for row in report.rows:
        division = row.division_name if row.division else (t("no_division") if row.level == "division" else "")
        rows.append([t(row.level), row.code or "", row.ministry_name, row.department_name, division,
                     *row.figures.values()])
    rows.append([t("total"), "", "", "", "", *report.total.values()])
    longest = Table(t("sheet_longest"), [t("request_no"), t("agency"), t("process"), t("applicant"), t("due_on"),
                                         t("days_overdue"), t("notices_sent")],
                    [[r.request_no, r.agency_name, r.process, r.applicant, r.due_on, r.days_overdue, r.notices_sent]
                     for r in report.longest])
    filters = filters_table(t, lang, t("sheet_filters"), [
        [t("agency"), f"{report.agency.code} {report.agency.name}" if report.agency else t("all_agencies")]],
        report.start, report.end)
    return Table(t("sheet_table"), header, rows), longest, filters


@router.get("/lateness.csv", name="lateness_csv")
@router.get("/lateness.xlsx", name="lateness_xlsx")
def lateness_download(request: Request, user: Viewer, store: StoreDep, registry: RegistryDep, agency: str = "",
                      start: str = "", end: str = "") -> Response:
    lang = lang_of(request)
    choice = _choice(user, registry, lang, agency, start, end)
    if choice.errors:
        return refused(choice.errors)
    report = _report(store, registry, user, choice)
    return tables_download(request, export_tables(report, lang), stem="lateness",
                           scope=report.agency.code if report.agency else None, start=report.start, end=report.end)
