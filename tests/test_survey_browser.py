"""The feedback survey in a real browser: Debian's Chromium driven by Playwright against the app served by
uvicorn. A walk-in ticks the consent box at the kiosk, is called and served at the counter (the counter's own
``served`` step), the dispatcher sends the invitation SMS to the local gateway stand-in, and the link from
that SMS is answered on a phone-sized screen, with a phone number in the comment that is stored masked. A
second tab opened before the answer then sends it again and is told "already answered"; an expired link and
a ticket's link before the visit get their Thai pages. The printed ticket carries the survey's QR code.
axe-core checks every page; screenshots go to the test's tmp folder and var/screenshots/."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from browser import PHONE, axe_check, expect, new_page, shot
from queue_setup import nid
from sqlalchemy import select

from delayhub.config import DispatchConfig, SmsConfig
from delayhub.dispatch.run import dispatch
from delayhub.pdpa import MASKED_PHONE
from delayhub.queueing.booking import Queue
from delayhub.queueing.counter import Counters
from delayhub.queueing.rules import kiosk_key
from delayhub.queueing.settings import load_all
from delayhub.registry import Registry
from delayhub.sinks import SmsSink
from delayhub.store import HubStore
from delayhub.store.models import QueueBooking, SurveyAnswer
from delayhub.survey import invite
from delayhub.web.app import create_app
from delayhub.web.queue_api import queue_key

SECRET = "browser-survey-secret-" + "c" * 40
NOW = "2026-11-25T09:40:00+07:00"  # a Wednesday morning


@pytest.fixture
def site(sqlite_store: HubStore, sqlite_url: str, registry: Registry, sms: SmsSink, serve: Callable[[Any], str],
         monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DELAYHUB_NOW", NOW)
    monkeypatch.setenv("DELAYHUB_WEB_SECRET", SECRET)
    monkeypatch.setenv("DELAYHUB_SMS_URL", sms.url)
    url = serve(create_app(sqlite_url, registry=registry))
    monkeypatch.setenv("DELAYHUB_PUBLIC_URL", url)  # the links the SMS carries lead to this server
    return url


def take_ticket(page: Any, site: str, n: int, *, phone: str = "", consent: bool = False) -> str:
    """A walk-in's ticket at the kiosk; returns its queue number."""
    page.goto(f"{site}/queue/kiosk/MOC-DBD?key={kiosk_key(queue_key(SECRET), 'MOC-DBD')}")
    page.get_by_role("heading", level=1, name="รับบัตรคิว").wait_for()
    page.get_by_label(re.compile("จดทะเบียนนิติบุคคล")).check()
    page.get_by_label("ชื่อ–นามสกุล").fill(f"นายมาเอง คนที่ {n}")
    page.get_by_label("เลขประจำตัวประชาชน").fill(nid(n))
    if phone:
        page.get_by_label(re.compile("หมายเลขโทรศัพท์มือถือ")).fill(phone)
    if consent:
        page.get_by_label("ยินยอมให้ส่ง SMS สอบถามความพึงพอใจหลังรับบริการ").check()
    page.get_by_role("button", name="รับบัตรคิว").click()
    page.get_by_role("heading", level=1, name="บัตรคิวของท่าน").wait_for()
    return page.locator("#queue-no").inner_text()


def test_a_served_walk_in_answers_the_survey_from_its_sms(browser: Any, site: str, sms: SmsSink,
                                                          sqlite_store: HubStore, registry: Registry,
                                                          tmp_path: Path) -> None:
    queue = Queue(sqlite_store, registry, load_all(registry), queue_key(SECRET))
    with new_page(browser, viewport={"width": 1080, "height": 1600}) as kiosk:
        kiosk.goto(f"{site}/queue/kiosk/MOC-DBD?key={kiosk_key(queue_key(SECRET), 'MOC-DBD')}")
        kiosk.get_by_role("heading", level=1, name="รับบัตรคิว").wait_for()
        axe_check(kiosk, "the kiosk with the consent box")
        assert take_ticket(kiosk, site, 1, phone="081-234-5678", consent=True) == "A001"
        pdf_link = kiosk.get_by_role("link", name="พิมพ์บัตรคิว (PDF)").get_attribute("href")
        pdf = kiosk.context.request.get(site + pdf_link)
        (tmp_path / "ticket.pdf").write_bytes(pdf.body())
        size = subprocess.run(["pdfinfo", str(tmp_path / "ticket.pdf")], capture_output=True, text=True,
                              check=True).stdout
        assert re.search(r"Page size:\s+226\.77\d* x", size), "still 80 mm wide"
        ticket = subprocess.run(["pdftotext", "-raw", str(tmp_path / "ticket.pdf"), "-"], capture_output=True,
                                text=True, check=True).stdout
        assert "A001" in ticket and "ประเมินความพึงพอใจ สแกนหลังรับบริการ" in ticket.splitlines()
        assert take_ticket(kiosk, site, 2) == "A002"  # no number, no consent: waits behind A001

    with sqlite_store.session() as s:
        first, second = s.scalars(select(QueueBooking).order_by(QueueBooking.id)).all()
    assert first.survey_consent is True and second.survey_consent is False

    with new_page(browser, **PHONE) as page:
        page.goto(invite.survey_link(invite.ticket_token(first.ref), site))  # the ticket's QR code, too early
        page.get_by_role("heading", level=1, name="โปรดตอบหลังรับบริการ").wait_for()
        axe_check(page, "the not-yet page")
        shot(page, tmp_path, "survey-not-yet")

        counters = Counters(queue)  # the officer at counter 1 calls A001 and marks the visit served
        assert counters.call_next("MOC-DBD", "1").queue_no == "A001"
        counters.served("MOC-DBD", "1", first.id)
        dispatch(sqlite_store, DispatchConfig(sms=SmsConfig(url=sms.url, timeout=5)), registry=registry)
        texts = [m for m in sms.received if "/survey/" in m["message"]]
        assert len(texts) == 1 and texts[0]["to"] in ("0812345678", "66812345678")
        assert texts[0]["message"].startswith("คิว A001 ขอบคุณที่ใช้บริการ โปรดประเมินความพึงพอใจ ")
        link = re.search(r"http://\S+/survey/\S+", texts[0]["message"]).group(0)

        page.goto(link)
        page.get_by_role("heading", level=1, name="แบบประเมินความพึงพอใจต่อการบริการ").wait_for()
        assert page.locator("html").get_attribute("lang") == "th"
        expect(page.locator("#survey-service")).to_have_text("จดทะเบียนนิติบุคคล")
        expect(page.locator("#survey-visit-on")).to_have_text("25 พฤศจิกายน 2569")
        second_tab = page.context.new_page()  # the same link open in another tab, to be sent after this one
        second_tab.goto(link)
        axe_check(page, "the survey")
        shot(page, tmp_path, "survey-form")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["viewport"]["width"], "nothing wider than the phone"

        page.get_by_role("button", name="ส่งแบบประเมิน").click()  # nothing chosen: the required one is named
        expect(page.get_by_role("alert")).to_contain_text("กรุณาตอบข้อ: ความพึงพอใจต่อการบริการโดยรวม")
        axe_check(page, "the survey with a mistake")
        overall = page.get_by_role("group", name=re.compile("^ความพึงพอใจต่อการบริการโดยรวม"))
        overall.get_by_label("4 มาก").check()
        page.get_by_role("group", name=re.compile("^ความรวดเร็วในการให้บริการ")).get_by_label("3 ปานกลาง").check()
        page.get_by_role("group", name=re.compile("^ความสุภาพ")).get_by_label("5 มากที่สุด").check()
        page.get_by_role("group", name=re.compile("^ท่านทราบเอกสาร")).get_by_label("ใช่", exact=True).check()
        page.get_by_label(re.compile("^ข้อเสนอแนะเพิ่มเติม")).fill("รอไม่นาน ถ้ามีปัญหาโทรหาดิฉันได้ที่ 081-234-5678 ค่ะ")
        shot(page, tmp_path, "survey-filled")
        page.get_by_role("button", name="ส่งแบบประเมิน").click()
        page.get_by_role("heading", level=1, name="ขอบคุณสำหรับความคิดเห็น").wait_for()
        axe_check(page, "the thanks")
        shot(page, tmp_path, "survey-thanks")

        second_tab.get_by_role("group", name=re.compile("^ความพึงพอใจต่อการบริการโดยรวม")).get_by_label(
            "1 น้อยที่สุด").check()
        second_tab.get_by_role("button", name="ส่งแบบประเมิน").click()
        second_tab.get_by_role("heading", level=1, name="ท่านตอบแบบประเมินนี้แล้ว").wait_for()
        axe_check(second_tab, "already answered")
        shot(second_tab, tmp_path, "survey-answered")

        with sqlite_store.session() as s:
            [answer] = s.scalars(select(SurveyAnswer)).all()
        assert (answer.overall, answer.speed, answer.courtesy, answer.clarity) == (4, 3, 5, None)
        assert answer.comment == f"รอไม่นาน ถ้ามีปัญหาโทรหาดิฉันได้ที่ {MASKED_PHONE} ค่ะ"
        assert answer.extra == {"documents_known": True, "online_ready": None, "improve_first": None}

        now = dt.datetime.fromisoformat(NOW).astimezone(dt.UTC)
        old = invite.Visit("queue_served", "old-visit", "MOC-DBD", "REG", "walk_in", "2", dt.date(2026, 11, 2), 600,
                           None, "th")
        token = invite.new_token()
        with sqlite_store.transaction() as s:
            invite.create(s, old, token, now - dt.timedelta(days=23), now - dt.timedelta(days=9))
        page.goto(invite.survey_link(token, site))
        page.get_by_role("heading", level=1, name="ลิงก์แบบประเมินหมดอายุแล้ว").wait_for()
        assert "Traceback" not in page.content()
        axe_check(page, "the expired link")
        shot(page, tmp_path, "survey-expired")
