"""What the hub's operators are told, Thai first with English below: a job failed (which agency,
which connector, what went wrong in plain words, what happens next) or a source has sent nothing
new for too long. Built here; sent through the one email sender (``dispatch.email``). The Airflow
callback in ``plugins/`` only gathers the facts.

``classify`` is also the retry policy: a transient failure (the back office unreachable, timing
out, answering 5xx) is worth retrying with backoff; a permanent one (credentials refused, a
broken mapping or Connection, an answer we cannot read) fails at once, since retrying cannot fix it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from dataclasses import dataclass

from .config import TIMEZONE, SmtpConfig
from .dispatch.email import Email, send_emails
from .errors import ConfigError, SourceAuthError, SourceError, SourceUnavailable
from .mapping import Mapping
from .pdpa import mask_email, mask_national_id, mask_phone
from .registry import Registry
from .staleness import Staleness
from .thai import format_thai_date

log = logging.getLogger(__name__)

DEFAULT_OPS_EMAIL = "delayhub-ops@opdc.go.th"
MAX_DETAIL = 800  # characters of the error shown; the full text is in the Airflow task log


def ops_email() -> str:
    """Where operator alerts go: ``DELAYHUB_OPS_EMAIL`` (one address or several, comma-separated)."""
    return os.environ.get("DELAYHUB_OPS_EMAIL") or DEFAULT_OPS_EMAIL


@dataclass(frozen=True)
class FailureKind:
    name: str
    retry: bool  # worth retrying with backoff
    cause_th: str
    cause_en: str
    action_th: str  # may name {conn} and {file}
    action_en: str


AUTH = FailureKind(
    "auth", False,
    "ระบบงานของหน่วยงานปฏิเสธรหัสผ่านหรือคีย์ที่ delayhub ใช้เชื่อมต่อ",
    "the back office refused our credentials",
    "ตรวจสอบ login, password หรือคีย์ใน Airflow Connection {conn} กับที่หน่วยงานออกให้ แล้วสั่งรัน DAG ใหม่",
    "check the login, password or key in the Airflow Connection {conn} with the agency, then trigger the DAG again")
CONFIG = FailureKind(
    "config", False,
    "การตั้งค่าไม่ถูกต้องหรือไม่ครบ (ไฟล์ mapping, Airflow Connection หรือทะเบียนหน่วยงาน)",
    "a setting is wrong or missing (the mappings file, the Airflow Connection or the registry)",
    "แก้ไขตามรายละเอียด ตรวจด้วย delayhub connector validate {file} และ delayhub connector test {file} "
    "แล้วสั่งรัน DAG ใหม่",
    "fix what the detail names, check with `delayhub connector validate {file}` and `delayhub connector test {file}`, "
    "then trigger the DAG again")
UNAVAILABLE = FailureKind(
    "unavailable", True,
    "ติดต่อระบบงานของหน่วยงานไม่ได้ชั่วคราว (เชื่อมต่อไม่ได้ หมดเวลารอ หรือเซิร์ฟเวอร์ขัดข้อง)",
    "the back office could not be reached for now (connection refused, timeout or a server error)",
    "ไม่ต้องทำอะไรหากรอบถัดไปสำเร็จ หากยังล้มเหลวต่อเนื่อง กรุณาติดต่อผู้ดูแลระบบงานของหน่วยงาน",
    "nothing if the next run succeeds; if it keeps failing, contact the agency's system administrators")
SOURCE = FailureKind(
    "source", False,
    "ระบบงานของหน่วยงานตอบกลับข้อมูลที่ delayhub อ่านไม่ได้ หรือปฏิเสธคำขอ",
    "the back office answered with something delayhub cannot read, or refused the request",
    "สอบถามหน่วยงานว่าระบบงานเปลี่ยนไปหรือไม่ ตรวจด้วย delayhub connector test {file} แล้วแก้ไข mapping หากจำเป็น",
    "ask the agency whether its system changed, check with `delayhub connector test {file}`, "
    "and correct the mapping if needed")
UNEXPECTED = FailureKind(
    "unexpected", True,
    "เกิดข้อผิดพลาดที่ไม่คาดคิดภายใน delayhub",
    "an unexpected error inside delayhub",
    "ดูบันทึก (log) ของงานใน Airflow ตามลิงก์ด้านล่าง",
    "read the task's log in Airflow (link below)")

# First match wins, so the subclasses of SourceError come before it.
_RULES: tuple[tuple[tuple[type[BaseException], ...], FailureKind], ...] = (
    ((SourceAuthError,), AUTH),
    ((SourceUnavailable, TimeoutError, ConnectionError), UNAVAILABLE),
    ((ConfigError,), CONFIG),
    ((SourceError,), SOURCE),
)


def classify(error: BaseException) -> FailureKind:
    """The kind of a failure. Follows ``raise … from`` causes, so a wrapped error (the Airflow
    adapter's fail-at-once exception) is judged by what really happened."""
    seen: BaseException | None = error
    while seen is not None:
        for types, kind in _RULES:
            if isinstance(seen, types):
                return kind
        seen = seen.__cause__
    return UNEXPECTED


def root_error(error: BaseException) -> BaseException:
    """The error ``classify`` judged by: the first in the cause chain that a rule knows, else ``error``."""
    seen: BaseException | None = error
    while seen is not None:
        if any(isinstance(seen, types) for types, _ in _RULES):
            return seen
        seen = seen.__cause__
    return error


_NID = re.compile(r"(?<!\d)\d-?\d{4}-?\d{5}-?\d{2}-?\d(?!\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\d)0\d{8,9}(?!\d)")


def scrub(text: str) -> str:
    """An error's text with national IDs, email addresses and phone numbers masked: a back office
    may echo a record in its error answer, and alerts are not the place for personal data."""
    text = _NID.sub(lambda m: mask_national_id(m.group().replace("-", "")), text)
    text = _EMAIL.sub(lambda m: mask_email(m.group()), text)
    text = _PHONE.sub(lambda m: mask_phone(m.group()), text)
    return text if len(text) <= MAX_DETAIL else text[:MAX_DETAIL] + " …"


@dataclass(frozen=True)
class OpsAlert:
    key: str  # Message-ID: the same alert sent twice is recognisably the same message
    subject: str
    body: str

    def email(self, to: str | None = None) -> Email:
        return Email(self.key, to or ops_email(), self.subject, self.body)


def _key(*parts: str) -> str:
    return "ops-" + re.sub(r"[^A-Za-z0-9._-]+", "-", "-".join(parts)).strip("-")


def _agency(mapping: Mapping, registry: Registry | None) -> tuple[str, str, str]:
    """(Thai name of the department, Thai line naming department and ministry, English line)."""
    code, ministry = mapping.agency["department"], mapping.agency["ministry"]
    agencies = registry.agencies if registry else {}
    dep, mini = agencies.get(code), agencies.get(ministry)
    name, ministry_name = dep.name if dep else code, mini.name if mini else ministry
    name_en = (dep.name_en or dep.name) if dep else code
    ministry_en = (mini.name_en or mini.name) if mini else ministry
    return (name, f"{name} ({code}) {ministry_name} ({ministry})",
            f"{name_en} ({code}), {ministry_en} ({ministry})")


def _span(length: dt.timedelta) -> tuple[str, str]:
    days, hours = length.days, length.seconds // 3600
    th = " ".join(p for p in (f"{days} วัน" if days else "", f"{hours} ชั่วโมง" if hours or not days else "") if p)
    en = " ".join(p for p in (f"{days} day{'s' * (days != 1)}" if days else "",
                              f"{hours} hour{'s' * (hours != 1)}" if hours or not days else "") if p)
    return th, en


def _when(moment: dt.datetime) -> tuple[str, str]:
    local = moment.astimezone(TIMEZONE)
    return (f"{format_thai_date(local.date(), thai_digits=False)} เวลา {local:%H:%M} น.",
            f"{local:%Y-%m-%d %H:%M} (Bangkok)")


def failure_alert(error: BaseException, *, job: str, mapping: Mapping | None = None,
                  registry: Registry | None = None, tries: int = 1, run_id: str = "", link: str = "") -> OpsAlert:
    """A job's run failed for good: its retries are used up, or the error is one no retry fixes.

    ``job`` is the DAG id; ``mapping`` is the connector's, for an ingest job; ``tries`` how many
    times it ran; ``link`` the task log in Airflow.
    """
    kind = classify(error)
    cause = root_error(error)
    detail = scrub(f"{type(cause).__name__}: {cause}")
    conn = (mapping.source.get("connection_id") or "-") if mapping else "-"
    file = f"mappings/{mapping.file.name}" if mapping else "-"
    if kind.retry:
        retry_th = f"ลองแล้ว {tries} ครั้ง โดยเว้นระยะห่างเพิ่มขึ้นราวเท่าตัวทุกครั้ง รอบถัดไปตามกำหนดจะลองอีก"
        retry_en = f"tried {tries} time(s), each wait about twice the one before; the next scheduled run tries again"
    else:
        retry_th = "ไม่ลองซ้ำ เพราะการลองซ้ำไม่ช่วยแก้ปัญหานี้ (รอบถัดไปตามกำหนดจะลองอีกครั้ง หรือสั่งรันใหม่ได้ทันทีหลังแก้ไข)"
        retry_en = ("not retried, as retrying cannot fix this (the next scheduled run tries again, "
                    "or trigger it once fixed)")
    where_th = f"DAG {job}" + (f" รอบ {run_id}" if run_id else "") + (f"\n  {link}" if link else "")
    where_en = f"DAG {job}" + (f", run {run_id}" if run_id else "") + (f"\n  {link}" if link else "")
    if mapping is not None:
        name, agency_th, agency_en = _agency(mapping, registry)
        subject = f"[delayhub] ดึงข้อมูลคำขอจาก {name} ไม่สำเร็จ: {kind.cause_th} ({mapping.id})"
        head_th = ["ดึงข้อมูลคำขอจากระบบงานของหน่วยงานไม่สำเร็จ", f"  หน่วยงาน: {agency_th}",
                   f"  ตัวเชื่อมต่อ: {mapping.id} ({mapping.source['type']}) ไฟล์ {file}",
                   f"  Airflow Connection: {conn}"]
        head_en = [f"Reading requests from {agency_en} failed.",
                   f"  Connector: {mapping.id} ({mapping.source['type']}), {file}; Airflow Connection: {conn}"]
    else:
        subject = f"[delayhub] งาน {job} ไม่สำเร็จ: {kind.cause_th}"
        head_th, head_en = [f"งาน {job} ของ delayhub ไม่สำเร็จ"], [f"The delayhub job {job} failed."]
    body = "\n".join([
        "เรียน ผู้ดูแลระบบ delayhub", "",
        *head_th,
        f"  สาเหตุ: {kind.cause_th}",
        f"  การลองใหม่: {retry_th}",
        f"  สิ่งที่ต้องทำ: {kind.action_th.format(conn=conn, file=file)}",
        f"  ข้อผิดพลาด: {detail}",
        f"  ดูบันทึกใน Airflow: {where_th}",
        "", "— English —", "",
        *head_en,
        f"  Cause: {kind.cause_en}.",
        f"  Retries: {retry_en}.",
        f"  Next step: {kind.action_en.format(conn=conn, file=file)}.",
        f"  Error: {detail}",
        f"  In Airflow: {where_en}",
    ])
    return OpsAlert(_key("failure", job, run_id or "run", str(tries)), subject, body)


def stale_alert(state: Staleness, mapping: Mapping, registry: Registry | None = None) -> OpsAlert:
    """A source has stored nothing new or changed for longer than its mapping's ``stale_after``."""
    name, agency_th, agency_en = _agency(mapping, registry)
    since_th, since_en = _when(state.quiet_since or state.checked_at)
    quiet_th, quiet_en = _span(state.quiet_for)
    allowed_th, allowed_en = _span(state.allowed)
    file = f"mappings/{mapping.file.name}"
    subject = f"[delayhub] ไม่มีข้อมูลใหม่จาก {name} นานเกินกำหนด ({mapping.id})"
    body = "\n".join([
        "เรียน ผู้ดูแลระบบ delayhub", "",
        f"ไม่มีคำขอใหม่หรือคำขอที่เปลี่ยนแปลงจากระบบงานของ {name} มาแล้ว {quiet_th} "
        f"(ตั้งแต่ {since_th}) เกินกว่าที่กำหนดไว้ {allowed_th} (stale_after ใน {file})",
        f"  หน่วยงาน: {agency_th}",
        f"  ตัวเชื่อมต่อ: {mapping.id} ({mapping.source['type']})",
        "  การดึงข้อมูลยังทำงานได้ แต่ไม่พบข้อมูลใหม่: ระบบงานของหน่วยงานอาจหยุดบันทึกหรือหยุดส่งออกข้อมูล",
        "  สิ่งที่ต้องทำ: สอบถามหน่วยงานว่ายังรับคำขอตามปกติหรือไม่ หากช่วงเงียบเช่นนี้เป็นเรื่องปกติ "
        f"ให้ปรับ stale_after ใน {file}",
        "  จะไม่แจ้งซ้ำจนกว่าจะมีข้อมูลใหม่เข้ามาแล้วเงียบไปเกินกำหนดอีกครั้ง",
        "", "— English —", "",
        f"No new or changed request from {agency_en} for {quiet_en} (since {since_en}), longer than the "
        f"{allowed_en} its mapping allows (stale_after in {file}).",
        f"  Connector: {mapping.id} ({mapping.source['type']}). Reading works, but finds nothing new: the agency's "
        "system may have stopped recording or exporting.",
        "  Next step: ask the agency whether it still takes requests as usual; if quiet spells like this are "
        f"normal, raise stale_after in {file}.",
        "  You are not told again until records arrive and the source goes quiet for too long once more.",
    ])
    return OpsAlert(_key("stale", mapping.id, f"{state.quiet_since or state.checked_at:%Y%m%dT%H%M%S}"), subject,
                    body)


def send_alert(alert: OpsAlert, smtp: SmtpConfig, to: str | None = None) -> bool:
    """Email one alert to the operators; False (and logged) when the mail server did not take it."""
    (outcome,) = send_emails([alert.email(to)], smtp, connections=1)
    if isinstance(outcome, Exception):
        log.error("ops alert %s not sent to the mail server %s:%s: %s", alert.key, smtp.host, smtp.port, outcome)
        return False
    return True
