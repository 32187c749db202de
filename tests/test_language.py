"""The applicant's language: English email and SMS, and the official Thai letter with an English
translation, from the back-office record through the store and the sweep to the letters; the
OPDC's copy stays Thai. On SQLite and PostgreSQL, with real typst letters read back by pdftotext."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, select, text
from test_letters import lines, pdftotext, squeeze

from delayhub.calendar import ThaiCalendar
from delayhub.config import DispatchConfig
from delayhub.dispatch.letters import LetterMaker
from delayhub.dispatch.sms_providers import fit, is_gsm7, segments
from delayhub.mapping import FieldSpec, Mapping, load_all
from delayhub.messages import NoticeContext, email_text, notice_from_payload, sms_text
from delayhub.normalise import normalise
from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.store.migrate import alembic_config
from delayhub.store.models import Outbox, Request
from delayhub.sweep import EnglishNames, sweep
from delayhub.tracking import display_code, tracking_code

ROOT = Path(__file__).resolve().parents[1]
TODAY = dt.date(2026, 11, 25)
FETCHED = dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.UTC)
REASON = "อยู่ระหว่างตรวจสอบข้อเท็จจริงกับหน่วยงานที่เกี่ยวข้อง"


@pytest.fixture(scope="module")
def mappings() -> dict[str, Mapping]:
    return {m.id: m for m in load_all(ROOT / "mappings")[0]}


@pytest.fixture(scope="module")
def dbd(mappings: dict[str, Mapping]) -> Mapping:
    """The DBD mapping, also reading the applicant's language from the record's ``applicant.lang``."""
    mapping = mappings["moc-dbd-registration"]
    return dataclasses.replace(mapping, fields={**mapping.fields, "applicant.language": FieldSpec("applicant.lang")})


def raw(app_no: str = "ทบ.2569/90001", *, email: str | None = "john.smith@example.com", **applicant: Any) -> dict:
    """A DBD back-office record overdue on TODAY (1 working day from 1 September)."""
    person = {"full_name": "Mr. John Smith", "pid": "1101700230708", "mobile": "๐๘๑๒๓๔๕๖๗๘", "email": email,
              "addr": "99/9 Sukhumvit Soi 11, Bangkok 10110", **applicant}
    return {"app_id": f"A{app_no[-5:]}", "app_no": app_no, "unit_code": "REG", "svc_code": None,
            "manual_ref": "MOC-DBD-001", "recv_date": "01/09/2569", "docs_complete_date": None,
            "state": "อยู่ระหว่างพิจารณา", "finish_date": None, "late_reason": REASON, "applicant": person,
            "last_update": "2569-11-24 09:00:00"}


def ingest_and_sweep(store: HubStore, registry: Registry, mappings: dict[str, Mapping], mapping: Mapping,
                     record: dict, monkeypatch: pytest.MonkeyPatch) -> dict[str, Outbox]:
    """Normalise, store and sweep one record; its first notice's outbox rows by channel."""
    monkeypatch.setenv("DELAYHUB_TODAY", TODAY.isoformat())
    outcome = normalise(record, mapping, registry, FETCHED)
    assert outcome.problems is None, outcome.problems
    store.upsert_requests([outcome.request])
    sweep(store, registry, ThaiCalendar.load(), mappings, DispatchConfig(), TODAY)
    with store.session() as s:
        rid = s.scalar(select(Request.id).where(Request.request_no == record["app_no"]))
        rows = list(s.scalars(select(Outbox).where(Outbox.request_id == rid, Outbox.kind == "delay")))
    assert rows, "the overdue request owes a delay notice"
    return {r.channel: r for r in rows}


# --- from the record to the store ---------------------------------------------------------------------

@pytest.mark.parametrize(("written", "language"), [("en", "en"), ("EN", "en"), ("English", "en"),
                                                   ("อังกฤษ", "en"), ("en-GB", "en"), ("th", "th"),
                                                   ("ภาษาไทย", "th"), ("TH_th", "th")])
def test_the_back_offices_word_for_the_language_becomes_th_or_en(registry: Registry, dbd: Mapping, written: str,
                                                                 language: str) -> None:
    outcome = normalise(raw(lang=written), dbd, registry, FETCHED)
    assert outcome.request is not None, outcome.problems
    assert outcome.request["applicant"]["language"] == language


def test_an_unknown_language_is_quarantined_with_the_allowed_values(registry: Registry, dbd: Mapping) -> None:
    outcome = normalise(raw(lang="français"), dbd, registry, FETCHED)
    assert outcome.request is None
    assert [(p.field, p.reason) for p in outcome.problems or []] == [
        ("applicant.language", "is not one of the allowed values: 'th', 'en'")]


def test_without_a_language_the_request_is_stored_as_thai(store: HubStore, registry: Registry, dbd: Mapping,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELAYHUB_TODAY", TODAY.isoformat())
    plain = normalise(raw("ทบ.2569/90002"), dbd, registry, FETCHED).request
    english = normalise(raw("ทบ.2569/90003", lang="en"), dbd, registry, FETCHED).request
    assert plain is not None and english is not None and "language" not in plain["applicant"]
    store.upsert_requests([plain, english])
    with store.session() as s:
        stored = dict(s.execute(select(Request.request_no, Request.applicant_language)).all())
    assert stored == {"ทบ.2569/90002": "th", "ทบ.2569/90003": "en"}


# --- what the applicant receives ------------------------------------------------------------------------

def test_an_english_reader_gets_english_email_and_sms_and_the_opdc_a_thai_copy(
        store: HubStore, registry: Registry, mappings: dict[str, Mapping], dbd: Mapping,
        monkeypatch: pytest.MonkeyPatch) -> None:
    rows = ingest_and_sweep(store, registry, mappings, dbd, raw(lang="en"), monkeypatch)
    assert set(rows) == {"email", "sms", "opdc"}
    email = rows["email"]
    assert email.payload["language"] == "en"
    assert email.subject == ("Notice of the reason for delay in considering application no. ทบ.2569/90001 "
                             f"(notice no. {email.sequence})")
    body = email.body
    assert body.startswith("Dear Mr. John Smith,\n")
    for phrase in ("submitted to the Business Registration Division, Department of Business Development "
                   "on 1 September 2026, was to be decided by 2 September 2026 under the Citizen's Manual.",
                   f"for the following reason: {REASON}",
                   "section 10 of the Licensing Facilitation Act B.E. 2558 (2015)",
                   "The official letter, in Thai, is attached with an English translation",
                   "Enquiries: tel. 0 2547 4446"):
        assert phrase in body, phrase
    assert body.rstrip().endswith("Department of Business Development")
    assert not re.search("[๐-๙]", body), "Thai digits in the English email"

    sms = rows["sms"].body
    code = display_code(tracking_code("MOC-DBD", "ทบ.2569/90001"))
    assert sms == (f"Application ทบ.2569/90001: delay notice {email.sequence}, see https://delayhub.go.th/track"
                   f" code {code} - Department of Business Development")
    assert segments(sms) <= 2 and fit(sms) == sms

    opdc = rows["opdc"]
    assert opdc.subject.startswith("สำเนา: แจ้งเหตุแห่งความล่าช้าในการพิจารณาคำขอ เลขที่ ทบ.2569/90001")
    assert "มาตรา ๑๐ แห่งพระราชบัญญัติการอำนวยความสะดวก" in opdc.body and "Dear" not in opdc.body


def test_an_english_reader_gets_the_thai_official_letter_and_an_english_translation(
        store: HubStore, registry: Registry, mappings: dict[str, Mapping], dbd: Mapping,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    email = ingest_and_sweep(store, registry, mappings, dbd, raw(lang="en"), monkeypatch)["email"]

    made = LetterMaker(store, registry).attachments(email)

    assert [name for name, _ in made] == ["MOC-DBD-2569-00001.pdf", "MOC-DBD-2569-00001-en.pdf"]
    thai, english = (pdftotext(pdf, tmp_path) for _, pdf in made)
    assert "เรื่อง แจ้งเหตุแห่งความล่าช้าในการพิจารณาคำขอ" in lines(thai)
    assert "ที่ พณ ๐๗๐๓/๑ กรมพัฒนาธุรกิจการค้า" in lines(thai)
    assert "Subject: Notice of the reason for delay in considering your application" in lines(english)
    assert "No. MOC 0703/1 Department of Business Development" in lines(english)
    assert squeeze("Section 10 of the Licensing Facilitation Act B.E. 2558 (2015)") in squeeze(english)
    assert squeeze(REASON) in squeeze(thai) and squeeze(REASON) in squeeze(english)
    # the Thai letter alone, for callers that take one
    assert LetterMaker(store, registry).pdf(email) == made[0]


def test_without_an_email_both_letters_go_to_the_print_queue(
        store: HubStore, registry: Registry, mappings: dict[str, Mapping], dbd: Mapping,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DELAYHUB_PRINT_QUEUE", str(tmp_path / "print"))
    rows = ingest_and_sweep(store, registry, mappings, dbd, raw(lang="en", email=None), monkeypatch)
    assert "email" not in rows

    proof = LetterMaker(store, registry).to_print_queue(rows["letter"])

    folder = tmp_path / "print" / "MOC-DBD" / TODAY.isoformat()
    assert proof == str(folder / "MOC-DBD-2569-00001.pdf")
    assert sorted(p.name for p in folder.iterdir()) == ["MOC-DBD-2569-00001-en.pdf", "MOC-DBD-2569-00001.pdf"]
    assert "Subject: Notice of the reason" in pdftotext((folder / "MOC-DBD-2569-00001-en.pdf").read_bytes(), tmp_path)


def test_by_default_everything_stays_thai(store: HubStore, registry: Registry, mappings: dict[str, Mapping],
                                          monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    rows = ingest_and_sweep(store, registry, mappings, mappings["moc-dbd-registration"], raw(), monkeypatch)
    email = rows["email"]
    assert email.payload["language"] == "th"
    assert email.subject.startswith("แจ้งเหตุแห่งความล่าช้าในการพิจารณาคำขอ เลขที่ ทบ.2569/90001 (ครั้งที่ ")
    assert email.body.startswith("เรียน Mr. John Smith\n")
    assert rows["sms"].body.startswith("คำขอ ทบ.2569/90001 ล่าช้า")
    made = LetterMaker(store, registry).attachments(email)
    assert [name for name, _ in made] == ["MOC-DBD-2569-00001.pdf"]
    assert "เรื่อง แจ้งเหตุแห่งความล่าช้าในการพิจารณาคำขอ" in lines(pdftotext(made[0][1], tmp_path))


def test_a_payload_pinned_before_languages_existed_renders_thai(
        store: HubStore, registry: Registry, mappings: dict[str, Mapping], dbd: Mapping,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    email = ingest_and_sweep(store, registry, mappings, dbd, raw(lang="en"), monkeypatch)["email"]
    old = {k: v for k, v in email.payload.items() if k not in ("language", "department_en", "division_en")}
    assert notice_from_payload(old).language == "th"
    assert email_text(notice_from_payload(old))[0].startswith("แจ้งเหตุแห่งความล่าช้าในการพิจารณาคำขอ")

    made = LetterMaker(store, registry).attachments(PinnedRow(email.request_id, email.kind, email.sequence, old))

    assert [name for name, _ in made] == ["MOC-DBD-2569-00001.pdf"]
    assert "เรื่อง แจ้งเหตุแห่งความล่าช้าในการพิจารณาคำขอ" in lines(pdftotext(made[0][1], tmp_path))


@dataclasses.dataclass
class PinnedRow:
    """What LetterMaker reads of an outbox row."""

    request_id: int
    kind: str
    sequence: int
    payload: dict[str, Any]


# --- the words ------------------------------------------------------------------------------------------

def notice(**changes: Any) -> NoticeContext:
    base = NoticeContext(
        request_no="FDA-2569-0001", department="สำนักงานคณะกรรมการอาหารและยา", division="กองอาหาร",
        process_name="การขออนุญาตผลิตอาหาร", applicant_name=None, submitted_on=dt.date(2026, 9, 1),
        due_on=dt.date(2026, 10, 10), kind="delay", sequence=2, reason=REASON, status="in_progress",
        completed_on=None, late_days=1, contact_phone="๐ ๒๕๙๐ ๗๐๐๐", tracking_url="https://delayhub.go.th/track",
        language="en", department_en="Food and Drug Administration", division_en="Food Division",
        tracking_code=tracking_code("MOPH-FDA", "FDA-2569-0001"))
    return dataclasses.replace(base, **changes)


def test_english_result_email_and_late_notice() -> None:
    subject, body = email_text(notice(kind="result", status="rejected", completed_on=dt.date(2026, 11, 24)))
    assert subject == "Result of the consideration of application no. FDA-2569-0001"
    assert body.startswith("Dear Applicant,\n")
    assert ("Your application for การขออนุญาตผลิตอาหาร (no. FDA-2569-0001), submitted to the Food Division, "
            "Food and Drug Administration on 1 September 2026, was decided on 24 November 2026. "
            "Result: not approved.") in body
    assert "(This notice is sent 1 day later than it was due; we apologise for the delay.)" in body


# Each agency's request numbers as its back office writes them (see demo/): Thai letters in most.
REQUEST_NUMBERS = {"MOC-DBD": "ทบ.2569/00001", "MOC-DIP": "690100001", "MOPH-FDA": "FDA-2569-0001",
                   "MOI-DOPA": "บ.ป.1/1001/2569/00001", "MOI-DPT": "ข.1-0001/2569", "MIND-DIW": "รง.2569/000001"}


@pytest.mark.parametrize("department", sorted(REQUEST_NUMBERS))
def test_english_sms_fits_two_parts_uncut_as_the_thai_one_does(department: str) -> None:
    english = EnglishNames().of(department, None)[0]
    assert english and english.isascii()
    number = REQUEST_NUMBERS[department]
    for kind in ("delay", "result"):
        ctx = notice(request_no=number, department_en=english, kind=kind, sequence=12)
        thai, text = sms_text(dataclasses.replace(ctx, language="th")), sms_text(ctx)
        assert segments(thai) <= 2 and fit(thai) == thai
        assert segments(text) <= 2 and fit(text) == text, text
        assert display_code(ctx.tracking_code) in thai and display_code(ctx.tracking_code) in text
        # without Thai letters in the number it is plain GSM 7-bit text: one part
        assert is_gsm7(text) == number.isascii()
        if number.isascii():
            assert segments(text) == 1


# --- the schema change ----------------------------------------------------------------------------------

def test_upgrade_from_0005_keeps_requests_as_thai_and_downgrades_cleanly(
        store_url: str, old_store: Callable[[str], int]) -> None:
    old_store("0005")
    HubStore.open(store_url).close()  # upgrades to head
    engine = create_engine(store_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT applicant_language FROM requests")).scalar_one() == "th"
    engine.dispose()

    command.downgrade(alembic_config(store_url), "0005")
    engine = create_engine(store_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT request_no FROM requests")).scalar_one() == "OLD-1"
        columns = {c["name"] for c in inspect(conn).get_columns("requests")}
    engine.dispose()
    assert "applicant_language" not in columns
