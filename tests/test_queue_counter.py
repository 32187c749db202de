"""The counters of the central queue on the real hub store (SQLite and PostgreSQL): who is called next (people
sent on first, bookers whose slot has started in slot order, then by number), calling again, marking an
absence only after the agency's number of calls, sending someone on to another counter, the measured
waiting and service times, officers at several counters pressing "call next" at once (threads), the SMS
("your turn, counter X", "N people ahead, about M minutes" once) in the outbox, and the counter page
over HTTP: signed in, scoped to the officer's agency, read-only for the OPDC, audited."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import Counter as Tally
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from queue_setup import DBD, KEY, Clock, at, nid, phone
from sqlalchemy import select
from test_web_accounts import add_users, form_token, sign_in

from delayhub.dispatch.sms_providers import segments
from delayhub.errors import ConfigError
from delayhub.queueing.booking import Queue
from delayhub.queueing.counter import Counters
from delayhub.queueing.rules import Refused, identify, phone_proof
from delayhub.queueing.settings import DEFAULT_NO_SHOW_CALLS, load_all, parse
from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.store.models import AuditLog, Outbox, QueueBooking, QueueHallCall
from delayhub.web.accounts import Role
from delayhub.web.app import create_app
from delayhub.web.queue_api import queue_key

ROOT = Path(__file__).resolve().parents[1]
SECRET = "counter-test-secret-" + "s" * 40


@pytest.fixture
def counters(queue: Queue) -> Counters:
    return Counters(queue)


def walk_in(queue: Queue, n: int, *, with_phone: bool = True, service: str = "REG", lang: str = "th") -> Any:
    booker = identify(f"ผู้มาเอง {n}", nid(n), phone(n) if with_phone else "")
    return queue.book(queue.plan("walk_in", DBD, service, booker, lang=lang))


def web(queue: Queue, n: int, start: str) -> Any:
    """A web booking of the 2026-11-25 slot starting at ``start``."""
    slot = next(s for s, _ in queue.slots(DBD, "REG", "web", dt.date(2026, 11, 25))
                if s.starts_at == at(start))
    booker = identify(f"ผู้จอง {n}", nid(n), phone(n))
    return queue.book(queue.plan("web", DBD, "REG", booker, slot_id=slot.id,
                                 proof=phone_proof(KEY, phone(n), queue.now().timestamp())))


def serve_through(counters: Counters, counter: str) -> list[str]:
    """Call and serve until nobody waits: the numbers in the order the counter called them."""
    order = []
    while True:
        try:
            called = counters.call_next(DBD, counter)
        except Refused as exc:
            assert exc.code == "nobody_waiting"
            return order
        order.append(called.queue_no)
        counters.served(DBD, counter, called.id)


def outbox(store: HubStore, kind: str) -> list[Outbox]:
    with store.session() as s:
        return list(s.scalars(select(Outbox).where(Outbox.kind == kind).order_by(Outbox.id)))


def booking(store: HubStore, booking_id: int) -> QueueBooking:
    with store.session() as s:
        return s.get(QueueBooking, booking_id)


def hall_rows(store: HubStore) -> list[QueueHallCall]:
    with store.session() as s:
        return list(s.scalars(select(QueueHallCall).order_by(QueueHallCall.id)))


# --- who comes next -------------------------------------------------------------------------------------------

def test_bookers_whose_slot_started_come_first_in_slot_order_then_by_number(
        queue: Queue, counters: Counters, clock: Clock) -> None:
    late = web(queue, 1, "10:30")  # W001: booked first, for later in the morning
    second = web(queue, 2, "09:30")  # W002
    first = web(queue, 3, "09:00")  # W003
    away = web(queue, 4, "09:00")  # W004 never comes to the kiosk
    first_walk_ins = [walk_in(queue, n).queue_no for n in (10, 11, 12)]
    clock.now = at("09:05")
    for b in (late, second, first):  # all three at the agency by 09:05, the 10:30 one early
        queue.check_in(DBD, b.queue_no, phone(int(b.name.split()[-1]))[-4:])
    assert [w.queue_no for w in counters.waiting(DBD, "4")] == ["W003", "W001", "W002"]  # 09:30 has not started

    clock.now = at("09:40")
    assert [w.queue_no for w in counters.waiting(DBD, "4")] == ["W003", "W002", "W001"]
    assert serve_through(counters, "4") == ["W003", "W002", "W001"]  # W004 did not check in: never called
    assert booking(queue.store, away.id).status == "booked"
    assert serve_through(counters, "1") == first_walk_ins == ["A001", "A002", "A003"]  # walk-ins by number


def test_a_counter_has_one_person_at_a_time_and_each_call_is_shown_in_the_hall(
        queue: Queue, counters: Counters, clock: Clock) -> None:
    for n in (1, 2):
        walk_in(queue, n)
    clock.now = at("09:00")
    with pytest.raises(Refused) as refused:
        counters.call_next(DBD, "7")
    assert refused.value.code == "no_counter" and refused.value.status == 404
    with pytest.raises(Refused) as refused:
        counters.call_next(DBD, "4")  # a web counter: walk-ins are not its people
    assert refused.value.code == "nobody_waiting"
    a001 = counters.call_next(DBD, "2")
    assert (a001.queue_no, a001.counter, a001.status, a001.calls) == ("A001", "2", "called", 1)
    with pytest.raises(Refused) as refused:
        counters.call_next(DBD, "2")
    assert refused.value.code == "counter_busy"
    assert counters.current(DBD, "2") == a001
    assert counters.call_next(DBD, "3").queue_no == "A002"  # another counter goes on
    assert [(h.queue_no, h.counter, h.kind) for h in hall_rows(queue.store)] == [("A001", "2", "call"),
                                                                                 ("A002", "3", "call")]
    # called people are no longer ahead of anyone, but still hold their one booking of the day
    assert queue.people_ahead(queue.find(walk_in(queue, 3).token)) == 0
    with pytest.raises(Refused) as refused:
        walk_in(queue, 1)
    assert refused.value.code == "already_booked"


def test_calling_again_and_marking_an_absence_only_after_the_agencys_number_of_calls(
        queue: Queue, counters: Counters, clock: Clock) -> None:
    assert counters.no_show_after(DBD) == 3
    a001 = walk_in(queue, 1)
    clock.now = at("09:00")
    called = counters.call_next(DBD, "1")
    with pytest.raises(Refused) as refused:
        counters.no_show(DBD, "1", called.id)
    assert refused.value.code == "too_few_calls" and refused.value.params == {"calls": 1, "needed": 3}
    clock.now = at("09:02")
    again = counters.recall(DBD, "1", called.id, calls=1)
    assert again.calls == 2 and again.called_at == at("09:02")
    with pytest.raises(Refused) as refused:  # the same form sent twice calls once
        counters.recall(DBD, "1", called.id, calls=1)
    assert refused.value.code == "changed"
    with pytest.raises(Refused) as refused:  # another counter cannot touch it
        counters.recall(DBD, "2", called.id)
    assert refused.value.code == "not_at_counter"
    counters.recall(DBD, "1", called.id, calls=2)
    gone = counters.no_show(DBD, "1", called.id)
    assert gone.status == "no_show"
    row = booking(queue.store, a001.id)
    assert (row.active, row.calls, row.ended_at, row.service_seconds) == (False, 3, at("09:02"), None)
    assert [h.kind for h in hall_rows(queue.store)] == ["call", "recall", "recall"]
    assert counters.current(DBD, "1") is None
    assert walk_in(queue, 1).queue_no == "A002"  # the absent person may take a new ticket the same day


def test_sending_someone_on_puts_them_first_at_the_other_counter(
        queue: Queue, counters: Counters, clock: Clock) -> None:
    a001 = walk_in(queue, 1)
    w001 = web(queue, 2, "09:00")
    clock.now = at("09:05")
    queue.check_in(DBD, w001.queue_no, phone(2)[-4:])
    called = counters.call_next(DBD, "1")
    with pytest.raises(Refused) as refused:
        counters.transfer(DBD, "1", called.id, "1")
    assert refused.value.code == "same_counter"
    with pytest.raises(Refused) as refused:
        counters.transfer(DBD, "1", called.id, "99")
    assert refused.value.code == "no_counter" and refused.value.field == "to"
    clock.now = at("09:10")
    sent = counters.transfer(DBD, "1", called.id, "4")
    assert (sent.status, sent.counter, sent.calls) == ("checked_in", "4", 0)
    assert counters.current(DBD, "1") is None
    assert [w.queue_no for w in counters.waiting(DBD, "4")] == ["A001", "W001"]  # before the web booker
    assert [w.queue_no for w in counters.waiting(DBD, "5")] == ["W001"]  # sent to counter 4, not to 5
    clock.now = at("09:20")
    there = counters.call_next(DBD, "4")
    assert (there.id, there.counter, there.calls) == (a001.id, "4", 1)
    clock.now = at("09:26")
    done = counters.served(DBD, "4", there.id)
    # waited from the ticket (08:00) to the first call (09:05); served from the last call, at counter 4
    assert (done.wait_seconds, done.service_seconds) == (65 * 60, 6 * 60)
    assert [(h.queue_no, h.counter) for h in hall_rows(queue.store)] == [("A001", "1"), ("A001", "4")]


def test_waiting_and_service_times_are_measured_from_the_right_moments(
        queue: Queue, counters: Counters, clock: Clock) -> None:
    early = web(queue, 1, "09:30")
    clock.now = at("09:10")
    queue.check_in(DBD, early.queue_no, phone(1)[-4:])  # 20 minutes early
    clock.now = at("09:45")
    called = counters.call_next(DBD, "5")
    assert called.wait_seconds == 15 * 60  # from the slot's start, not from the early check-in
    clock.now = at("09:52")
    with pytest.raises(Refused):
        counters.served(DBD, "4", called.id)
    done = counters.served(DBD, "5", called.id)
    assert done.status == "served" and done.service_seconds == 7 * 60
    row = booking(queue.store, early.id)
    assert (row.active, row.first_called_at, row.ended_at) == (False, at("09:45"), at("09:52"))
    est = counters.estimates(DBD, "5")["REG"]
    assert (est.seconds, est.samples) == (420.0, 1)
    assert counters.estimates(DBD, "4")["REG"].samples == 0  # nothing measured at counter 4 yet


# --- officers at once -------------------------------------------------------------------------------------------

def test_officers_pressing_call_next_at_once_never_get_the_same_person(
        queue: Queue, counters: Counters, clock: Clock) -> None:
    people = [walk_in(queue, n, with_phone=n % 2 == 0).id for n in range(1, 31)]
    clock.now = at("09:00")
    desks = ["1", "1", "2", "3", "2", "3"]  # two officers' screens on each counter
    start = threading.Barrier(len(desks))
    called: list[list[int]] = [[] for _ in desks]
    failures: list[BaseException] = []

    def officer(i: int) -> None:
        try:
            start.wait()
            while True:
                try:
                    got = counters.call_next(DBD, desks[i])
                except Refused as exc:
                    if exc.code == "nobody_waiting":
                        return
                    assert exc.code == "counter_busy"
                    continue
                called[i].append(got.id)
                counters.served(DBD, desks[i], got.id)
        except BaseException as exc:  # reported below, with the thread's traceback
            failures.append(exc)

    threads = [threading.Thread(target=officer, args=(i,)) for i in range(len(desks))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert not failures, failures
    everyone = [b for mine in called for b in mine]
    assert sorted(everyone) == sorted(people)  # each person called once, nobody left out
    assert sum(1 for mine in called if mine) >= 2  # the counters really did work side by side
    calls = Tally(h.booking_id for h in hall_rows(queue.store))
    assert set(calls.values()) == {1} and set(calls) == set(people)
    assert len(outbox(queue.store, "queue_called")) == 15  # one "your turn" per person with a phone
    with queue.store.session() as s:
        assert set(s.scalars(select(QueueBooking.status))) == {"served"}


# --- the messages -------------------------------------------------------------------------------------------------

def test_your_turn_and_people_ahead_go_once_through_the_outbox_with_measured_estimates(
        queue: Queue, counters: Counters, clock: Clock) -> None:
    people = [walk_in(queue, n, lang="en" if n == 6 else "th") for n in range(1, 8)]  # A001 … A007
    silent = walk_in(queue, 8, with_phone=False)  # A008: nobody to text
    clock.now = at("09:00")
    a001 = counters.call_next(DBD, "1")
    [turn] = outbox(queue.store, "queue_called")
    assert (turn.recipient, turn.body, turn.queue_booking_id) == (phone(1), "ถึงคิว A001 แล้ว เชิญที่ช่องบริการ 1", a001.id)
    assert turn.status == "queued" and turn.deadline_at == at("09:15")
    # nothing measured yet: the settings' plan, 30-minute slots with 8 walk-in places over 3 counters (675 s each)
    near = {m.recipient: m.body for m in outbox(queue.store, "queue_near")}
    assert near == {phone(3): "คิว A003 อีก 1 คิวจะถึงท่าน ประมาณ 4 นาที กรุณารอใกล้ช่องบริการ",
                    phone(4): "คิว A004 อีก 2 คิวจะถึงท่าน ประมาณ 8 นาที กรุณารอใกล้ช่องบริการ",
                    phone(5): "คิว A005 อีก 3 คิวจะถึงท่าน ประมาณ 12 นาที กรุณารอใกล้ช่องบริการ"}
    clock.now = at("09:06")
    counters.served(DBD, "1", a001.id)  # six minutes: the first measured service time
    counters.call_next(DBD, "2")  # A002 to counter 2: A006 now has 3 ahead
    clock.now = at("09:10")
    counters.served(DBD, "2", people[1].id)  # four minutes
    counters.call_next(DBD, "1")  # A003: A007 now has 3 ahead
    near = {m.recipient: m.body for m in outbox(queue.store, "queue_near")}
    assert len(near) == 5  # once each: A003 … A005 were not told again
    # A006 was told with one measurement (6 min for each of 3, shared by 3 counters), in English
    assert near[phone(6)] == ("Queue A006: 3 people ahead of you, about 6 min. Please wait near the counters.")
    assert near[phone(7)] == "คิว A007 อีก 3 คิวจะถึงท่าน ประมาณ 5 นาที กรุณารอใกล้ช่องบริการ"  # median 5 min
    turns = [m.body for m in outbox(queue.store, "queue_called")]
    assert turns == ["ถึงคิว A001 แล้ว เชิญที่ช่องบริการ 1", "ถึงคิว A002 แล้ว เชิญที่ช่องบริการ 2",
                     "ถึงคิว A003 แล้ว เชิญที่ช่องบริการ 1"]
    for m in outbox(queue.store, "queue_near") + outbox(queue.store, "queue_called"):
        assert segments(m.body) == 1  # one SMS part each
    assert all(m.recipient for m in outbox(queue.store, "queue_near"))
    assert booking(queue.store, silent.id).near_alerted_at is None
    # the follow page's figures are the same as the SMS's
    position = counters.position(queue.find(people[6].token))
    assert (position.ahead, position.minutes) == (3, 5)
    assert counters.position(queue.find(people[2].token)) is None  # A003 is at the counter


def test_the_follow_page_estimate_waits_for_a_booker_whose_slot_has_not_started(
        queue: Queue, counters: Counters, clock: Clock) -> None:
    later = web(queue, 1, "11:00")
    clock.now = at("09:00")
    assert counters.position(queue.find(later.token)) is None  # not here and not due: no estimate
    queue.check_in(DBD, later.queue_no, phone(1)[-4:])
    assert counters.position(queue.find(later.token)).ahead == 0


# --- the setting ----------------------------------------------------------------------------------------------

def test_the_number_of_calls_before_an_absence_is_an_optional_checked_setting(registry: Registry) -> None:
    data = yaml.safe_load((ROOT / "data" / "queue" / f"{DBD}.yaml").read_text(encoding="utf-8"))
    del data["no_show_after_calls"]
    assert parse(data, "x.yaml", registry).no_show_after_calls == DEFAULT_NO_SHOW_CALLS
    data["no_show_after_calls"] = 5
    assert parse(data, "x.yaml", registry).no_show_after_calls == 5
    for wrong, words in ((0, "from 1 to 10"), ("two", "whole number")):
        data["no_show_after_calls"] = wrong
        with pytest.raises(ConfigError) as caught:
            parse(data, "x.yaml", registry)
        assert caught.value.path == "no_show_after_calls" and words in caught.value.problem
    data["no_show_after_calls"] = 2
    data["counters"]["web"]["names"] = ["ช่องบริการด่วนพิเศษชั้นสอง 4"]
    with pytest.raises(ConfigError) as caught:
        parse(data, "x.yaml", registry)
    assert caught.value.path == "counters.web.names" and "20 characters" in caught.value.problem


# --- the counter page over HTTP --------------------------------------------------------------------------------

USERS = {
    "officer.moc-dbd-reg": (Role.OFFICER, "MOC-DBD-REG"),  # a division of the department whose queue it is
    "officer.moph-fda-food": (Role.OFFICER, "MOPH-FDA-FOOD"),
    "opdc": (Role.OPDC, None),
}


@pytest.fixture
def site(sqlite_store: HubStore, sqlite_url: str, registry: Registry, serve: Callable[[Any], str],
         monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    """The app, three officers' accounts and three walk-ins waiting (A001 … A003): its address and the
    walk-ins' follow links."""
    monkeypatch.setenv("DELAYHUB_NOW", "2026-11-25T09:40:00+07:00")
    monkeypatch.setenv("DELAYHUB_WEB_SECRET", SECRET)  # the queue's links are signed with a key from it
    add_users(sqlite_store, registry, USERS)
    queue = Queue(sqlite_store, registry, load_all(registry), queue_key(SECRET), now=lambda: at("09:40"))
    tokens = [queue.book(queue.plan("walk_in", DBD, "CERT", identify("นายมาเอง ใจเย็น", nid(1), "0812345678"))).token]
    tokens += [queue.book(queue.plan("walk_in", DBD, "REG", identify(f"คนที่ {n}", nid(n), ""))).token for n in (2, 3)]
    return serve(create_app(sqlite_url, registry=registry, secret=SECRET)), tokens


def test_an_officer_calls_from_the_counter_page_and_the_opdc_only_looks(site: tuple[str, list[str]],
                                                                        sqlite_store: HubStore) -> None:
    site, tokens = site
    officer = sign_in(site, "officer.moc-dbd-reg", then="/counter")
    index = officer.get(f"{site}/counter", timeout=30).text
    assert "กรมพัฒนาธุรกิจการค้า" in index and 'href="/counter/MOC-DBD/1"' in index
    assert "/counter/MOPH-FDA-FOOD/" not in index  # another ministry's queue is not theirs
    assert officer.get(f"{site}/counter/MOPH-FDA-FOOD/1", timeout=30).status_code == 404

    page = officer.get(f"{site}/counter/MOC-DBD/1", timeout=30)
    assert "ยังไม่มีคิวที่ช่องนี้" in page.text and "รอเรียก 3 คิว" in page.text
    refused = officer.post(f"{site}/counter/MOC-DBD/1/call", data={}, timeout=30)
    assert refused.status_code == 403  # no CSRF token
    done = officer.post(f"{site}/counter/MOC-DBD/1/call", data={"csrf_token": form_token(page.text)}, timeout=30)
    assert done.status_code == 200 and done.url.endswith("/counter/MOC-DBD/1")
    assert "เรียกคิว A001 มาที่ช่อง 1 แล้ว" in done.text and 'id="current-no">A001<' in done.text
    assert "นายมาเอง ใ***" in done.text and "08x-xxx-5678" in done.text  # masked
    assert "0812345678" not in done.text and "ใจเย็น" not in done.text
    again = officer.post(f"{site}/counter/MOC-DBD/1/call", data={"csrf_token": form_token(done.text)}, timeout=30)
    assert again.status_code == 409 and "ยังมีคิวที่ช่องนี้อยู่" in again.text

    # the follow pages: the one called is told where to go; the others how many are ahead and how long
    called = requests.get(f"{site}/queue/b/{tokens[0]}", timeout=30).text
    assert "ถึงคิวแล้ว" in called and 'id="queue-called">เชิญที่ช่องบริการ 1<' in called
    third = requests.get(f"{site}/queue/b/{tokens[2]}", timeout=30).text
    assert 'id="queue-ahead">1<' in third and 'id="queue-wait">ประมาณ 4 นาที<' in third  # A002 ahead

    hall = requests.get(f"{site}/hall/MOC-DBD", timeout=30)  # public, numbers and counters only
    assert hall.status_code == 200 and 'id="hall-now-no">A001<' in hall.text
    assert 'id="hall-now-counter">1<' in hall.text and "ขอหนังสือรับรองและสำเนาเอกสาร" in hall.text
    assert "นายมาเอง" not in hall.text and "5678" not in hall.text
    english = requests.get(f"{site}/hall/MOC-DBD?lang=en", timeout=30).text
    assert "Now calling" in english and "please go to counter" in english
    assert "Certificates and certified copies" in english and 'lang=en' in english  # its events in English too

    opdc = sign_in(site, "opdc", then="/counter")
    look = opdc.get(f"{site}/counter/MOC-DBD/1", timeout=30)
    assert look.status_code == 200 and "A001" in look.text and "ดูได้อย่างเดียว" in look.text
    assert "counter/MOC-DBD/1/served" not in look.text
    booking_id = re.search(r'name="booking" value="(\d+)"', done.text).group(1)
    forbidden = opdc.post(f"{site}/counter/MOC-DBD/1/served",
                          data={"csrf_token": form_token(look.text), "booking": booking_id}, timeout=30)
    assert forbidden.status_code == 403

    served = officer.post(f"{site}/counter/MOC-DBD/1/served",
                          data={"csrf_token": form_token(done.text), "booking": booking_id}, timeout=30)
    assert "บันทึกว่าคิว A001 รับบริการเสร็จแล้ว" in served.text and "รอเรียก 2 คิว" in served.text
    with sqlite_store.session() as s:
        trail = list(s.scalars(select(AuditLog).where(AuditLog.action.like("queue.%")).order_by(AuditLog.id)))
    assert [(a.action, a.username, a.after["queue_no"], a.after["counter"]) for a in trail] == [
        ("queue.call", "officer.moc-dbd-reg", "A001", "1"), ("queue.served", "officer.moc-dbd-reg", "A001", "1")]
    assert all("0812345678" not in str(a.after) and "นายมาเอง" not in str(a.after) for a in trail)
