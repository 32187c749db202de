"""The counter and the hall display in a real browser: Debian's Chromium driven by Playwright against the app
served by uvicorn. The hall display is open in one page (a wide screen, nobody signed in); an officer signs
in in another, opens counter 1 and calls the next number: the hall shows it, number → counter, without being
reloaded. Calling again, serving and calling the next one follow. axe-core checks both pages; screenshots go
to the test's tmp folder and var/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import test_lateness_browser as shared

from delayhub.intake import IntakeServer
from delayhub.normalise import national_id_check_digit
from delayhub.queueing.booking import Queue
from delayhub.queueing.rules import identify
from delayhub.queueing.settings import load_all
from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.web.accounts import DEMO_PASSWORDS, Role, seed_demo_accounts
from delayhub.web.app import create_app
from delayhub.web.queue_api import queue_key

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

browser = shared.browser  # the Chromium fixture the lateness view's browser test starts
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
SECRET = "browser-counter-secret-" + "c" * 40
NOW = "2026-11-25T09:40:00+07:00"  # a Wednesday morning
HALL_SCREEN = {"width": 1920, "height": 1080}
LIVE = 15_000  # ms: generous for a call to reach the open hall display


def nid(n: int) -> str:
    first12 = f"5{n:011d}"
    return first12 + str(national_id_check_digit(first12))


@pytest.fixture
def site(sqlite_store: HubStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DELAYHUB_NOW", NOW)
    monkeypatch.setenv("DELAYHUB_WEB_SECRET", SECRET)
    monkeypatch.delenv("DELAYHUB_REDIS_URL", raising=False)
    registry = Registry.load()
    seed_demo_accounts(sqlite_store, registry)
    queue = Queue(sqlite_store, registry, load_all(registry), queue_key(SECRET))
    for n, service in ((1, "REG"), (2, "CERT")):  # A001 and A002 took their tickets at the kiosk
        queue.book(queue.plan("walk_in", "MOC-DBD", service, identify(f"นายมาเอง คนที่{n}", nid(n), "")))
    server = IntakeServer(create_app(f"sqlite:///{tmp_path / 'hub.db'}", registry=registry)).start()
    yield server.url
    server.stop()


def new_page(browser: Any, **options: Any) -> Any:
    # the pages allow scripts from the site only: axe is injected from the test, so bypass the CSP
    context = browser.new_context(bypass_csp=True, **options)
    return context, context.new_page()


def axe_check(page: Any, name: str) -> None:
    """No serious or critical accessibility violation on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in found
           if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{name}: {bad}"


def shot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"counter-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    shared.keep(path)


def test_an_officer_calls_the_next_number_and_the_open_hall_display_shows_it(browser: Any, site: str,
                                                                             tmp_path: Path) -> None:
    hall_context, hall = new_page(browser, viewport=HALL_SCREEN)
    desk_context, desk = new_page(browser, viewport={"width": 1280, "height": 900})
    try:
        hall.goto(f"{site}/hall/MOC-DBD")
        hall.get_by_role("heading", level=1, name=re.compile("จอแสดงคิว")).wait_for()
        expect(hall.locator("#hall-none")).to_have_text("ยังไม่มีการเรียกคิววันนี้")
        axe_check(hall, "the empty hall")
        shot(hall, tmp_path, "hall-empty")

        desk.goto(f"{site}/counter")
        desk.get_by_label("ชื่อผู้ใช้").fill("officer.moc-dbd-reg")
        desk.get_by_label("รหัสผ่าน").fill(DEMO_PASSWORDS[Role.OFFICER])
        desk.get_by_role("button", name="เข้าสู่ระบบ").click()
        desk.get_by_role("heading", level=1, name="ช่องบริการและจอแสดงคิว").wait_for()
        axe_check(desk, "the counters")
        desk.get_by_role("link", name="ช่องบริการ 1", exact=True).click()
        desk.get_by_role("heading", level=1, name=re.compile("ช่องบริการ 1")).wait_for()
        expect(desk.locator("#waiting-count")).to_have_text("รอเรียก 2 คิว")
        axe_check(desk, "the counter")
        shot(desk, tmp_path, "desk-empty")

        desk.get_by_role("button", name="เรียกคิวถัดไป").click()
        expect(desk.get_by_role("status")).to_have_text("เรียกคิว A001 มาที่ช่อง 1 แล้ว")
        expect(desk.locator("#current-no")).to_have_text("A001")
        expect(desk.locator("#current-calls")).to_have_text("1 จาก 3 ครั้ง")
        expect(desk.get_by_role("button", name="ไม่มาแสดงตัว")).to_be_disabled()  # not before 3 calls
        axe_check(desk, "the counter with a number called")
        shot(desk, tmp_path, "desk-called")

        # the hall, never reloaded, shows the call: number → counter, in large type
        expect(hall.locator("#hall-now-no")).to_have_text("A001", timeout=LIVE)
        expect(hall.locator("#hall-now-counter")).to_have_text("1")
        expect(hall.locator("#hall-now-service")).to_have_text("จดทะเบียนนิติบุคคล")
        expect(hall.locator("#hall-list tr").first).to_contain_text("A001")
        size = hall.locator("#hall-now-no").evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
        assert size >= 100  # px on a 1920-wide screen: readable across the hall
        assert "นายมาเอง" not in hall.content()
        axe_check(hall, "the hall with a call")
        shot(hall, tmp_path, "hall-called")

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
        shot(hall, tmp_path, "hall-next")
    finally:
        hall_context.close()
        desk_context.close()
