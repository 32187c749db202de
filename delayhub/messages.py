"""The words of each notice, Thai first: email subject and body, SMS text, OPDC copy.

Rendered once when a notice is queued and pinned in its outbox row, so what was sent can be
shown exactly later. An applicant who reads English (``NoticeContext.language``) gets the email
and SMS in English; the OPDC's copy and every message to an agency stay Thai.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from .thai import format_thai_date, to_arabic_digits, to_thai_digits
from .tracking import display_code, tracking_link

LANGUAGES = ("th", "en")
_EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December")


@dataclass(frozen=True)
class NoticeContext:
    request_no: str
    department: str
    division: str
    process_name: str
    applicant_name: str | None
    submitted_on: dt.date
    due_on: dt.date | None
    kind: str  # delay | result
    sequence: int
    reason: str | None
    status: str
    completed_on: dt.date | None
    late_days: int
    contact_phone: str
    tracking_url: str
    language: str = "th"  # the applicant's: th | en (payloads pinned before it existed mean th)
    department_en: str = ""  # the agency's English names for English messages; empty: the Thai ones
    division_en: str = ""
    tracking_code: str = ""  # the request's (delayhub.tracking); payloads pinned before it existed have none


_DATE_FIELDS = ("submitted_on", "due_on", "completed_on")


def notice_payload(ctx: NoticeContext) -> dict[str, object]:
    """The notice's facts as JSON, pinned on its outbox rows."""
    data = dataclasses.asdict(ctx)
    return {k: (v.isoformat() if k in _DATE_FIELDS and v else v) for k, v in data.items()}


def notice_from_payload(payload: dict[str, object]) -> NoticeContext:
    fields = {f.name for f in dataclasses.fields(NoticeContext)}
    data = {k: v for k, v in payload.items() if k in fields}
    for k in _DATE_FIELDS:
        data[k] = dt.date.fromisoformat(str(data[k])) if data.get(k) else None
    return NoticeContext(**data)  # type: ignore[arg-type]


def format_date(day: dt.date, language: str) -> str:
    """``๒๔ พฤศจิกายน ๒๕๖๙`` in Thai (Buddhist Era, Thai digits), ``24 November 2026`` in English."""
    if language == "th":
        return format_thai_date(day)
    return f"{day.day} {_EN_MONTHS[day.month - 1]} {day.year}"


def _d(day: dt.date | None) -> str:
    return format_thai_date(day) if day else "-"


def _link(ctx: NoticeContext) -> str:
    """The tracking page, with the request number and code filled in when the notice has a code."""
    return tracking_link(ctx.tracking_url, ctx.request_no, ctx.tracking_code) if ctx.tracking_code else ctx.tracking_url


def email_text(ctx: NoticeContext) -> tuple[str, str]:
    """(subject, plain-text body) for the applicant, in the applicant's language."""
    if ctx.language == "en":
        return _email_text_en(ctx)
    who = ctx.applicant_name or "ผู้ยื่นคำขอ"
    if ctx.kind == "delay":
        subject = f"แจ้งเหตุแห่งความล่าช้าในการพิจารณาคำขอ เลขที่ {ctx.request_no} (ครั้งที่ {to_thai_digits(str(ctx.sequence))})"
        lines = [
            f"เรียน {who}",
            "",
            f"ตามที่ท่านได้ยื่นคำขอ{ctx.process_name} เลขที่ {ctx.request_no} ต่อ{ctx.division} {ctx.department} "
            f"เมื่อวันที่ {_d(ctx.submitted_on)} ซึ่งตามคู่มือสำหรับประชาชนจะต้องพิจารณาให้แล้วเสร็จภายในวันที่ {_d(ctx.due_on)} นั้น",
            "",
            "บัดนี้ การพิจารณาคำขอของท่านยังไม่แล้วเสร็จ เนื่องจาก" + (ctx.reason or ""),
            "",
            "จึงขอแจ้งเหตุแห่งความล่าช้าให้ท่านทราบตามมาตรา ๑๐ แห่งพระราชบัญญัติการอำนวยความสะดวกในการพิจารณาอนุญาต"
            "ของทางราชการ พ.ศ. ๒๕๕๘ และจะแจ้งความคืบหน้าให้ทราบทุกเจ็ดวันจนกว่าการพิจารณาจะแล้วเสร็จ",
        ]
    else:
        result = "ได้รับอนุญาต/อนุมัติ" if ctx.status == "completed" else "ไม่ได้รับอนุญาต/ไม่อนุมัติ"
        subject = f"แจ้งผลการพิจารณาคำขอ เลขที่ {ctx.request_no}"
        lines = [
            f"เรียน {who}",
            "",
            f"คำขอ{ctx.process_name} เลขที่ {ctx.request_no} ที่ท่านยื่นต่อ{ctx.division} {ctx.department} "
            f"เมื่อวันที่ {_d(ctx.submitted_on)} ได้พิจารณาแล้วเสร็จเมื่อวันที่ {_d(ctx.completed_on)} ผลการพิจารณา: {result}",
        ]
    if ctx.late_days > 0:
        lines += ["", f"(หนังสือฉบับนี้ส่งช้ากว่ากำหนด {to_thai_digits(str(ctx.late_days))} วัน)"]
    lines += [
        "",
        f"ติดตามสถานะคำขอได้ที่ {_link(ctx)}",
        *([f"รหัสติดตามคำขอ: {display_code(ctx.tracking_code)}"] if ctx.tracking_code else []),
        f"สอบถามเพิ่มเติม โทร. {ctx.contact_phone}",
        "",
        ctx.department,
    ]
    return subject, "\n".join(lines)


def _email_text_en(ctx: NoticeContext) -> tuple[str, str]:
    def d(day: dt.date | None) -> str:
        return format_date(day, "en") if day else "-"

    who = ctx.applicant_name or "Applicant"
    department = ctx.department_en or ctx.department
    unit = ", ".join(x for x in (ctx.division_en or ctx.division, department) if x)
    filed = (f"Your application for {ctx.process_name} (no. {ctx.request_no}), submitted to the {unit} "
             f"on {d(ctx.submitted_on)}")
    if ctx.kind == "delay":
        subject = (f"Notice of the reason for delay in considering application no. {ctx.request_no} "
                   f"(notice no. {ctx.sequence})")
        lines = [
            f"Dear {who},",
            "",
            f"{filed}, was to be decided by {d(ctx.due_on)} under the Citizen's Manual.",
            "",
            f"The consideration of your application has not yet been completed, for the following reason: "
            f"{ctx.reason or ''}",
            "",
            "This notice is given under section 10 of the Licensing Facilitation Act B.E. 2558 (2015). We will "
            "inform you of the progress every seven days until the consideration is completed.",
        ]
    else:
        result = "approved" if ctx.status == "completed" else "not approved"
        subject = f"Result of the consideration of application no. {ctx.request_no}"
        lines = [
            f"Dear {who},",
            "",
            f"{filed}, was decided on {d(ctx.completed_on)}. Result: {result}.",
        ]
    lines += ["", "The official letter, in Thai, is attached with an English translation for your convenience."]
    if ctx.late_days > 0:
        days = f"{ctx.late_days} day" + ("s" if ctx.late_days != 1 else "")
        lines += ["", f"(This notice is sent {days} later than it was due; we apologise for the delay.)"]
    lines += [
        "",
        f"Follow your application at {_link(ctx)}",
        *([f"Tracking code: {display_code(ctx.tracking_code)}"] if ctx.tracking_code else []),
        f"Enquiries: tel. {to_arabic_digits(ctx.contact_phone)}",
        "",
        department,
    ]
    return subject, "\n".join(lines)


def sms_text(ctx: NoticeContext) -> str:
    """One short message in the applicant's language: the request number, where to read the notice and
    the tracking code, in two parts at most (the first wording that fits, see ``_sms_wordings``)."""
    from .dispatch.sms_providers import segments  # here: the dispatch package imports this module

    wordings = _sms_wordings(ctx)
    return next((text for text in wordings if segments(text) <= 2), wordings[-1])


def _sms_wordings(ctx: NoticeContext) -> list[str]:
    # the link comes early: a message too long for two parts is cut at its end (sms_providers.fit)
    code = f" code {display_code(ctx.tracking_code)}" if ctx.tracking_code else ""
    if ctx.language == "en":
        # plain ASCII apart from the request number (GSM 7-bit: 153 characters a part). A request
        # number with Thai letters makes it UCS-2 (67 a part): then a long English agency name gives
        # way to its shorter Thai one rather than the message running to three parts.
        names = dict.fromkeys([ctx.department_en or ctx.department, ctx.department])
        if ctx.kind == "delay":
            return [f"Application {ctx.request_no}: delay notice {ctx.sequence}, see {ctx.tracking_url}{code} - {name}"
                    for name in names]
        return [f"Application {ctx.request_no} decided: see {ctx.tracking_url}{code} - {name}" for name in names]
    code = f" รหัส {display_code(ctx.tracking_code)}" if ctx.tracking_code else ""
    if ctx.kind == "delay":  # a long number and a long agency name: fewer words
        return [f"คำขอ {ctx.request_no} ล่าช้า (แจ้งครั้งที่ {ctx.sequence}) ดูหนังสือที่ {ctx.tracking_url}{code}"
                f" — {ctx.department}",
                f"คำขอ {ctx.request_no} ล่าช้า แจ้งครั้งที่ {ctx.sequence} ดูที่ {ctx.tracking_url}{code} — {ctx.department}"]
    return [f"คำขอ {ctx.request_no} พิจารณาแล้วเสร็จ ดูผลที่ {ctx.tracking_url}{code} — {ctx.department}"]


def opdc_copy(ctx: NoticeContext) -> tuple[str, str]:
    """The OPDC's copy: always Thai, whatever the applicant reads, and without the applicant's
    tracking code (it opens the request's letters)."""
    subject, body = email_text(dataclasses.replace(ctx, language="th", tracking_code=""))
    return f"สำเนา: {subject}", f"สำเนาส่ง สำนักงาน ก.พ.ร. (มาตรา ๑๐)\n\n{body}"


def held_alert(ctx: NoticeContext, mapping_file: str | None) -> tuple[str, str]:
    """To the agency: a delay notice is owed but cannot be sent without a reason."""
    subject = f"[delayhub] ระงับการส่งหนังสือแจ้งเหตุล่าช้า คำขอเลขที่ {ctx.request_no}: ไม่มีเหตุแห่งความล่าช้า"
    where = f"หรือกำหนดเหตุเริ่มต้นของกระบวนการใน {mapping_file} (delay_reasons)" if mapping_file else ""
    body = "\n".join([
        f"เรียน {ctx.department}",
        "",
        f"คำขอ{ctx.process_name} เลขที่ {ctx.request_no} พ้นกำหนดตามคู่มือสำหรับประชาชนเมื่อวันที่ {_d(ctx.due_on)} "
        f"และถึงกำหนดแจ้งเหตุแห่งความล่าช้าครั้งที่ {to_thai_digits(str(ctx.sequence))} แล้ว "
        "แต่ระบบไม่สามารถส่งหนังสือได้ เนื่องจากไม่มีเหตุแห่งความล่าช้า",
        "",
        f"กรุณาบันทึกเหตุแห่งความล่าช้าในระบบงานของหน่วยงาน {where} "
        "ระบบจะส่งหนังสือให้ผู้ยื่นคำขอโดยอัตโนมัติในรอบถัดไป พร้อมระบุจำนวนวันที่ล่าช้า",
    ])
    return subject, body


def refusal_alert(department: str, request_no: str, kind: str, sequence: int, channel: str,
                  detail: str | None) -> tuple[str, str]:
    """To the agency: a notice was refused for good by the applicant's email server or SMS gateway."""
    how = {"email": "อีเมล", "sms": "SMS"}.get(channel, channel)
    what = "หนังสือแจ้งเหตุแห่งความล่าช้า" if kind == "delay" else "หนังสือแจ้งผลการพิจารณา"
    subject = f"[delayhub] ส่ง{what} คำขอเลขที่ {request_no} ทาง{how}ไม่สำเร็จ"
    body = "\n".join([
        f"เรียน {department}",
        "",
        f"{what} (ครั้งที่ {to_thai_digits(str(sequence))}) สำหรับคำขอเลขที่ {request_no} ส่งถึงผู้ยื่นคำขอทาง{how}ไม่สำเร็จ "
        f"และจะไม่ส่งซ้ำทางช่องทางนี้: {detail or 'ปลายทางปฏิเสธ'}",
        "",
        "กรุณาตรวจสอบและแก้ไขข้อมูลการติดต่อของผู้ยื่นคำขอในระบบงานของหน่วยงาน หนังสือฉบับพิมพ์ยังคงต้องจัดส่งตามปกติ",
    ])
    return subject, body
