"""The queue's SMS texts, in the booker's language. A Thai SMS is UCS-2 (70 units, 67 a part): the
texts keep what matters first, so the dispatcher's ``fit`` can only shorten the agency's name."""

from __future__ import annotations

import datetime as dt
import os

from ..config import TIMEZONE
from ..thai import format_thai_date

PUBLIC_URL_ENV = "DELAYHUB_PUBLIC_URL"
DEFAULT_PUBLIC_URL = "https://delayhub.go.th"
NUMBER = "{no}"  # where the queue number goes: the database fills it in when it gives the number


def public_url() -> str:
    """Where people reach the web application: links in SMS and on tickets start here."""
    return (os.environ.get(PUBLIC_URL_ENV) or DEFAULT_PUBLIC_URL).rstrip("/")


def booking_link(base: str, token: str) -> str:
    return f"{base.rstrip('/')}/queue/b/{token}"


def otp_text(code: str, minutes: int, lang: str) -> str:
    if lang == "en":
        return f"{code} is your queue booking code. It expires in {minutes} minutes. Do not share it."
    return f"รหัสยืนยัน {code} สำหรับจองคิว ใช้ได้ {minutes} นาที ห้ามบอกผู้อื่น"


def when(starts_at: dt.datetime, lang: str) -> tuple[str, str]:
    """(date, time) of a slot as a booker reads them: ``26 พ.ย. 2569``, ``09:00``."""
    local = starts_at.astimezone(TIMEZONE)
    if lang == "en":
        return f"{local.day} {local:%b %Y}", f"{local:%H:%M}"
    return format_thai_date(local.date(), thai_digits=False, short=True), f"{local:%H:%M}"


def confirmation_text(link: str, starts_at: dt.datetime | None, counters: str, agency: str, lang: str,
                      number: str = NUMBER, day: dt.date | None = None) -> str:
    """The booking's SMS: the number, when, the counter, the link to see, cancel or change it. A booking
    that joins today's queue (mobile, walk-in) has a day but no time of its own."""
    if starts_at is not None:
        date, at = when(starts_at, lang)
        at = at if lang == "en" else f"{at} น."
    else:
        assert day is not None
        date, at = (f"{day.day} {day:%b %Y}", "today") if lang == "en" else (
            format_thai_date(day, thai_digits=False, short=True), "วันนี้")
    if lang == "en":
        return f"Queue {number} {date} {at} counter {counters}. View/cancel: {link} - {agency}"
    return f"คิว {number} {date} {at} ช่อง {counters} ดู/ยกเลิก {link} {agency}"


def phone_added_text(number: str, link: str, lang: str) -> str:
    if lang == "en":
        return f"Queue {number}: we will text you when your turn is near. Follow: {link}"
    return f"คิว {number} จะแจ้งทาง SMS เมื่อใกล้ถึงคิว ติดตามคิว {link}"


def agency_link(base: str, agency: str) -> str:
    """The agency's booking page: where a person whose booking was closed books again."""
    return f"{base.rstrip('/')}/queue/{agency}"


def reminder_text(number: str, starts_at: dt.datetime, counters: str, link: str, agency: str, lang: str) -> str:
    """The reminder sent the working day before: the number, when, the counter, the link to see, cancel or
    change it; the agency's name last (the dispatcher's ``fit`` may shorten only that)."""
    date, at = when(starts_at, lang)
    if lang == "en":
        return f"Reminder: queue {number} {date} {at} counter {counters}. View/cancel: {link} - {agency}"
    return f"เตือนนัด คิว {number} {date} {at} น. ช่อง {counters} ดู/ยกเลิก {link} {agency}"


def closed_text(number: str, day: dt.date, link: str, agency: str, lang: str) -> str:
    """A booked day became a day off (Cabinet-declared, the agency's closure): the booking is closed; book
    again at the link."""
    if lang == "en":
        return f"Queue {number} on {day.day} {day:%b %Y} is cancelled: the office is closed that day. " \
               f"Book again: {link} - {agency}"
    date = format_thai_date(day, thai_digits=False, short=True)
    return f"{date} หน่วยงานปิดทำการ คิว {number} ถูกยกเลิก จองใหม่ {link} {agency}"


def called_text(number: str, counter: str, lang: str) -> str:
    """The person's turn (the counter's call): one short SMS part, the number and the counter first."""
    if lang == "en":
        return f"Queue {number}: it is your turn. Please go to counter {counter} now."
    return f"ถึงคิว {number} แล้ว เชิญที่ช่องบริการ {counter}"


def near_text(number: str, ahead: int, minutes: int, lang: str) -> str:
    """The turn is near: how many are ahead and the wait estimated from measured service times."""
    if lang == "en":
        people = "1 person" if ahead == 1 else f"{ahead} people"
        return f"Queue {number}: {people} ahead of you, about {minutes} min. Please wait near the counters."
    return f"คิว {number} อีก {ahead} คิวจะถึงท่าน ประมาณ {minutes} นาที กรุณารอใกล้ช่องบริการ"
