"""Everything one letter needs, already in the letter's language, and how to build it from a notice.

Pure data: no Airflow, no store. Dates stay ``datetime.date``; the renderer formats them (Thai
digits and Buddhist-Era years in Thai letters, Gregorian years in English ones).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..messages import NoticeContext
from ..registry import Agency
from ..thai import to_thai_digits
from .settings import LetterSettings

FINISHED = ("completed", "rejected")


@dataclass(frozen=True)
class LetterContext:
    reference_no: str  # ที่ …, e.g. "พณ ๐๗๐๓/๑๒๓๔" (see reference_number)
    letter_date: dt.date
    agency_name: str
    agency_address: str
    agency_phone: str
    owning_unit: str  # ส่วนราชการเจ้าของเรื่อง, printed with the telephone under the signature
    signatory_name: str  # empty: blank parentheses, signed and named by hand
    signatory_position: tuple[str, ...]  # one line each, e.g. position then "ปฏิบัติราชการแทน…"
    applicant_name: str | None
    applicant_address: str | None
    request_no: str
    submitted_on: dt.date
    process_name: str
    division: str = ""  # where the request was filed
    due_on: dt.date | None = None
    sequence: int = 1  # k-th delay notice for this request
    reason: str | None = None  # delay letters: required
    expected_completion: dt.date | None = None  # None: "ยังไม่สามารถระบุได้"
    completed_on: dt.date | None = None  # result letters: required
    status: str = ""  # result letters: completed | rejected
    result_note: str = ""  # result letters: licence number, or the grounds of a refusal
    late_days: int = 0  # the notice goes out this many days after it was owed
    letterhead: tuple[str, ...] = ()  # lines top right; empty: agency name and address
    fax: str = ""
    email: str = ""
    tracking_url: str = ""
    department_code: str = ""  # picks templates/letters/<code>/ overrides when present
    emblem: str = ""  # image under templates/letters/ drawn at the top centre
    tracking_code: str = ""  # the request's (delayhub.tracking): printed with a QR code of the tracking link
    survey_url: str = ""  # result letters: the satisfaction survey of this request, printed as a QR code


def reference_number(prefix: str, running_no: int, language: str = "th") -> str:
    """``พณ ๐๗๐๓`` + 1234 → ``พณ ๐๗๐๓/๑๒๓๔`` (Thai digits in Thai letters); no prefix: the number alone."""
    text = f"{prefix}/{running_no}" if prefix else str(running_no)
    return to_thai_digits(text) if language == "th" else text


def build_context(notice: NoticeContext, settings: LetterSettings, department: Agency, *,
                  running_no: int, letter_date: dt.date, language: str = "th",
                  division_code: str | None = None, applicant_address: str | None = None,
                  expected_completion: dt.date | None = None, result_note: str = "",
                  survey_url: str = "") -> LetterContext:
    """A letter for ``notice`` in ``language``: settings first, the registry where they are silent.

    ``running_no`` is the agency's next outgoing-letter number (the caller owns that counter).
    """
    s = settings.for_unit(division_code)
    agency_name = s.text("agency_name", language) or department.name
    return LetterContext(
        reference_no=reference_number(s.text("reference_prefix", language), running_no, language),
        letter_date=letter_date, agency_name=agency_name, agency_address=department.address,
        agency_phone=s.phone or notice.contact_phone or department.phone,
        owning_unit=s.text("owning_unit", language) or notice.division or agency_name,
        signatory_name=s.text("signatory_name", language),
        signatory_position=s.lines("signatory_position", language),
        applicant_name=notice.applicant_name, applicant_address=applicant_address,
        request_no=notice.request_no, submitted_on=notice.submitted_on, process_name=notice.process_name,
        division=(s.owning_unit.get("en") or notice.division) if language == "en" else notice.division,
        due_on=notice.due_on, sequence=notice.sequence, reason=notice.reason,
        expected_completion=expected_completion, completed_on=notice.completed_on, status=notice.status,
        result_note=result_note, late_days=notice.late_days, letterhead=s.lines("letterhead", language),
        fax=s.fax, email=s.email, tracking_url=notice.tracking_url, department_code=settings.department,
        emblem=s.emblem, tracking_code=notice.tracking_code, survey_url=survey_url,
    )
