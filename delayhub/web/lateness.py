"""The lateness view (OPDC operators, agency admins, officers, each within their scope):
the table by ministry → department → division, the longest-overdue requests, the daily chart,
and the same table as CSV and Excel."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response

from .. import config
from ..registry import Agency, Registry
from ..reports.lateness import FIGURES, MAX_DAYS, TOP_N, LatenessReport, default_period, lateness_report
from ..reports.tables import Table, csv_bytes, xlsx_bytes
from ..store import HubStore
from ..thai import parse_date
from . import i18n
from .accounts import Role, WebUser
from .chart import bar_chart
from .deps import RegistryDep, StoreDep, require
from .templating import lang_of, remember_lang, render

router = APIRouter()
Viewer = Annotated[WebUser, Depends(require(Role.OPDC, Role.AGENCY_ADMIN, Role.OFFICER))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Choice:
    """What the reader asked for, checked: the agency within their scope and a sane period."""

    agency: Agency | None
    start: dt.date
    end: dt.date
    raw: dict[str, str]
    errors: list[tuple[str, str]] = field(default_factory=list)


def _choice(user: WebUser, registry: Registry, lang: str, agency: str, start: str, end: str) -> Choice:
    t, today = i18n.translator(lang), config.today()
    first, last = default_period(today)
    choice = Choice(None, first, last, {"agency": agency, "start": start, "end": end})
    if agency:
        found = registry.agencies.get(agency)
        if found is None or not user.scope.covers(found, registry):
            choice.errors.append(("agency", t("agency_invalid")))
        else:
            choice.agency = found
    for name, text in (("start", start), ("end", end)):
        if text.strip():
            try:
                setattr(choice, name, parse_date(text))
            except ValueError:
                choice.errors.append((name, t(f"{name}_invalid")))
    if end.strip() and not start.strip() and not choice.errors:
        choice.start = default_period(choice.end)[0]  # only an end: the usual length of period before it
    if not choice.errors:
        if choice.end > today:
            choice.errors.append(("end", t("end_in_future", today=i18n.format_date(today, lang))))
        elif choice.end < choice.start:
            choice.errors.append(("end", t("end_before_start")))
        elif (choice.end - choice.start).days >= MAX_DAYS:
            choice.errors.append(("start", t("period_too_long", days=MAX_DAYS)))
    return choice


def _options(user: WebUser, registry: Registry) -> list[tuple[Agency, int]]:
    """The agencies the reader may pick, in tree order, with their depth for indenting."""
    depth = {"ministry": 0, "department": 1, "division": 2}
    return [(a, depth[a.level]) for a in user.scope.agencies(registry)]


def _report(store: HubStore, registry: Registry, user: WebUser, choice: Choice) -> LatenessReport:
    return lateness_report(store, registry, user.scope, choice.start, choice.end, choice.agency, top=TOP_N)


@router.get("/lateness", name="lateness")
def lateness_page(request: Request, user: Viewer, store: StoreDep, registry: RegistryDep, agency: str = "",
                  start: str = "", end: str = "") -> Response:
    lang = lang_of(request)
    choice = _choice(user, registry, lang, agency, start, end)
    t = i18n.translator(lang)
    context: dict[str, Any] = {"options": _options(user, registry), "choice": choice, "errors": choice.errors,
                               "figures": FIGURES, "top_n": TOP_N, "report": None,
                               "start_value": start if choice.errors else i18n.date_input_value(choice.start, lang),
                               "end_value": end if choice.errors else i18n.date_input_value(choice.end, lang)}
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


def _download(request: Request, user: WebUser, store: HubStore, registry: Registry, agency: str, start: str,
              end: str) -> tuple[LatenessReport | None, Response | None, str]:
    lang = lang_of(request)
    choice = _choice(user, registry, lang, agency, start, end)
    if choice.errors:
        return None, PlainTextResponse("\n".join(m for _, m in choice.errors), status_code=400), lang
    return _report(store, registry, user, choice), None, lang


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
    filters = Table(t("sheet_filters"), [t("item"), t("value")], [
        [t("agency"), f"{report.agency.code} {report.agency.name}" if report.agency else t("all_agencies")],
        [t("start"), i18n.format_date(report.start, lang)], [t("end"), i18n.format_date(report.end, lang)],
        [t("generated_at"), config.now().astimezone(config.TIMEZONE).strftime("%Y-%m-%d %H:%M")]])
    return Table(t("sheet_table"), header, rows), longest, filters


def _filename(report: LatenessReport, ext: str) -> str:
    scope = f"-{report.agency.code}" if report.agency else ""
    return f"lateness{scope}-{report.start.isoformat()}-{report.end.isoformat()}.{ext}"


@router.get("/lateness.csv", name="lateness_csv")
def lateness_csv(request: Request, user: Viewer, store: StoreDep, registry: RegistryDep, agency: str = "",
                 start: str = "", end: str = "") -> Response:
    report, refused, lang = _download(request, user, store, registry, agency, start, end)
    if refused is not None:
        return refused
    assert report is not None
    table, _, _ = export_tables(report, lang)
    response = Response(csv_bytes(table), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{_filename(report, "csv")}"'})
    remember_lang(request, response)
    return response


@router.get("/lateness.xlsx", name="lateness_xlsx")
def lateness_xlsx(request: Request, user: Viewer, store: StoreDep, registry: RegistryDep, agency: str = "",
                  start: str = "", end: str = "") -> Response:
    report, refused, lang = _download(request, user, store, registry, agency, start, end)
    if refused is not None:
        return refused
    assert report is not None
    response = Response(xlsx_bytes(export_tables(report, lang)), media_type=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{_filename(report, "xlsx")}"'})
    remember_lang(request, response)
    return response
