"""The survey's reports in a real browser: Debian's Chromium driven by Playwright against the app served by
uvicorn. An agency admin opens their report from the menu, filters it by channel, reads the figures, the chart
and the comments, downloads the CSV and switches to English; the OPDC opens the ranking from the menu and
follows an agency to its report. Screenshots are kept (the test's tmp folder, and var/screenshots/); axe-core
finds no serious or critical violation on either page, in Thai and in English, nor on a phone."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from browser import PHONE, axe_check, fits_the_screen, new_page, scrolls_sideways, shot, sign_in
from test_survey_report import RANKED, TODAY, VISITS, record

from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.web.accounts import Role, seed_demo_accounts
from delayhub.web.app import create_app


@pytest.fixture
def site(sqlite_store: HubStore, sqlite_url: str, registry: Registry, serve: Callable[[Any], str],
         monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DELAYHUB_TODAY", TODAY.isoformat())
    record(sqlite_store, VISITS + RANKED)
    seed_demo_accounts(sqlite_store, registry)
    return serve(create_app(sqlite_url, registry=registry))


def sign_in_at_login(page: Any, site: str, username: str, role: Role) -> None:
    """At the login page itself, which leads to the lateness view."""
    sign_in(page, site, username, role, "/login", lands_on="/lateness")
    page.get_by_role("heading", level=1, name="รายงานความล่าช้าในการพิจารณาอนุญาต").wait_for()


def test_an_agency_admin_reads_filters_and_downloads_their_report(browser: Any, site: str, tmp_path: Path) -> None:
    with new_page(browser) as page:
        sign_in_at_login(page, site, "admin.moc-dbd", Role.AGENCY_ADMIN)
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

        shot(page, tmp_path, "survey-report-th")

        page.get_by_role("link", name="English").click()
        page.get_by_role("heading", level=1, name="Citizen satisfaction").wait_for()
        assert "channel=walk_in" in page.url
        assert page.locator("#survey-summary .figure-answers dd").inner_text() == "4"
        assert page.get_by_role("columnheader", name="Satisfied (%)").first.is_visible()
        axe_check(page, "survey report (en)")
        shot(page, tmp_path, "survey-report-en")


def test_the_opdc_reads_the_ranking_and_follows_an_agency(browser: Any, site: str, tmp_path: Path) -> None:
    with new_page(browser) as page:
        sign_in_at_login(page, site, "opdc", Role.OPDC)
        page.get_by_role("navigation").get_by_role("link", name="ความพึงพอใจของผู้รับบริการ").click()
        page.get_by_role("heading", level=1, name="อันดับความพึงพอใจของหน่วยงาน").wait_for()
        table = page.locator("#ranking-table")
        codes = table.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.code)")
        assert codes == ["MOI-DOPA", "MOI-DPT", "MIND-DIW", "MOPH-FDA", "MOC-DBD", "MOC-DIP"]
        ranks = table.locator("tbody tr td:first-child").all_inner_texts()
        assert ranks == ["1", "1", "3", "–", "–", "–"]
        assert "น้อยเกินไป" in table.locator('tr[data-code="MOC-DBD"]').inner_text()
        axe_check(page, "survey ranking")
        shot(page, tmp_path, "survey-ranking-th")

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


def test_on_a_phone_both_pages_fit_and_their_tables_scroll(browser: Any, site: str, tmp_path: Path) -> None:
    with new_page(browser, **PHONE) as page:
        sign_in_at_login(page, site, "opdc", Role.OPDC)
        for path, name in (("/survey-report?agency=MOC-DBD", "survey-report-phone"),
                           ("/survey-ranking", "survey-ranking-phone")):
            page.goto(site + path)
            assert fits_the_screen(page), path
            region = page.locator("div.scroll[role=region]").first
            assert scrolls_sideways(region), path  # the wide table scrolls inside
            axe_check(page, name)
            shot(page, tmp_path, name)
