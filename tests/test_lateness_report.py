"""The lateness report's figures on a hub store filled with known requests and notices, on SQLite
and PostgreSQL: the table by agency, the longest-overdue list (names masked), the daily series, and
the CSV and Excel downloads parsing back to the same figures."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from openpyxl import load_workbook
from test_web_accounts import Client, add_users, sign_in

from delayhub import config
from delayhub.registry import Registry
from delayhub.reports.lateness import FIGURES, Figures, lateness_report
from delayhub.reports.scope import AgencyScope
from delayhub.reports.tables import Table, csv_bytes, xlsx_bytes
from delayhub.store import HubStore
from delayhub.store.models import Outbox, Request
from delayhub.web.accounts import Role
from delayhub.web.app import create_app

TODAY = dt.date(2026, 11, 25)
START = dt.date(2026, 11, 1)
SECRET = "test-secret-" + "x" * 40

# request no: (division or department, manual, status, submitted, due, completed, applicant)
REQUESTS = {
    "A1": ("MOC-DBD-REG", "MOC-DBD-001", "in_progress", "2026-10-01", "2026-10-20", None, "นายสมชาย ใจดี"),
    "A2": ("MOC-DBD-REG", "MOC-DBD-002", "in_progress", "2026-11-20", "2026-11-30", None, "นางสาวสมหญิง รักดี"),
    "A3": ("MOC-DBD-REG", "MOC-DBD-001", "completed", "2026-10-01", "2026-11-05", "2026-11-10", None),
    "A4": ("MOC-DBD-REG", "MOC-DBD-001", "completed", "2026-10-01", "2026-11-10", "2026-11-03", None),
    "A5": ("MOC-DBD-REG", "MOC-DBD-003", "waiting_applicant", "2026-11-05", None, None, None),
    "B1": ("MOC-DBD-FBL", "MOC-DBD-005", "received", "2026-11-01", "2026-11-15", None, "Mr John Smith"),
    "B2": ("MOC-DBD-FBL", "MOC-DBD-005", "withdrawn", "2026-09-01", "2026-10-01", None, None),
    "C1": ("MOPH-FDA-FOOD", "MOPH-FDA-001", "in_progress", "2026-11-10", "2026-11-24", None, "นายแพทย์ ใจเย็น"),
    "C2": ("MOPH-FDA-FOOD", "MOPH-FDA-002", "rejected", "2026-09-15", "2026-10-15", "2026-11-20", None),
    "D1": ("MOC-DBD", "MOC-DBD-004", "in_progress", "2026-10-20", "2026-11-01", None, None),
}
PHONE, EMAIL = "0812345678", "somchai.jaidee@example.co.th"

# (request, kind, sequence, owed_on, late_days, {channel: status})
NOTICES = [
    ("A1", "delay", 1, "2026-10-21", 0, {"email": "sent", "opdc": "sent"}),
    ("A1", "delay", 2, "2026-10-28", 0, {"email": "dead", "opdc": "sent"}),
    ("A1", "delay", 3, "2026-11-04", 0, {"email": "sent", "sms": "sent", "opdc": "sent"}),
    ("A1", "delay", 4, "2026-11-11", 2, {"email": "sent", "opdc": "sent"}),
    ("A1", "delay", 5, "2026-11-18", 0, {"email": "failed", "sms": "dead", "opdc": "sent"}),
    ("A1", "delay", 6, "2026-11-25", 0, {"email": "queued", "opdc": "queued"}),
    ("A1", "held", 7, "2026-11-25", 0, {"agency": "sent"}),
    ("B1", "delay", 1, "2026-11-16", 0, {"letter": "sent", "opdc": "failed"}),
    ("C2", "result", 1, "2026-11-20", 1, {"email": "sent", "opdc": "sent"}),
    ("C1", "delay", 1, "2026-11-25", 0, {"email": "failed", "letter": "sent", "opdc": "sent"}),
]

# As at 25 November, notices owed 1–25 November.
EXPECTED = {
    "MOC-DBD-REG": Figures(open=3, overdue=1, sent=2, late=1, failed=1),
    "MOC-DBD-FBL": Figures(open=1, overdue=1, sent=1, late=0, failed=0),
    None: Figures(open=1, overdue=1),  # MOC-DBD's request with no division
    "MOC-DBD": Figures(open=5, overdue=3, sent=3, late=1, failed=1),
    "MOC-DIP-TM": Figures(),
    "MOC-DIP": Figures(),
    "MOC": Figures(open=5, overdue=3, sent=3, late=1, failed=1),
    "MOPH-FDA-FOOD": Figures(open=1, overdue=1, sent=2, late=1, failed=0),
    "MOPH-FDA-DRUG": Figures(),
    "MOPH-FDA": Figures(open=1, overdue=1, sent=2, late=1, failed=0),
    "MOPH": Figures(open=1, overdue=1, sent=2, late=1, failed=0),
}
TOTAL = Figures(open=6, overdue=4, sent=5, late=2, failed=1)
# Overdue on each day: A1 always; C2 until 19 Nov; D1 from 2 Nov; A3 6–9 Nov; B1 from 16 Nov; C1 on 25 Nov.
SERIES = {1: 2, 2: 3, 5: 3, 6: 4, 9: 4, 10: 3, 15: 3, 16: 4, 19: 4, 20: 3, 24: 3, 25: 4}


def fill_known(store: HubStore, registry: Registry) -> None:
    """The requests and notices above, written straight into the hub store."""
    store.sync_registry(registry)
    now = config.now()
    day = dt.date.fromisoformat
    with store.transaction() as s:
        ids = {}
        for no, (unit, manual, status, submitted, due, completed, name) in REQUESTS.items():
            agency = registry.agencies[unit]
            department = registry.department_of(unit)
            row = Request(
                agency=department.code, request_no=f"REQ-{no}", ministry=registry.ministry_of(unit).code,
                department=department.code, division=unit if agency.level == "division" else None,
                process_code=registry.manuals[manual].process_code, manual_id=manual, submitted_on=day(submitted),
                pauses=[], status=status, completed_on=day(completed) if completed else None,
                applicant_name=name, applicant_phone=PHONE if no == "A1" else None,
                applicant_email=EMAIL if no == "A1" else None, source_connector="test", source_record_id=no,
                source_fetched_at=now, checksum=no.ljust(64, "0"), due_on=day(due) if due else None,
                created_at=now, updated_at=now)
            s.add(row)
            s.flush()
            ids[no] = row.id
        for no, kind, seq, owed, late, channels in NOTICES:
            for channel, status in channels.items():
                s.add(Outbox(request_id=ids[no], kind=kind, sequence=seq, channel=channel,
                             idempotency_key=f"{no}|{kind}|{seq}|{channel}", owed_on=day(owed), late_days=late,
                             recipient="x", subject="s", body="b", status=status, attempts=1, next_attempt_at=now,
                             created_at=now))


@pytest.fixture
def filled(store: HubStore, registry: Registry) -> HubStore:
    fill_known(store, registry)
    return store


def by_code(report) -> dict[str | None, Figures]:
    return {row.code: row.figures for row in report.rows}


def test_the_opdc_sees_every_agency_by_ministry_department_division(filled: HubStore, registry: Registry) -> None:
    report = lateness_report(filled, registry, AgencyScope.everything(), START, TODAY)
    figures = by_code(report)
    for code, expected in EXPECTED.items():
        assert figures[code] == expected, code
    assert report.total == TOTAL
    # ministries in the registry's order, each followed by its departments and their divisions
    assert [(r.level, r.code) for r in report.rows[:7]] == [
        ("ministry", "MOC"), ("department", "MOC-DBD"), ("division", "MOC-DBD-REG"), ("division", "MOC-DBD-FBL"),
        ("division", None), ("department", "MOC-DIP"), ("division", "MOC-DIP-TM")]
    assert {r.code for r in report.rows} >= {"MOI", "MIND", "MIND-DIW-FLD"}  # agencies with nothing yet show zero


def test_daily_overdue_counts_follow_due_and_completion_dates(filled: HubStore, registry: Registry) -> None:
    report = lateness_report(filled, registry, AgencyScope.everything(), START, TODAY)
    series = dict(report.series)
    assert list(series) == [START + dt.timedelta(days=i) for i in range(25)]
    for day, expected in SERIES.items():
        assert series[dt.date(2026, 11, day)] == expected, day
    assert series[TODAY] == report.total.overdue  # the chart's last day is the table's figure


def test_a_period_in_the_past_counts_requests_as_they_were_on_its_last_day(filled: HubStore,
                                                                            registry: Registry) -> None:
    end = dt.date(2026, 11, 8)
    report = lateness_report(filled, registry, AgencyScope.everything(), START, end)
    # open on 8 Nov: A1, A3 (finished 10 Nov), A5, B1, C2 (rejected 20 Nov), D1; overdue: A1, A3, C2, D1
    assert (report.total.open, report.total.overdue) == (6, 4)
    assert report.total.sent == 1  # only A1's third notice was owed 1–8 Nov
    assert [r.request_no for r in report.longest] == ["REQ-C2", "REQ-A1", "REQ-D1", "REQ-A3"]
    assert report.series[-1] == (end, 4)


def test_longest_overdue_first_with_the_applicant_masked(filled: HubStore, registry: Registry) -> None:
    report = lateness_report(filled, registry, AgencyScope.everything(), START, TODAY)
    assert [(r.request_no, r.days_overdue, r.notices_sent) for r in report.longest] == [
        ("REQ-A1", 36, 3), ("REQ-D1", 24, 0), ("REQ-B1", 10, 1), ("REQ-C1", 1, 1)]
    first = report.longest[0]
    assert first.applicant == "นายสมชาย ใ***"
    assert first.agency_name == "กองทะเบียนธุรกิจ"
    assert first.process == "การจดทะเบียนจัดตั้งห้างหุ้นส่วนจำกัด"
    assert report.longest[1].agency_name == "กรมพัฒนาธุรกิจการค้า"  # no division: its department


def test_an_agency_filter_and_a_department_scope_give_the_same_rows(filled: HubStore, registry: Registry) -> None:
    moph = registry.agencies["MOPH-FDA"]
    filtered = lateness_report(filled, registry, AgencyScope.everything(), START, TODAY, moph)
    scoped = lateness_report(filled, registry, AgencyScope("department", "MOPH-FDA"), START, TODAY)
    for report in (filtered, scoped):
        assert {r.code for r in report.rows} == {"MOPH-FDA", "MOPH-FDA-FOOD", "MOPH-FDA-DRUG"}
        assert report.total == EXPECTED["MOPH-FDA"]
        assert [r.request_no for r in report.longest] == ["REQ-C1"]
    # a ministry line would hold one department only: none is shown
    assert all(r.level != "ministry" for r in scoped.rows)
    officer = lateness_report(filled, registry, AgencyScope("division", "MOC-DBD-FBL"), START, TODAY)
    assert [(r.level, r.code) for r in officer.rows] == [("division", "MOC-DBD-FBL")]
    assert officer.total == EXPECTED["MOC-DBD-FBL"]


def test_a_period_may_not_end_before_it_starts(filled: HubStore, registry: Registry) -> None:
    with pytest.raises(ValueError, match="before it starts"):
        lateness_report(filled, registry, AgencyScope.everything(), TODAY, START)


# --- the page and its downloads --------------------------------------------------------------------------


@pytest.fixture
def opdc_client(filled: HubStore, store_url: str, registry: Registry, serve: Callable[[Any], str],
                monkeypatch: pytest.MonkeyPatch) -> Client:
    monkeypatch.setenv("DELAYHUB_TODAY", TODAY.isoformat())
    add_users(filled, registry, {"opdc": (Role.OPDC, None, "OPDC")})
    web = serve(create_app(store_url, registry=registry, secret=SECRET))
    return Client(web, sign_in(web, "opdc"))


QUERY = {"start": "1/11/2569", "end": "25/11/2569"}  # Buddhist-Era dates, as people type them


def test_the_page_shows_the_figures_masked_names_and_the_chart(opdc_client: Client) -> None:
    page = opdc_client.get("/lateness", params=QUERY)
    assert page.status_code == 200
    html = page.text
    assert '<html lang="th">' in html
    for label in ("กระทรวง", "กรม", "กอง", "คำขอที่ยังไม่แล้วเสร็จ", "คำขอที่เกินกำหนด", "หนังสือแจ้งที่ส่งแล้ว",
                  "ส่งล่าช้า", "ส่งไม่สำเร็จ"):
        assert f">{label}<" in html
    assert "1 พฤศจิกายน 2569" in html and "25 พฤศจิกายน 2569" in html
    assert '<svg class="chart"' in html and html.count('<rect class="bar"') == 25
    assert "REQ-A1" in html and "นายสมชาย ใ***" in html
    for secret in ("ใจดี", PHONE, EMAIL, "Smith"):
        assert secret not in html
    row = re.search(r'<tr class="level-department" data-code="MOC-DBD">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r'<td class="num[^"]*">([\d,]+)</td>', row) == ["5", "3", "3", "1", "1"]


def test_english_is_a_switch_away_and_stays(opdc_client: Client) -> None:
    page = opdc_client.get("/lateness", params={**QUERY, "lang": "en"})
    assert '<html lang="en">' in page.text and "Overdue requests" in page.text
    assert "25 November 2026" in page.text
    again = opdc_client.get("/lateness")  # the cookie keeps the choice
    assert '<html lang="en">' in again.text
    back = opdc_client.get("/lateness", params={"lang": "th"})
    assert '<html lang="th">' in back.text


def test_a_wrong_date_is_named_in_thai_and_links_to_its_box(opdc_client: Client) -> None:
    page = opdc_client.get("/lateness", params={"start": "31/02/2569", "end": "25/11/2569"})
    assert page.status_code == 400
    assert "<title>ข้อผิดพลาด: " in page.text
    assert '<a href="#start">กรุณาระบุวันเริ่มต้นเป็น วัน/เดือน/ปี พ.ศ.' in page.text
    assert 'aria-invalid="true"' in page.text and "lateness-table" not in page.text


def _expected_rows() -> dict[str, list[int]]:
    return {code: list(f.values()) for code, f in EXPECTED.items() if code}


def test_csv_download_parses_back_to_the_same_figures(opdc_client: Client) -> None:
    response = opdc_client.get("/lateness.csv", params=QUERY)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    assert header[:5] == ["ระดับ", "รหัสหน่วยงาน", "กระทรวง", "กรม", "กอง"]
    assert header[5:] == ["คำขอที่ยังไม่แล้วเสร็จ", "คำขอที่เกินกำหนด", "หนังสือแจ้งที่ส่งแล้ว", "ส่งล่าช้า", "ส่งไม่สำเร็จ"]
    figures = {r[1]: [int(v) for v in r[5:]] for r in body if r[1]}
    for code, values in _expected_rows().items():
        assert figures[code] == values, code
    assert body[-1][0] == "รวมทั้งหมด" and [int(v) for v in body[-1][5:]] == list(TOTAL.values())
    no_division = [r for r in body if r[4] == "(ไม่ระบุกอง)"]
    assert [int(v) for v in no_division[0][5:]] == list(EXPECTED[None].values())
    assert "ใจดี" not in text and PHONE not in text


def test_excel_download_parses_back_to_the_same_figures(opdc_client: Client) -> None:
    response = opdc_client.get("/lateness.xlsx", params=QUERY)
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["ตามหน่วยงาน", "เกินกำหนดนานที่สุด", "เงื่อนไข"]
    table = list(book["ตามหน่วยงาน"].iter_rows(values_only=True))
    figures = {r[1]: list(r[5:]) for r in table[1:] if r[1]}
    for code, values in _expected_rows().items():
        assert figures[code] == values, code
    assert list(table[-1][5:]) == list(TOTAL.values())
    longest = list(book["เกินกำหนดนานที่สุด"].iter_rows(values_only=True))
    assert [(r[0], r[3], r[5], r[6]) for r in longest[1:]] == [
        ("REQ-A1", "นายสมชาย ใ***", 36, 3), ("REQ-D1", None, 24, 0), ("REQ-B1", "Mr J***", 10, 1),
        ("REQ-C1", "นายแพทย์ ใ***", 1, 1)]
    every_cell = " ".join(str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row)
    assert "ใจดี" not in every_cell and "Smith" not in every_cell


def test_text_that_looks_like_a_formula_stays_text() -> None:
    table = Table("t", ["no"], [["=HYPERLINK(\"http://x\")"], ["-1+2"]])
    sheet = load_workbook(io.BytesIO(xlsx_bytes([table])))["t"]
    assert sheet["A2"].data_type == "s" and sheet["A2"].value == '=HYPERLINK("http://x")'
    rows = list(csv.reader(io.StringIO(csv_bytes(table).decode("utf-8-sig"))))
    assert rows[1:] == [["'=HYPERLINK(\"http://x\")"], ["'-1+2"]]


def test_figures_are_named_once() -> None:
    assert FIGURES == ("open", "overdue", "sent", "late", "failed")


def test_an_end_date_alone_shows_the_usual_period_before_it(opdc_client: Client) -> None:
    page = opdc_client.get("/lateness", params={"end": "8/11/2569"})
    assert page.status_code == 200
    assert "คำขอ ณ วันที่ 8 พฤศจิกายน 2569" in page.text and "ระหว่างวันที่ 11 สิงหาคม 2569" in page.text
    assert page.text.count('<rect class="bar"') == 90
