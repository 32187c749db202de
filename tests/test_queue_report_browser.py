"""The agency queue report in a real browser: Debian's Chromium driven by Playwright against the app served
by uvicorn. An agency admin opens it from the navigation, filters by channel, reads the table and the two
charts and downloads the CSV; on a phone the page fits and the table scrolls by itself. axe-core finds no
serious or critical violation, in Thai and in English; screenshots go to the test's tmp folder and
var/screenshots/."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import test_lateness_browser as shared
from test_queue_report import DBD, fill

from delayhub.intake import IntakeServer
from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.web.accounts import DEMO_PASSWORDS, Role, seed_demo_accounts
from delayhub.web.app import create_app

playwright_api = pytest.importorskip("playwright.sync_api")

browser = shared.browser  # the Chromium fixture of the lateness view's browser test
SECRET = "browser-report-secret-" + "r" * 40


@pytest.fixture
def site(sqlite_store: HubStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DELAYHUB_TODAY", "2026-11-25")
    monkeypatch.setenv("DELAYHUB_WEB_SECRET", SECRET)
    registry = Registry.load()
    fill(sqlite_store)
    seed_demo_accounts(sqlite_store, registry)
    server = IntakeServer(create_app(f"sqlite:///{tmp_path / 'hub.db'}", registry=registry)).start()
    yield server.url
    server.stop()


def sign_in(page: Any, site: str, username: str = "admin.moc-dbd", lang: str = "th") -> None:
    page.goto(f"{site}/lateness?lang={lang}")
    page.get_by_label("ชื่อผู้ใช้" if lang == "th" else "Username").fill(username)
    page.get_by_label("รหัสผ่าน" if lang == "th" else "Password").fill(DEMO_PASSWORDS[Role.AGENCY_ADMIN])
    page.get_by_role("button", name="เข้าสู่ระบบ" if lang == "th" else "Sign in").click()
    page.wait_for_url(re.compile(r"/lateness"))


def shot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"queue-report-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    shared.keep(path)


def test_an_agency_admin_reads_filters_and_downloads_the_queue_report(browser: Any, site: str,
                                                                      tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True, bypass_csp=True)
    page = context.new_page()
    try:
        sign_in(page, site)
        page.get_by_role("navigation").get_by_role("link", name="รายงานการให้บริการตามคิว").click()
        page.get_by_role("heading", level=1, name="รายงานการให้บริการตามคิว").wait_for()
        shared.axe_check(page, "the queue report")
        assert page.get_by_role("img", name="จำนวนผู้รับบริการรายวัน").is_visible()
        assert page.get_by_role("img", name="เวลารอมัธยฐานรายวัน (นาที)").is_visible()
        assert page.locator("svg.chart").first.bounding_box()["height"] > 100
        summary = dict(zip(page.locator(".summary dt").all_inner_texts(), page.locator(".summary dd").all_inner_texts(),
                           strict=True))
        assert summary["จองทั้งหมด"] == "11" and summary["เวลารอ (มัธยฐาน)"] == "1:00"
        row = page.locator(f'#queue-table tr[data-key="2026-11-23/{DBD}/walk_in/1"] td.num')
        assert row.all_inner_texts() == ["4", "3", "1", "0", "1:00", "10:00", "3:20", "5:00"]
        shot(page, tmp_path, "th")

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
        shared.axe_check(page, "the queue report in English")
        shot(page, tmp_path, "en")
    finally:
        context.close()


def test_on_a_phone_the_report_fits_and_a_wrong_date_is_named_accessibly(browser: Any, site: str,
                                                                          tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, bypass_csp=True)
    page = context.new_page()
    try:
        sign_in(page, site)
        page.goto(f"{site}/queue-report?start=1/11/2569&end=25/11/2569")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        region = page.get_by_role("region", name="คิวแยกตามวัน ช่องทาง และช่องบริการ")
        assert region.evaluate("el => el.scrollWidth > el.clientWidth")  # the wide table scrolls inside
        assert page.locator("svg.chart").first.bounding_box()["width"] <= 390
        shared.axe_check(page, "the queue report on a phone")
        shot(page, tmp_path, "phone")
        page.goto(f"{site}/queue-report?start=31/2/2569")
        page.get_by_role("alert").wait_for()
        assert page.get_by_label("ตั้งแต่วันที่").get_attribute("aria-invalid") == "true"
        shared.axe_check(page, "the queue report with an error")
    finally:
        context.close()
