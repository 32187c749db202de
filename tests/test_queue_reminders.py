"""The queue's scheduled work on the real hub store (SQLite and PostgreSQL): the reminder the working day
before (once, however often and however many at once it runs; across a weekend and the New Year
holidays), bookings on a day that became a day off closed with their places freed and one SMS each (sent
to the local SMS gateway stand-in), and settings and calendar edits taking effect while running, a broken
edit kept out."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import threading
from pathlib import Path

import pytest
import yaml
from queue_setup import DBD, KEY, Clock, at, phone
from sqlalchemy import select
from test_queue_booking import ROOT, book_web, web_slots

from delayhub.config import DispatchConfig, SmsConfig
from delayhub.dispatch.run import dispatch
from delayhub.dispatch.sms_providers import fit, segments
from delayhub.queueing.booking import Queue
from delayhub.queueing.reminders import close_days_off, next_working_day, send_reminders
from delayhub.queueing.rules import Refused
from delayhub.queueing.settings import LiveCalendar, LiveSettings, load_all
from delayhub.queueing.tick import tick
from delayhub.registry import Registry
from delayhub.sinks import SmsSink
from delayhub.store import HubStore
from delayhub.store.models import Outbox, QueueBooking, QueueSlot

SITE = "https://queue.example.go.th"


@pytest.fixture
def clock() -> Clock:
    return Clock(at("10:00", "2026-11-23"))  # a Monday


@pytest.fixture
def calendar_file(tmp_path: Path) -> Path:
    path = tmp_path / "thai_government.yaml"
    shutil.copy(ROOT / "data" / "calendar" / "thai_government.yaml", path)
    return path


@pytest.fixture
def queue(store: HubStore, registry: Registry, clock: Clock, calendar_file: Path,
          monkeypatch: pytest.MonkeyPatch) -> Queue:
    monkeypatch.setenv("DELAYHUB_PUBLIC_URL", SITE)
    return Queue(store, registry, load_all(registry), KEY, calendar=LiveCalendar(calendar_file, every=0), now=clock)


def slot_at(queue: Queue, day: str, hm: str) -> int:
    return next(s.id for s, _ in web_slots(queue, day) if at(hm, day) == s.starts_at)


def sms_of(store: HubStore, kind: str) -> list[Outbox]:
    with store.session() as s:
        return list(s.scalars(select(Outbox).where(Outbox.kind == kind).order_by(Outbox.id)))


# --- the reminder ------------------------------------------------------------------------------------------

def test_one_reminder_the_working_day_before_with_the_number_time_counter_and_link(
        queue: Queue, store: HubStore, clock: Clock) -> None:
    early = book_web(queue, slot_at(queue, "2026-11-26", "09:00"), 1)  # booked on Monday for Thursday
    clock.now = at("08:30", "2026-11-25")
    late = book_web(queue, slot_at(queue, "2026-11-26", "10:00"), 2)  # booked on the eve: just confirmed
    assert send_reminders(queue) == 0  # before 09:00 nobody is texted
    clock.now = at("11:00", "2026-11-24")
    assert send_reminders(queue) == 0  # Tuesday: Thursday is not the next working day
    clock.now = at("09:00", "2026-11-25")
    assert send_reminders(queue) == 1
    assert send_reminders(queue) == 0 and tick(queue)["reminded"] == 0  # exactly once
    [sms] = sms_of(store, "queue_remind")
    link = f"{SITE}/queue/b/{early.token}"
    assert sms.queue_booking_id == early.id and sms.recipient == phone(1) and sms.status == "queued"
    assert sms.body == f"เตือนนัด คิว W001 26 พ.ย. 2569 09:00 น. ช่อง 4, 5 ดู/ยกเลิก {link} กรมพัฒนาธุรกิจการค้า"
    assert sms.deadline_at == early.starts_at
    # a Thai SMS with a 64-character link cannot be one part: two, and only the agency's name is ever cut
    assert segments(sms.body) == 3 and fit(sms.body).startswith(sms.body.split(" กรม")[0])
    assert segments(fit(sms.body)) == 2
    with store.session() as s:
        assert s.get(QueueBooking, early.id).reminded_at == clock.now
        assert s.get(QueueBooking, late.id).reminded_at is None


def test_a_cancelled_booking_is_not_reminded_and_an_unsent_reminder_dies_with_it(
        queue: Queue, store: HubStore, clock: Clock) -> None:
    gone = book_web(queue, slot_at(queue, "2026-11-26", "09:00"), 1)
    kept = book_web(queue, slot_at(queue, "2026-11-26", "09:00"), 2, lang="en")
    queue.cancel(gone.token)
    clock.now = at("09:30", "2026-11-25")
    assert send_reminders(queue) == 1
    [sms] = sms_of(store, "queue_remind")
    assert sms.queue_booking_id == kept.id
    assert sms.body.startswith("Reminder: queue W002 26 Nov 2026 09:00 counter 4, 5. View/cancel: ")
    queue.cancel(kept.token)
    assert [r.status for r in sms_of(store, "queue_remind")] == ["dead"]  # not sent for a cancelled visit


def test_the_next_working_day_skips_the_weekend_and_the_new_year_holidays(
        queue: Queue, store: HubStore, clock: Clock) -> None:
    assert next_working_day(queue, DBD, dt.date(2026, 11, 27)) == dt.date(2026, 11, 30)  # Friday → Monday
    # 30 Dec (a Cabinet day off), 31 Dec, 1 Jan and the weekend: from 29 Dec, the next is 4 Jan
    assert next_working_day(queue, DBD, dt.date(2026, 12, 29)) == dt.date(2027, 1, 4)
    monday = book_web(queue, slot_at(queue, "2026-11-30", "09:00"), 1)
    clock.now = at("10:00", "2026-12-21")
    new_year = book_web(queue, slot_at(queue, "2027-01-04", "13:00"), 2)
    for day, expected in (("2026-11-26", []), ("2026-11-27", [monday.id]), ("2026-11-28", []),
                          ("2026-12-28", []), ("2026-12-29", [new_year.id]), ("2026-12-30", [])):
        clock.now = at("10:00", day)
        before = {r.queue_booking_id for r in sms_of(store, "queue_remind")}
        send_reminders(queue)
        assert sorted({r.queue_booking_id for r in sms_of(store, "queue_remind")} - before) == expected, day
    assert "4 ม.ค. 2570 13:00 น." in sms_of(store, "queue_remind")[-1].body


def test_a_reminder_missed_on_the_working_day_before_goes_on_the_day_off_after_it(
        queue: Queue, store: HubStore, clock: Clock) -> None:
    monday = book_web(queue, slot_at(queue, "2026-11-30", "09:00"), 1)
    clock.now = at("09:15", "2026-11-28")  # Saturday: Friday's runs never happened
    assert send_reminders(queue) == 1 and sms_of(store, "queue_remind")[0].queue_booking_id == monday.id


def test_runs_at_the_same_moment_queue_each_reminder_once(queue: Queue, store: HubStore, clock: Clock) -> None:
    booked = [book_web(queue, slot_at(queue, "2026-11-26", hm), n) for n, hm in enumerate(
        ("08:30", "09:00", "09:30", "10:00", "10:30"), start=1)]
    clock.now = at("09:05", "2026-11-25")
    start, counts, errors = threading.Barrier(4), [], []

    def run() -> None:
        start.wait()
        try:
            counts.append(send_reminders(queue))
        except Exception as exc:  # a second SMS for the same booking would fail on the outbox's unique key
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and sum(counts) == 5
    assert sorted(r.queue_booking_id for r in sms_of(store, "queue_remind")) == [b.id for b in booked]


# --- a booked day becomes a day off ---------------------------------------------------------------------

def declare(calendar_file: Path, day: str, kind: str) -> None:
    data = yaml.safe_load(calendar_file.read_text(encoding="utf-8"))
    data["version"] = f"{data['version']}+test"
    if kind == "cabinet":
        data["special_days_off"].append({"date": dt.date.fromisoformat(day), "name": "วันหยุดพิเศษ (มติคณะรัฐมนตรี)"})
    else:
        data["agency_closures"].append({"agency": DBD, "from": dt.date.fromisoformat(day),
                                        "to": dt.date.fromisoformat(day), "reason": "ย้ายที่ทำการ"})
    calendar_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize("kind", ["cabinet", "agency_closure"])
def test_bookings_on_a_day_declared_off_are_closed_their_places_freed_and_each_person_texted_once(
        queue: Queue, store: HubStore, clock: Clock, calendar_file: Path, registry: Registry, sms: SmsSink,
        kind: str) -> None:
    first = book_web(queue, slot_at(queue, "2026-12-04", "09:00"), 1)
    second = book_web(queue, slot_at(queue, "2026-12-04", "13:00"), 2, lang="en")
    other_day = book_web(queue, slot_at(queue, "2026-12-03", "09:00"), 3)
    assert dt.date(2026, 12, 4) in dict(queue.days(DBD, "REG", "web"))
    declare(calendar_file, "2026-12-04", kind)
    clock.now = at("10:00", "2026-11-24")
    assert tick(queue)["closed"] == 2
    assert tick(queue)["closed"] == 0 and close_days_off(queue) == 0  # once, however often it runs
    assert [queue.find(b.token).status for b in (first, second, other_day)] == ["closed", "closed", "booked"]
    # the day takes no more bookings: not offered, no slot shown, the old slot refused, nothing booked
    assert dt.date(2026, 12, 4) not in dict(queue.days(DBD, "REG", "web"))
    assert web_slots(queue, "2026-12-04") == []
    with pytest.raises(Refused, match="no_slot"):
        book_web(queue, first.slot_id, 4)
    with store.session() as s:
        slots = s.scalars(select(QueueSlot).where(QueueSlot.agency == DBD, QueueSlot.day == dt.date(2026, 12, 4)))
        assert {(x.capacity, x.booked) for x in slots} == {(0, 0)}
    closed = sms_of(store, "queue_closed")
    assert [(r.queue_booking_id, r.recipient) for r in closed] == [(first.id, phone(1)), (second.id, phone(2))]
    assert closed[0].body == f"4 ธ.ค. 2569 หน่วยงานปิดทำการ คิว W001 ถูกยกเลิก จองใหม่ {SITE}/queue/{DBD} " \
                             "กรมพัฒนาธุรกิจการค้า"
    assert closed[1].body.startswith(f"Queue W002 on 4 Dec 2026 is cancelled: the office is closed that day. "
                                     f"Book again: {SITE}/queue/{DBD}")
    dispatch(store, DispatchConfig(sms=SmsConfig(url=sms.url)), registry=registry)
    received = {m["to"]: m["message"] for m in sms.received}
    # the people of the closed day get the closure, not their confirmation; the other day's person theirs
    assert received[phone(1)].startswith("4 ธ.ค. 2569 หน่วยงานปิดทำการ คิว W001")
    assert received[phone(2)].startswith("Queue W002 on 4 Dec 2026 is cancelled")
    assert received[phone(3)].startswith("คิว W001 3 ธ.ค. 2569 09:00 น.")  # numbers run per day
    with store.session() as s:  # inactive: the people may book again (the link in their SMS)
        assert [s.get(QueueBooking, b.id).active for b in (first, second)] == [False, False]
    clock.now = at("10:00", "2026-12-03")
    assert send_reminders(queue) == 0  # nobody is reminded of the closed day (Friday's bookings are gone)


# --- settings and calendar while running -----------------------------------------------------------------

class Ticks:
    """A monotonic clock the test moves by hand: how often the files are looked at."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def set_web_places(path: Path, places: int) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["services"][0]["daily_capacity"]["web"] = places
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_an_edited_settings_file_applies_within_seconds_and_a_broken_edit_keeps_the_last_good(
        store: HubStore, registry: Registry, clock: Clock, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "queue"
    folder.mkdir()
    path = folder / f"{DBD}.yaml"
    shutil.copy(ROOT / "data" / "queue" / f"{DBD}.yaml", path)
    ticks = Ticks()
    live = LiveSettings(registry, folder, every=5, clock=ticks)
    queue = Queue(store, registry, live, KEY, now=clock)

    def thursday() -> int:
        return dict(queue.days(DBD, "REG", "web"))[dt.date(2026, 11, 26)]

    assert thursday() == 56
    set_web_places(path, 28)
    ticks.t = 3
    assert thursday() == 56  # the files are looked at every 5 seconds, not on every request
    ticks.t = 6
    assert thursday() == 28
    with caplog.at_level(logging.ERROR, logger="delayhub.queueing.settings"):
        path.write_text(path.read_text(encoding="utf-8").replace("slot_minutes: 30", "slot_minutes: 45"),
                        encoding="utf-8")
        ticks.t = 12
        assert thursday() == 28  # the queue goes on with the last good settings
    assert f"{path}: opening_hours[0]" in caplog.text and "45-minute" in caplog.text
    assert str(live.errors[path]).startswith(f"{path}: opening_hours[0]")
    assert book_web(queue, slot_at(queue, "2026-11-26", "09:00"), 1).queue_no == "W001"
    caplog.clear()
    ticks.t = 18
    assert thursday() == 27 and caplog.text == ""  # an unchanged broken file is not read or logged again
    path.write_text("agency: [unclosed\n", encoding="utf-8")
    ticks.t = 24
    assert thursday() == 27 and "cannot read queue settings" in str(live.errors[path])
    shutil.copy(ROOT / "data" / "queue" / f"{DBD}.yaml", path)
    set_web_places(path, 42)
    ticks.t = 30
    assert thursday() == 41 and live.errors == {}  # fixed: applied (one place is booked)
    path.unlink()
    ticks.t = 36
    with pytest.raises(Refused, match="no_queue"):
        queue.days(DBD, "REG", "web")  # a removed file closes that agency's queue


def test_a_calendar_edit_applies_while_running_and_a_broken_one_is_kept_out(
        calendar_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    ticks = Ticks()
    live = LiveCalendar(calendar_file, every=5, clock=ticks)
    first = live.current()
    assert first.is_working_day(dt.date(2026, 12, 4))
    declare(calendar_file, "2026-12-04", "cabinet")
    assert live.current() is first  # not looked at yet
    ticks.t = 5
    second = live.current()
    assert second is not first and not second.is_working_day(dt.date(2026, 12, 4))
    with caplog.at_level(logging.ERROR, logger="delayhub.queueing.settings"):
        calendar_file.write_text(calendar_file.read_text(encoding="utf-8").replace("2026-12-04", "'2026-13-45'"),
                                 encoding="utf-8")
        ticks.t = 10
        assert live.current() is second
    assert str(calendar_file) in caplog.text and "special_days_off" in caplog.text


def test_the_command_line_tick_does_every_other_agencys_work_when_one_file_is_broken(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from delayhub.queueing.__main__ import main

    folder = tmp_path / "queue"
    folder.mkdir()
    shutil.copy(ROOT / "data" / "queue" / f"{DBD}.yaml", folder)
    broken = folder / "MOI-DPT-BCD.yaml"
    broken.write_text((ROOT / "data" / "queue" / "MOI-DPT-BCD.yaml").read_text(encoding="utf-8")
                      .replace("grace_minutes:", "grace_minutes: soon #"), encoding="utf-8")
    monkeypatch.setenv("DELAYHUB_QUEUE_SETTINGS", str(folder))
    monkeypatch.setenv("DELAYHUB_WEB_SECRET", "cli-test-secret-" + "c" * 40)
    monkeypatch.setenv("DELAYHUB_NOW", "2026-11-25T13:05:00+07:00")
    assert main(["tick"]) == 1
    out = capsys.readouterr()
    assert f"error: {broken}: grace_minutes" in out.err
    # MOC-DBD's afternoon web places went to walk-ins all the same: 7 slots × (4 + 2)
    assert out.out.strip() == ('{"closed": 0, "released": 0, "handed_over": 42, "reminded": 0, '
                               '"codes_scrubbed": 0}')
