"""The survey's reports: an agency's (officers, agency admins, the OPDC, each within their scope) and the OPDC's
ranking of every agency, each with a chart and the same tables as CSV and Excel.

The agency report is for the reader's scope, narrowed to an agency of it; asking for an agency outside the
scope answers 404, as one that does not exist does. The ranking is the OPDC's alone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from .. import config
from ..queueing.settings import load_each
from ..registry import Agency, Registry
from ..reports.tables import Table
from ..store import HubStore
from ..survey.report import (
    DIMENSIONS,
    MAX_DAYS,
    SCORES,
    AgencySurveyReport,
    Figures,
    Ranking,
    agency_report,
    default_period,
    opdc_ranking,
    parse_cursor,
)
from ..thai import BE_OFFSET, THAI_MONTHS, THAI_MONTHS_ABBR
from . import i18n
from .accounts import Role, WebUser
from .chart import bar_chart
from .deps import RegistryDep, StoreDep, require
from .downloads import filters_table, refused, tables_download
from .queue_report import duration
from .report_filters import PeriodRule, agency_options, date_inputs
from .templating import lang_of, render

router = APIRouter()
Viewer = Annotated[WebUser, Depends(require(Role.OPDC, Role.AGENCY_ADMIN, Role.OFFICER))]
Opdc = Annotated[WebUser, Depends(require(Role.OPDC))]
PERIOD = PeriodRule(default_period, MAX_DAYS)
NO_COUNTER = "-"  # the counter filter's value for answers given without one ('' means every counter)
LENGTHS = {"service": 80, "channel": 12, "counter": 20}  # the columns' sizes: longer is never a stored value
LEVELS = ("department", "unit")


@dataclass
class Choice:
    """What the reader asked for, checked: an agency within their scope, filters and a sane period."""

    agency: Agency | None
    start: dt.date
    end: dt.date
    raw: dict[str, str]
    filters: dict[str, str | None] = field(default_factory=dict)  # service, channel, counter ('' : none)
    level: str = "department"
    after: tuple[dt.date, int] | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)

    def query(self, **more: str) -> dict[str, str]:
        out = {k: self.raw.get(k, "") for k in ("agency", "service", "channel", "counter")}
        out.update(start=self.start.isoformat(), end=self.end.isoformat(), **more)
        return out


def _choice(user: WebUser, registry: Registry, lang: str, raw: dict[str, str]) -> Choice:
    t = i18n.translator(lang)
    first, last = default_period(config.today())
    choice = Choice(None, first, last, raw)
    code = raw.get("agency", "").strip()
    if code:
        found = registry.agencies.get(code)
        if found is None or not user.scope.covers(found, registry):
            raise HTTPException(404)  # another agency's answers: the same answer as one that does not exist
        choice.agency = found
    for name, size in LENGTHS.items():
        value = raw.get(name, "").strip()
        if len(value) > size:
            choice.errors.append((name, t(f"sr_{name}_invalid")))
        elif value:
            choice.filters[name] = "" if name == "counter" and value == NO_COUNTER else value
    if raw.get("level") in LEVELS:
        choice.level = raw["level"]
    if raw.get("after"):
        try:
            choice.after = parse_cursor(raw["after"])
        except ValueError:
            choice.after = None  # a spoilt link: the newest comments
    period = PERIOD.read(raw.get("start", ""), raw.get("end", ""), today=config.today(), lang=lang,
                         judge=not choice.errors)
    choice.start, choice.end = period.start, period.end
    choice.errors += period.errors
    return choice


def _report(store: HubStore, registry: Registry, user: WebUser, choice: Choice) -> AgencySurveyReport:
    return agency_report(store, registry, user.scope, choice.start, choice.end, choice.agency,
                         service=choice.filters.get("service"), channel=choice.filters.get("channel"),
                         counter=choice.filters.get("counter"), comments_after=choice.after)


# --- words and numbers --------------------------------------------------------------------------------------


def percent(share: float | None) -> str:
    """``83.3`` (one decimal, the % sign is the column's), ``–`` without answers."""
    return "–" if share is None else f"{share * 100:.1f}"


def mean(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def month_label(month: dt.date, lang: str, *, short: bool = False) -> str:
    if lang == "th":
        names = THAI_MONTHS_ABBR if short else THAI_MONTHS
        return f"{names[month.month - 1]} {month.year + BE_OFFSET}"
    return f"{month:%b %Y}" if short else f"{month:%B %Y}"


@dataclass(frozen=True)
class Words:
    """How the report's codes read in one language: services by their manual's or queue's name."""

    lang: str
    services: dict[str, str]

    def service(self, code: str) -> str:
        name = self.services.get(code)
        return f"{name} ({code})" if name and name != code else code

    def channel(self, code: str) -> str:
        key = f"sr_channel_{code}"
        return i18n.MESSAGES[self.lang].get(key, code)

    def counter(self, code: str) -> str:
        t = i18n.translator(self.lang)
        return t("sr_counter_none") if code == "" else t("sr_counter_no", counter=code)

    def key(self, dimension: str, key: Any) -> str:
        if dimension == "month":
            return month_label(key, self.lang)
        return getattr(self, dimension)(key)


def _words(registry: Registry, lang: str) -> Words:
    """Service names from the citizen manuals (requests) and the queue settings (visits); the queue's
    files are read per page, as they may change while the app runs (a broken one is left out)."""
    names = {m.process_code: m.process_name for m in registry.manuals.values()}
    settings, _errors = load_each(registry)
    for queue in settings.values():
        for service in queue.services.values():
            names.setdefault(service.code, service.label(lang))
    return Words(lang, names)


# --- the agency report ---------------------------------------------------------------------------------------


def _raw(agency: str, service: str, channel: str, counter: str, start: str, end: str,
         after: str = "") -> dict[str, str]:
    return {"agency": agency, "service": service, "channel": channel, "counter": counter, "start": start,
            "end": end, "after": after}


@router.get("/survey-report", name="survey_report")
def survey_report_page(request: Request, user: Viewer, store: StoreDep, registry: RegistryDep, agency: str = "",
                       service: str = "", channel: str = "", counter: str = "", start: str = "", end: str = "",
                       after: str = "") -> Response:
    lang = lang_of(request)
    choice = _choice(user, registry, lang, _raw(agency, service, channel, counter, start, end, after))
    t = i18n.translator(lang)
    words = _words(registry, lang)
    context: dict[str, Any] = {
        "options": agency_options(user, registry), "choice": choice, "errors": choice.errors, "report": None,
        "dimensions": DIMENSIONS, "scores": SCORES, "words": words, "percent": percent, "mean": mean,
        "duration": duration, **_filter_items({}, words), **date_inputs(choice, start, end, lang)}
    if not choice.errors:
        report = _report(store, registry, user, choice)
        context.update(_filter_items(report.options, words))
        context.update(report=report, download_query=choice.query(), chart=_chart(report, t, lang),
                       older_query=choice.query(after=report.comments_next) if report.comments_next else None,
                       newest_query=choice.query() if choice.after else None)
    return render(request, "survey_report.html", context, status_code=400 if choice.errors else 200)


def _filter_items(seen: dict[str, list[str]], words: Words) -> dict[str, list[tuple[str, str]]]:
    """The filters' lists: what the reader's agencies have answers for in the period (empty on a refused form)."""
    return {"service_items": [(c, words.service(c)) for c in seen.get("service", [])],
            "channel_items": [(c, words.channel(c)) for c in seen.get("channel", [])],
            "counter_items": [(c or NO_COUNTER, words.counter(c)) for c in seen.get("counter", [])]}


def _chart(report: AgencySurveyReport, t: Any, lang: str) -> Any:
    """Satisfaction per month, in whole percent (months without answers stay empty)."""
    series = [(m, round((f.satisfaction or 0) * 100)) for m, f in report.by_month]
    answered = [(m, f) for m, f in report.by_month if f.answers]
    if answered:
        best, figures = max(answered, key=lambda p: (p[1].satisfaction or 0, p[0]))
        desc = t("sr_chart_desc", start=month_label(report.start, lang), end=month_label(report.end, lang),
                 total=percent(report.total.satisfaction), best=month_label(best, lang),
                 max=percent(figures.satisfaction))
    else:
        desc = t("sr_no_answers")
    by_month = dict(report.by_month)
    return bar_chart(series, title=t("sr_chart_title"), desc=desc, chart_id="satisfaction-chart",
                     label=lambda m, with_year: month_label(m, lang, short=True),
                     bar_title=lambda m, n: t("sr_chart_bar", month=month_label(m, lang), n=n,
                                              answers=i18n.number(by_month[m].answers))
                     if by_month[m].answers else t("sr_chart_none", month=month_label(m, lang)))


def _figure_cells(t: Any, f: Figures, threshold: int) -> list[Any]:
    """One row's figures as numbers for a spreadsheet: shares in percent with one decimal, blank when none."""
    def share(x: float | None) -> float | None:
        return None if x is None else round(x * 100, 1)

    return [f.answers, share(f.satisfaction), *f.distribution, f.invited, share(f.response_rate),
            None if f.mean_wait is None else round(f.mean_wait), f.wait_count,
            None if f.mean_days_late is None else round(f.mean_days_late, 1), f.days_late_count,
            t("sr_too_few_mark") if f.answers and f.too_few(threshold) else ""]


def _figure_header(t: Any) -> list[str]:
    return [t("sr_col_answers"), t("sr_col_satisfaction"), *(t("sr_col_score", n=n) for n in range(1, 6)),
            t("sr_col_invited"), t("sr_col_response_rate"), t("sr_col_wait_seconds"), t("sr_col_wait_count"),
            t("sr_col_days_late"), t("sr_col_days_late_count"), t("sr_col_too_few")]


def export_tables(report: AgencySurveyReport, words: Words, lang: str) -> list[Table]:
    """Every breakdown in one table (CSV), each on its own sheet with the sub-scores, the comments of the page
    and the filters (Excel)."""
    t = i18n.translator(lang)
    header = [t("sr_dimension"), t("sr_key"), t("sr_name"), *_figure_header(t)]
    rows: list[list[Any]] = []
    sheets: list[Table] = []
    for dimension in DIMENSIONS:
        part = []
        for key, figures in report.breakdown(dimension):
            code = key.strftime("%Y-%m") if dimension == "month" else key
            part.append([t(f"sr_by_{dimension}"), code, words.key(dimension, key),
                         *_figure_cells(t, figures, report.threshold)])
        rows += part
        sheets.append(Table(t(f"sr_sheet_{dimension}"), header, part))
    rows.append([t("total"), "", "", *_figure_cells(t, report.total, report.threshold)])
    scores = Table(t("sr_sheet_scores"), [t("sr_score"), t("sr_mean"), t("sr_col_answers")],
                   [[t(f"sr_score_{name}"), None if s.mean is None else round(s.mean, 2), s.count]
                    for name, s in report.scores.items()])
    comments = Table(t("sr_sheet_comments"), [t("sr_visit_on"), t("sr_by_service"), t("sr_by_channel"),
                                              t("sr_by_counter"), t("sr_overall"), t("sr_comment")],
                     [[c.visit_on, words.service(c.service), words.channel(c.channel), words.counter(c.counter or ""),
                       c.overall, c.text] for c in report.comments])
    filters = filters_table(t, lang, t("sheet_filters"), [
        [t("agency"), f"{report.agency.code} {report.agency.name}" if report.agency else t("all_agencies")],
        [t("sr_by_service"), words.service(report.service) if report.service is not None else t("sr_all")],
        [t("sr_by_channel"), words.channel(report.channel) if report.channel is not None else t("sr_all")],
        [t("sr_by_counter"), words.counter(report.counter) if report.counter is not None else t("sr_all")]],
        report.start, report.end, [[t("sr_threshold"), report.threshold]])
    return [Table(t("sr_sheet_all"), header, rows), *sheets, scores, comments, filters]


@router.get("/survey-report.csv", name="survey_report_csv")
@router.get("/survey-report.xlsx", name="survey_report_xlsx")
def survey_report_download(request: Request, user: Viewer, store: StoreDep, registry: RegistryDep, agency: str = "",
                           service: str = "", channel: str = "", counter: str = "", start: str = "",
                           end: str = "") -> Response:
    lang = lang_of(request)
    choice = _choice(user, registry, lang, _raw(agency, service, channel, counter, start, end))
    if choice.errors:
        return refused(choice.errors)
    report = _report(store, registry, user, choice)
    return tables_download(request, export_tables(report, _words(registry, lang), lang), stem="survey",
                           scope=report.agency.code if report.agency else None, start=report.start, end=report.end)


# --- the OPDC's ranking --------------------------------------------------------------------------------------


def _ranking_choice(user: WebUser, registry: Registry, lang: str, start: str, end: str, level: str) -> Choice:
    return _choice(user, registry, lang, {"start": start, "end": end, "level": level})


@router.get("/survey-ranking", name="survey_ranking")
def survey_ranking_page(request: Request, user: Opdc, store: StoreDep, registry: RegistryDep, start: str = "",
                        end: str = "", level: str = "") -> Response:
    lang = lang_of(request)
    choice = _ranking_choice(user, registry, lang, start, end, level)
    t = i18n.translator(lang)
    context: dict[str, Any] = {
        "choice": choice, "errors": choice.errors, "ranking": None, "percent": percent, "duration": duration,
        "mean": mean, "level_items": [(v, t(f"sr_level_{v}")) for v in LEVELS], **date_inputs(choice, start, end, lang)}
    if not choice.errors:
        ranking = opdc_ranking(store, registry, choice.start, choice.end, level=choice.level)  # type: ignore[arg-type]
        period = {"start": choice.start.isoformat(), "end": choice.end.isoformat()}
        context.update(ranking=ranking, download_query={**period, "level": choice.level}, period_query=period)
    return render(request, "survey_ranking.html", context, status_code=400 if choice.errors else 200)


def ranking_tables(ranking: Ranking, lang: str) -> list[Table]:
    t = i18n.translator(lang)
    header = [t("sr_rank"), t("code"), t("agency"), t("department"), *_figure_header(t)]
    rows = [[r.rank, r.code, r.name_en if lang == "en" and r.name_en else r.name, r.department,
             *_figure_cells(t, r.figures, ranking.threshold)] for r in ranking.rows]
    rows.append([t("total"), "", "", "", *_figure_cells(t, ranking.total, ranking.threshold)])
    filters = filters_table(t, lang, t("sheet_filters"), [[t("sr_level"), t(f"sr_level_{ranking.level}")]],
                            ranking.start, ranking.end, [[t("sr_threshold"), ranking.threshold]])
    return [Table(t("sr_sheet_ranking"), header, rows), filters]


@router.get("/survey-ranking.csv", name="survey_ranking_csv")
@router.get("/survey-ranking.xlsx", name="survey_ranking_xlsx")
def survey_ranking_download(request: Request, user: Opdc, store: StoreDep, registry: RegistryDep, start: str = "",
                            end: str = "", level: str = "") -> Response:
    lang = lang_of(request)
    choice = _ranking_choice(user, registry, lang, start, end, level)
    if choice.errors:
        return refused(choice.errors)
    ranking = opdc_ranking(store, registry, choice.start, choice.end, level=choice.level)  # type: ignore[arg-type]
    return tables_download(request, ranking_tables(ranking, lang), stem="survey-ranking", scope=None,
                           start=ranking.start, end=ranking.end)
