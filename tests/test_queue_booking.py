"""The central queue's booking rules on the real hub store (SQLite and PostgreSQL): settings files and
their mistakes, slots on the Thai working-day calendar, capacity the database enforces, one active
booking per person, queue numbers, one-time SMS codes through the outbox to a real SMS gateway stand-in,
the mobile channel's distance, cancelling and changing by the signed link, releasing no-shows, and the
afternoon handover of unused web places to walk-ins. The JSON API is exercised over HTTP at the end."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from fastapi.routing import APIRoute
from queue_setup import DBD, KEY, Clock, at, nid, phone
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from delayhub.config import TIMEZONE
from delayhub.dispatch.sms_providers import JsonGateway
from delayhub.errors import ConfigError
from delayhub.queueing import messages
from delayhub.queueing.booking import Queue
from delayhub.queueing.otp import MAX_ATTEMPTS, Codes
from delayhub.queueing.rules import (
    Refused,
    distance_m,
    identify,
    kiosk_key,
    manage_token,
    phone_proof,
)
from delayhub.queueing.settings import load_all, load_file, parse
from delayhub.registry import Registry
from delayhub.sinks import SmsSink
from delayhub.store import HubStore
from delayhub.store.models import Outbox, QueueBooking, QueueOtp, QueueSlot

ROOT = Path(__file__).resolve().parents[1]
DBD_AT = (13.8591, 100.5143)


@pytest.fixture
def clock() -> Clock:
    return Clock(at("09:40"))  # a Wednesday, the morning's queue under way


def book_web(queue: Queue, slot_id: int, n: int, agency: str = DBD, service: str = "REG", **kw: Any) -> Any:
    booker = identify(f"ผู้จอง {n}", kw.pop("national_id", nid(n)), phone(n))
    proof = phone_proof(KEY, booker.phone or "", queue.now().timestamp())
    return queue.book(queue.plan("web", agency, service, booker, slot_id=slot_id, proof=proof, **kw))


def book_mobile(queue: Queue, n: int, position: tuple[float, float] = DBD_AT, **kw: Any) -> Any:
    booker = identify(f"ผู้จอง {n}", kw.pop("national_id", nid(n)), phone(n))
    proof = phone_proof(KEY, booker.phone or "", queue.now().timestamp())
    return queue.book(queue.plan("mobile", DBD, "REG", booker, position=position, proof=proof, **kw))


def web_slots(queue: Queue, day: str, agency: str = DBD, service: str = "REG") -> list[tuple[Any, int]]:
    return queue.slots(agency, service, "web", dt.date.fromisoformat(day))


def count(store: HubStore, query: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


# --- settings ------------------------------------------------------------------------------------------

def test_every_agency_queue_file_is_valid_and_names_a_department_or_division(registry: Registry) -> None:
    settings = load_all(registry)
    assert set(settings) == {p.stem for p in (ROOT / "data" / "queue").glob("*.yaml")} >= {DBD}
    for code, s in settings.items():
        assert registry.agencies[code].level in ("department", "division")
        assert 1000 <= s.mobile_radius_m <= 2000
        assert {d.prefix for d in s.desks.values()} == {"A", "W", "M"}
        for service in s.services.values():  # the day's places on each channel are all given out, none twice
            for channel, places in service.capacity.items():
                assert sum(s.split(service.code, channel)) == places


def _dbd() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "data" / "queue" / f"{DBD}.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("change", "field", "words"), [
    (lambda d: d.update(mobile_radius_m=5000), "mobile_radius_m", "1,000 to 2,000"),
    (lambda d: d.update(location={"lat": 100.5, "lon": 13.8}), "location.lat", "right way round"),
    (lambda d: d.update(slot_minutes=45), "opening_hours[0]", "45-minute"),
    (lambda d: d.update(opening_hours=[{"from": "08:30", "to": "12:00"}, {"from": "11:00", "to": "16:00"}]),
     "opening_hours[1].from", "overlaps"),
    (lambda d: d.update(opening_hours=[{"from": "8h30", "to": "12:00"}]), "opening_hours[0].from", "HH:MM"),
    (lambda d: d["counters"]["mobile"].update(prefix="W"), "counters", "own prefix"),
    (lambda d: d["counters"]["web"].update(prefix="w1"), "counters.web.prefix", "capital letters"),
    (lambda d: d["counters"]["web"].update(names=[]), "counters.web.names", "at least one counter"),
    (lambda d: d["services"][0]["daily_capacity"].update(web=-1), "services[0].daily_capacity.web", "from 0"),
    (lambda d: d["services"][1].update(code="REG"), "services[1].code", "appears twice"),
    (lambda d: d.update(web_to_walk_in={"enabled": True, "from": "18:00"}), "web_to_walk_in.from", "outside"),
    (lambda d: d.update(grace_minutes="fifteen"), "grace_minutes", "whole number"),
    (lambda d: d.update(colour="blue"), "colour", "unknown setting"),
    (lambda d: d.update(agency="MOC"), "agency", "ministry"),
    (lambda d: d.update(agency="NOPE"), "agency", "not in data/registry"),
])
def test_a_mistake_in_a_queue_file_names_the_file_and_the_field(registry: Registry, tmp_path: Path, change: Any,
                                                                 field: str, words: str) -> None:
    data = _dbd()
    change(data)
    path = tmp_path / f"{DBD}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_file(path, registry)
    assert caught.value.source == str(path) and caught.value.path == field
    assert words in caught.value.problem


def test_a_queue_file_is_named_after_its_agency_and_reads_unquoted_times(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "MOPH-FDA.yaml"
    path.write_text((ROOT / "data" / "queue" / f"{DBD}.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"must be named MOC-DBD\.yaml"):
        load_file(path, registry)
    data = _dbd()
    data["opening_hours"] = yaml.safe_load("[{from: 13:00, to: 16:30}]")  # YAML 1.1 reads 13:00 as 780
    assert parse(data, "x.yaml", registry).hours == ((dt.time(13, 0), dt.time(16, 30)),)


# --- slots on the calendar ------------------------------------------------------------------------------

def test_slots_exist_only_on_working_days_of_the_thai_calendar_with_the_agencys_closures(
        queue: Queue, clock: Clock) -> None:
    clock.now = at("07:00", "2026-12-10")
    bcd = {d for d, _ in queue.days("MOI-DPT-BCD", "PERMIT", "web")}  # its own closure 14–15 December
    dbd = {d for d, _ in queue.days(DBD, "REG", "web")}
    cal = queue.calendar_of("MOI-DPT-BCD")
    assert bcd and all(cal.is_working_day(d) and d.weekday() < 5 for d in bcd)
    assert dt.date(2026, 12, 14) not in bcd and dt.date(2026, 12, 15) not in bcd  # the division moves office
    assert dt.date(2026, 12, 14) in dbd and dt.date(2026, 12, 15) in dbd  # other agencies are open
    assert dt.date(2026, 12, 30) not in bcd | dbd  # a Cabinet day off for everyone
    assert dt.date(2026, 12, 12) not in dbd and dt.date(2026, 12, 31) not in dbd  # a Saturday, New Year's Eve
    assert max(bcd) <= dt.date(2027, 1, 9)  # 30 days ahead
    assert queue.slots(DBD, "REG", "web", dt.date(2026, 12, 30)) == []


def test_each_channel_gets_its_share_of_the_day_spread_over_the_slots(queue: Queue, store: HubStore) -> None:
    day = dt.date(2026, 11, 26)
    for channel, daily in (("walk_in", 70), ("web", 56), ("mobile", 14)):
        slots = queue.slots(DBD, "REG", channel, day)
        assert len(slots) == 14 and sum(free for _, free in slots) == daily
        local = [s.starts_at.astimezone(TIMEZONE).strftime("%H:%M") for s, _ in slots]
        assert local[0] == "08:30" and "12:00" not in local and local[-1] == "16:00"  # closed for lunch
    today = queue.days(DBD, "REG", "web")[0]
    assert today == (dt.date(2026, 11, 25), 48)  # at 09:40 the slots before 09:30 are over


# --- booking -------------------------------------------------------------------------------------------

def test_a_web_booking_gives_a_numbered_place_and_queues_its_sms_without_the_id_in_clear(
        queue: Queue, store: HubStore) -> None:
    slot = web_slots(queue, "2026-11-26")[1][0]
    booking = book_web(queue, slot.id, 1)
    assert booking.queue_no == "W001" and booking.day == dt.date(2026, 11, 26)
    assert booking.starts_at.astimezone(TIMEZONE).strftime("%H:%M") == "09:00"
    assert queue.counters(DBD, "web") == ("4", "5")
    assert booking.nid_masked == f"x-xxxx-xxxxx-{nid(1)[10:12]}-{nid(1)[12]}"
    with store.session() as s:
        row = s.scalar(select(QueueBooking))
        sms = s.scalar(select(Outbox).where(Outbox.queue_booking_id == row.id))
        stored = " ".join(str(v) for v in (*row.__dict__.values(), *sms.__dict__.values()))
    assert nid(1) not in stored  # only its keyed hash and mask
    assert sms.request_id is None and sms.kind == "queue_booked" and sms.channel == "sms"
    assert sms.recipient == phone(1) and sms.status == "queued"
    assert sms.body.startswith("คิว W001 26 พ.ย. 2569 09:00 น. ช่อง 4, 5")
    assert messages.booking_link(messages.public_url(), booking.token) in sms.body
    assert queue.find(booking.token) == booking


def test_queue_numbers_run_per_agency_day_and_channel_with_the_channels_prefix(queue: Queue) -> None:
    tomorrow = web_slots(queue, "2026-11-26")
    numbers = [book_web(queue, tomorrow[i % 3][0].id, i).queue_no for i in range(1, 4)]
    assert numbers == ["W001", "W002", "W003"]
    assert book_web(queue, web_slots(queue, "2026-11-27")[0][0].id, 4).queue_no == "W001"  # another day
    assert book_mobile(queue, 5).queue_no == "M001"  # today, the mobile channel's own counter
    walk_in = queue.book(queue.plan("walk_in", DBD, "CERT", identify("ผู้มาติดต่อ", nid(6))))
    assert walk_in.queue_no == "A001" and walk_in.phone is None
    other = book_web(queue, web_slots(queue, "2026-11-26", "MOPH-FDA-FOOD", "LICENSE")[0][0].id, 7,
                     agency="MOPH-FDA-FOOD", service="LICENSE")
    assert other.queue_no == "W001"


def test_a_full_slot_refuses_the_next_booking_and_the_database_refuses_an_overbooked_slot(
        queue: Queue, store: HubStore) -> None:
    slot, places = web_slots(queue, "2026-11-26")[0]
    assert places == 4
    for n in range(places):
        book_web(queue, slot.id, n)
    with pytest.raises(Refused) as caught:
        book_web(queue, slot.id, 99)
    assert caught.value.code == "full" and caught.value.status == 409
    assert count(store, select(QueueSlot.booked).where(QueueSlot.id == slot.id)) == places
    assert count(store, select(func.count()).select_from(QueueBooking).where(QueueBooking.slot_id == slot.id)) == places
    with pytest.raises(IntegrityError), store.engine.begin() as conn:  # whatever code tries: the check constraint
        conn.execute(update(QueueSlot).where(QueueSlot.id == slot.id).values(booked=QueueSlot.capacity + 1))


def test_one_active_booking_per_person_agency_and_day_whatever_the_channel(queue: Queue) -> None:
    today = web_slots(queue, "2026-11-25")[0][0]
    first = book_web(queue, today.id, 1)
    for again in (lambda: book_mobile(queue, 1), lambda: book_web(queue, web_slots(queue, "2026-11-25")[2][0].id, 1),
                  lambda: queue.book(queue.plan("walk_in", DBD, "CERT", identify("ผู้จอง 1", nid(1))))):
        with pytest.raises(Refused) as caught:
            again()
        assert caught.value.code == "already_booked"
    assert queue.free([today.id])[today.id] == 3  # the refused bookings took no place
    book_web(queue, web_slots(queue, "2026-11-26")[0][0].id, 1)  # another day
    book_web(queue, web_slots(queue, "2026-11-25", "MOPH-FDA-FOOD", "LICENSE")[-1][0].id, 1,
             agency="MOPH-FDA-FOOD", service="LICENSE")  # another agency
    queue.cancel(first.token)
    assert book_mobile(queue, 1).queue_no == "M001"  # cancelled: may book again
    by_phone = identify("ไม่มีบัตร", "", phone(50))  # a mobile number identifies someone without an ID
    queue.book(queue.plan("walk_in", DBD, "REG", by_phone))
    with pytest.raises(Refused, match="already_booked"):
        queue.book(queue.plan("walk_in", DBD, "CERT", identify("ไม่มีบัตร", "", "+66 8" + phone(50)[2:])))


@pytest.mark.parametrize(("name", "national_id", "mobile", "code"), [
    ("", nid(1), "", "name_required"),
    ("ก" * 201, nid(1), "", "name_too_long"),
    ("สมชาย", "", "", "id_or_phone_required"),
    ("สมชาย", nid(1)[:12], "", "national_id_format"),
    ("สมชาย", nid(1)[:12] + str((int(nid(1)[12]) + 1) % 10), "", "national_id_check"),
    ("สมชาย", "", "021234567", "phone_invalid"),
    ("สมชาย", "", "08123", "phone_invalid"),
])
def test_the_booker_is_checked_before_anything_is_stored(name: str, national_id: str, mobile: str, code: str) -> None:
    with pytest.raises(Refused) as caught:
        identify(name, national_id, mobile)
    assert caught.value.code == code


def test_ids_and_numbers_are_read_as_people_type_them() -> None:
    thai = "".join("๐๑๒๓๔๕๖๗๘๙"[int(c)] for c in nid(1))
    spaced = f"{nid(1)[0]}-{nid(1)[1:5]} {nid(1)[5:10]}-{nid(1)[10:12]}-{nid(1)[12]}"
    assert identify("ก", thai).person_key == identify("ก", spaced).person_key == identify("ก", nid(1)).person_key
    assert identify("ก", "", "+66 81-234-5678").phone == identify("ก", "", "081 234 5678").phone == "0812345678"
    assert identify("  สมชาย   ใจดี ", nid(1)).name == "สมชาย ใจดี"


def test_web_and_mobile_bookings_need_the_phone_confirmed_by_its_own_code(queue: Queue, clock: Clock) -> None:
    slot = web_slots(queue, "2026-11-26")[0][0]
    booker = identify("ผู้จอง", nid(1), phone(1))
    cases = {"": "phone_unconfirmed", phone_proof(KEY, phone(2)): "phone_unconfirmed",
             phone_proof(KEY, phone(1), clock.now.timestamp() - 31 * 60): "phone_unconfirmed",
             phone_proof(b"another key" * 4, phone(1)): "phone_unconfirmed"}
    for proof, code in cases.items():
        with pytest.raises(Refused) as caught:
            queue.plan("web", DBD, "REG", booker, slot_id=slot.id, proof=proof)
        assert caught.value.code == code and caught.value.status == 401
    with pytest.raises(Refused, match="phone_required"):
        queue.plan("web", DBD, "REG", identify("ผู้จอง", nid(1)), slot_id=slot.id)


# --- one-time codes --------------------------------------------------------------------------------------

def test_a_code_goes_through_the_outbox_to_the_gateway_and_confirms_the_number_once(
        store: HubStore, clock: Clock, sms: SmsSink) -> None:
    codes = Codes(store, KEY, now=clock)
    sent = codes.request("081-234-5678", "th", client="10.0.0.1")
    assert codes.deliver(sent.outbox_id, JsonGateway(sms.url)) is True
    message = sms.received[-1]
    assert message["to"] == "0812345678" and message["reference"] == f"queue-otp-{sent.otp_id}"
    code = re.search(r"\d{6}", message["message"]).group(0)
    assert message["message"] == f"รหัสยืนยัน {code} สำหรับจองคิว ใช้ได้ 5 นาที ห้ามบอกผู้อื่น"
    with store.session() as s:
        row, otp = s.get(Outbox, sent.outbox_id), s.get(QueueOtp, sent.otp_id)
    assert row.status == "sent" and row.request_id is None and row.kind == "queue_otp"
    assert code not in otp.code_hash and len(otp.code_hash) == 64  # a keyed hash, not the code
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    with pytest.raises(Refused) as caught:
        codes.verify(sent.otp_id, "0812345678", wrong)
    assert caught.value.code == "otp_wrong" and caught.value.params["left"] == MAX_ATTEMPTS - 1
    with pytest.raises(Refused, match="otp_wrong"):
        codes.verify(sent.otp_id, "0899999999", code)  # the code is for that number only
    proof = codes.verify(sent.otp_id, "0812345678", code)
    assert proof.startswith("0812345678~")
    with pytest.raises(Refused, match="otp_expired"):
        codes.verify(sent.otp_id, "0812345678", code)  # once
    clock.now += dt.timedelta(minutes=6)
    assert codes.scrub() == 1
    with store.session() as s:
        assert code not in s.get(Outbox, sent.outbox_id).body  # the text sent, without its secret


def test_codes_expire_lock_after_five_wrong_tries_and_are_limited_per_number(store: HubStore, clock: Clock) -> None:
    codes = Codes(store, KEY, now=clock)
    first = codes.request(phone(1), client="10.0.0.1")
    for _ in range(MAX_ATTEMPTS):
        with pytest.raises(Refused):
            codes.verify(first.otp_id, phone(1), "000000x")
    with pytest.raises(Refused, match="otp_locked"):
        codes.verify(first.otp_id, phone(1), "000000")
    late = codes.request(phone(1), client="10.0.0.2")
    clock.now += dt.timedelta(minutes=5, seconds=1)
    with pytest.raises(Refused, match="otp_expired"):
        codes.verify(late.otp_id, phone(1), "123456")
    codes.request(phone(1), client="10.0.0.3")
    with pytest.raises(Refused) as caught:  # a 4th code within 15 minutes
        codes.request(phone(1), client="10.0.0.4")
    assert caught.value.code == "too_many_codes" and caught.value.status == 429
    codes.request(phone(2), client="10.0.0.4")  # another number is not held up
    with pytest.raises(Refused, match="phone_invalid"):
        codes.request("1234", client="10.0.0.4")


def test_a_code_the_gateway_cannot_take_now_is_left_to_the_dispatcher_until_it_expires(
        store: HubStore, clock: Clock, sms: SmsSink) -> None:
    codes = Codes(store, KEY, now=clock)
    sent = codes.request(phone(1))
    sms.fail_next.append(503)
    assert codes.deliver(sent.outbox_id, JsonGateway(sms.url)) is False
    with store.session() as s:
        row = s.get(Outbox, sent.outbox_id)
    assert row.status == "queued" and row.attempts == 1 and "503" in row.last_error
    assert row.deadline_at == sent.expires_at  # the dispatcher stops trying when the code expires


# --- mobile ---------------------------------------------------------------------------------------------

def test_great_circle_distances() -> None:
    assert distance_m(13.0, 100.0, 14.0, 100.0) == pytest.approx(111_195, rel=1e-3)  # a degree of latitude
    assert distance_m(13.7563, 100.5018, 13.7563, 100.5018) == 0
    assert distance_m(*DBD_AT, 13.8591, 100.5328) == pytest.approx(2000, abs=10)  # 0.0185° of longitude at 13.86°


def test_a_mobile_booking_within_the_radius_joins_todays_queue_and_one_too_far_is_told_how_far(
        queue: Queue, clock: Clock) -> None:
    near = (13.8591, 100.5320)  # 1.9 km east
    booking = book_mobile(queue, 1, near)
    assert booking.queue_no == "M001" and booking.day == dt.date(2026, 11, 25) and booking.channel == "mobile"
    assert booking.starts_at.astimezone(TIMEZONE).strftime("%H:%M") == "09:30"  # the slot under way
    with pytest.raises(Refused) as caught:
        book_mobile(queue, 2, (13.8591, 100.5340))
    assert caught.value.code == "too_far" and caught.value.status == 403
    assert caught.value.params == {"distance_m": 2127, "limit_m": 2000}
    with pytest.raises(Refused, match="position_required"):
        queue.plan("mobile", DBD, "REG", identify("ก", nid(3), phone(3)), proof=phone_proof(KEY, phone(3)))
    clock.now = at("16:31")
    with pytest.raises(Refused, match="closed_today"):
        book_mobile(queue, 4)
    clock.now = at("10:00", "2026-11-28")  # a Saturday: no queue today
    with pytest.raises(Refused, match="closed_today"):
        book_mobile(queue, 5)


def test_mobile_bookings_fill_todays_slots_in_order(queue: Queue) -> None:
    today = {s.id: free for s, free in queue.slots(DBD, "REG", "mobile", dt.date(2026, 11, 25))}
    assert sum(today.values()) == 12  # one place a slot, 14 a day: the two slots before 09:30 are over
    times = [book_mobile(queue, n).starts_at.astimezone(TIMEZONE).strftime("%H:%M") for n in range(1, 13)]
    assert times == ["09:30", "10:00", "10:30", "11:00", "11:30", "13:00", "13:30", "14:00", "14:30", "15:00",
                     "15:30", "16:00"]
    with pytest.raises(Refused, match="full"):
        book_mobile(queue, 13)


# --- the link: see, cancel, change ------------------------------------------------------------------------

def test_the_signed_link_cancels_and_changes_and_a_forged_one_does_nothing(queue: Queue, clock: Clock) -> None:
    slots = web_slots(queue, "2026-11-26")
    booking = book_web(queue, slots[0][0].id, 1)
    assert queue.find(manage_token(b"another key" * 4, booking.ref)) is None
    assert queue.find(booking.token[:-1] + ("A" if booking.token[-1] != "A" else "B")) is None
    moved = queue.change(booking.token, slots[3][0].id)
    assert moved.queue_no == "W002" and moved.starts_at.astimezone(TIMEZONE).strftime("%H:%M") == "10:00"
    assert queue.find(booking.token).status == "cancelled"
    assert queue.free([slots[0][0].id, slots[3][0].id]) == {slots[0][0].id: 4, slots[3][0].id: 3}
    for n in range(2, 6):  # fill another slot: changing to it leaves the booking as it was
        book_web(queue, slots[5][0].id, n)
    with pytest.raises(Refused, match="full"):
        queue.change(moved.token, slots[5][0].id)
    assert queue.find(moved.token).status == "booked"
    done = queue.cancel(moved.token)
    assert done.status == "cancelled" and queue.free([slots[3][0].id])[slots[3][0].id] == 4
    with pytest.raises(Refused, match="not_changeable"):
        queue.cancel(moved.token)
    clock.now = at("16:30", "2026-11-26")
    late = queue.find(book_web(queue, web_slots(queue, "2026-11-27")[0][0].id, 9).token)
    clock.now = at("09:01", "2026-11-27")  # its slot is over
    with pytest.raises(Refused, match="not_changeable"):
        queue.cancel(late.token)


def test_a_booker_checks_in_at_the_kiosk_with_the_number_and_the_phones_last_digits(queue: Queue) -> None:
    booking = book_web(queue, web_slots(queue, "2026-11-25")[0][0].id, 1)
    with pytest.raises(Refused, match="no_booking"):
        queue.check_in(DBD, booking.queue_no, "0000")
    done = queue.check_in(DBD, booking.queue_no.lower(), phone(1)[-4:])
    assert done.status == "checked_in"
    with pytest.raises(Refused, match="not_changeable"):
        queue.cancel(booking.token)


# --- the minute's work ---------------------------------------------------------------------------------------

def test_bookings_not_checked_in_within_the_grace_period_are_released(queue: Queue, clock: Clock,
                                                                       store: HubStore) -> None:
    clock.now = at("09:20")
    slot = next(s for s, _ in web_slots(queue, "2026-11-25") if s.starts_at == at("09:30"))
    gone, kept = book_web(queue, slot.id, 1), book_web(queue, slot.id, 2)  # grace 15 minutes from 09:30
    mobile = book_mobile(queue, 3)  # joins the 09:00 slot under way: its grace runs from 09:20
    walk_in = queue.book(queue.plan("walk_in", DBD, "REG", identify("ผู้มาติดต่อ", nid(4))))
    queue.check_in(DBD, kept.queue_no, phone(2)[-4:])
    clock.now = at("09:35")
    assert queue.release_no_shows() == 0
    clock.now = at("09:36")
    assert queue.release_no_shows() == 1 and queue.find(mobile.token).status == "released"
    clock.now = at("09:45")
    assert queue.release_no_shows() == 0  # 09:45 is still within the web booking's grace period
    clock.now = at("09:46")
    assert queue.release_no_shows() == 1
    assert {b.token: queue.find(b.token).status for b in (gone, kept, mobile, walk_in)} == {
        gone.token: "released", kept.token: "checked_in", mobile.token: "released", walk_in.token: "booked"}
    assert queue.free([slot.id])[slot.id] == 3  # the place is given back
    assert queue.release_no_shows() == 0
    late = book_mobile(queue, 1)  # released: the person may book again today, in the slot under way
    clock.now = at("10:01")
    assert queue.release_no_shows() == 0  # its grace runs from when it was booked
    clock.now = at("10:02")
    assert queue.release_no_shows() == 1 and queue.find(late.token).status == "released"


def test_unused_web_places_of_the_afternoon_go_to_walk_ins_from_the_agencys_hour(queue: Queue, clock: Clock) -> None:
    day = dt.date(2026, 11, 25)
    booked = book_web(queue, web_slots(queue, "2026-11-25")[-1][0].id, 1)  # 16:00, before the handover

    def free(channel: str) -> dict[str, int]:
        return {s.starts_at.astimezone(TIMEZONE).strftime("%H:%M"): n for s, n in queue.slots(DBD, "REG", channel, day)}

    clock.now = at("12:59")
    assert queue.hand_over() == 0
    clock.now = at("13:05")
    before = free("web"), free("walk_in"), free("mobile")
    # seven afternoon slots: 4 web places each for REG (one booked), 2 for CERT
    assert queue.hand_over() == (4 * 7 - 1) + 2 * 7
    web, walk = free("web"), free("walk_in")
    assert set(web.values()) == {0} and walk["13:00"] == 5 + 4 and walk["16:00"] == 5 + 3
    assert sum(web.values()) + sum(walk.values()) == sum(before[0].values()) + sum(before[1].values())
    assert free("mobile") == before[2]  # the mobile channel keeps its own places
    with pytest.raises(Refused) as caught:
        book_web(queue, web_slots(queue, "2026-11-25")[-2][0].id, 2)
    assert caught.value.code == "handed_over" and caught.value.params == {"at": "13:00"}
    assert sum(n for _, n in web_slots(queue, "2026-11-26")) == 56  # tomorrow is untouched
    queue.cancel(booked.token)  # a place freed later goes to walk-ins on the next run
    assert queue.hand_over() == 1 and free("walk_in")["16:00"] == 5 + 4
    assert queue.hand_over() == 0


# --- the JSON API over HTTP ---------------------------------------------------------------------------------------

@pytest.fixture
def api(store: HubStore, store_url: str, registry: Registry, sms: SmsSink, serve: Callable[[Any], str],
        monkeypatch: pytest.MonkeyPatch) -> Any:
    from delayhub.web.app import create_app
    from delayhub.web.queue_api import queue_key

    monkeypatch.setenv("DELAYHUB_NOW", "2026-11-25T09:40:00+07:00")
    monkeypatch.setenv("DELAYHUB_WEB_SECRET", "api-test-secret-" + "z" * 40)
    monkeypatch.setenv("DELAYHUB_SMS_URL", sms.url)
    return serve(create_app(store_url, registry=registry)) + "/queue/api/v1", queue_key("api-test-secret-" + "z" * 40)


def test_the_json_api_lists_books_with_a_code_and_answers_full_in_thai_with_a_code(api: Any, sms: SmsSink) -> None:
    base, key = api
    agencies = requests.get(f"{base}/agencies", timeout=30).json()["agencies"]
    assert DBD in {a["agency"] for a in agencies}
    days = requests.get(f"{base}/agencies/{DBD}/days", params={"service": "REG"}, timeout=30).json()["days"]
    assert days[0] == {"day": "2026-11-25", "free": 48}
    slots = requests.get(f"{base}/agencies/{DBD}/slots", params={"service": "REG", "day": "2026-11-26"},
                         timeout=30).json()["slots"]
    assert slots[0] == {"slot_id": slots[0]["slot_id"], "starts_at": "08:30", "ends_at": "09:00", "free": 4}

    asked = requests.post(f"{base}/otp", json={"phone": phone(1)}, timeout=30).json()
    assert asked["sent"] is True and asked["phone_masked"] == "08x-xxx-0001"
    code = re.search(r"\d{6}", sms.received[-1]["message"]).group(0)
    proof = requests.post(f"{base}/otp/verify", json={"otp_id": asked["otp_id"], "phone": phone(1), "code": code},
                          timeout=30).json()["proof"]
    body = {"channel": "web", "agency": DBD, "service": "REG", "slot_id": slots[0]["slot_id"], "name": "สมชาย ใจดี",
            "national_id": nid(1), "phone": phone(1), "proof": proof}
    made = requests.post(f"{base}/bookings", json=body, timeout=30)
    assert made.status_code == 201
    assert made.json()["booking"] == {
        "queue_no": "W001", "status": "booked", "channel": "web", "agency": DBD, "agency_name": "กรมพัฒนาธุรกิจการค้า",
        "service": "REG", "service_name": "จดทะเบียนนิติบุคคล", "day": "2026-11-26", "starts_at": "08:30",
        "ends_at": "09:00", "counters": ["4", "5"], "phone_masked": "08x-xxx-0001"}
    assert made.json()["link"].endswith(f"/queue/b/{made.json()['token']}")
    twice = requests.post(f"{base}/bookings", json=body, timeout=30)
    assert twice.status_code == 409 and twice.json()["error"] == "already_booked"

    for n in range(2, 5):  # the slot's other three places
        p = phone_proof(key, phone(n), dt.datetime.fromisoformat("2026-11-25T09:40:00+07:00").timestamp())
        assert requests.post(f"{base}/bookings", json=body | {"national_id": nid(n), "phone": phone(n), "proof": p},
                             timeout=30).status_code == 201
    p = phone_proof(key, phone(9), dt.datetime.fromisoformat("2026-11-25T09:40:00+07:00").timestamp())
    full = requests.post(f"{base}/bookings", json=body | {"national_id": nid(9), "phone": phone(9), "proof": p},
                         timeout=30)
    assert full.status_code == 409
    assert full.json() == {"error": "full", "field": "slot", "message": "คิวเต็มแล้ว กรุณาเลือกช่วงเวลาหรือวันอื่น",
                                "message_en": "This queue is full. Please choose another time or day."}
    far = requests.post(f"{base}/bookings", json=body | {"channel": "mobile", "lat": 13.7563, "lon": 100.5018,
                                                         "national_id": nid(9), "phone": phone(9), "proof": p},
                        timeout=30)
    assert far.status_code == 403 and far.json()["error"] == "too_far"
    assert far.json()["message"].startswith("ท่านอยู่ห่างจากหน่วยงาน 11.5 กิโลเมตร")
    walk_in = requests.post(f"{base}/bookings", json={"channel": "walk_in", "agency": DBD, "service": "REG",
                                                      "name": "ก", "national_id": nid(10)}, timeout=30)
    assert walk_in.status_code == 403 and walk_in.json()["error"] == "kiosk_key"
    walk_in = requests.post(f"{base}/bookings", json={"channel": "walk_in", "agency": DBD, "service": "REG",
                                                      "name": "ก", "national_id": nid(10),
                                                      "kiosk_key": kiosk_key(key, DBD)}, timeout=30)
    assert walk_in.status_code == 201 and walk_in.json()["booking"]["queue_no"] == "A001"
    bad = requests.post(f"{base}/bookings", data=b"not json", timeout=30)
    assert bad.status_code == 400 and bad.json()["error"] == "bad_request"

    token = made.json()["token"]
    assert requests.get(f"{base}/bookings/{token}", timeout=30).json()["people_ahead"] == 0
    cancelled = requests.post(f"{base}/bookings/{token}/cancel", timeout=30)
    assert cancelled.status_code == 200 and cancelled.json()["booking"]["status"] == "cancelled"
    assert requests.get(f"{base}/bookings/nope.nope", timeout=30).status_code == 404


def test_queue_pages_are_public_and_their_forms_check_csrf(registry: Registry) -> None:
    from delayhub.web.app import create_app
    from delayhub.web.csrf import verify_csrf
    from delayhub.web.deps import current_user
    from delayhub.web.queue_pages import QUEUE_ROUTES

    app = create_app("sqlite://", registry=registry, secret="x" * 40)
    mine = [r for r in app.routes if isinstance(r, APIRoute) and r.name.startswith("queue_")]
    assert {r.name for r in mine} == QUEUE_ROUTES

    def calls(dependant: Any) -> set[Any]:
        found = {dependant.call}
        for sub in dependant.dependencies:
            found |= calls(sub)
        return found

    for route in mine:
        assert current_user not in calls(route.dependant), route.path
        if route.methods - {"GET", "HEAD"}:
            assert verify_csrf in calls(route.dependant), f"{route.path} changes things without a CSRF check"


def test_the_dispatcher_sends_queue_sms_from_the_outbox_and_a_changed_bookings_first_one_never(
        queue: Queue, store: HubStore, sms: SmsSink, registry: Registry) -> None:
    from delayhub.config import DispatchConfig, SmsConfig
    from delayhub.dispatch.run import dispatch

    slots = web_slots(queue, "2026-11-26")
    first = book_web(queue, slots[0][0].id, 1)
    moved = queue.change(first.token, slots[1][0].id)
    stats = dispatch(store, DispatchConfig(sms=SmsConfig(url=sms.url)), registry=registry)
    assert stats["sent"] == 1 and stats["failed"] == 0
    assert [m["message"].split(" ดู/ยกเลิก ")[0] for m in sms.received] == ["คิว W002 26 พ.ย. 2569 09:00 น. ช่อง 4, 5"]
    with store.session() as s:
        rows = {r.queue_booking_id: (r.status, r.request_id) for r in s.scalars(select(Outbox))}
    assert rows == {first.id: ("dead", None), moved.id: ("sent", None)}


def test_the_command_line_validates_the_files_links_a_kiosk_and_runs_the_minutes_work(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from delayhub.queueing.__main__ import main
    from delayhub.web.queue_api import queue_key

    monkeypatch.setenv("DELAYHUB_WEB_SECRET", "cli-test-secret-" + "c" * 40)
    monkeypatch.setenv("DELAYHUB_NOW", "2026-11-25T13:05:00+07:00")
    assert main(["validate"]) == 0
    assert "4 agency queue file(s)" in capsys.readouterr().out
    assert main(["kiosk-link", DBD, "--base", "https://q.example.go.th/"]) == 0
    key = kiosk_key(queue_key("cli-test-secret-" + "c" * 40), DBD)
    assert capsys.readouterr().out.strip() == f"https://q.example.go.th/queue/kiosk/{DBD}?key={key}"
    assert main(["tick"]) == 0  # on the default store (this test's own folder): today's afternoon handed over
    # MOC-DBD 7 slots × (4 + 2), MOI-DOPA-BORA 10 × (4 + 2), MOI-DPT-BCD 3 × 2; MOPH-FDA-FOOD keeps its places
    assert capsys.readouterr().out.strip() == ('{"closed": 0, "released": 0, "handed_over": 108, "reminded": 0, '
                                               '"codes_scrubbed": 0}')


def test_a_walk_in_leaves_a_number_once_and_its_sms_links_to_the_configured_address(
        queue: Queue, store: HubStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELAYHUB_PUBLIC_URL", "https://queue.example.go.th/")
    ticket = queue.book(queue.plan("walk_in", DBD, "REG", identify("ผู้มาติดต่อ", nid(1))))
    assert queue.add_phone(ticket.token, "081 222 3333").phone == "0812223333"
    with pytest.raises(Refused, match="not_changeable"):  # a ticket cannot be made to text number after number
        queue.add_phone(ticket.token, "0899999999")
    with store.session() as s:
        sms = s.scalars(select(Outbox).where(Outbox.queue_booking_id == ticket.id)).one()
    assert sms.kind == "queue_phone" and sms.recipient == "0812223333"
    assert sms.body == f"คิว A001 จะแจ้งทาง SMS เมื่อใกล้ถึงคิว ติดตามคิว https://queue.example.go.th/queue/b/{ticket.token}"
