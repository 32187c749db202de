"""The central queue in a real browser: Debian's Chromium driven by Playwright against the app served by
uvicorn, the SMS going to the local gateway stand-in. A web booking from the agency list to the
confirmation (on a phone-sized screen, then in English), a mobile booking with the browser's position
inside the radius and a refusal outside it, and a walk-in's ticket at the kiosk printed as PDF and read
back with pdftotext. axe-core checks every page; screenshots go to the test's tmp folder and
var/screenshots/."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from browser import PHONE, axe_check, expect, new_page, shot
from queue_setup import nid

from delayhub.queueing.rules import kiosk_key
from delayhub.registry import Registry
from delayhub.sinks import SmsSink
from delayhub.store import HubStore
from delayhub.web.app import create_app
from delayhub.web.queue_api import queue_key

SECRET = "browser-queue-secret-" + "b" * 40
NEAR = {"latitude": 13.8600, "longitude": 100.5150}  # about 150 m from the Ministry of Commerce
FAR = {"latitude": 13.7563, "longitude": 100.5018}  # central Bangkok, 11.5 km away


@pytest.fixture
def site(sqlite_store: HubStore, sqlite_url: str, registry: Registry, sms: SmsSink, serve: Callable[[Any], str],
         monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DELAYHUB_NOW", "2026-11-25T09:40:00+07:00")  # a Wednesday morning
    monkeypatch.setenv("DELAYHUB_WEB_SECRET", SECRET)
    monkeypatch.setenv("DELAYHUB_SMS_URL", sms.url)
    return serve(create_app(sqlite_url, registry=registry))


def last_code(sms: SmsSink) -> str:
    return re.search(r"\d{6}", sms.received[-1]["message"]).group(0)


def confirm_code(page: Any, sms: SmsSink, tmp_path: Path, name: str) -> None:
    page.get_by_role("heading", level=1, name="ยืนยันหมายเลขโทรศัพท์").wait_for()
    expect(page.get_by_text("ส่งรหัส 6 หลักไปที่ 08x-xxx-")).to_be_visible()
    axe_check(page, "the code page")
    shot(page, tmp_path, f"queue-{name}-code")
    page.get_by_label("รหัสยืนยัน 6 หลัก").fill(last_code(sms))
    page.get_by_role("button", name="ยืนยันและจองคิว").click()


def test_a_web_booking_from_the_agency_to_its_confirmation(browser: Any, site: str, sms: SmsSink,
                                                           tmp_path: Path) -> None:
    with new_page(browser, **PHONE) as page:
        page.goto(f"{site}/queue")
        assert page.locator("html").get_attribute("lang") == "th"
        axe_check(page, "the agencies")
        shot(page, tmp_path, "queue-agencies")
        page.get_by_role("link", name="กรมพัฒนาธุรกิจการค้า").click()

        page.get_by_role("heading", level=1, name="กรมพัฒนาธุรกิจการค้า").wait_for()
        axe_check(page, "the agency")
        shot(page, tmp_path, "queue-agency")
        card = page.locator(".card", has_text="จดทะเบียนนิติบุคคล")
        card.get_by_role("link", name="จองล่วงหน้าผ่านเว็บไซต์").click()

        page.get_by_role("heading", level=1, name="จองล่วงหน้าผ่านเว็บไซต์").wait_for()
        axe_check(page, "the days")
        page.get_by_role("link", name=re.compile(r"26 พ\.ย\. 2569\s+ว่าง 56 คิว")).click()
        page.get_by_role("group", name=re.compile("เลือกช่วงเวลา")).wait_for()
        expect(page.get_by_label("09:00–09:30 น. (ว่าง 4)")).to_be_enabled()
        axe_check(page, "the slots and the form")
        page.get_by_label("09:00–09:30 น. (ว่าง 4)").check()
        page.get_by_label("ชื่อ–นามสกุล").fill("นายสมชาย ใจดี")
        page.get_by_label("เลขประจำตัวประชาชน").fill("3-1012-00456-78-9")
        page.get_by_label("หมายเลขโทรศัพท์มือถือ").fill("081-234-5678")
        shot(page, tmp_path, "queue-web-form")
        page.get_by_role("button", name="ถัดไป: ส่งรหัสยืนยันทาง SMS").click()

        confirm_code(page, sms, tmp_path, "web")

        page.get_by_role("heading", level=1, name="จองคิวเรียบร้อยแล้ว").wait_for()
        expect(page.locator("#queue-no")).to_have_text("W001")
        expect(page.locator("#queue-date")).to_have_text("26 พฤศจิกายน 2569")
        expect(page.locator("#queue-time")).to_have_text("09:00–09:30 น.")
        expect(page.locator("#queue-counter")).to_have_text("4, 5")
        expect(page.get_by_text("นายสมชาย ใ***")).to_be_visible()
        assert "3101200456789" not in page.content() and "ใจดี" not in page.content()
        axe_check(page, "the confirmation")
        shot(page, tmp_path, "queue-web-confirmed")

        page.get_by_role("link", name="English").click()
        page.get_by_role("heading", level=1, name="Your queue is booked").wait_for()
        expect(page.locator("#queue-no")).to_have_text("W001")
        expect(page.locator("#queue-date")).to_have_text("26 November 2026")
        axe_check(page, "the confirmation in English")
        shot(page, tmp_path, "queue-web-confirmed-en")


def test_a_mobile_booking_near_the_agency_and_a_refusal_far_from_it(browser: Any, site: str, sms: SmsSink,
                                                                   tmp_path: Path) -> None:
    with new_page(browser, **PHONE, geolocation=NEAR, permissions=["geolocation"]) as page:
        page.goto(f"{site}/queue/MOC-DBD/REG/mobile")
        page.get_by_role("heading", level=1, name="จองคิวขณะเดินทาง").wait_for()
        axe_check(page, "the mobile page")
        page.get_by_role("button", name="ใช้ตำแหน่งปัจจุบันของฉัน").click()
        expect(page.locator("#locate-status")).to_have_text("ได้ตำแหน่งแล้ว ห่างจากหน่วยงานประมาณ 0.1 กิโลเมตร")
        page.get_by_label("ชื่อ–นามสกุล").fill("นางสาวสมหญิง รักดี")
        page.get_by_label("เลขประจำตัวประชาชน").fill(nid(2))
        page.get_by_label("หมายเลขโทรศัพท์มือถือ").fill("0898765432")
        shot(page, tmp_path, "queue-mobile-form")
        page.get_by_role("button", name="ถัดไป: ส่งรหัสยืนยันทาง SMS").click()
        confirm_code(page, sms, tmp_path, "mobile")
        page.get_by_role("heading", level=1, name="จองคิวเรียบร้อยแล้ว").wait_for()
        expect(page.locator("#queue-no")).to_have_text("M001")
        expect(page.locator("#queue-date")).to_have_text("25 พฤศจิกายน 2569")
        expect(page.locator("#queue-time")).to_have_text("คิววันนี้ (09:30–10:00 น.)")
        expect(page.locator("#queue-counter")).to_have_text("6")
        axe_check(page, "the mobile confirmation")
        shot(page, tmp_path, "queue-mobile-confirmed")

    sent = len(sms.received)
    with new_page(browser, **PHONE, geolocation=FAR, permissions=["geolocation"]) as page:
        page.goto(f"{site}/queue/MOC-DBD/REG/mobile")
        page.get_by_label("ชื่อ–นามสกุล").fill("นายไกล บ้านไกล")
        page.get_by_label("เลขประจำตัวประชาชน").fill(nid(3))
        page.get_by_label("หมายเลขโทรศัพท์มือถือ").fill("0861112222")
        page.get_by_role("button", name="ถัดไป: ส่งรหัสยืนยันทาง SMS").click()  # asks for the position itself
        summary = page.get_by_role("alert")
        expect(summary).to_contain_text("ท่านอยู่ห่างจากหน่วยงาน 11.5 กิโลเมตร เกินระยะที่จองขณะเดินทางได้ (2.0 กิโลเมตร)")
        axe_check(page, "the refusal")
        shot(page, tmp_path, "queue-mobile-too-far")
        assert len(sms.received) == sent  # no code was sent


def test_a_walk_in_takes_a_ticket_at_the_kiosk_prints_it_and_leaves_a_number(browser: Any, site: str,
                                                                             tmp_path: Path) -> None:
    key = kiosk_key(queue_key(SECRET), "MOC-DBD")
    with new_page(browser, viewport={"width": 1080, "height": 1600}) as page:
        page.goto(f"{site}/queue/kiosk/MOC-DBD?key=wrong")
        expect(page.get_by_role("alert")).to_contain_text("ตู้บัตรคิวนี้ยังไม่ได้ลงทะเบียน")
        page.goto(f"{site}/queue/kiosk/MOC-DBD?key={key}")
        page.get_by_role("heading", level=1, name="รับบัตรคิว").wait_for()
        axe_check(page, "the kiosk")
        shot(page, tmp_path, "queue-kiosk")
        page.get_by_label(re.compile("ขอหนังสือรับรองและสำเนาเอกสาร")).check()
        page.get_by_label("ชื่อ–นามสกุล").fill("นายมาเอง ที่หน่วยงาน")
        page.get_by_label("เลขประจำตัวประชาชน").fill(nid(4))
        page.get_by_role("button", name="รับบัตรคิว").click()

        page.get_by_role("heading", level=1, name="บัตรคิวของท่าน").wait_for()
        expect(page.locator("#queue-no")).to_have_text("A001")
        expect(page.locator("#queue-counter")).to_have_text("1, 2, 3")
        qr = page.get_by_role("img", name=re.compile("^QR: "))
        expect(qr).to_be_visible()
        assert re.fullmatch(r"QR: http://127\.0\.0\.1:\d+/queue/b/[\w.-]+", qr.get_attribute("alt"))
        axe_check(page, "the ticket")
        shot(page, tmp_path, "queue-kiosk-ticket")
        link = page.get_by_role("link", name="พิมพ์บัตรคิว (PDF)")
        pdf = page.context.request.get(site + link.get_attribute("href"))
        assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
        (tmp_path / "ticket.pdf").write_bytes(pdf.body())
        size = subprocess.run(["pdfinfo", str(tmp_path / "ticket.pdf")], capture_output=True, text=True,
                              check=True).stdout
        assert re.search(r"Page size:\s+226\.77\d* x", size)  # 80 mm wide
        ticket = subprocess.run(["pdftotext", "-raw", str(tmp_path / "ticket.pdf"), "-"], capture_output=True,
                                text=True, check=True).stdout
        for line in ("A001", "ขอหนังสือรับรองและสำเนาเอกสาร", "ช่องบริการ 1, 2, 3", "วันที่ 25 พฤศจิกายน 2569",
                     "เวลา 09:30–10:00 น.", "สแกนเพื่อติดตามคิวและรับ SMS เมื่อใกล้ถึงคิว"):
            assert line in ticket.splitlines(), (line, ticket)

        follow = qr.get_attribute("alt").removeprefix("QR: ")
        page.goto(follow)  # what the QR code opens on the walk-in's phone
        page.get_by_role("heading", level=1, name="คิวของท่าน").wait_for()
        expect(page.locator("#queue-no")).to_have_text("A001")
        expect(page.locator("#queue-ahead")).to_have_text("0")
        page.get_by_label("หมายเลขโทรศัพท์มือถือ").fill("0812223333")
        page.get_by_role("button", name="บันทึกหมายเลขโทรศัพท์").click()
        expect(page.get_by_role("status")).to_have_text("บันทึกแล้ว จะส่ง SMS ไปที่ 08x-xxx-3333 เมื่อเหลืออีก 3 คิว")
        axe_check(page, "the follow page")
        shot(page, tmp_path, "queue-follow")

        page.goto(f"{site}/queue/kiosk/MOC-DBD?key={key}")  # someone who booked on the web checks in
        page.get_by_label("หมายเลขคิว").fill("W999")
        page.get_by_label("เลข 4 ตัวท้ายของโทรศัพท์ที่ใช้จอง").fill("1234")
        page.get_by_role("button", name="แจ้งว่ามาถึงแล้ว").click()
        expect(page.get_by_role("alert")).to_contain_text("ไม่พบคิวนี้")
        axe_check(page, "the kiosk with an error")
