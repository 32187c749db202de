"""The citizen's tracking page and the tracking code on every notice, on SQLite and PostgreSQL.

Requests go the whole way (stored, swept, dispatched to a real SMTP server and SMS gateway on
127.0.0.1, letters rendered and archived), then a citizen looks them up over HTTP against the app
served by uvicorn, with each kind of second factor; two app instances share the store's limiter.
The letters are read back with pdftotext, and their QR code is checked module by module against
the tracking link (and decoded with zbarimg where it is installed)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import re
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest
import requests
import segno
from alembic import command
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import create_engine, func, inspect, select

from delayhub.calendar import ThaiCalendar
from delayhub.config import TIMEZONE, DispatchConfig, SmsConfig, SmtpConfig
from delayhub.dispatch import dispatch
from delayhub.dispatch.sms_providers import fit, segments
from delayhub.letters import LetterRenderer, build_context, load_settings
from delayhub.letters.qr import qr_svg, symbol
from delayhub.messages import NoticeContext, email_text, notice_from_payload, notice_payload, opdc_copy, sms_text
from delayhub.registry import Registry
from delayhub.sinks import SmsSink, SmtpSink
from delayhub.store import HubStore
from delayhub.store.migrate import alembic_config
from delayhub.store.models import Outbox, RateLimit, Request
from delayhub.sweep import sweep
from delayhub.tracking import (
    CLIENT_LIMITS,
    REQUEST_LIMITS,
    Limit,
    RedisLimiter,
    StoreLimiter,
    Tracker,
    display_code,
    normalise_code,
    parse_factor,
    tracking_code,
    tracking_link,
)
from delayhub.web.app import create_app
from delayhub.web.secret import web_secret

ROOT = Path(__file__).resolve().parents[1]
TODAY = dt.date(2026, 11, 25)
TRACK = "https://delayhub.go.th/track"
REASON = "อยู่ระหว่างตรวจสอบข้อเท็จจริงกับหน่วยงานที่เกี่ยวข้อง"
REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclasses.dataclass(frozen=True)
class Person:
    department: str
    request_no: str
    name: str
    phone: str
    email: str | None
    nid: str | None
    language: str = "th"

    @property
    def code(self) -> str:
        return tracking_code(self.department, self.request_no)


# Two agencies use one request number (numbers are unique only within an agency).
SOMCHAI = Person("MOC-DBD", "ทบ.2569/00001", "นายสมชาย ใจดี", "0812345678", "somchai@example.co.th", "1101700230708")
MALEE = Person("MOI-DOPA", "ทบ.2569/00001", "นางมาลี ศรีสุข", "0822221111", None, "3101700230704")
JOHN = Person("MOPH-FDA", "FDA-2569-0001", "Mr. John Smith", "0898765432", "john.smith@example.com", None, "en")
PEOPLE = (SOMCHAI, MALEE, JOHN)
UNITS = {"MOC-DBD": ("MOC", "MOC-DBD-REG", "DBD-REG-01", "MOC-DBD-001"),
         "MOI-DOPA": ("MOI", "MOI-DOPA-BORA", "DOPA-BORA-01", "MOI-DOPA-001"),
         "MOPH-FDA": ("MOPH", "MOPH-FDA-FOOD", "FDA-FOOD-02", "MOPH-FDA-002")}


def standard_request(p: Person) -> dict[str, Any]:
    ministry, division, process, manual = UNITS[p.department]
    applicant: dict[str, Any] = {"name": p.name, "phone": p.phone, "language": p.language,
                                 "channels": ["email", "sms"] if p.email else ["sms"]}
    if p.email:
        applicant["email"] = p.email
    if p.nid:
        applicant["national_id"] = p.nid
    return {"request_no": p.request_no, "agency": {"ministry": ministry, "department": p.department,
                                                   "division": division},
            "process_code": process, "manual_id": manual, "submitted_on": "2026-09-01", "status": "in_progress",
            "delay_reason": REASON, "applicant": applicant,
            "source": {"connector": "test", "record_id": f"{p.department}-1", "checksum": "ab" * 32,
                       "fetched_at": "2026-11-24T02:00:00+00:00"}}


def seed(store: HubStore, registry: Registry, smtp_port: int, sms_url: str,
         monkeypatch: pytest.MonkeyPatch) -> DispatchConfig:
    """Store the three requests, then sweep and dispatch on TODAY and a week later: two delay notices
    each, every one delivered, its letters rendered and archived. Leaves DELAYHUB_TODAY at TODAY."""
    cfg = DispatchConfig(smtp=SmtpConfig(port=smtp_port, timeout=5), sms=SmsConfig(url=sms_url, timeout=5),
                         tracking_url=TRACK)
    monkeypatch.setenv("DELAYHUB_TODAY", TODAY.isoformat())
    store.upsert_requests([standard_request(p) for p in PEOPLE])
    calendar = ThaiCalendar.load()
    for day in (TODAY, TODAY + dt.timedelta(days=7)):
        monkeypatch.setenv("DELAYHUB_TODAY", day.isoformat())
        sweep(store, registry, calendar, {}, cfg, day)
        stats = dispatch(store, cfg, registry=registry)
        assert stats["sent"] > 0 and stats["failed"] == stats["dead"] == 0, stats
    monkeypatch.setenv("DELAYHUB_TODAY", TODAY.isoformat())
    return cfg


@pytest.fixture
def seeded(store: HubStore, registry: Registry, smtp: SmtpSink, sms: SmsSink,
           monkeypatch: pytest.MonkeyPatch) -> HubStore:
    seed(store, registry, smtp.port, sms.url, monkeypatch)
    return store


@pytest.fixture
def two_apps(seeded: HubStore, store_url: str, registry: Registry, serve: Callable[[Any], str]) -> tuple[str, str]:
    """Two instances of the web app (two hosts behind one address) on one hub store."""
    return serve(create_app(store_url, registry=registry)), serve(create_app(store_url, registry=registry))


def request_id(store: HubStore, p: Person) -> int:
    with store.session() as s:
        return s.scalar(select(Request.id).where(Request.agency == p.department, Request.request_no == p.request_no))


def first_sequence(store: HubStore, p: Person) -> int:
    """The first delay notice's number: the hub met the request weeks after its due date, and its first
    notice is numbered for the weeks before too."""
    with store.session() as s:
        return s.scalar(select(func.min(Outbox.sequence)).where(Outbox.request_id == request_id(store, p)))


def form_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


class Citizen:
    """A browser-like visitor from one address (uvicorn takes it from X-Forwarded-For on 127.0.0.1)."""

    def __init__(self, base: str, address: str = "203.0.113.10") -> None:
        self.base, self.http = base, requests.Session()
        self.http.headers["X-Forwarded-For"] = address

    def look_up(self, number: str, factor: str) -> requests.Response:
        page = self.http.get(f"{self.base}/track", timeout=30)
        return self.http.post(f"{self.base}/track", data={"csrf_token": form_token(page.text), "no": number,
                                                           "factor": factor}, timeout=30)


def shown(response: requests.Response) -> str:
    """The page a person sees, less the form's per-session token."""
    return re.sub(r'name="csrf_token" value="[^"]+"', "", response.text)


# --- the code ------------------------------------------------------------------------------------------

def test_the_code_is_short_unambiguous_and_read_back_however_it_is_typed() -> None:
    code = SOMCHAI.code
    assert len(code) == 8 and not set(code) & set("015DILOQSZAEU")
    assert code == tracking_code("MOC-DBD", "ทบ.2569/00001")  # the same on every notice of the request
    assert code != MALEE.code  # the same number at another agency has its own
    shown_code = display_code(code)
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", shown_code)
    for typed in (shown_code, shown_code.lower(), f"  {code[:4]} {code[4:]} ", shown_code.replace("-", "–")):
        assert normalise_code(typed) == code
    assert parse_factor("๕๖๗๘") == parse_factor("5678")  # Thai digits from the printed letter
    assert parse_factor("1-1017-00230-70-8").kind == "nid"
    assert parse_factor("12345") is None and parse_factor("O0O0-O0O0") is None


# --- the look-up -----------------------------------------------------------------------------------------

def test_each_kind_of_second_factor_opens_its_request_and_only_it(seeded: HubStore, registry: Registry) -> None:
    tracker = Tracker(seeded, registry)
    somchai, malee = request_id(seeded, SOMCHAI), request_id(seeded, MALEE)
    right = {display_code(SOMCHAI.code): somchai, SOMCHAI.code.lower(): somchai, "5678": somchai,
             SOMCHAI.nid: somchai, MALEE.code: malee, "1111": malee, MALEE.nid: malee}
    for n, (factor, rid) in enumerate(right.items()):
        # the number as printed in the Thai letter (Thai digits) works as well as the back office's
        number = "ทบ.๒๕๖๙/๐๐๐๐๑" if n % 2 else SOMCHAI.request_no
        assert tracker.look_up(f"10.0.0.{n}", number, factor).request_ids == (rid,), factor
    wrong = ("ZZZZ-ZZZZ", display_code(JOHN.code), "5679", "1234567890121", "0708", "x", "")
    for n, factor in enumerate(wrong):
        assert tracker.look_up(f"10.0.1.{n}", SOMCHAI.request_no, factor).request_ids == (), factor
    # the right factor of another request does not open this number
    assert tracker.look_up("10.0.2.1", JOHN.request_no, SOMCHAI.code).request_ids == ()
    assert tracker.look_up("10.0.2.2", JOHN.request_no, "5432").request_ids == (request_id(seeded, JOHN),)


def test_the_details_show_status_due_date_lateness_and_every_notice_masked(seeded: HubStore,
                                                                           registry: Registry) -> None:
    tracker = Tracker(seeded, registry)
    found = tracker.details(request_id(seeded, SOMCHAI), TODAY)
    assert found.status == "in_progress" and found.department == "กรมพัฒนาธุรกิจการค้า"
    assert found.due_on == dt.date(2026, 9, 2) and found.days_late == (TODAY - dt.date(2026, 9, 2)).days
    assert found.applicant == {"name": "นายสมชาย ใ***", "phone": "08x-xxx-5678", "email": "s***@example.co.th",
                               "national_id": "x-xxxx-xxxxx-70-8"}
    k = first_sequence(seeded, SOMCHAI)
    assert k > 1 and [(n.kind, n.sequence, n.channel) for n in found.notices] == [
        ("delay", k, "email"), ("delay", k, "sms"), ("delay", k + 1, "email"), ("delay", k + 1, "sms")]
    with seeded.session() as s:  # the Bangkok day each went out (dispatch keeps the real clock)
        sent = {o.id: o.sent_at.astimezone(TIMEZONE).date() for o in s.scalars(select(Outbox))}
    assert [n.sent_on for n in found.notices] == [sent[n.outbox_id] for n in found.notices]
    assert [n.letters for n in found.notices] == [("th",), (), ("th",), ()]
    english = tracker.details(request_id(seeded, JOHN), TODAY)
    assert [n.letters for n in english.notices if n.channel == "email"] == [("th", "en"), ("th", "en")]


# --- over HTTP ---------------------------------------------------------------------------------------------

def test_a_citizen_with_the_right_factor_sees_the_masked_result_and_opens_the_letters(
        two_apps: tuple[str, str], seeded: HubStore, tmp_path: Path) -> None:
    base = two_apps[0]
    for factor in (display_code(SOMCHAI.code), "5678", SOMCHAI.nid):
        page = Citizen(base).look_up(SOMCHAI.request_no, factor)
        assert page.status_code == 200 and "/track/view/" in page.url, factor
        text = page.text
        assert "สถานะคำขอเลขที่ ทบ.2569/00001" in text and "อยู่ระหว่างพิจารณา" in text
        assert "2 กันยายน 2569" in text and f"ล่าช้ากว่ากำหนด {(TODAY - dt.date(2026, 9, 2)).days} วัน" in text
        k = first_sequence(seeded, SOMCHAI)
        assert f"แจ้งเหตุแห่งความล่าช้า ครั้งที่ {k}" in text and f"แจ้งเหตุแห่งความล่าช้า ครั้งที่ {k + 1}" in text
        for masked in ("นายสมชาย ใ***", "08x-xxx-5678", "s***@example.co.th", "x-xxxx-xxxxx-70-8"):
            assert masked in text
        for clear in ("ใจดี", "0812345678", "somchai@", SOMCHAI.nid, "1-1017"):
            assert clear not in text
        assert "กรมการปกครอง" not in text  # the other agency's request with the same number stays shut

    links = re.findall(r'href="(/track/letters/[^"]+)"', text)
    assert len(links) == 2  # one letter per delay notice (the SMS carries none)
    letter = requests.get(base + links[0].replace("&amp;", "&"), timeout=30)
    assert letter.status_code == 200 and letter.headers["content-type"] == "application/pdf"
    assert letter.content.startswith(b"%PDF-") and "no-store" in letter.headers["cache-control"]
    assert re.search(r'filename="MOC-DBD-2569-\d{5}\.pdf"', letter.headers["content-disposition"])
    words = pdftotext(letter.content, tmp_path)
    assert display_code(SOMCHAI.code) in words and "ทบ.๒๕๖๙/๐๐๐๐๑" in words

    # the same link works on the other app instance (the same secret), a changed one nowhere
    assert requests.get(two_apps[1] + links[0], timeout=30).content == letter.content
    bad = links[0][:-3] + ("AAA" if not links[0].endswith("AAA") else "BBB")
    refused = requests.get(base + bad, timeout=30)
    assert refused.status_code == 404 and "ลิงก์หมดอายุ" in refused.text and b"%PDF" not in refused.content


def test_the_english_reader_gets_the_page_in_english_with_the_translation(two_apps: tuple[str, str],
                                                                         seeded: HubStore) -> None:
    citizen = Citizen(two_apps[0])
    page = citizen.look_up(JOHN.request_no, "5432")
    english = citizen.http.get(page.url + "?lang=en", timeout=30)
    assert '<html lang="en">' in english.text and "Application FDA-2569-0001" in english.text
    k = first_sequence(seeded, JOHN)
    assert "Food and Drug Administration" in english.text and f"Reason for delay, notice {k + 1}" in english.text
    assert english.text.count("English translation (PDF)") == 2
    assert "Mr. J***" in english.text and "Smith" not in english.text


def test_a_missing_request_and_a_wrong_factor_get_the_same_answer(two_apps: tuple[str, str]) -> None:
    base = two_apps[0]
    citizen = Citizen(base, "198.51.100.7")
    missing = "ทบ.2569/99999"
    answers = [
        (citizen.look_up(SOMCHAI.request_no, "5679"), SOMCHAI.request_no),  # wrong mobile digits
        (citizen.look_up(missing, "5679"), missing),
        (citizen.look_up(SOMCHAI.request_no, display_code(JOHN.code)), SOMCHAI.request_no),  # a real, other code
        (citizen.look_up(missing, display_code(JOHN.code)), missing),
        (citizen.look_up(SOMCHAI.request_no, "3609900123459"), SOMCHAI.request_no),  # a valid, other national ID
        (citizen.look_up(missing, "3609900123459"), missing),
    ]
    pages = {shown(r).replace(f'value="{number}"', 'value="…"') for r, number in answers}  # the number typed
    assert len(pages) == 1, "the page tells a missing request from a wrong factor"
    assert {r.status_code for r, _ in answers} == {404}
    assert {tuple(sorted(k.lower() for k in r.headers if k.lower() not in ("date", "set-cookie", "content-length")))
            for r, _ in answers} == {tuple(sorted(k.lower() for k in answers[0][0].headers
                                                  if k.lower() not in ("date", "set-cookie", "content-length")))}
    assert "ไม่พบคำขอที่ตรงกับข้อมูลที่ระบุ" in answers[0][0].text


def test_failures_are_limited_per_client_across_app_instances(two_apps: tuple[str, str], seeded: HubStore) -> None:
    limit = CLIENT_LIMITS[0].attempts
    first, second = Citizen(two_apps[0], "192.0.2.1"), Citizen(two_apps[1], "192.0.2.1")
    numbers = [f"ทบ.2569/{90000 + i}" for i in range(limit)]  # other numbers: only the client's limit counts
    for i, number in enumerate(numbers):
        assert (first if i % 2 else second).look_up(number, "1234").status_code == 404
    refused = first.look_up(SOMCHAI.request_no, display_code(SOMCHAI.code))  # even the right factor now
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert "ตรวจสอบไม่สำเร็จหลายครั้งเกินไป" in refused.text and "สถานะคำขอเลขที่" not in refused.text
    assert second.look_up(SOMCHAI.request_no, "5678").status_code == 429  # the other instance knows
    other = Citizen(two_apps[1], "192.0.2.2")  # another client is not held back
    assert "/track/view/" in other.look_up(SOMCHAI.request_no, "5678").url
    with seeded.session() as s:  # what the store keeps: hashed buckets, no address, no request number
        buckets = list(s.scalars(select(RateLimit.bucket)))
    assert buckets and not any("192.0.2" in b or "2569" in b for b in buckets)


def test_failures_are_limited_per_request_number_from_any_client(two_apps: tuple[str, str]) -> None:
    limit = REQUEST_LIMITS[0].attempts
    for i in range(limit):
        citizen = Citizen(two_apps[i % 2], f"192.0.2.{100 + i}")
        assert citizen.look_up(SOMCHAI.request_no, f"{1000 + i}").status_code == 404
    fresh = Citizen(two_apps[0], "192.0.2.200")
    assert fresh.look_up(SOMCHAI.request_no, "5678").status_code == 429  # the owner waits too: no guessing
    assert "/track/view/" in fresh.look_up(JOHN.request_no, "5432").url  # other numbers are not held back
    for i in range(limit):  # a number's letters in another case are the same number, and the same limit
        citizen = Citizen(two_apps[i % 2], f"192.0.2.{150 + i}")
        assert citizen.look_up(JOHN.request_no.lower() if i % 2 else JOHN.request_no, "1000").status_code == 404
    assert Citizen(two_apps[0], "192.0.2.201").look_up(JOHN.request_no.lower(), "5432").status_code == 429


def test_right_answers_do_not_use_up_the_limit(two_apps: tuple[str, str]) -> None:
    citizen = Citizen(two_apps[0], "192.0.2.50")
    for _ in range(CLIENT_LIMITS[0].attempts + 2):
        assert "/track/view/" in citizen.look_up(SOMCHAI.request_no, "5678").url


def test_the_qr_link_prefills_the_form_and_shows_the_result_at_once(two_apps: tuple[str, str]) -> None:
    base = two_apps[0]
    link = tracking_link(f"{base}/track", SOMCHAI.request_no, SOMCHAI.code)
    page = requests.get(link, headers={"X-Forwarded-For": "192.0.2.60"}, timeout=30)
    assert page.status_code == 200 and "/track/view/" in page.url and "อยู่ระหว่างพิจารณา" in page.text
    wrong = requests.get(tracking_link(f"{base}/track", SOMCHAI.request_no, JOHN.code),
                         headers={"X-Forwarded-For": "192.0.2.60"}, timeout=30)
    assert wrong.status_code == 404 and 'value="ทบ.2569/00001"' in wrong.text
    partial = requests.get(f"{base}/track?code={SOMCHAI.code}", timeout=30)  # no number: the form, filled in
    assert partial.status_code == 200 and f'value="{SOMCHAI.code}"' in partial.text
    # the QR's look-ups count against the same limits
    for _ in range(CLIENT_LIMITS[0].attempts):
        requests.get(tracking_link(f"{base}/track", f"X-{uuid.uuid4().hex[:6]}", SOMCHAI.code),
                     headers={"X-Forwarded-For": "192.0.2.61"}, timeout=30)
    assert requests.get(link, headers={"X-Forwarded-For": "192.0.2.61"}, timeout=30).status_code == 429


def test_a_result_link_expires_and_cannot_be_forged(two_apps: tuple[str, str], seeded: HubStore) -> None:
    base = two_apps[0]
    rid = request_id(seeded, SOMCHAI)

    class Earlier(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 16 * 60

    old = URLSafeTimedSerializer(web_secret(), signer=Earlier).dumps([rid], salt="delayhub.tracking.view")
    expired = requests.get(f"{base}/track/view/{old}", timeout=30)
    assert expired.status_code == 404 and "ลิงก์หมดอายุ" in expired.text and "ทบ.2569/00001" not in expired.text
    forged = URLSafeTimedSerializer("another secret " * 3).dumps([rid], salt="delayhub.tracking.view")
    assert requests.get(f"{base}/track/view/{forged}", timeout=30).status_code == 404
    letter = URLSafeTimedSerializer(web_secret()).dumps([rid, 1, "th"], salt="delayhub.tracking.view")
    assert requests.get(f"{base}/track/letters/{letter}", timeout=30).status_code == 404  # a view token is no letter


def test_the_form_says_what_is_wrong_with_what_was_typed_without_counting_it(two_apps: tuple[str, str]) -> None:
    citizen = Citizen(two_apps[0], "192.0.2.70")
    for factor, message in (("", "กรุณาระบุรหัสติดตามคำขอ"), ("12345", "หรือเลขประจำตัวประชาชน 13 หลัก"),
                            ("1101700230709", "เลขประจำตัวประชาชนไม่ถูกต้อง")):
        page = citizen.look_up(SOMCHAI.request_no, factor)
        assert page.status_code == 400 and message in page.text and 'aria-invalid="true"' in page.text
    assert citizen.look_up(" ", "5678").status_code == 400
    for _ in range(CLIENT_LIMITS[0].attempts + 1):
        citizen.look_up(SOMCHAI.request_no, "12")
    assert "/track/view/" in citizen.look_up(SOMCHAI.request_no, "5678").url  # none of those counted


def test_the_form_needs_its_csrf_token(two_apps: tuple[str, str]) -> None:
    refused = requests.post(f"{two_apps[0]}/track", data={"no": SOMCHAI.request_no, "factor": "5678"}, timeout=30)
    assert refused.status_code == 403 and "/track/view/" not in refused.url


# --- the limiter itself -----------------------------------------------------------------------------------

def hammer(limiters: list[Any], key: str, limit: Limit, threads: int = 8, each: int = 10) -> list[bool]:
    """Attempts from many threads on several limiters at once; what each was told."""
    told: list[bool] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        for _ in range(each):
            allowed = limiters[n % len(limiters)].hit([(limit, key)]).allowed
            with lock:
                told.append(allowed)

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return told


def test_the_store_limiter_counts_every_concurrent_attempt_once(store_url: str) -> None:
    stores = [HubStore.open(store_url), HubStore.open(store_url)]  # two processes' engines
    try:
        limit = Limit("test", 25, 3600)
        told = hammer([StoreLimiter(s) for s in stores], "somebody", limit)
        assert len(told) == 80 and told.count(True) == 25
        with stores[0].session() as s:
            assert s.scalar(select(RateLimit.hits)) == 80
    finally:
        for s in stores:
            s.close()


def test_the_sliding_window_lets_attempts_back_as_the_last_window_fades(sqlite_store: HubStore) -> None:
    limiter, limit = StoreLimiter(sqlite_store), Limit("slide", 4, 100)
    start = 1_000_000 * 100.0  # the start of a window
    assert all(limiter.hit([(limit, "k")], start + i).allowed for i in range(4))
    refused = limiter.hit([(limit, "k")], start + 50)
    assert not refused.allowed and refused.retry_after > 50  # 5 in this window: wait into the next
    assert not limiter.hit([(limit, "k")], start + 110).allowed  # 5 last window, weighing 90 %
    assert limiter.hit([(limit, "k")], start + 190).allowed  # 5 · 10 % + 2 (refused attempts count too)
    limiter.refund(limiter.hit([(limit, "k")], start + 195))  # a success is given back
    with sqlite_store.session() as s:
        assert s.scalar(select(RateLimit.hits)) == 2


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"Redis at {REDIS_URL} does not answer")
    return REDIS_URL


def test_with_redis_the_limit_holds_across_instances_too(redis_url: str) -> None:
    limit = Limit("test", 25, 3600)
    told = hammer([RedisLimiter(redis_url), RedisLimiter(redis_url)], f"somebody-{uuid.uuid4()}", limit)
    assert len(told) == 80 and told.count(True) == 25


def test_the_web_app_uses_redis_when_told_to(seeded: HubStore, store_url: str, registry: Registry, redis_url: str,
                                             serve: Callable[[Any], str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELAYHUB_REDIS_URL", redis_url)
    monkeypatch.setenv("DELAYHUB_PII_KEY", f"test-{uuid.uuid4()}")  # fresh buckets in a shared Redis
    servers = [serve(create_app(store_url, registry=registry)) for _ in range(2)]
    for i in range(CLIENT_LIMITS[0].attempts):
        assert Citizen(servers[i % 2], "192.0.2.90").look_up(f"R-{i}", "1234").status_code == 404
    assert Citizen(servers[0], "192.0.2.90").look_up("R-x", "1234").status_code == 429
    with seeded.session() as s:
        assert s.scalar(select(RateLimit.bucket)) is None  # counted in Redis, not in the store


# --- the notices: letter, email, SMS -----------------------------------------------------------------------

def pdftotext(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / f"{uuid.uuid4().hex}.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-raw", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def notice(**changes: Any) -> NoticeContext:
    base = NoticeContext(
        request_no=SOMCHAI.request_no, department="กรมพัฒนาธุรกิจการค้า", division="กองทะเบียนธุรกิจ",
        process_name="การจดทะเบียนจัดตั้งห้างหุ้นส่วนจำกัด", applicant_name=SOMCHAI.name,
        submitted_on=dt.date(2026, 9, 1), due_on=dt.date(2026, 9, 2), kind="delay", sequence=2, reason=REASON,
        status="in_progress", completed_on=None, late_days=0, contact_phone="๐ ๒๕๔๗ ๔๔๔๖", tracking_url=TRACK,
        tracking_code=SOMCHAI.code)
    return dataclasses.replace(base, **changes)


def page_image(pdf: bytes, tmp_path: Path, dpi: int) -> np.ndarray:
    """The letter's page as pdftoppm draws it, grey levels 0 (black) to 255."""
    path = tmp_path / "qr.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-singlefile", str(path)], check=True,
                         capture_output=True).stdout
    header = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", out)
    width, height = int(header.group(1)), int(header.group(2))
    return np.frombuffer(out[header.end():], np.uint8).reshape(height, width)


def printed_qr(image: np.ndarray, size: int, dpi: int) -> np.ndarray:
    """The QR code printed in the letter's left column, read module by module (True = dark).

    The symbol is the one block there whose every pixel row has ink for as tall as it should be
    (2.3 cm less its 4 light modules each side), below at least 4 light modules: find its top,
    its left and right, then sample each module's centre."""
    column = image[:, : image.shape[1] // 2] < 128  # the signature, right of the middle, left out
    expected = 2.3 / 2.54 * dpi * size / (size + 8)
    module = expected / size
    inked = column.any(axis=1)
    tops = [y for y in range(int(4 * module), len(inked) - int(expected))
            if inked[y] and not inked[y - int(4 * module):y].any() and inked[y:y + int(expected * 0.98)].all()]
    assert len(tops) == 1, f"{len(tops)} candidates for the QR code"
    top = tops[0]
    cols = np.flatnonzero(column[top:top + int(expected * 0.98)].any(axis=0))
    left, right = cols[0], cols[-1] + 1
    assert abs((right - left) - expected) < 2 * module, "the block is not the symbol's size"
    step = (right - left) / size
    centres_y = (top + (np.arange(size) + 0.5) * step).astype(int)
    centres_x = (left + (np.arange(size) + 0.5) * step).astype(int)
    return image[np.ix_(centres_y, centres_x)] < 128


@pytest.mark.parametrize("language", ["th", "en"])
def test_every_letter_carries_the_tracking_code_and_a_qr_code_of_the_tracking_link(
        registry: Registry, tmp_path: Path, language: str) -> None:
    renderer = LetterRenderer()
    ctx = build_context(notice(), load_settings("MOC-DBD"), registry.agencies["MOC-DBD"], running_no=7,
                        letter_date=TODAY, language=language, division_code="MOC-DBD-REG")
    pdf = renderer.render("delay", ctx, language)  # type: ignore[arg-type]
    text = pdftotext(pdf, tmp_path)
    assert display_code(SOMCHAI.code) in text  # under the QR code, to type in
    assert ("รหัสติดตามคำขอ" if language == "th" else "Tracking code") in text
    (tmp_path / "letter.pdf").write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(tmp_path / "letter.pdf")], capture_output=True, text=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M), "the code and QR code must not push the letter onto a second page"

    link = tracking_link(TRACK, SOMCHAI.request_no, SOMCHAI.code)
    assert link == f"{TRACK}?no={quote(SOMCHAI.request_no, safe='')}&code={SOMCHAI.code}"
    expected = np.array(segno.make(link, error="m").matrix, dtype=bool)
    dpi = 300
    printed = printed_qr(page_image(pdf, tmp_path, dpi), expected.shape[0], dpi)
    assert (printed == expected).all(), f"{(printed != expected).sum()} modules differ from the tracking link's"

    if shutil.which("zbarimg") is None:
        pytest.skip("zbarimg (Debian zbar-tools) is not installed: the QR code was checked module by module "
                    "against the tracking link's, but not decoded by a reader")
    png = tmp_path / "page.png"
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(tmp_path / "qr.pdf"), str(tmp_path / "page")],
                   check=True)
    decoded = subprocess.run(["zbarimg", "--quiet", "--raw", str(png)], capture_output=True, text=True)
    assert decoded.stdout.strip() == link


def test_the_qr_code_is_the_one_segno_makes(tmp_path: Path) -> None:
    rng = random.Random(7)
    contents = [tracking_link(TRACK, rng.choice(["ทบ.2569/", "FDA-2569-", "690", "บ.ป.1/1001/2569/", "ข.1-"])
                              + str(rng.randrange(10**7)), tracking_code("X", str(i))) for i in range(150)]
    contents += ["x" * n for n in (1, 17, 60, 140, 300)]
    for content in contents:
        ours, theirs = symbol(content), segno.make(content, error="m", micro=False)
        assert (ours.mask, ours.matrix) == (theirs.mask, theirs.matrix), content
    svg = qr_svg(contents[0])
    assert svg.startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in svg and "<?xml" not in svg


def test_a_notice_pinned_before_tracking_codes_renders_as_before(registry: Registry, tmp_path: Path) -> None:
    payload = notice_payload(notice())
    del payload["tracking_code"]
    old = notice_from_payload(payload)
    assert old.tracking_code == ""
    ctx = build_context(old, load_settings("MOC-DBD"), registry.agencies["MOC-DBD"], running_no=7, letter_date=TODAY,
                        division_code="MOC-DBD-REG")
    text = pdftotext(LetterRenderer().render("delay", ctx), tmp_path)
    assert "รหัสติดตามคำขอ" not in text
    assert "Tracking" not in email_text(dataclasses.replace(old, language="en"))[1]
    assert "รหัส" not in sms_text(old)


def test_email_and_sms_carry_the_code_and_the_opdc_copy_does_not() -> None:
    ctx = notice()
    _subject, body = email_text(ctx)
    assert f"ติดตามสถานะคำขอได้ที่ {tracking_link(TRACK, ctx.request_no, ctx.tracking_code)}" in body
    assert f"รหัสติดตามคำขอ: {display_code(ctx.tracking_code)}" in body
    english = email_text(dataclasses.replace(ctx, language="en"))[1]
    assert f"Tracking code: {display_code(ctx.tracking_code)}" in english
    sms = sms_text(ctx)
    assert sms == (f"คำขอ ทบ.2569/00001 ล่าช้า (แจ้งครั้งที่ 2) ดูหนังสือที่ {TRACK} รหัส {display_code(ctx.tracking_code)}"
                   " — กรมพัฒนาธุรกิจการค้า")
    assert segments(sms) <= 2 and fit(sms) == sms
    copy = opdc_copy(ctx)[1]
    assert ctx.tracking_code not in copy and display_code(ctx.tracking_code) not in copy


def test_the_sweep_puts_the_requests_code_on_every_notice(seeded: HubStore) -> None:
    with seeded.session() as s:
        rows = list(s.scalars(select(Outbox).where(Outbox.request_id == request_id(seeded, SOMCHAI))))
    email = [r for r in rows if r.channel == "email"]
    assert {r.payload["tracking_code"] for r in email} == {SOMCHAI.code}
    assert all(display_code(SOMCHAI.code) in r.body for r in rows if r.channel in ("email", "sms"))
    assert not any(SOMCHAI.code in r.body or display_code(SOMCHAI.code) in r.body for r in rows if r.channel == "opdc")


# --- the schema --------------------------------------------------------------------------------------------

def test_migration_0009_adds_the_limiter_table_and_the_number_index_and_goes_back(store_url: str) -> None:
    command.upgrade(alembic_config(store_url), "0009")
    engine = create_engine(store_url)
    try:
        found = inspect(engine)
        assert "rate_limits" in found.get_table_names()
        assert "ix_requests_request_no" in {i["name"] for i in found.get_indexes("requests")}
        command.downgrade(alembic_config(store_url), "0008")
        found = inspect(engine)
        assert "rate_limits" not in found.get_table_names()
        assert "ix_requests_request_no" not in {i["name"] for i in found.get_indexes("requests")}
    finally:
        engine.dispose()
