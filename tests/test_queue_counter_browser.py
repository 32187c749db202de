"""The counter and the hall display in a real browser: Debian's Chromium driven by Playwright against the app
served by uvicorn. The hall display is open in one page (a wide screen, nobody signed in); an officer signs
in in another, opens counter 1 and calls the next number: the hall shows it, number → counter, without being
reloaded. Calling again, serving and calling the next one follow. axe-core checks both pages; screenshots go
to the test's tmp folder and var/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from browser import axe_check, expect, new_page, shot, sign_in
from queue_setup import nid

from delayhub.queueing.booking import Queue
from delayhub.queueing.rules import identify
from delayhub.queueing.settings import load_all
from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.web.accounts import Role, seed_demo_accounts
from delayhub.web.app import create_app
from delayhub.web.queue_api import queue_key

SECRET = "browser-counter-secret-" + "c" * 40
NOW = "2026-11-25T09:40:00+07:00"  # a Wednesday morning
HALL_SCREEN = {"width": 1920, "height": 1080}
LIVE = 15_000  # ms: generous for a call to reach the open hall display


@pytest.fixture
def site(sqlite_store: HubStore, sqlite_url: str, registry: Registry, serve: Callable[[Any], str],
         monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DELAYHUB_NOW", NOW)
    monkeypatch.setenv("DELAYHUB_WEB_SECRET", SECRET)
    monkeypatch.delenv("DELAYHUB_REDIS_URL", raising=False)
    seed_demo_accounts(sqlite_store, registry)
    queue = Queue(sqlite_store, registry, load_all(registry), queue_key(SECRET))
    for n, service in ((1, "REG"), (2, "CERT")):  # A001 and A002 took their tickets at the kiosk
        queue.book(queue.plan("walk_in", "MOC-DBD", service, identify(f"นายมาเอง คนที่{n}", nid(n), "")))
    return serve(create_app(sqlite_url, registry=registry))


def test_an_officer_calls_the_next_number_and_the_open_hall_display_shows_it(browser: Any, site: str,
                                                                             tmp_path: Path) -> None:
    with new_page(browser, viewport=HALL_SCREEN) as hall, new_page(browser) as desk:
        hall.goto(f"{site}/hall/MOC-DBD")
        hall.get_by_role("heading", level=1, name=re.compile("จอแสดงคิว")).wait_for()
        expect(hall.locator("#hall-none")).to_have_text("ยังไม่มีการเรียกคิววันนี้")
        axe_check(hall, "the empty hall")
        shot(hall, tmp_path, "counter-hall-empty")

        sign_in(desk, site, "officer.moc-dbd-reg", Role.OFFICER, "/counter")
        desk.get_by_role("heading", level=1, name="ช่องบริการและจอแสดงคิว").wait_for()
        axe_check(desk, "the counters")
        desk.get_by_role("link", name="ช่องบริการ 1", exact=True).click()
        desk.get_by_role("heading", level=1, name=re.compile("ช่องบริการ 1")).wait_for()
        expect(desk.locator("#waiting-count")).to_have_text("รอเรียก 2 คิว")
        axe_check(desk, "the counter")
        shot(desk, tmp_path, "counter-desk-empty")

        desk.get_by_role("button", name="เรียกคิวถัดไป").click()
        expect(desk.get_by_role("status")).to_have_text("เรียกคิว A001 มาที่ช่อง 1 แล้ว")
        expect(desk.locator("#current-no")).to_have_text("A001")
        expect(desk.locator("#current-calls")).to_have_text("1 จาก 3 ครั้ง")
        expect(desk.get_by_role("button", name="ไม่มาแสดงตัว")).to_be_disabled()  # not before 3 calls
        axe_check(desk, "the counter with a number called")
        shot(desk, tmp_path, "counter-desk-called")

        # the hall, never reloaded, shows the call: number → counter, in large type
        expect(hall.locator("#hall-now-no")).to_have_text("A001", timeout=LIVE)
        expect(hall.locator("#hall-now-counter")).to_have_text("1")
        expect(hall.locator("#hall-now-service")).to_have_text("จดทะเบียนนิติบุคคล")
        expect(hall.locator("#hall-list tr").first).to_contain_text("A001")
        size = hall.locator("#hall-now-no").evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
        assert size >= 100  # px on a 1920-wide screen: readable across the hall
        assert "นายมาเอง" not in hall.content()
        axe_check(hall, "the hall with a call")
        shot(hall, tmp_path, "counter-hall-called")

        desk.get_by_role("button", name="เรียกซ้ำ").click()
        expect(desk.locator("#current-calls")).to_have_text("2 จาก 3 ครั้ง")
        expect(hall.locator("#hall-now-service")).to_have_text("จดทะเบียนนิติบุคคล · เรียกซ้ำ", timeout=LIVE)
        desk.get_by_role("button", name="ให้บริการเสร็จแล้ว").click()
        expect(desk.get_by_role("status")).to_have_text("บันทึกว่าคิว A001 รับบริการเสร็จแล้ว")
        desk.get_by_role("button", name="เรียกคิวถัดไป").click()
        expect(desk.locator("#current-no")).to_have_text("A002")
        expect(hall.locator("#hall-now-no")).to_have_text("A002", timeout=LIVE)
        expect(hall.locator("#hall-now-service")).to_have_text("ขอหนังสือรับรองและสำเนาเอกสาร")
        expect(hall.locator("#hall-list tr")).to_have_count(3)  # A002, A001 again, A001
        shot(hall, tmp_path, "counter-hall-next")
