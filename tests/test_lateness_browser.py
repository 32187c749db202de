"""The lateness view in a real browser: Debian's Chromium driven by Playwright against the app
served by uvicorn. Sign in as the OPDC's demo account, filter by a department, read the table and
the chart, download the CSV, switch to English, and keep screenshots (the test's tmp folder, and
var/screenshots/ for people to look at). axe-core checks the login, lateness and password pages."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from browser import PHONE, axe_check, fits_the_screen, new_page, scrolls_sideways, shot, sign_in
from test_lateness_report import TODAY, fill_known

from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.web.accounts import Role, seed_demo_accounts
from delayhub.web.app import create_app


@pytest.fixture
def site(sqlite_store: HubStore, sqlite_url: str, registry: Registry, serve: Callable[[Any], str],
         monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DELAYHUB_TODAY", TODAY.isoformat())
    fill_known(sqlite_store, registry)
    seed_demo_accounts(sqlite_store, registry)
    return serve(create_app(sqlite_url, registry=registry))


def sign_in_as_opdc(page: Any, site: str) -> None:
    sign_in(page, site, "opdc", Role.OPDC)
    page.get_by_role("heading", level=1, name="รายงานความล่าช้าในการพิจารณาอนุญาต").wait_for()


def test_the_opdc_filters_by_a_department_reads_the_table_and_chart_and_switches_to_english(
        browser: Any, site: str, tmp_path: Path) -> None:
    with new_page(browser, keep_csp=True) as page:  # no axe here: the page as the site serves it
        sign_in_as_opdc(page, site)
        assert page.locator("html").get_attribute("lang") == "th"

        page.get_by_label("หน่วยงาน", exact=True).select_option("MOC-DBD")
        page.get_by_label("ตั้งแต่วันที่").fill("1/11/2569")
        page.get_by_label("ถึงวันที่").fill("25/11/2569")
        page.get_by_role("button", name="แสดง").click()
        page.wait_for_url(re.compile(r"agency=MOC-DBD"))

        table = page.locator("#lateness-table")
        assert table.is_visible()
        codes = table.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.code)")
        assert sorted(codes) == ["", "MOC-DBD", "MOC-DBD-FBL", "MOC-DBD-REG"]  # that department only
        department = table.locator('tr[data-code="MOC-DBD"] td.num').all_inner_texts()
        assert department == ["5", "3", "3", "1", "1"]
        assert table.locator("thead").inner_text().split("\t")[:3] == ["กระทรวง", "กรม", "กอง"]

        chart = page.locator("svg.chart")
        assert chart.is_visible() and chart.bounding_box()["height"] > 100
        assert chart.locator("rect.bar").count() == 25
        assert page.get_by_role("img", name="จำนวนคำขอที่เกินกำหนดรายวัน").is_visible()

        longest = page.locator("#longest-table")
        assert longest.locator("tbody th").all_inner_texts() == ["REQ-A1", "REQ-D1", "REQ-B1"]
        assert "นายสมชาย ใ***" in longest.inner_text() and "ใจดี" not in page.content()

        with page.expect_download() as caught:
            page.get_by_role("link", name="CSV").click()
        rows = list(csv.reader(io.StringIO(Path(caught.value.path()).read_text(encoding="utf-8-sig"))))
        assert [r[5:] for r in rows if r[1] == "MOC-DBD"] == [["5", "3", "3", "1", "1"]]

        shot(page, tmp_path, "lateness-th")

        page.get_by_role("link", name="English").click()
        page.get_by_role("heading", level=1, name="Lateness of licensing requests").wait_for()
        assert page.locator("html").get_attribute("lang") == "en"
        assert "agency=MOC-DBD" in page.url  # the same view, in English
        assert page.locator('#lateness-table tr[data-code="MOC-DBD"] td.num').all_inner_texts() == department
        assert page.get_by_role("columnheader", name="Overdue requests").first.is_visible()
        assert page.locator("svg.chart rect.bar").count() == 25

        assert shot(page, tmp_path, "lateness-en").stat().st_size > 10_000


def test_on_a_phone_the_page_fits_and_the_table_scrolls_by_itself(browser: Any, site: str, tmp_path: Path) -> None:
    with new_page(browser, keep_csp=True, **PHONE) as page:
        sign_in_as_opdc(page, site)
        page.goto(f"{site}/lateness?start=1/11/2569&end=25/11/2569")
        assert fits_the_screen(page)
        region = page.get_by_role("region", name="คำขอและหนังสือแจ้งตามหน่วยงาน")
        assert scrolls_sideways(region)  # the wide table scrolls inside
        assert page.locator("svg.chart").bounding_box()["width"] <= 390
        shot(page, tmp_path, "lateness-phone")


@pytest.mark.parametrize("lang", ["th", "en"])
def test_the_login_lateness_and_password_pages_pass_axe(browser: Any, site: str, lang: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    with new_page(browser) as page:
        page.goto(f"{site}/login?lang={lang}")
        axe_check(page, "login")
        page.get_by_label("ชื่อผู้ใช้" if lang == "th" else "Username").fill("opdc")
        page.get_by_role("button", name="เข้าสู่ระบบ" if lang == "th" else "Sign in").click()
        page.locator(".field-error").first.wait_for()
        axe_check(page, "login with errors")

        # with an OpenID Connect provider configured, the page offers it too (nothing is contacted)
        monkeypatch.setenv("DELAYHUB_OIDC_ISSUER", "https://idp.example.org/realms/delayhub")
        monkeypatch.setenv("DELAYHUB_OIDC_CLIENT_ID", "delayhub")
        monkeypatch.setenv("DELAYHUB_OIDC_CLIENT_SECRET", "not-used-by-this-test")
        page.goto(f"{site}/login?lang={lang}")
        oidc = "เข้าสู่ระบบด้วย OpenID Connect" if lang == "th" else "Sign in with OpenID Connect"
        assert page.get_by_role("link", name=oidc).is_visible()
        axe_check(page, "login with OpenID Connect")

        sign_in(page, site, "opdc", Role.OPDC, lang=lang)
        page.goto(f"{site}/lateness?start=1/11/2569&end=25/11/2569" if lang == "th" else
                  f"{site}/lateness?start=1/11/2026&end=25/11/2026")
        page.locator("svg.chart").wait_for()
        axe_check(page, "lateness")

        page.goto(f"{site}/account/password")
        page.get_by_role("heading", level=1).wait_for()
        axe_check(page, "password")
        page.locator("button[type=submit]").last.click()
        page.locator(".field-error").first.wait_for()
        axe_check(page, "password with errors")
