"""What the web application says, in Thai first and English as the switch, and how it writes dates.

``MESSAGES[lang][key]`` with ``str.format`` fields. Both languages hold the same keys (a test
checks it), and a missing key raises instead of showing a blank.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from ..thai import BE_OFFSET, format_thai_date

LANGUAGES = ("th", "en")
DEFAULT = "th"

MESSAGES: dict[str, dict[str, str]] = {
    "th": {
        "app_name": "delayhub ศูนย์แจ้งความล่าช้าตามมาตรา 10",
        "skip": "ข้ามไปยังเนื้อหา",
        "switch_label": "English",
        "switch_lang": "en",
        "nav_label": "เมนูหลัก",
        "nav_lateness": "รายงานความล่าช้า",
        "nav_password": "เปลี่ยนรหัสผ่าน",
        "logout": "ออกจากระบบ",
        "signed_in_as": "ผู้ใช้: {name} ({role})",
        "role_officer": "เจ้าหน้าที่",
        "role_agency_admin": "ผู้ดูแลหน่วยงาน",
        "role_opdc": "สำนักงาน ก.พ.ร.",
        "error_prefix": "ข้อผิดพลาด: ",
        "error_summary": "มีข้อผิดพลาด",
        # signing in
        "login_title": "เข้าสู่ระบบ",
        "login_intro": "สำหรับเจ้าหน้าที่หน่วยงานและสำนักงาน ก.พ.ร.",
        "username": "ชื่อผู้ใช้",
        "password": "รหัสผ่าน",
        "login_button": "เข้าสู่ระบบ",
        "login_failed": "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง",
        "login_locked": "ใส่รหัสผ่านผิดหลายครั้งเกินไป กรุณารอ {minutes} นาทีแล้วลองใหม่",
        "username_required": "กรุณาระบุชื่อผู้ใช้",
        "password_required": "กรุณาระบุรหัสผ่าน",
        "logged_out": "ออกจากระบบแล้ว",
        # password
        "password_title": "เปลี่ยนรหัสผ่าน",
        "current_password": "รหัสผ่านปัจจุบัน",
        "new_password": "รหัสผ่านใหม่",
        "new_password_hint": "อย่างน้อย {n} ตัวอักษร และไม่ซ้ำกับชื่อผู้ใช้",
        "confirm_password": "ยืนยันรหัสผ่านใหม่",
        "password_button": "บันทึกรหัสผ่านใหม่",
        "password_changed": "เปลี่ยนรหัสผ่านแล้ว เครื่องอื่นที่เข้าระบบด้วยบัญชีนี้จะต้องเข้าสู่ระบบใหม่",
        "current_password_required": "กรุณาระบุรหัสผ่านปัจจุบัน",
        "current_password_wrong": "รหัสผ่านปัจจุบันไม่ถูกต้อง",
        "new_password_short": "รหัสผ่านใหม่ต้องมีอย่างน้อย {n} ตัวอักษร",
        "new_password_username": "รหัสผ่านใหม่ต้องไม่ซ้ำกับชื่อผู้ใช้",
        "confirm_password_mismatch": "กรุณายืนยันรหัสผ่านใหม่ให้ตรงกับช่องรหัสผ่านใหม่",
        # errors
        "csrf_title": "แบบฟอร์มหมดอายุ",
        "csrf_body": "แบบฟอร์มนี้หมดอายุหรือไม่ได้ส่งมาจากหน้านี้ กรุณาเปิดหน้าเดิมใหม่แล้วลองอีกครั้ง",
        "forbidden_title": "ไม่มีสิทธิ์เข้าถึง",
        "forbidden_body": "บัญชีของท่านไม่มีสิทธิ์ดูหน้านี้ หากต้องใช้งาน กรุณาติดต่อผู้ดูแลหน่วยงาน",
        "not_found_title": "ไม่พบหน้าที่ต้องการ",
        "not_found_body": "ไม่พบหน้านี้ ลิงก์อาจไม่ถูกต้องหรือหน้าถูกย้ายแล้ว",
        "back_home": "กลับหน้าแรก",
        # the lateness view
        "lateness_title": "รายงานความล่าช้าในการพิจารณาอนุญาต",
        "lateness_intro": "คำขอที่เกินระยะเวลาตามคู่มือสำหรับประชาชน และหนังสือแจ้งเหตุแห่งความล่าช้าตามมาตรา 10 "
                          "แยกตามกระทรวง กรม และกอง",
        "filter_legend": "เลือกข้อมูลที่จะแสดง",
        "agency": "หน่วยงาน",
        "all_agencies": "ทุกหน่วยงานในสิทธิ์ของท่าน",
        "start": "ตั้งแต่วันที่",
        "end": "ถึงวันที่",
        "date_hint": "วัน/เดือน/ปี พ.ศ. เช่น 1/10/2569",
        "show": "แสดง",
        "start_invalid": "กรุณาระบุวันเริ่มต้นเป็น วัน/เดือน/ปี พ.ศ. เช่น 1/10/2569",
        "end_invalid": "กรุณาระบุวันสิ้นสุดเป็น วัน/เดือน/ปี พ.ศ. เช่น 31/10/2569",
        "end_before_start": "วันสิ้นสุดต้องไม่ก่อนวันเริ่มต้น",
        "end_in_future": "วันสิ้นสุดต้องไม่เกินวันนี้ ({today})",
        "period_too_long": "ช่วงวันที่ต้องไม่เกิน {days} วัน",
        "agency_invalid": "กรุณาเลือกหน่วยงานจากรายการ",
        "as_of": "คำขอ ณ วันที่ {end} · หนังสือแจ้งที่ครบกำหนดส่งระหว่างวันที่ {start} ถึง {end}",
        "summary_label": "ภาพรวม",
        "ministry": "กระทรวง",
        "department": "กรม",
        "division": "กอง",
        "all_departments": "รวมทุกกรม",
        "all_divisions": "รวมทุกกอง",
        "no_division": "(ไม่ระบุกอง)",
        "total": "รวมทั้งหมด",
        "col_open": "คำขอที่ยังไม่แล้วเสร็จ",
        "col_overdue": "คำขอที่เกินกำหนด",
        "col_sent": "หนังสือแจ้งที่ส่งแล้ว",
        "col_late": "ส่งล่าช้า",
        "col_failed": "ส่งไม่สำเร็จ",
        "table_caption": "คำขอและหนังสือแจ้งตามหน่วยงาน",
        "chart_title": "จำนวนคำขอที่เกินกำหนดรายวัน",
        "chart_desc": "ตั้งแต่วันที่ {start} ถึง {end} สูงสุด {max} คำขอ (วันที่ {max_date}) วันสุดท้าย {last} คำขอ",
        "chart_bar": "{date}: {n} คำขอ",
        "chart_data": "ตัวเลขของกราฟ",
        "date": "วันที่",
        "requests": "คำขอ",
        "longest_title": "คำขอที่เกินกำหนดนานที่สุด {n} รายการ",
        "request_no": "เลขที่คำขอ",
        "process": "กระบวนงาน",
        "applicant": "ผู้ยื่นคำขอ",
        "due_on": "ครบกำหนด",
        "days_overdue": "เกินกำหนด (วัน)",
        "notices_sent": "หนังสือแจ้งที่ส่งแล้ว",
        "none_overdue": "ไม่มีคำขอที่เกินกำหนด",
        "downloads": "ดาวน์โหลดตารางนี้",
        "download_csv": "CSV",
        "download_xlsx": "Excel",
        "level": "ระดับ",
        "code": "รหัสหน่วยงาน",
        "sheet_table": "ตามหน่วยงาน",
        "sheet_longest": "เกินกำหนดนานที่สุด",
        "sheet_filters": "เงื่อนไข",
        "item": "รายการ",
        "value": "ค่า",
        "generated_at": "จัดทำเมื่อ",
        "scope": "สิทธิ์การดูข้อมูล",
        "scope_all": "ทุกหน่วยงาน",
    },
    "en": {
        "app_name": "delayhub: Section 10 delay notices",
        "skip": "Skip to content",
        "switch_label": "ภาษาไทย",
        "switch_lang": "th",
        "nav_label": "Main menu",
        "nav_lateness": "Lateness report",
        "nav_password": "Change password",
        "logout": "Sign out",
        "signed_in_as": "Signed in as {name} ({role})",
        "role_officer": "Officer",
        "role_agency_admin": "Agency administrator",
        "role_opdc": "OPDC",
        "error_prefix": "Error: ",
        "error_summary": "There is a problem",
        "login_title": "Sign in",
        "login_intro": "For agency officers and the OPDC.",
        "username": "Username",
        "password": "Password",
        "login_button": "Sign in",
        "login_failed": "The username or password is not right",
        "login_locked": "Too many wrong passwords: wait {minutes} minutes and try again",
        "username_required": "Enter your username",
        "password_required": "Enter your password",
        "logged_out": "You have signed out",
        "password_title": "Change your password",
        "current_password": "Current password",
        "new_password": "New password",
        "new_password_hint": "At least {n} characters, not your username",
        "confirm_password": "Confirm the new password",
        "password_button": "Save the new password",
        "password_changed": "Your password is changed. Other devices signed in with this account must sign in again",
        "current_password_required": "Enter your current password",
        "current_password_wrong": "The current password is not right",
        "new_password_short": "The new password must have at least {n} characters",
        "new_password_username": "The new password must not be your username",
        "confirm_password_mismatch": "Confirm the new password: the two entries differ",
        "csrf_title": "This form has expired",
        "csrf_body": "This form expired or was not sent from this site. Open the page again and retry",
        "forbidden_title": "You do not have access",
        "forbidden_body": "Your account may not see this page. Ask your agency's administrator if you need it",
        "not_found_title": "Page not found",
        "not_found_body": "There is no such page: the link may be wrong or the page has moved",
        "back_home": "Back to the start",
        "lateness_title": "Lateness of licensing requests",
        "lateness_intro": "Requests past the deadline in their citizen manual, and Section 10 delay notices, "
                          "by ministry, department and division",
        "filter_legend": "Choose what to show",
        "agency": "Agency",
        "all_agencies": "Every agency you may see",
        "start": "From",
        "end": "To",
        "date_hint": "day/month/year, e.g. 1/10/2026",
        "show": "Show",
        "start_invalid": "Enter the start date as day/month/year, e.g. 1/10/2026",
        "end_invalid": "Enter the end date as day/month/year, e.g. 31/10/2026",
        "end_before_start": "The end date must not be before the start date",
        "end_in_future": "The end date must not be after today ({today})",
        "period_too_long": "The period must be at most {days} days",
        "agency_invalid": "Choose an agency from the list",
        "as_of": "Requests as at {end} · notices owed from {start} to {end}",
        "summary_label": "Overview",
        "ministry": "Ministry",
        "department": "Department",
        "division": "Division",
        "all_departments": "All departments",
        "all_divisions": "All divisions",
        "no_division": "(no division)",
        "total": "Total",
        "col_open": "Open requests",
        "col_overdue": "Overdue requests",
        "col_sent": "Notices sent",
        "col_late": "Sent late",
        "col_failed": "Not delivered",
        "table_caption": "Requests and notices by agency",
        "chart_title": "Overdue requests per day",
        "chart_desc": "From {start} to {end}: at most {max} requests ({max_date}), {last} on the last day",
        "chart_bar": "{date}: {n} requests",
        "chart_data": "The chart's figures",
        "date": "Date",
        "requests": "Requests",
        "longest_title": "The {n} longest-overdue requests",
        "request_no": "Request number",
        "process": "Process",
        "applicant": "Applicant",
        "due_on": "Due",
        "days_overdue": "Days overdue",
        "notices_sent": "Notices sent",
        "none_overdue": "No request is overdue",
        "downloads": "Download this table",
        "download_csv": "CSV",
        "download_xlsx": "Excel",
        "level": "Level",
        "code": "Agency code",
        "sheet_table": "By agency",
        "sheet_longest": "Longest overdue",
        "sheet_filters": "Filters",
        "item": "Item",
        "value": "Value",
        "generated_at": "Generated",
        "scope": "Your scope",
        "scope_all": "Every agency",
    },
}


def merge(catalogue: dict[str, dict[str, str]]) -> None:
    """Add an area's own catalogue (``i18n_<area>.py``); a key both define is a mistake, not an override."""
    for lang in LANGUAGES:
        twice = MESSAGES[lang].keys() & catalogue[lang].keys()
        if twice:
            raise ValueError(f"message keys defined twice ({lang}): {', '.join(sorted(twice))}")
        MESSAGES[lang].update(catalogue[lang])


def _merge_areas() -> None:
    from . import i18n_desk, i18n_oidc, i18n_queue, i18n_queue_report, i18n_tracking

    merge(i18n_desk.MESSAGES)
    merge(i18n_oidc.MESSAGES)
    merge(i18n_queue.MESSAGES)
    merge(i18n_queue_report.MESSAGES)
    merge(i18n_tracking.MESSAGES)
    from . import i18n_counter  # the counters and the hall display (web/queue_counter.py)

    merge(i18n_counter.MESSAGES)
    from . import i18n_survey  # the survey page (web/survey.py) and the queue's consent box

    merge(i18n_survey.MESSAGES)
    from . import i18n_survey_report  # the survey's agency report and OPDC ranking (web/survey_report.py)

    merge(i18n_survey_report.MESSAGES)


_merge_areas()


def pick(value: str | None) -> str | None:
    """A supported language code, or None."""
    return value if value in LANGUAGES else None


def translator(lang: str) -> Callable[..., str]:
    """``t(key, **fields)`` in ``lang``."""
    messages = MESSAGES[lang]

    def t(key: str, **fields: Any) -> str:
        text = messages[key]
        return text.format(**fields) if fields else text

    return t


def format_date(day: dt.date, lang: str, *, short: bool = False, year: bool = True) -> str:
    """Thai: ``24 พฤศจิกายน 2569`` (Buddhist Era); English: ``24 November 2026``. ``short``
    abbreviates the month (``24 พ.ย. 2569``) and ``year=False`` leaves the year out (chart labels)."""
    if lang == "th":
        text = format_thai_date(day, thai_digits=False, short=short)
        return text if year else text.rsplit(" ", 1)[0]
    text = f"{day.day} {day:%b}" if short else f"{day.day} {day:%B}"
    return f"{text} {day.year}" if year else text


def date_input_value(day: dt.date, lang: str) -> str:
    """A date as typed into a date box: ``1/10/2569`` in Thai (BE), ``1/10/2026`` in English."""
    year = day.year + BE_OFFSET if lang == "th" else day.year
    return f"{day.day}/{day.month}/{year}"


def number(n: int) -> str:
    return f"{n:,}"
