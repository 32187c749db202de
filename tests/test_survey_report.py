"""The survey's reports on a hub store filled with known visits and answers, on SQLite and PostgreSQL: the
agency report's figures per service, channel, counter and month beside the measured wait and lateness, its
comments page by page, the OPDC ranking with its "too few" mark, who sees what, the pages (a new answer shows
at once) and the CSV and Excel downloads."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from openpyxl import load_workbook
from test_web_accounts import Client, add_users, sign_in

from delayhub.pdpa import MASKED_PHONE
from delayhub.registry import Registry
from delayhub.reports.scope import AgencyScope
from delayhub.store import HubStore
from delayhub.store.models import SurveyAnswer
from delayhub.survey import invite, questions
from delayhub.survey.answer import STORED, Survey
from delayhub.survey.daily import answer_figures, bump
from delayhub.survey.report import MIN_ANSWERS, agency_report, default_period, opdc_ranking, parse_cursor
from delayhub.web.accounts import Role
from delayhub.web.app import create_app

TODAY = dt.date(2026, 11, 25)
START, END = dt.date(2025, 12, 1), TODAY  # the default period: the last twelve months
SECRET = "test-secret-" + "s" * 40
day = dt.date.fromisoformat


@dataclass(frozen=True)
class Visit:
    agency: str
    service: str
    channel: str
    counter: str | None
    visit_on: str
    wait_seconds: int | None = None
    days_late: int | None = None
    overall: int | None = None  # None: invited, never answered
    speed: int | None = None
    courtesy: int | None = None
    clarity: int | None = None
    comment: str | None = None


# MOC-DBD's department queue (REG, CERT; walk-in and web counters), its REG division's requests (connector,
# lateness measured), one FBL answer, one answer before the period, and another ministry's answer.
VISITS = [
    Visit("MOC-DBD", "REG", "walk_in", "1", "2026-10-05", 600, None, 5, 5, 5, 4, "บริการดีมาก"),
    Visit("MOC-DBD", "REG", "walk_in", "1", "2026-10-06", 1200, None, 2, 1, 3, 2, "รอนานเกินไป โทร 08x-xxx-5678"),
    Visit("MOC-DBD", "REG", "walk_in", "2", "2026-11-02", 300, None, 4, 4),
    Visit("MOC-DBD", "REG", "web", "4", "2026-11-03", 60, None, 5),
    Visit("MOC-DBD", "CERT", "walk_in", "3", "2026-11-10", 900, None, 3, 3, 4, 3, "ปานกลาง"),
    Visit("MOC-DBD", "CERT", "walk_in", "3", "2026-11-10", 900),
    Visit("MOC-DBD", "REG", "walk_in", "1", "2026-11-20", 0),
    Visit("MOC-DBD-REG", "DBD-REG-01", "connector", None, "2026-11-12", None, 4, 1, 1, 2, 1, "ล่าช้ามาก"),
    Visit("MOC-DBD-REG", "DBD-REG-01", "connector", None, "2026-11-13", None, 0, 4, 4, 4, 4),
    Visit("MOC-DBD-REG", "DBD-REG-01", "connector", None, "2026-11-14", None, 2),
    Visit("MOC-DBD-FBL", "DBD-FBL-01", "connector", None, "2026-11-15", None, 0, 5, None, 5),
    Visit("MOC-DBD", "REG", "walk_in", "1", "2025-06-10", 600, None, 1, 1, 1, 1, "ก่อนช่วงรายงาน"),
    Visit("MOPH-FDA-FOOD", "FDA-FOOD-01", "desk", None, "2026-11-05", None, 0, 5, 5, 5, 5, "ยอดเยี่ยม"),
]


def _standard_set(s) -> int:
    """The OPDC's standard question set as the survey stores it (data/survey/standard.yaml)."""
    return questions.sync(s, questions.current())[questions.OPDC].id


def _bump(s, v: Visit, **add: int) -> None:
    bump(s, v.agency, v.service, v.channel, v.counter, day(v.visit_on), **add)


def record(store: HubStore, visits: list[Visit]) -> None:
    """Each visit as the survey stores it: its invitation counted in the roll-up, and its answer (if any) kept
    without the person and counted too: answers, overall_<n>, and the wait and lateness when measured."""
    with store.transaction() as s:
        standard = _standard_set(s)
        for v in visits:
            _bump(s, v, invited=1)
            if v.overall is None:
                continue
            s.add(SurveyAnswer(agency=v.agency, service=v.service, channel=v.channel, counter=v.counter,
                               visit_on=day(v.visit_on), standard_set_id=standard, overall=v.overall, speed=v.speed,
                               courtesy=v.courtesy, clarity=v.clarity, comment=v.comment,
                               wait_seconds=v.wait_seconds, days_late=v.days_late))
            _bump(s, v, **answer_figures(v.overall, wait_seconds=v.wait_seconds, days_late=v.days_late,
                                         speed=v.speed, courtesy=v.courtesy, clarity=v.clarity))


def many(agency: str, service: str, scores: dict[int, int], on: str = "2026-09-15") -> list[Visit]:
    """``scores``: overall score → how many answers gave it."""
    return [Visit(agency, service, "connector", None, on, None, 0, n) for n, k in scores.items() for _ in range(k)]


# Enough answers to rank: BORA (a MOI-DOPA division) and BCD (MOI-DPT's) at 90 %, MIND-DIW at 50 %.
RANKED = (many("MOI-DOPA-BORA", "BORA-01", {5: 36, 2: 4}) + many("MOI-DPT-BCD", "BCD-01", {4: 20, 5: 7, 1: 3})
          + many("MIND-DIW", "DIW-01", {4: 15, 3: 15}))


@pytest.fixture
def filled(store: HubStore, registry: Registry) -> HubStore:
    record(store, VISITS)
    return store


def test_the_default_period_is_the_last_twelve_months() -> None:
    assert default_period(TODAY) == (START, TODAY)
    assert default_period(dt.date(2026, 1, 31)) == (dt.date(2025, 2, 1), dt.date(2026, 1, 31))


def test_an_agency_report_adds_up_its_divisions_beside_the_measured_wait_and_lateness(
        filled: HubStore, registry: Registry) -> None:
    report = agency_report(filled, registry, AgencyScope.everything(), START, END, registry.agencies["MOC-DBD"])
    total = report.total
    assert (total.answers, total.invited) == (8, 11)  # the answer of June 2025 is before the period
    assert total.distribution == (1, 1, 1, 2, 3)
    assert total.satisfaction == pytest.approx(5 / 8) and total.response_rate == pytest.approx(8 / 11)
    assert total.mean_wait == pytest.approx(612) and total.wait_count == 5  # (600+1200+300+60+900) / 5
    assert total.mean_days_late == pytest.approx(4 / 3) and total.days_late_count == 3
    services = {k: (f.answers, f.invited, f.satisfaction, f.mean_wait, f.mean_days_late)
                for k, f in report.by_service}
    assert services == {"REG": (4, 5, 0.75, 540, None), "CERT": (1, 2, 0.0, 900, None),
                        "DBD-REG-01": (2, 3, 0.5, None, 2.0), "DBD-FBL-01": (1, 1, 1.0, None, 0.0)}
    assert [k for k, _ in report.by_service] == ["REG", "DBD-REG-01", "CERT", "DBD-FBL-01"]  # most answers first
    channels = {k: (f.answers, f.invited, f.satisfied) for k, f in report.by_channel}
    assert channels == {"walk_in": (4, 6, 2), "web": (1, 1, 1), "connector": (3, 4, 2)}
    counters = {k: (f.answers, f.invited, f.satisfied) for k, f in report.by_counter}
    assert counters == {"1": (2, 3, 1), "2": (1, 1, 1), "3": (1, 2, 0), "4": (1, 1, 1), "": (3, 4, 2)}
    assert [k for k, _ in report.by_counter][-1] == ""  # "no counter" last
    months = dict(report.by_month)
    assert report.by_month[0][0] == START and len(months) == 12  # every month, empty ones too
    assert (months[dt.date(2026, 10, 1)].answers, months[dt.date(2026, 10, 1)].satisfied) == (2, 1)
    assert (months[dt.date(2026, 11, 1)].answers, months[dt.date(2026, 11, 1)].invited) == (6, 9)
    assert months[dt.date(2026, 5, 1)].answers == 0
    scores = {k: (round(v.mean, 2), v.count) for k, v in report.scores.items()}
    assert scores == {"speed": (3.0, 6), "courtesy": (3.83, 6), "clarity": (2.8, 5)}
    assert report.total.too_few()  # 8 answers: under the OPDC's threshold
    assert report.options["counter"] == ["1", "2", "3", "4", ""]


def test_filters_narrow_every_figure_and_the_comments(filled: HubStore, registry: Registry) -> None:
    moc_dbd = registry.agencies["MOC-DBD"]
    walk_in = agency_report(filled, registry, AgencyScope.everything(), START, END, moc_dbd, channel="walk_in")
    assert (walk_in.total.answers, walk_in.total.invited) == (4, 6)
    assert [c.text for c in walk_in.comments] == ["ปานกลาง", "รอนานเกินไป โทร 08x-xxx-5678", "บริการดีมาก"]
    assert walk_in.scores["speed"].count == 4
    none = agency_report(filled, registry, AgencyScope.everything(), START, END, moc_dbd, counter="")
    assert (none.total.answers, none.total.days_late_count, none.total.wait_count) == (3, 3, 0)
    assert [c.text for c in none.comments] == ["ล่าช้ามาก"]
    cert = agency_report(filled, registry, AgencyScope.everything(), START, END, moc_dbd, service="CERT")
    assert [k for k, _ in cert.by_service] == ["CERT"] and cert.total.satisfaction == 0.0
    assert "REG" in cert.options["service"]  # the filter's list still offers every service


def test_comments_newest_first_one_page_at_a_time(filled: HubStore, registry: Registry) -> None:
    moc_dbd = registry.agencies["MOC-DBD"]
    first = agency_report(filled, registry, AgencyScope.everything(), START, END, moc_dbd, comments_limit=2)
    assert [(c.visit_on, c.text) for c in first.comments] == [(day("2026-11-12"), "ล่าช้ามาก"),
                                                              (day("2026-11-10"), "ปานกลาง")]
    assert first.comments_next is not None
    second = agency_report(filled, registry, AgencyScope.everything(), START, END, moc_dbd, comments_limit=2,
                           comments_after=parse_cursor(first.comments_next))
    assert [c.text for c in second.comments] == ["รอนานเกินไป โทร 08x-xxx-5678", "บริการดีมาก"]
    assert second.comments_next is None  # the answer of June 2025 is outside the period


def test_a_reader_sees_only_their_scope(filled: HubStore, registry: Registry) -> None:
    officer = agency_report(filled, registry, AgencyScope("division", "MOC-DBD-REG"), START, END)
    assert (officer.total.answers, officer.total.invited, officer.total.satisfied) == (2, 3, 1)
    assert [c.text for c in officer.comments] == ["ล่าช้ามาก"]
    admin = agency_report(filled, registry, AgencyScope("department", "MOPH-FDA"), START, END)
    assert admin.total.answers == 1 and [c.text for c in admin.comments] == ["ยอดเยี่ยม"]
    # an agency outside the scope adds nothing: the scope always applies on top
    outside = agency_report(filled, registry, AgencyScope("department", "MOPH-FDA"), START, END,
                            registry.agencies["MOC-DBD"])
    assert outside.total.answers == 0 and outside.comments == []
    everything = agency_report(filled, registry, AgencyScope.everything(), START, END)
    assert everything.total.answers == 9


def test_the_opdc_ranking_ranks_departments_and_marks_too_few(filled: HubStore, registry: Registry) -> None:
    record(filled, RANKED)
    ranking = opdc_ranking(filled, registry, START, END)
    rows = [(r.rank, r.code, r.figures.answers, round((r.figures.satisfaction or 0) * 100, 1), r.too_few)
            for r in ranking.rows]
    assert MIN_ANSWERS == ranking.threshold == 30
    assert rows == [
        (1, "MOI-DOPA", 40, 90.0, False),  # BORA's answers count for its department
        (1, "MOI-DPT", 30, 90.0, False),  # the same share: the same rank
        (3, "MIND-DIW", 30, 50.0, False),
        (None, "MOPH-FDA", 1, 100.0, True),  # too few to compare: after the ranked ones, unranked
        (None, "MOC-DBD", 8, 62.5, True),
        (None, "MOC-DIP", 0, 0.0, True),  # no answer yet, still listed
    ]
    assert ranking.total.answers == 9 + 100
    units = opdc_ranking(filled, registry, START, END, level="unit")
    assert [(r.rank, r.code) for r in units.rows[:3]] == [(1, "MOI-DOPA-BORA"), (1, "MOI-DPT-BCD"), (3, "MIND-DIW")]
    by_code = {r.code: r for r in units.rows}
    assert by_code["MOC-DBD"].figures.answers == 5 and by_code["MOC-DBD-REG"].figures.answers == 2
    assert by_code["MOC-DBD-REG"].department == "กรมพัฒนาธุรกิจการค้า"
    lower = opdc_ranking(filled, registry, START, END, threshold=5)
    assert [(r.rank, r.code) for r in lower.rows if r.rank] == [
        (1, "MOI-DOPA"), (1, "MOI-DPT"), (3, "MOC-DBD"), (4, "MIND-DIW")]


def test_a_period_outside_the_answers_ranks_nobody(filled: HubStore, registry: Registry) -> None:
    ranking = opdc_ranking(filled, registry, dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    assert all(r.rank is None and r.figures.answers == 0 for r in ranking.rows)
    with pytest.raises(ValueError, match="before it starts"):
        opdc_ranking(filled, registry, END, START)


# --- the pages and their downloads -------------------------------------------------------------------------


USERS = {"opdc": (Role.OPDC, None), "admin.moc-dbd": (Role.AGENCY_ADMIN, "MOC-DBD"),
         "officer.moph-fda-food": (Role.OFFICER, "MOPH-FDA-FOOD")}


@pytest.fixture
def site(filled: HubStore, store_url: str, registry: Registry, serve: Callable[[Any], str],
         monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DELAYHUB_TODAY", TODAY.isoformat())
    record(filled, RANKED)
    add_users(filled, registry, USERS)
    return serve(create_app(store_url, registry=registry, secret=SECRET))


def client(site: str, username: str) -> Client:
    return Client(site, sign_in(site, username))


def cells(row: str) -> list[str]:
    return [c.strip() for c in re.findall(r'<td class="num">([^<]*)', row)]


def figure(html: str, name: str) -> str:
    return re.search(rf'<div class="figure figure-{name}"><dt>[^<]*</dt>\s*<dd>([^<]*)', html).group(1).strip()


def test_the_agency_page_shows_the_figures_and_a_new_answer_at_once(site: str, filled: HubStore,
                                                                     registry: Registry) -> None:
    admin = client(site, "admin.moc-dbd")
    page = admin.get("/survey-report")
    assert page.status_code == 200 and '<html lang="th">' in page.text
    html = page.text
    assert "<h1>ความพึงพอใจของผู้รับบริการ</h1>" in html
    assert (figure(html, "satisfaction"), figure(html, "answers"), figure(html, "response-rate")) == \
        ("62.5", "8", "72.7")
    assert figure(html, "wait") == "10:12" and figure(html, "days-late") == "1.3"
    assert '<svg class="chart"' in html and html.count('<rect class="bar"') == 12
    row = re.search(r'<tr data-key="REG">(.*?)</tr>', html, re.S).group(1)
    assert "จดทะเบียนนิติบุคคล (REG)" in row  # the queue's own name for its service
    assert cells(row)[:3] == ["4", "75.0", "0"]
    assert "9:00 (4)" in row and "น้อยเกินไป" in row
    assert "การจดทะเบียนจัดตั้งห้างหุ้นส่วนจำกัด (DBD-REG-01)" in html  # a request's: its manual's
    assert "รอนานเกินไป โทร 08x-xxx-5678" in html and "ยอดเยี่ยม" not in html  # another ministry's comment
    assert html.index("ล่าช้ามาก") < html.index("ปานกลาง")  # newest first

    # someone served at counter 6 answers through the survey itself: invitation, link, submit
    now = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
    token = invite.new_token()
    with filled.transaction() as s:
        invite.create(s, invite.Visit(invite.EVENT_QUEUE, "booking-9001", "MOC-DBD", "CERT", "mobile", "6",
                                      day("2026-11-24"), 120, None, "th"), token, now, now + dt.timedelta(days=14))
    stored = Survey(filled, registry).submit(token, {"overall": "4", "speed": "5", "courtesy": "5", "clarity": "4",
                                                    "comment": "ได้รับบริการรวดเร็ว ขอบคุณครับ โทรกลับ 081-234-5678"},
                                             now=now)
    assert stored.state == STORED
    again = admin.get("/survey-report").text
    assert figure(again, "answers") == "9" and figure(again, "satisfaction") == "66.7"
    assert figure(again, "response-rate") == "75.0"  # 9 of 12 invited
    assert again.index("ได้รับบริการรวดเร็ว ขอบคุณครับ") < again.index("ล่าช้ามาก")  # the new one on top
    assert "081-234-5678" not in again and MASKED_PHONE in again  # masked as stored
    assert '<tr data-key="mobile">' in again and '<tr data-key="6">' in again


def test_another_agencys_report_is_not_found_like_a_missing_one(site: str) -> None:
    officer = client(site, "officer.moph-fda-food")
    other, missing = officer.get("/survey-report", {"agency": "MOC-DBD"}), officer.get("/survey-report",
                                                                                      {"agency": "NOPE"})
    assert other.status_code == missing.status_code == 404
    assert other.text.replace("MOC-DBD", "NOPE") == missing.text  # only the language switch's link differs
    assert officer.get("/survey-report.csv", {"agency": "MOC-DBD"}).status_code == 404
    own = officer.get("/survey-report")
    assert own.status_code == 200 and "ยอดเยี่ยม" in own.text and "บริการดีมาก" not in own.text
    assert officer.get("/survey-ranking").status_code == 403  # the ranking is the OPDC's


def test_the_ranking_page_marks_too_few_and_links_each_agency(site: str) -> None:
    opdc = client(site, "opdc")
    page = opdc.get("/survey-ranking", {"start": "1/12/2568", "end": "25/11/2569"})
    assert page.status_code == 200
    html = page.text
    codes = re.findall(r'<tr data-code="([^"]+)"', html)
    assert codes == ["MOI-DOPA", "MOI-DPT", "MIND-DIW", "MOPH-FDA", "MOC-DBD", "MOC-DIP"]
    dopa = re.search(r'<tr data-code="MOI-DOPA">(.*?)</tr>', html, re.S).group(1)
    assert cells(dopa)[:3] == ["1", "40", "90.0"]
    moc = re.search(r'<tr data-code="MOC-DBD" class="too-few">(.*?)</tr>', html, re.S).group(1)
    assert "น้อยเกินไป" in moc and cells(moc)[0] == "–"
    assert "agency=MOC-DBD" in moc  # to the agency's own report
    assert "30" in figure_note(html)
    assert opdc.get("/survey-report").status_code == 200  # the OPDC opens any agency's report


def figure_note(html: str) -> str:
    return re.search(r'<p class="hint">([^<]*น้อยเกินไป[^<]*)</p>', html).group(1)


def test_english_is_a_switch_away(site: str) -> None:
    opdc = client(site, "opdc")
    page = opdc.get("/survey-ranking", {"lang": "en"})
    assert '<html lang="en">' in page.text and "Agencies ranked by satisfaction" in page.text
    assert "Department of Provincial Administration" in page.text and "too few" in page.text


def test_a_wrong_date_is_named_in_thai(site: str) -> None:
    page = client(site, "opdc").get("/survey-report", {"start": "31/02/2569"})
    assert page.status_code == 400
    assert '<a href="#start">กรุณาระบุวันเริ่มต้นเป็น วัน/เดือน/ปี พ.ศ.' in page.text


def test_csv_and_excel_hold_the_same_figures(site: str) -> None:
    admin = client(site, "admin.moc-dbd")
    response = admin.get("/survey-report.csv", {"agency": "MOC-DBD"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert 'filename="survey-MOC-DBD-2025-12-01-2026-11-25.csv"' in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header = rows[0]
    assert header[:5] == ["แยกตาม", "รหัส", "รายการ", "คำตอบ", "พึงพอใจ (ร้อยละ)"]
    by = {(r[0], r[1]): r for r in rows[1:]}
    reg = by[("บริการ", "REG")]
    assert reg[3:10] == ["4", "75.0", "0", "1", "0", "1", "2"]  # answers, %, scores 1–5
    assert reg[10:13] == ["5", "80.0", "540"] and reg[-1] == "น้อยเกินไป"
    assert by[("เดือน", "2026-11")][3] == "6" and by[("ช่องบริการ", "")][2] == "(ไม่ผ่านช่องบริการ)"
    assert rows[-1][0] == "รวมทั้งหมด" and rows[-1][3:5] == ["8", "62.5"]

    book = load_workbook(io.BytesIO(admin.get("/survey-report.xlsx", {"agency": "MOC-DBD"}).content))
    assert book.sheetnames == ["ทั้งหมด", "ตามบริการ", "ตามช่องทาง", "ตามช่องบริการ", "ตามเดือน", "คะแนนรายด้าน",
                               "ความเห็น", "เงื่อนไข"]
    services = {r[1]: r for r in book["ตามบริการ"].iter_rows(min_row=2, values_only=True)}
    assert services["CERT"][3:5] == (1, 0) and services["CERT"][12] == 900
    assert services["DBD-REG-01"][14:16] == (2, 2)  # mean days late and the answers behind it
    scores = list(book["คะแนนรายด้าน"].iter_rows(min_row=2, values_only=True))
    assert scores == [("ความรวดเร็วในการให้บริการ", 3.0, 6), ("ความสุภาพและการให้บริการของเจ้าหน้าที่", 3.83, 6),
                      ("ความชัดเจนของข้อมูลและคำแนะนำ", 2.8, 5)]
    comments = [r[5] for r in book["ความเห็น"].iter_rows(min_row=2, values_only=True)]
    assert comments == ["ล่าช้ามาก", "ปานกลาง", "รอนานเกินไป โทร 08x-xxx-5678", "บริการดีมาก"]

    opdc = client(site, "opdc")
    ranking = list(csv.reader(io.StringIO(opdc.get("/survey-ranking.csv").content.decode("utf-8-sig"))))
    assert ranking[0][:5] == ["อันดับ", "รหัสหน่วยงาน", "หน่วยงาน", "กรม", "คำตอบ"]
    assert [(r[0], r[1], r[4], r[-1]) for r in ranking[1:4]] == [("1", "MOI-DOPA", "40", ""),
                                                                  ("1", "MOI-DPT", "30", ""),
                                                                  ("3", "MIND-DIW", "30", "")]
    assert ranking[5][:2] == ["", "MOC-DBD"] and ranking[5][-1] == "น้อยเกินไป"
    sheet = load_workbook(io.BytesIO(opdc.get("/survey-ranking.xlsx", {"level": "unit"}).content))["อันดับ"]
    assert [r[1] for r in sheet.iter_rows(min_row=2, max_row=4, values_only=True)] == [
        "MOI-DOPA-BORA", "MOI-DPT-BCD", "MIND-DIW"]
