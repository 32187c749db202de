"""The citizen's tracking page in a real browser: Debian's Chromium driven by Playwright against the app
served by uvicorn, on a phone-sized screen. A citizen tracks a request with the code printed on the
letter, opens a notice's PDF, reads the page in English; another types a wrong second factor and is
told so without learning whether the request exists. axe-core checks each page; screenshots are kept
in the test's tmp folder and copied to var/screenshots/."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from test_lateness_browser import browser, keep  # noqa: F401  # the shared Chromium fixture
from test_tracking import SOMCHAI, first_sequence, seed

from delayhub.intake import IntakeServer
from delayhub.registry import Registry
from delayhub.sinks import SmsSink, SmtpSink
from delayhub.store import HubStore
from delayhub.tracking import display_code
from delayhub.web.app import create_app

playwright_api = pytest.importorskip("playwright.sync_api")

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


@pytest.fixture
def site(sqlite_store: HubStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, int]]:
    registry = Registry.load()
    smtp, sms = SmtpSink(tmp_path / "mail").start(), SmsSink(tmp_path / "sms" / "gateway.log").start()
    try:  # dispatch runs its own event loop: not in this thread, where Playwright's runs
        with ThreadPoolExecutor(1) as pool:
            pool.submit(seed, sqlite_store, registry, smtp.port, sms.url, monkeypatch).result()
    finally:
        sms.stop()
        smtp.stop()
    server = IntakeServer(create_app(f"sqlite:///{tmp_path / 'hub.db'}", registry=registry)).start()
    yield server.url, first_sequence(sqlite_store, SOMCHAI)
    server.stop()


def new_page(browser: Any) -> Any:  # noqa: F811
    # the page's CSP allows scripts from the site only: axe is injected from the test, so bypass it
    context = browser.new_context(bypass_csp=True, accept_downloads=True, **PHONE)
    return context, context.new_page()


def axe_check(page: Any, name: str) -> None:
    """No serious or critical accessibility violation on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in found
           if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{name}: {bad}"


def fits_the_phone(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def shot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"tracking-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    keep(path)


def test_a_citizen_tracks_a_request_with_the_code_on_the_letter_and_opens_its_pdf(
        browser: Any, site: tuple[str, int], tmp_path: Path) -> None:  # noqa: F811
    base, k = site
    context, page = new_page(browser)
    try:
        page.goto(f"{base}/track")
        assert page.locator("html").get_attribute("lang") == "th"
        page.get_by_role("heading", level=1, name="ติดตามสถานะคำขอ").wait_for()
        assert fits_the_phone(page)
        axe_check(page, "the form")
        shot(page, tmp_path, "form")

        page.get_by_label("เลขที่คำขอ").fill("ทบ.๒๕๖๙/๐๐๐๐๑")  # as printed in the letter, Thai digits
        page.get_by_label("รหัสติดตามคำขอ หรือข้อมูลยืนยันตัวตน").fill(display_code(SOMCHAI.code).lower())
        page.get_by_role("button", name="ตรวจสอบสถานะ").click()
        page.get_by_role("heading", level=1, name="สถานะคำขอเลขที่ ทบ.2569/00001").wait_for()
        assert "/track/view/" in page.url and display_code(SOMCHAI.code) not in page.url
        main = page.locator("main").inner_text()
        assert "อยู่ระหว่างพิจารณา" in main and "2 กันยายน 2569" in main and "ล่าช้ากว่ากำหนด" in main
        assert "นายสมชาย ใ***" in main and "08x-xxx-5678" in main and "ใจดี" not in page.content()
        notices = page.get_by_role("list", name="หนังสือแจ้งที่ส่งถึงท่าน").locator(":scope > li")
        assert notices.count() == 2
        first = notices.nth(0)
        assert first.get_by_role("heading").inner_text() == f"แจ้งเหตุแห่งความล่าช้า ครั้งที่ {k}"
        assert "ส่งทางอีเมล วันที่" in first.inner_text() and "ส่งทางข้อความ SMS วันที่" in first.inner_text()
        assert fits_the_phone(page)
        axe_check(page, "the result")
        shot(page, tmp_path, "result")

        # each link says which notice it is to a screen reader: "ดาวน์โหลด PDF: แจ้งเหตุแห่งความล่าช้า ครั้งที่ …"
        link = page.get_by_role("link", name=re.compile(rf"^ดาวน์โหลด PDF\s*: แจ้งเหตุแห่งความล่าช้า ครั้งที่ {k + 1}$"))
        with page.expect_response(re.compile(r"/track/letters/")) as caught:  # the browser opens it inline
            link.click()
        letter = caught.value
        assert letter.status == 200 and letter.headers["content-type"] == "application/pdf"
        assert re.fullmatch(r'inline; filename="MOC-DBD-2569-\d{5}\.pdf"', letter.headers["content-disposition"])
        assert "/track/letters/" in page.url  # showing it in Chromium's PDF viewer
        pdf = context.request.get(letter.url).body()  # the viewer takes the body: the same link, read again
        assert pdf.startswith(b"%PDF-")
        (tmp_path / "notice.pdf").write_bytes(pdf)
        page.go_back()
        text = subprocess.run(["pdftotext", str(tmp_path / "notice.pdf"), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert display_code(SOMCHAI.code) in text and "แจ้งเหตุแห่งความล่าช้าในการพิจารณาคำขอ" in text

        page.get_by_role("link", name="English").click()
        page.get_by_role("heading", level=1, name="Application ทบ.2569/00001").wait_for()
        assert page.locator("html").get_attribute("lang") == "en"
        assert "Department of Business Development" in page.locator("main").inner_text()
        axe_check(page, "the result in English")
        shot(page, tmp_path, "result-en")
    finally:
        context.close()


def test_a_wrong_second_factor_is_refused_without_saying_whether_the_request_exists(
        browser: Any, site: tuple[str, int], tmp_path: Path) -> None:  # noqa: F811
    base, _k = site
    context, page = new_page(browser)
    try:
        messages = []
        for number in (SOMCHAI.request_no, "ทบ.2569/99999"):  # a real one with a wrong factor, and a missing one
            page.goto(f"{base}/track")
            page.get_by_label("เลขที่คำขอ").fill(number)
            page.get_by_label("รหัสติดตามคำขอ หรือข้อมูลยืนยันตัวตน").fill("1234")
            page.get_by_role("button", name="ตรวจสอบสถานะ").click()
            alert = page.get_by_role("alert")
            alert.wait_for()
            messages.append(alert.inner_text())
            assert page.get_by_label("เลขที่คำขอ").input_value() == number  # kept to correct a typo
            assert page.get_by_label("รหัสติดตามคำขอ หรือข้อมูลยืนยันตัวตน").input_value() == ""
        assert messages[0] == messages[1] and "ไม่พบคำขอที่ตรงกับข้อมูลที่ระบุ" in messages[0]
        assert page.title().startswith("ข้อผิดพลาด: ")
        assert fits_the_phone(page)
        axe_check(page, "the refusal")
        shot(page, tmp_path, "not-found")
    finally:
        context.close()
