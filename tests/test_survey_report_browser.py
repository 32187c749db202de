"""The survey's reports in a real browser: Debian's Chromium driven by Playwright against the app served by
uvicorn. An agency admin opens their report from the menu, filters it by channel, reads the figures, the chart
and the comments, downloads the CSV and switches to English; the OPDC opens the ranking from the menu and
follows an agency to its report. Screenshots are kept (the test's tmp folder, and var/screenshots/); axe-core
finds no serious or critical violation on either page, in Thai and in English, nor on a phone."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_lateness_browser import ARGS, CHROMIUM, axe_check, keep
from test_survey_report import RANKED, TODAY, VISITS, record

from delayhub.intake import IntakeServer
from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.web.accounts import DEMO_PASSWORDS, Role, seed_demo_accounts
from delayhub.web.app import create_app

playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def site(sqlite_store: HubStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DELAYHUB_TODAY", TODAY.isoformat())
    registry = Registry.load()
    record(sqlite_store, VISITS + RANKED)
    seed_demo_accounts(sqlite_store, registry)
    server = IntakeServer(create_app(f"sqlite:///{tmp_path / 'hub.db'}", registry=registry)).start()
    yield server.url
    server.stop()


def sign_in(page, site: str, username: str, role: Role) -> None:
    page.goto(f"{site}/login")
    page.get_by_label("ชื่อผู้ใช้").fill(username)
    page.get_by_label("รหัสผ่าน").fill(DEMO_PASSWORDS[role])
    page.get_by_role("button", name="เข้าสู่ระบบ").click()
    page.get_by_role("heading", level=1, name="รายงานความล่าช้าในการพิจารณาอนุญาต").wait_for()


def test_an_agency_admin_reads_filters_and_downloads_their_report(browser, site: str, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True, bypass_csp=True)
    page = context.new_page()
    try:
        sign_in(page, site, "admin.moc-dbd", Role.AGENCY_ADMIN)
        page.get_by_role("navigation").get_by_role("link", name="ความพึงพอใจของผู้รับบริการ").click()
        page.get_by_role("heading", level=1, name="ความพึงพอใจของผู้รับบริการ").wait_for()
        summary = page.locator("#survey-summary")
        assert summary.locator(".figure-satisfaction dd").inner_text().startswith("62.5")
        assert summary.locator(".figure-answers dd").inner_text() == "8"
        chart = page.get_by_role("img", name="ความพึงพอใจรายเดือน (ร้อยละที่ให้คะแนน 4–5)")
        assert chart.is_visible() and chart.locator("rect.bar").count() == 12
        assert page.locator("#comments li").first.inner_text().endswith("ล่าช้ามาก")
        axe_check(page, "survey report")

        page.get_by_label("ช่องทาง", exact=True).select_option("walk_in")
        page.get_by_role("button", name="แสดง").click()
        page.wait_for_url(re.compile(r"channel=walk_in"))
        assert summary.locator(".figure-answers dd").inner_text() == "4"
        assert page.locator("#channel-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.key)") == [
            "walk_in"]
        counters = page.locator("#counter-table tbody th").all_inner_texts()
        assert counters == ["ช่อง 1", "ช่อง 2", "ช่อง 3"]

        with page.expect_download() as caught:
            page.get_by_role("link", name="CSV").click()
        rows = list(csv.reader(io.StringIO(Path(caught.value.path()).read_text(encoding="utf-8-sig"))))
        assert rows[-1][:5] == ["รวมทั้งหมด", "", "", "4", "50.0"]

        thai = tmp_path / "survey-report-th.png"
        page.screenshot(path=str(thai), full_page=True)
        keep(thai)

        page.get_by_role("link", name="English").click()
        page.get_by_role("heading", level=1, name="Citizen satisfaction").wait_for()
        assert "channel=walk_in" in page.url
        assert page.locator("#survey-summary .figure-answers dd").inner_text() == "4"
        assert page.get_by_role("columnheader", name="Satisfied (%)").first.is_visible()
        axe_check(page, "survey report (en)")
        english = tmp_path / "survey-report-en.png"
        page.screenshot(path=str(english), full_page=True)
        keep(english)
    finally:
        context.close()


def test_the_opdc_reads_the_ranking_and_follows_an_agency(browser, site: str, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    try:
        sign_in(page, site, "opdc", Role.OPDC)
        page.get_by_role("navigation").get_by_role("link", name="ความพึงพอใจของผู้รับบริการ").click()
        page.get_by_role("heading", level=1, name="อันดับความพึงพอใจของหน่วยงาน").wait_for()
        table = page.locator("#ranking-table")
        codes = table.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.code)")
        assert codes == ["MOI-DOPA", "MOI-DPT", "MIND-DIW", "MOPH-FDA", "MOC-DBD", "MOC-DIP"]
        ranks = table.locator("tbody tr td:first-child").all_inner_texts()
        assert ranks == ["1", "1", "3", "–", "–", "–"]
        assert "น้อยเกินไป" in table.locator('tr[data-code="MOC-DBD"]').inner_text()
        axe_check(page, "survey ranking")
        shot = tmp_path / "survey-ranking-th.png"
        page.screenshot(path=str(shot), full_page=True)
        keep(shot)

        page.get_by_label("ระดับ", exact=True).select_option("unit")
        page.get_by_role("button", name="แสดง").click()
        page.wait_for_url(re.compile(r"level=unit"))
        assert table.locator("tbody tr").first.get_attribute("data-code") == "MOI-DOPA-BORA"

        page.get_by_role("link", name="สำนักบริหารการทะเบียน").click()
        page.get_by_role("heading", level=1, name="ความพึงพอใจของผู้รับบริการ").wait_for()
        assert "agency=MOI-DOPA-BORA" in page.url
        assert page.locator("#survey-summary .figure-answers dd").inner_text() == "40"
        assert page.locator("#survey-summary .figure-satisfaction dd").inner_text() == "90.0"

        page.goto(f"{site}/survey-ranking?lang=en")
        page.get_by_role("heading", level=1, name="Agencies ranked by satisfaction").wait_for()
        axe_check(page, "survey ranking (en)")
    finally:
        context.close()


def test_on_a_phone_both_pages_fit_and_their_tables_scroll(browser, site: str, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, bypass_csp=True)
    page = context.new_page()
    try:
        sign_in(page, site, "opdc", Role.OPDC)
        for path, name in (("/survey-report?agency=MOC-DBD", "survey-report-phone"),
                           ("/survey-ranking", "survey-ranking-phone")):
            page.goto(site + path)
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
            region = page.locator("div.scroll[role=region]").first
            assert region.evaluate("el => el.scrollWidth > el.clientWidth"), path  # the wide table scrolls inside
            axe_check(page, name)
            shot = tmp_path / f"{name}.png"
            page.screenshot(path=str(shot), full_page=True)
            keep(shot)
    finally:
        context.close()
