"""The citizen's tracking page in a real browser: Debian's Chromium driven by Playwright against the app
served by uvicorn, on a phone-sized screen. A citizen tracks a request with the code printed on the
letter, opens a notice's PDF, reads the page in English; another types a wrong second factor and is
told so without learning whether the request exists. axe-core checks each page; screenshots are kept
in the test's tmp folder and copied to var/screenshots/."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from browser import PHONE, axe_check, fits_the_screen, new_page, shot
from test_tracking import SOMCHAI, first_sequence, seed

from delayhub.registry import Registry
from delayhub.sinks import SmsSink, SmtpSink
from delayhub.store import HubStore
from delayhub.tracking import display_code
from delayhub.web.app import create_app


@pytest.fixture
def site(sqlite_store: HubStore, sqlite_url: str, registry: Registry, tmp_path: Path, serve: Callable[[Any], str],
         monkeypatch: pytest.MonkeyPatch) -> tuple[str, int]:
    smtp, sms = SmtpSink(tmp_path / "mail").start(), SmsSink(tmp_path / "sms" / "gateway.log").start()
    try:  # dispatch runs its own event loop: not in this thread, where Playwright's runs
        with ThreadPoolExecutor(1) as pool:
            pool.submit(seed, sqlite_store, registry, smtp.port, sms.url, monkeypatch).result()
    finally:
        sms.stop()
        smtp.stop()
    return serve(create_app(sqlite_url, registry=registry)), first_sequence(sqlite_store, SOMCHAI)


def test_a_citizen_tracks_a_request_with_the_code_on_the_letter_and_opens_its_pdf(
        browser: Any, site: tuple[str, int], tmp_path: Path) -> None:
    base, k = site
    with new_page(browser, **PHONE) as page:
        page.goto(f"{base}/track")
        assert page.locator("html").get_attribute("lang") == "th"
        page.get_by_role("heading", level=1, name="ติดตามสถานะคำขอ").wait_for()
        assert fits_the_screen(page)
        axe_check(page, "the form")
        shot(page, tmp_path, "tracking-form")

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
        assert fits_the_screen(page)
        axe_check(page, "the result")
        shot(page, tmp_path, "tracking-result")

        # each link says which notice it is to a screen reader: "ดาวน์โหลด PDF: แจ้งเหตุแห่งความล่าช้า ครั้งที่ …"
        link = page.get_by_role("link", name=re.compile(rf"^ดาวน์โหลด PDF\s*: แจ้งเหตุแห่งความล่าช้า ครั้งที่ {k + 1}$"))
        with page.expect_response(re.compile(r"/track/letters/")) as caught:  # the browser opens it inline
            link.click()
        letter = caught.value
        assert letter.status == 200 and letter.headers["content-type"] == "application/pdf"
        assert re.fullmatch(r'inline; filename="MOC-DBD-2569-\d{5}\.pdf"', letter.headers["content-disposition"])
        assert "/track/letters/" in page.url  # showing it in Chromium's PDF viewer
        pdf = page.context.request.get(letter.url).body()  # the viewer takes the body: the same link, read again
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
        shot(page, tmp_path, "tracking-result-en")


def test_a_wrong_second_factor_is_refused_without_saying_whether_the_request_exists(
        browser: Any, site: tuple[str, int], tmp_path: Path) -> None:
    base, _k = site
    with new_page(browser, **PHONE) as page:
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
        assert fits_the_screen(page)
        axe_check(page, "the refusal")
        shot(page, tmp_path, "tracking-not-found")
