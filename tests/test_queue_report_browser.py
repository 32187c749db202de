"""The agency queue report in a real browser: Debian's Chromium driven by Playwright against the app served
by uvicorn. An agency admin opens it from the navigation, filters by channel, reads the table and the two
charts and downloads the CSV; on a phone the page fits and the table scrolls by itself. axe-core finds no
serious or critical violation, in Thai and in English; screenshots go to the test's tmp folder and
var/screenshots/."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from browser import PHONE, axe_check, fits_the_screen, new_page, scrolls_sideways, shot, sign_in
from test_queue_report import DBD, fill

from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.web.accounts import Role, seed_demo_accounts
from delayhub.web.app import create_app

SECRET = "browser-report-secret-" + "r" * 40


@pytest.fixture
def site(sqlite_store: HubStore, sqlite_url: str, registry: Registry, serve: Callable[[Any], str],
         monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DELAYHUB_TODAY", "2026-11-25")
    monkeypatch.setenv("DELAYHUB_WEB_SECRET", SECRET)
    fill(sqlite_store)
    seed_demo_accounts(sqlite_store, registry)
    return serve(create_app(sqlite_url, registry=registry))


def test_an_agency_admin_reads_filters_and_downloads_the_queue_report(browser: Any, site: str,
                                                                      tmp_path: Path) -> None:
    with new_page(browser) as page:
        sign_in(page, site, "admin.moc-dbd", Role.AGENCY_ADMIN, lang="th")
        page.get_by_role("navigation").get_by_role("link", name="รายงานการให้บริการตามคิว").click()
        page.get_by_role("heading", level=1, name="รายงานการให้บริการตามคิว").wait_for()
        axe_check(page, "the queue report")
        assert page.get_by_role("img", name="จำนวนผู้รับบริการรายวัน").is_visible()
        assert page.get_by_role("img", name="เวลารอมัธยฐานรายวัน (นาที)").is_visible()
        assert page.locator("svg.chart").first.bounding_box()["height"] > 100
        summary = dict(zip(page.locator(".summary dt").all_inner_texts(), page.locator(".summary dd").all_inner_texts(),
                           strict=True))
        assert summary["จองทั้งหมด"] == "11" and summary["เวลารอ (มัธยฐาน)"] == "1:00"
        row = page.locator(f'#queue-table tr[data-key="2026-11-23/{DBD}/walk_in/1"] td.num')
        assert row.all_inner_texts() == ["4", "3", "1", "0", "1:00", "10:00", "3:20", "5:00"]
        shot(page, tmp_path, "queue-report-th")

        page.get_by_label("ช่องทาง", exact=True).select_option("web")
        page.get_by_label("ตั้งแต่วันที่").fill("23/11/2569")
        page.get_by_label("ถึงวันที่").fill("24/11/2569")
        page.get_by_role("button", name="แสดง").click()
        page.wait_for_url(re.compile(r"channel=web"))
        keys = page.locator("#queue-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.key)")
        assert keys == [f"2026-11-23/{DBD}/web/4", f"2026-11-23/{DBD}/web/", f"2026-11-24/{DBD}/web/5"]
        assert page.locator("svg.chart").first.locator("rect.bar").count() == 2
        with page.expect_download() as caught:
            page.get_by_role("link", name="CSV").click()
        rows = list(csv.reader(io.StringIO(Path(caught.value.path()).read_text(encoding="utf-8-sig"))))
        assert rows[-1][5:] == ["5", "2", "0", "2", "30", "300", "150", "600"]

        page.get_by_role("link", name="English").click()
        page.get_by_role("heading", level=1, name="Queue service report").wait_for()
        assert "channel=web" in page.url and page.locator("html").get_attribute("lang") == "en"
        axe_check(page, "the queue report in English")
        shot(page, tmp_path, "queue-report-en")


def test_on_a_phone_the_report_fits_and_a_wrong_date_is_named_accessibly(browser: Any, site: str,
                                                                          tmp_path: Path) -> None:
    with new_page(browser, **PHONE) as page:
        sign_in(page, site, "admin.moc-dbd", Role.AGENCY_ADMIN, lang="th")
        page.goto(f"{site}/queue-report?start=1/11/2569&end=25/11/2569")
        assert fits_the_screen(page)
        region = page.get_by_role("region", name="คิวแยกตามวัน ช่องทาง และช่องบริการ")
        assert scrolls_sideways(region)  # the wide table scrolls inside
        assert page.locator("svg.chart").first.bounding_box()["width"] <= 390
        axe_check(page, "the queue report on a phone")
        shot(page, tmp_path, "queue-report-phone")
        page.goto(f"{site}/queue-report?start=31/2/2569")
        page.get_by_role("alert").wait_for()
        assert page.get_by_label("ตั้งแต่วันที่").get_attribute("aria-invalid") == "true"
        axe_check(page, "the queue report with an error")
