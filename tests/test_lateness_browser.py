"""The lateness view in a real browser: Debian's Chromium driven by Playwright against the app
served by uvicorn. Sign in as the OPDC's demo account, filter by a department, read the table and
the chart, download the CSV, switch to English, and keep screenshots (the test's tmp folder, and
var/screenshots/ for people to look at). axe-core checks the login, lateness and password pages."""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_lateness_report import TODAY, fill_known

from delayhub.intake import IntakeServer
from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.web.accounts import DEMO_PASSWORDS, Role, seed_demo_accounts
from delayhub.web.app import create_app

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "var" / "screenshots"
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"


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
    fill_known(sqlite_store, registry)
    seed_demo_accounts(sqlite_store, registry)
    server = IntakeServer(create_app(f"sqlite:///{tmp_path / 'hub.db'}", registry=registry)).start()
    yield server.url
    server.stop()


def keep(path: Path) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SCREENSHOTS / path.name)


def sign_in_as_opdc(page, site: str) -> None:
    page.goto(f"{site}/lateness")
    page.get_by_label("ชื่อผู้ใช้").fill("opdc")
    page.get_by_label("รหัสผ่าน").fill(DEMO_PASSWORDS[Role.OPDC])
    page.get_by_role("button", name="เข้าสู่ระบบ").click()
    page.get_by_role("heading", level=1, name="รายงานความล่าช้าในการพิจารณาอนุญาต").wait_for()


def test_the_opdc_filters_by_a_department_reads_the_table_and_chart_and_switches_to_english(
        browser, site: str, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    try:
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

        thai = tmp_path / "lateness-th.png"
        page.screenshot(path=str(thai), full_page=True)
        keep(thai)

        page.get_by_role("link", name="English").click()
        page.get_by_role("heading", level=1, name="Lateness of licensing requests").wait_for()
        assert page.locator("html").get_attribute("lang") == "en"
        assert "agency=MOC-DBD" in page.url  # the same view, in English
        assert page.locator('#lateness-table tr[data-code="MOC-DBD"] td.num').all_inner_texts() == department
        assert page.get_by_role("columnheader", name="Overdue requests").first.is_visible()
        assert page.locator("svg.chart rect.bar").count() == 25

        english = tmp_path / "lateness-en.png"
        page.screenshot(path=str(english), full_page=True)
        keep(english)
        assert english.stat().st_size > 10_000
    finally:
        context.close()


def test_on_a_phone_the_page_fits_and_the_table_scrolls_by_itself(browser, site: str, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    try:
        sign_in_as_opdc(page, site)
        page.goto(f"{site}/lateness?start=1/11/2569&end=25/11/2569")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        region = page.get_by_role("region", name="คำขอและหนังสือแจ้งตามหน่วยงาน")
        assert region.evaluate("el => el.scrollWidth > el.clientWidth")  # the wide table scrolls inside
        assert page.locator("svg.chart").bounding_box()["width"] <= 390
        phone = tmp_path / "lateness-phone.png"
        page.screenshot(path=str(phone), full_page=True)
        keep(phone)
    finally:
        context.close()


def axe_check(page: Any, name: str) -> None:
    """No serious or critical accessibility violation on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in found
           if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{name}: {bad}"


@pytest.mark.parametrize("lang", ["th", "en"])
def test_the_login_lateness_and_password_pages_pass_axe(browser, site: str, lang: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # the page's CSP allows scripts from the site only: axe is injected from the test, so bypass it
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    try:
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

        page.goto(f"{site}/lateness?lang={lang}")
        page.get_by_label("ชื่อผู้ใช้" if lang == "th" else "Username").fill("opdc")
        page.get_by_label("รหัสผ่าน" if lang == "th" else "Password").fill(DEMO_PASSWORDS[Role.OPDC])
        page.get_by_role("button", name="เข้าสู่ระบบ" if lang == "th" else "Sign in").click()
        page.wait_for_url(re.compile(r"/lateness"))
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
    finally:
        context.close()
