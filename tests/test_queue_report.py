"""The agency queue report on a hub store filled with known bookings, on SQLite and PostgreSQL: figures per
day, channel and counter with median and 90th-percentile waiting and service times, the filters, who sees
which agency's queue, the page, and the CSV and Excel downloads parsing back to the same figures."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
import requests
from openpyxl import load_workbook
from sqlalchemy import insert
from test_web_accounts import add_users, sign_in

from delayhub.config import TIMEZONE
from delayhub.queueing.report import Figures, in_reach, queue_report
from delayhub.registry import Registry
from delayhub.reports.scope import AgencyScope
from delayhub.store import HubStore
from delayhub.store.models import QueueBooking, QueueSlot
from delayhub.web.accounts import Role
from delayhub.web.app import create_app

DBD, FOOD = "MOC-DBD", "MOPH-FDA-FOOD"
MON, TUE = dt.date(2026, 11, 23), dt.date(2026, 11, 24)
SECRET = "test-secret-" + "q" * 40

# (agency, day, service, channel, counter, status, wait_seconds, service_seconds)
BOOKINGS = [
    (DBD, MON, "REG", "walk_in", "1", "served", 60, 300),
    (DBD, MON, "REG", "walk_in", "1", "served", 120, 200),
    (DBD, MON, "CERT", "walk_in", "1", "served", 600, 100),
    (DBD, MON, "REG", "walk_in", "1", "no_show", 30, None),
    (DBD, MON, "REG", "walk_in", "2", "served", 90, 400),
    (DBD, MON, "REG", "web", "4", "served", 30, 150),
    (DBD, MON, "REG", "web", None, "cancelled", None, None),
    (DBD, MON, "REG", "web", None, "released", None, None),
    (DBD, MON, "REG", "web", None, "booked", None, None),
    (DBD, TUE, "REG", "walk_in", "1", "no_show", 45, None),
    (DBD, TUE, "CERT", "web", "5", "served", 300, 600),
    (FOOD, MON, "FOOD-REG", "walk_in", "1", "served", 5999, 7199),  # another agency: never in MOC-DBD's view
]
# (day, channel, counter): bookings, served, no-shows, cancelled, wait median, wait p90, service median, p90
EXPECTED = {
    (MON, "walk_in", "1"): Figures(4, 3, 1, 0, 60, 600, 200, 300),  # waits 30 60 120 600; services 100 200 300
    (MON, "walk_in", "2"): Figures(1, 1, 0, 0, 90, 90, 400, 400),
    (MON, "web", "4"): Figures(1, 1, 0, 0, 30, 30, 150, 150),
    (MON, "web", None): Figures(3, 0, 0, 2),
    (TUE, "walk_in", "1"): Figures(1, 0, 1, 0, 45, 45),
    (TUE, "web", "5"): Figures(1, 1, 0, 0, 300, 300, 600, 600),
}
# waits 30 30 45 60 90 120 300 600 (8: median the 4th, p90 the 8th); services 100 150 200 300 400 600
TOTAL = Figures(11, 6, 2, 2, 60, 600, 200, 600)


def fill(store: HubStore) -> None:
    with store.engine.begin() as conn:
        slots: dict[tuple[str, dt.date, str, str], int] = {}
        rows = []
        for i, (agency, day, service, channel, counter, status, wait, took) in enumerate(BOOKINGS, start=1):
            starts = dt.datetime.combine(day, dt.time(9), TIMEZONE).astimezone(dt.UTC)
            key = (agency, day, service, channel)
            if key not in slots:
                slots[key] = conn.execute(insert(QueueSlot).values(
                    agency=agency, service=service, day=day, channel=channel, starts_at=starts,
                    ends_at=starts + dt.timedelta(minutes=30), capacity=10, booked=0,
                    handed_over=0).returning(QueueSlot.id)).scalar_one()
            rows.append({"ref": f"ref-{i}", "slot_id": slots[key], "agency": agency, "service": service, "day": day,
                         "channel": channel, "starts_at": starts, "number": i, "queue_no": f"A{i:03d}",
                         "person_key": f"person-{i}", "name": f"ผู้จอง {i}", "language": "th", "status": status,
                         "active": status == "booked", "created_at": starts - dt.timedelta(days=3),
                         "counter": counter, "calls": 1 if counter else 0, "wait_seconds": wait,
                         "service_seconds": took})
        conn.execute(insert(QueueBooking), rows)


@pytest.fixture
def filled(store: HubStore) -> HubStore:
    fill(store)
    return store


def by_key(report: Any) -> dict[tuple[dt.date, str, str | None], Figures]:
    return {(r.day, r.channel, r.counter): r.figures for r in report.rows}


def test_figures_per_day_channel_and_counter_with_medians_and_90th_percentiles(filled: HubStore) -> None:
    report = queue_report(filled, [DBD], MON - dt.timedelta(days=1), TUE)
    assert by_key(report) == EXPECTED
    assert [(r.day, r.channel, r.counter) for r in report.rows] == list(EXPECTED)  # by day, channel, counter
    assert report.total == TOTAL
    days = dict(report.days)
    assert list(days) == [MON - dt.timedelta(days=1), MON, TUE]  # every day of the period, empty ones too
    assert days[MON - dt.timedelta(days=1)] == Figures()
    # Monday's waits 30 30 60 90 120 600: the median is the 3rd, the 90th percentile the 6th
    assert days[MON] == Figures(9, 5, 1, 2, 60, 600, 200, 400)
    assert days[TUE] == Figures(2, 1, 1, 0, 45, 300, 600, 600)


def test_the_service_and_channel_filters_and_the_period_narrow_the_figures(filled: HubStore) -> None:
    web = queue_report(filled, [DBD], MON, TUE, channel="web")
    assert set(by_key(web)) == {(MON, "web", "4"), (MON, "web", None), (TUE, "web", "5")}
    assert web.total == Figures(5, 2, 0, 2, 30, 300, 150, 600)
    cert = queue_report(filled, [DBD], MON, TUE, service="CERT")
    assert by_key(cert) == {(MON, "walk_in", "1"): Figures(1, 1, 0, 0, 600, 600, 100, 100),
                            (TUE, "web", "5"): EXPECTED[(TUE, "web", "5")]}
    assert queue_report(filled, [DBD], TUE, TUE).total == Figures(2, 1, 1, 0, 45, 300, 600, 600)
    both = queue_report(filled, [DBD, FOOD], MON, MON)
    assert {r.agency for r in both.rows} == {DBD, FOOD} and both.total.bookings == 10
    assert queue_report(filled, [], MON, TUE).rows == []
    with pytest.raises(ValueError, match="before it starts"):
        queue_report(filled, [DBD], TUE, MON)
    with pytest.raises(ValueError, match="longer than 366 days"):
        queue_report(filled, [DBD], MON - dt.timedelta(days=366), MON)


def test_whose_queues_each_reader_sees(registry: Registry) -> None:
    def sees(scope: AgencyScope) -> set[str]:
        return {code for code in ("MOC-DBD", "MOC-DBD-REG", "MOC-DBD-FBL", FOOD, "MOI-DOPA-BORA")
                if in_reach(scope, registry, code)}

    assert sees(AgencyScope.everything()) == {"MOC-DBD", "MOC-DBD-REG", "MOC-DBD-FBL", FOOD, "MOI-DOPA-BORA"}
    assert sees(AgencyScope("department", "MOC-DBD")) == {"MOC-DBD", "MOC-DBD-REG", "MOC-DBD-FBL"}
    # a division's officers staff their department's hall, and see only their own division below it
    assert sees(AgencyScope("division", "MOC-DBD-FBL")) == {"MOC-DBD", "MOC-DBD-FBL"}
    assert sees(AgencyScope("division", FOOD)) == {FOOD}
    assert not in_reach(AgencyScope.everything(), registry, "MOC")  # a ministry has no queue of its own


# --- the page and its downloads --------------------------------------------------------------------------

USERS = {
    "opdc": (Role.OPDC, None),
    "admin.moc-dbd": (Role.AGENCY_ADMIN, DBD),
    "officer.moc-dbd-fbl": (Role.OFFICER, "MOC-DBD-FBL"),
    "officer.moph-fda-food": (Role.OFFICER, FOOD),
}


@pytest.fixture
def web(filled: HubStore, store_url: str, registry: Registry, serve: Callable[[Any], str],
        monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DELAYHUB_TODAY", "2026-11-25")
    monkeypatch.setenv("DELAYHUB_WEB_SECRET", SECRET)
    add_users(filled, registry, USERS)
    return serve(create_app(store_url, registry=registry, secret=SECRET))


def cells(html: str, key: str) -> list[str]:
    row = re.search(rf'<tr data-key="{re.escape(key)}">(.*?)</tr>', html, re.S)
    assert row is not None, key
    return [c.strip() for c in re.findall(r'<td class="num">([^<]*)</td>', row.group(1))]


def test_an_agencys_officer_reads_the_report_and_another_agencys_gets_not_found(web: str) -> None:
    http = sign_in(web, "officer.moc-dbd-fbl")
    lateness = http.get(f"{web}/lateness", timeout=30)
    assert 'href="/queue-report"' in lateness.text  # linked where the lateness view is
    page = http.get(f"{web}/queue-report", timeout=30)
    assert page.status_code == 200 and "รายงานการให้บริการตามคิว" in page.text
    assert cells(page.text, "2026-11-23/MOC-DBD/walk_in/1") == ["4", "3", "1", "0", "1:00", "10:00", "3:20", "5:00"]
    assert cells(page.text, "2026-11-23/MOC-DBD/web/") == ["3", "0", "0", "2", "–", "–", "–", "–"]
    assert "(ยังไม่ถูกเรียก)" in page.text and "99:59" not in page.text  # the FDA's wait is not theirs
    assert page.text.count('<rect class="bar"') == 60  # two charts, a bar a day over the 30 days
    assert 'value="MOPH-FDA-FOOD"' not in page.text
    other = sign_in(web, "officer.moph-fda-food")
    for path in ("/queue-report", "/queue-report.csv", "/queue-report.xlsx"):
        asked = other.get(f"{web}{path}", params={"agency": DBD}, timeout=30)
        assert asked.status_code == 404 and "1:00" not in asked.text, path
    own = other.get(f"{web}/queue-report", timeout=30)
    assert cells(own.text, "2026-11-23/MOPH-FDA-FOOD/walk_in/1") == ["1", "1", "0", "0", "99:59", "99:59",
                                                                     "119:59", "119:59"]
    assert "MOC-DBD/" not in own.text


def test_the_opdc_sees_every_agency_and_filters_by_channel(web: str) -> None:
    http = sign_in(web, "opdc")
    page = http.get(f"{web}/queue-report", timeout=30)
    assert "2026-11-23/MOPH-FDA-FOOD/walk_in/1" in page.text and "2026-11-23/MOC-DBD/walk_in/1" in page.text
    assert "กรมพัฒนาธุรกิจการค้า" in page.text and "กองอาหาร" in page.text  # an agency column for many
    web_only = http.get(f"{web}/queue-report", params={"agency": DBD, "channel": "web"}, timeout=30)
    assert "/walk_in/" not in web_only.text and cells(web_only.text, "2026-11-24/MOC-DBD/web/5")[:2] == ["1", "1"]
    wrong = http.get(f"{web}/queue-report", params={"channel": "fax", "start": "31/2/2569"}, timeout=30)
    assert wrong.status_code == 400
    assert "กรุณาเลือกช่องทางจากรายการ" in wrong.text and 'href="#start"' in wrong.text
    english = http.get(f"{web}/queue-report", params={"agency": DBD, "lang": "en"}, timeout=30)
    assert "Queue service report" in english.text and "(not called)" in english.text


def test_csv_and_excel_downloads_parse_back_to_the_same_figures(web: str) -> None:
    http = sign_in(web, "admin.moc-dbd")
    query = {"start": "23/11/2569", "end": "24/11/2569"}
    response = http.get(f"{web}/queue-report.csv", params=query, timeout=30)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert 'filename="queue-' in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["วันที่", "รหัสหน่วยงาน", "หน่วยงาน", "ช่องทาง", "ช่องบริการ"]
    assert rows[0][9] == "เวลารอ (มัธยฐาน) (วินาที)"
    assert ["2026-11-23", DBD, "กรมพัฒนาธุรกิจการค้า", "เดินทางมาที่หน่วยงาน", "1",
            "4", "3", "1", "0", "60", "600", "200", "300"] in rows
    assert ["2026-11-23", DBD, "กรมพัฒนาธุรกิจการค้า", "เว็บไซต์", "(ยังไม่ถูกเรียก)",
            "3", "0", "0", "2", "", "", "", ""] in rows
    assert rows[-1] == ["รวมทั้งหมด", "", "", "", "", "11", "6", "2", "2", "60", "600", "200", "600"]
    assert not any(FOOD in r for r in rows)
    book = load_workbook(io.BytesIO(http.get(f"{web}/queue-report.xlsx", params=query, timeout=30).content))
    sheet = book["ตามวันและช่องบริการ"]
    values = [[c.value for c in r] for r in sheet.iter_rows(min_row=2)]
    assert values[-1][5:] == [11, 6, 2, 2, 60, 600, 200, 600]
    days = [[c.value for c in r] for r in book["รายวัน"].iter_rows(min_row=2)]
    assert [d[1:3] for d in days] == [[9, 5], [2, 1]]


def test_the_report_reads_along_an_index_on_postgresql(filled: HubStore, store_url: str) -> None:
    if not store_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's plan")
    from sqlalchemy import event

    seen: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "GROUPING SETS" in statement:
            seen.append((statement, parameters))

    event.listen(filled.engine, "before_cursor_execute", keep)
    try:
        assert queue_report(filled, [DBD], MON, TUE, channel="web").total.bookings == 5
    finally:
        event.remove(filled.engine, "before_cursor_execute", keep)
    assert len(seen) == 1  # the table, the days and the total in one statement
    with filled.engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")  # a tiny table: could an index serve the statement?
        plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + seen[0][0], seen[0][1]))
    assert re.search(r"Index (Only )?Scan using \w+ on queue_bookings", plan), plan


def test_a_reader_without_a_queue_is_told_so(web: str, store: HubStore, registry: Registry) -> None:
    add_users(store, registry, {"officer.moc-dip-tm": (Role.OFFICER, "MOC-DIP-TM", "x")})
    page = sign_in(web, "officer.moc-dip-tm").get(f"{web}/queue-report", timeout=30)
    assert page.status_code == 200 and "ยังไม่มีหน่วยงานในสิทธิ์ของท่านที่เปิดระบบจองคิว" in page.text
    assert "<table" not in page.text


def test_signed_out_the_report_asks_for_a_login(web: str) -> None:
    answer = requests.get(f"{web}/queue-report", timeout=30)
    assert answer.url.startswith(f"{web}/login?next=%2Fqueue-report")
