"""The officer's desk in a real browser: Debian's Chromium driven by Playwright against the app served
by uvicorn. An officer signs in, fills the form through the cascading selects, sees the processing
time and the due date appear (computed by the server), saves, issues the letter and reads the PDF's
text; another agency's officer cannot open it. axe-core checks every desk page; screenshots are kept
in the test's tmp folder and copied to var/screenshots/."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from browser import PHONE, axe_check, expect, fits_the_screen, new_page, shot, sign_in

from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.web.accounts import Role, seed_demo_accounts
from delayhub.web.app import create_app

TODAY = "2026-11-25"
NUMBER = "ทบ.2569/30001"


@pytest.fixture
def site(sqlite_store: HubStore, sqlite_url: str, registry: Registry, serve: Callable[[Any], str],
         monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DELAYHUB_TODAY", TODAY)
    seed_demo_accounts(sqlite_store, registry)
    return serve(create_app(sqlite_url, registry=registry))


def options(page: Any, select_id: str) -> list[str]:
    return page.locator(f"#{select_id} option").evaluate_all("os => os.map(o => o.value)")


def test_an_officer_enters_a_request_issues_the_letter_and_reads_it(
        browser: Any, site: str, tmp_path: Path) -> None:
    with new_page(browser) as page:
        sign_in(page, site, "officer.moc-dbd-reg", Role.OFFICER, "/desk/new")
        assert page.locator("html").get_attribute("lang") == "th"
        expect(page.get_by_role("heading", level=1)).to_have_text("บันทึกคำขอที่ล่าช้า")
        expect(page.get_by_text("ขั้นที่ 1 : กรอกข้อมูลคำขอที่ล่าช้า หรือ เลือกคำขอในระบบ")).to_be_visible()
        axe_check(page, "the empty form")

        # nothing chosen yet: the seed form's placeholders
        expect(page.locator("#processing-time")).to_have_text("ไม่พบข้อมูล")
        expect(page.locator("#due-on")).to_have_text("แสดงผลอัตโนมัติ")
        page.get_by_label("เลขที่คำขอ").fill(NUMBER)
        # กระทรวง → กรม → กอง: each list holds the children of the choice above it
        page.get_by_role("combobox", name="กระทรวง", exact=True).select_option("")
        assert options(page, "department") == [""] and options(page, "process_code") == [""]
        page.get_by_role("combobox", name="กระทรวง", exact=True).select_option("MOC")
        assert options(page, "department") == ["", "MOC-DBD"]
        page.get_by_role("combobox", name="กรม", exact=True).select_option("MOC-DBD")
        page.get_by_role("combobox", name="กอง", exact=True).select_option("MOC-DBD-REG")
        assert options(page, "process_code") == ["", "DBD-REG-01", "DBD-REG-02", "DBD-REG-03", "DBD-REG-04"]
        assert options(page, "manual_id") == [""]  # no process yet, no manual
        page.get_by_role("combobox", name="กระบวนการ", exact=True).select_option("DBD-REG-02")
        assert options(page, "manual_id") == ["", "MOC-DBD-002"]  # only that process's manual
        page.get_by_role("combobox", name="คู่มือ", exact=True).select_option("MOC-DBD-002")
        expect(page.locator("#processing-time")).to_have_text("3 วันทำการ")  # as soon as the manual is known
        expect(page.locator("#due-on")).to_have_text("แสดงผลอัตโนมัติ")
        page.get_by_label("วันที่ประชาชนยื่นคำขอ").fill("2/11/2569")
        expect(page.locator("#due-on")).to_have_text("5 พฤศจิกายน 2569")  # 3 working days, on the server

        page.get_by_label("ชื่อ-นามสกุลผู้ยื่นคำขอ").fill("นางสาวกนกพร ศรีสุข")
        page.get_by_label("อีเมล", exact=True).fill("kanokporn@example.co.th")
        page.get_by_label("โทรศัพท์มือถือ").fill("0891234567")
        page.get_by_label("ที่อยู่สำหรับส่งหนังสือทางไปรษณีย์").fill("99 ถนนนนทบุรี อำเภอเมือง จังหวัดนนทบุรี 11000")
        page.get_by_label("ผู้ยื่นคำขอยินยอมให้ติดต่อทางอีเมลและ SMS ตามข้อความข้างต้น").check()
        page.get_by_label("เหตุแห่งความล่าช้า").fill("อยู่ระหว่างรอผลตรวจสอบลายมือชื่อกรรมการ")
        shot(page, tmp_path, "desk-form")
        page.get_by_role("button", name="บันทึกคำขอ").click()

        expect(page.get_by_role("heading", level=1)).to_have_text(f"คำขอเลขที่ {NUMBER}")
        expect(page.get_by_role("status")).to_have_text("บันทึกคำขอแล้ว")
        expect(page.locator("#request-due")).to_have_text("5 พฤศจิกายน 2569")
        axe_check(page, "the request")

        page.get_by_role("button", name="ออกหนังสือแจ้ง").click()
        expect(page.get_by_role("status")).to_contain_text("ออกหนังสือแจ้งเหตุแห่งความล่าช้า ครั้งที่ 3 เรียบร้อยแล้ว")
        notices = page.locator("#notices-table")
        expect(notices).to_contain_text("สำเนา สำนักงาน ก.พ.ร.: รอส่ง")
        expect(notices).to_contain_text("อีเมล: รอส่ง")
        axe_check(page, "the request with its notice")
        shot(page, tmp_path, "desk-issued")

        with page.expect_download() as caught:
            page.get_by_role("link", name=re.compile("ดาวน์โหลด PDF")).click()
        pdf = Path(caught.value.path())
        text = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], check=True, capture_output=True,
                              text=True).stdout
        squeezed = re.sub(r"\s+", "", text)
        assert "ภายในวันที่๕พฤศจิกายน๒๕๖๙" in squeezed  # the due date, in Thai, in the letter itself
        assert "อยู่ระหว่างรอผลตรวจสอบลายมือชื่อกรรมการ" in squeezed
        assert "สำเนาส่งสำนักงานก.พ.ร." in squeezed

        page.get_by_role("link", name="คำขอของหน่วยงาน").click()
        expect(page.locator("#desk-table")).to_contain_text(NUMBER)
        expect(page.locator("#desk-table")).to_contain_text("นางสาวกนกพร ศ***")  # masked in the list
        assert "ศรีสุข" not in page.locator("#desk-table").inner_text()
        axe_check(page, "the list")
        shot(page, tmp_path, "desk-list")

        page.get_by_role("link", name="บันทึกคำขอที่ล่าช้า").click()  # search-as-you-type finds it again
        page.get_by_label("เลขที่คำขอ").press_sequentially("ทบ.2569/3")
        page.locator("#request_no-matches").get_by_role("link", name=NUMBER).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"คำขอเลขที่ {NUMBER}")

        page.get_by_role("link", name="แก้ไขข้อมูลคำขอ").click()
        expect(page.locator("#due-on")).to_have_text("5 พฤศจิกายน 2569")
        axe_check(page, "the edit form")
        page.get_by_role("link", name="คิวพิมพ์หนังสือ").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("คิวพิมพ์หนังสือเพื่อเสนอลงนามและจัดส่ง")
        axe_check(page, "the print queue")

        page.goto(f"{site}/desk/new")  # a form sent with mistakes: errors beside their fields, linked
        page.get_by_role("button", name="บันทึกคำขอ").click()
        expect(page).to_have_title(re.compile("^ข้อผิดพลาด: "))
        summary = page.locator(".error-summary")
        expect(summary.get_by_role("link", name="กรุณาระบุเลขที่คำขอ")).to_be_visible()
        expect(page.locator("#submitted_on-error")).to_contain_text("กรุณาระบุวันที่ประชาชนยื่นคำขอ")
        axe_check(page, "the form with errors")
        shot(page, tmp_path, "desk-errors")

        with new_page(browser) as other:
            for username in ("officer.moc-dbd-fbl", "officer.moph-fda-food"):
                sign_in(other, site, username, Role.OFFICER, "/desk")
                expect(other.locator("#desk-empty")).to_have_text("ไม่พบคำขอตามเงื่อนไขนี้")
                other.goto(page.url.replace("/desk/new", f"/desk/requests/{NUMBER}"))
                expect(other.get_by_role("heading", level=1)).to_have_text("ไม่พบหน้าที่ต้องการ")
                assert "กนกพร" not in other.content()
                other.get_by_role("button", name="ออกจากระบบ").click()


def test_on_a_phone_the_form_fits_and_the_english_switch_works(
        browser: Any, site: str, tmp_path: Path) -> None:
    with new_page(browser, **PHONE) as page:
        sign_in(page, site, "officer.moc-dbd-reg", Role.OFFICER, "/desk/new")
        assert fits_the_screen(page)
        shot(page, tmp_path, "desk-form-phone")
        page.get_by_role("link", name="English").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Enter a delayed request")
        assert page.locator("html").get_attribute("lang") == "en"
        page.get_by_role("combobox", name="Process", exact=True).select_option("DBD-REG-04")
        page.get_by_role("combobox", name="Citizen's manual", exact=True).select_option("MOC-DBD-004")
        page.get_by_label("Date the citizen submitted the request").fill("24/11/2026")
        expect(page.locator("#due-on")).to_have_text("1 December 2026")
        expect(page.locator("#processing-time")).to_have_text("5 working days")
        axe_check(page, "the English form on a phone")
        assert fits_the_screen(page)
        shot(page, tmp_path, "desk-form-phone-en")
