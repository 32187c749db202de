"""The officer's desk, on SQLite and PostgreSQL: a hand-entered request goes the connectors' way
(normalise → store → due date → Section 10 → outbox), bad input is refused field by field in Thai,
a form sent twice saves once, another agency's request is a 404 like a missing one, a reason added
to a back office's request survives its next ingest, and ออกหนังสือแจ้ง queues the owed notice once
with its OPDC copy. The pages are used over HTTP, served by uvicorn."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests
import test_web_accounts
from sqlalchemy import func, select
from test_web_accounts import form_token

from delayhub.config import DispatchConfig
from delayhub.desk import (
    Desk,
    DeskForm,
    DeskRules,
    Invalid,
    NotFound,
    Officer,
    registered_no_valid,
)
from delayhub.mapping import load_all
from delayhub.normalise import normalise
from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.store.models import AuditLog, DeskReason, Outbox, PrintLetter, Request, User
from delayhub.sweep import sweep
from delayhub.web.accounts import DEMO_PASSWORDS, Role, WebUser, seed_demo_accounts
from delayhub.web.app import create_app
from delayhub.web.audit import audit

D = dt.date
TODAY = D(2026, 11, 25)  # a Wednesday
SECRET = "desk-test-secret-" + "z" * 40
OFFICER = DEMO_PASSWORDS[Role.OFFICER]
REG, FBL = "MOC-DBD-REG", "MOC-DBD-FBL"


def desk_form(**changes: Any) -> DeskForm:
    """An overdue request: MOC-DBD-002 is 3 working days, submitted Mon 2 Nov 2569 → due Thu 5 Nov."""
    values = dict(request_no="ทบ.2569/10001", ministry="MOC", department="MOC-DBD", division=REG,
                  process_code="DBD-REG-02", manual_id="MOC-DBD-002", submitted_on="2/11/2569",
                  applicant_name="นางสาวกนกพร ศรีสุข", applicant_email="kanokporn@example.co.th",
                  applicant_phone="089-123-4567", applicant_address="99 ถนนนนทบุรี อำเภอเมือง จังหวัดนนทบุรี 11000",
                  consent=True, delay_reason="อยู่ระหว่างรอผลตรวจสอบลายมือชื่อกรรมการ")
    values.update(changes)
    return DeskForm(**values)


# data/registry/manuals.csv's draft: registered before its processing time was settled.
DRAFT, DRAFT_PROCESS = "MOC-DBD-006", "DBD-FBL-02"


@pytest.fixture
def today(monkeypatch: pytest.MonkeyPatch) -> D:
    monkeypatch.setenv("DELAYHUB_TODAY", TODAY.isoformat())
    return TODAY


@pytest.fixture
def rules(registry: Registry) -> DeskRules:
    return DeskRules.load(registry)


def user_of(store: HubStore, username: str) -> WebUser:
    with store.session() as s:
        return WebUser.of(s.scalar(select(User).where(User.username == username)))


def officer_desk(store: HubStore, rules: DeskRules, username: str = "officer.moc-dbd-reg") -> Desk:
    """The desk of a demo account, auditing as that account (the web's own audit)."""
    user = user_of(store, username)
    return Desk(store, rules, Officer(user.username, user.scope,
                                      lambda s, *change: audit(s, user, *change)))


@pytest.fixture
def accounts(store: HubStore, registry: Registry) -> None:
    seed_demo_accounts(store, registry)


def rows(store: HubStore, model: Any, *where: Any) -> list[Any]:
    with store.session() as s:
        return list(s.scalars(select(model).where(*where).order_by(model.id if hasattr(model, "id") else
                                                                    model.request_id)))


def outbox(store: HubStore, request_no: str) -> list[tuple[str, int, str, D, int]]:
    with store.session() as s:
        rid = s.scalar(select(Request.id).where(Request.request_no == request_no))
        return [(o.kind, o.sequence, o.channel, o.owed_on, o.late_days) for o in s.scalars(
            select(Outbox).where(Outbox.request_id == rid).order_by(Outbox.kind, Outbox.sequence, Outbox.channel))]


def actions(store: HubStore) -> list[str]:
    return [a.action for a in rows(store, AuditLog, AuditLog.action.startswith("desk."))]


# --- the core ----------------------------------------------------------------------------------------

def test_a_desk_form_becomes_a_standard_request_with_its_due_date_and_an_audit_row(
        store: HubStore, rules: DeskRules, accounts: None, today: D) -> None:
    desk = officer_desk(store, rules)
    preview = desk.preview("MOC-DBD-002", "๒/๑๑/๒๕๖๙")  # Thai digits, as typed on a Thai keyboard
    assert (preview.processing_days, preview.due_on) == (3, D(2026, 11, 5))

    done = desk.create(desk_form())
    assert done.subject == "request:MOC-DBD/ทบ.2569/10001" and not done.replayed
    [row] = rows(store, Request)
    assert (row.source_connector, row.source_record_id) == ("desk:MOC-DBD-REG", "ทบ.2569/10001")
    assert (row.agency, row.ministry, row.department, row.division) == ("MOC-DBD", "MOC", "MOC-DBD", REG)
    assert (row.status, row.submitted_on, row.due_on) == ("in_progress", D(2026, 11, 2), D(2026, 11, 5))
    assert row.applicant_phone == "0891234567"  # the connectors' phone rule, through normalise
    assert row.known_on == TODAY and row.needs_sweep
    assert outbox(store, "ทบ.2569/10001") == []  # notices wait for the sweep or ออกหนังสือแจ้ง

    [created] = rows(store, AuditLog, AuditLog.action == "desk.request.created")
    assert created.username == "officer.moc-dbd-reg" and created.subject == done.subject
    assert created.after["manual_id"] == "MOC-DBD-002" and created.after["division"] == REG
    trail = json.dumps([created.before, created.after], ensure_ascii=False)
    assert "kanokporn@" not in trail and "0891234567" not in trail and "ศรีสุข" not in trail  # masked
    assert created.after["applicant"]["email"] == "k***@example.co.th"


@pytest.mark.parametrize(("changes", "expected"), [
    ({"request_no": " "}, [("request_no", "required")]),
    ({"ministry": "", "department": "", "division": ""}, [("ministry", "required")]),
    ({"division": "MOPH-FDA-FOOD"}, [("division", "choice")]),  # another department's division: a stale pair
    ({"process_code": "DBD-FBL-01"}, [("process_code", "choice")]),  # another division's process
    ({"manual_id": "MOC-DBD-001"}, [("manual_id", "choice")]),  # another process's manual
    ({"submitted_on": "31/02/2569"}, [("submitted_on", "date")]),
    ({"submitted_on": "26/11/2569"}, [("submitted_on", "future")]),
    ({"clock_started_on": "1/11/2569"}, [("clock_started_on", "too_early")]),
    ({"applicant_email": "kanokporn-at-example"}, [("applicant_email", "invalid")]),
    ({"applicant_phone": "12345"}, [("applicant_phone", "invalid")]),
    ({"consent": False}, [("consent", "required")]),
    ({"applicant_name": ""}, [("applicant_name", "required")]),
    ({"delay_reason": "ก" * 2001}, [("delay_reason", "too_long")]),
], ids=["no-number", "no-agency", "stale-division", "stale-process", "stale-manual", "no-such-date", "future",
        "clock-before-submission", "email", "phone", "consent", "name", "reason-too-long"])
def test_bad_input_is_refused_field_by_field_and_nothing_is_saved(
        store: HubStore, rules: DeskRules, accounts: None, today: D, changes: dict, expected: list) -> None:
    with pytest.raises(Invalid) as caught:
        officer_desk(store, rules).create(desk_form(**changes), "one-token")
    assert [(p.field, p.code) for p in caught.value.problems] == expected
    assert rows(store, Request) == [] and actions(store) == []
    assert store.form_used("one-token") is None  # the form can be corrected and sent again


def test_a_manual_without_its_processing_time_shows_no_due_date_and_cannot_be_saved(
        store: HubStore, rules: DeskRules, accounts: None, today: D) -> None:
    assert rules.registry.manuals[DRAFT].is_draft  # the registry file's own draft, not a test's
    desk = officer_desk(store, rules, "officer.moc-dbd-fbl")
    assert DRAFT in [m.manual_id for m in desk.choices().manuals]  # offered: the officer learns it is a draft
    preview = desk.preview(DRAFT, "2/11/2569")
    assert preview.incomplete_manual and preview.processing_days is None and preview.due_on is None
    with pytest.raises(Invalid) as caught:
        desk.create(desk_form(division=FBL, process_code=DRAFT_PROCESS, manual_id=DRAFT), "draft-token")
    assert [(p.field, p.code) for p in caught.value.problems] == [("manual_id", "no_processing_time")]
    assert rows(store, Request) == [] and actions(store) == []
    assert store.form_used("draft-token") is None  # the same form can be sent once the manual is completed


def test_the_same_form_sent_twice_is_saved_once(store: HubStore, rules: DeskRules, accounts: None, today: D) -> None:
    desk = officer_desk(store, rules)
    first = desk.create(desk_form(), "token-1")
    again = desk.create(desk_form(), "token-1")
    assert again.replayed and again.subject == first.subject
    with pytest.raises(Invalid) as caught:  # a new form with a number already there
        desk.create(desk_form(applicant_name="นายอื่น ใครก็ได้"), "token-2")
    assert [(p.field, p.code) for p in caught.value.problems] == [("request_no", "exists")]
    assert len(rows(store, Request)) == 1 and actions(store) == ["desk.request.created"]


def test_issuing_queues_the_owed_notice_once_with_the_opdc_copy(
        store: HubStore, rules: DeskRules, registry: Registry, accounts: None, today: D) -> None:
    desk = officer_desk(store, rules)
    desk.create(desk_form())
    # known to the hub only today, 20 days past due: notice 3 (owed 20 Nov) covers the weeks before
    issued = desk.issue("ทบ.2569/10001", "issue-1").sweep
    assert issued.queued == (("delay", 3),) and issued.added == 3 and not issued.held
    assert issued.next_notice_on == D(2026, 11, 27)
    expected = [("delay", 3, ch, D(2026, 11, 20), 5) for ch in ("email", "opdc", "sms")]
    assert outbox(store, "ทบ.2569/10001") == expected
    with store.session() as s:
        copy = s.scalar(select(Outbox).where(Outbox.channel == "opdc"))
    assert copy.recipient == DispatchConfig().opdc_email and "สำเนาส่ง สำนักงาน ก.พ.ร." in copy.body
    assert "อยู่ระหว่างรอผลตรวจสอบลายมือชื่อกรรมการ" in copy.body

    again = desk.issue("ทบ.2569/10001", "issue-2").sweep  # a second click, another form: nothing new
    assert again.queued == () and again.added == 0 and again.next_notice_on == D(2026, 11, 27)
    sweep(store, registry, rules.calendar, rules.mappings, rules.dispatch, TODAY)  # tonight's sweep agrees
    assert outbox(store, "ทบ.2569/10001") == expected
    assert actions(store) == ["desk.request.created", "desk.notice.issued"]
    [issued_row] = rows(store, AuditLog, AuditLog.action == "desk.notice.issued")
    assert issued_row.after == {"queued": ["delay:3"], "outbox_rows": 3}


def test_two_desks_issuing_at_the_same_moment_queue_one_notice(
        store: HubStore, rules: DeskRules, accounts: None, today: D) -> None:
    officer_desk(store, rules).create(desk_form())
    start, results, errors = threading.Barrier(4), [], []

    def click(i: int) -> None:
        desk = officer_desk(store, rules)
        start.wait()
        try:
            results.append(desk.issue("ทบ.2569/10001", f"click-{i}").sweep.added)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=click, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == [] and sorted(results) == [0, 0, 0, 3]
    assert len(outbox(store, "ทบ.2569/10001")) == 3


def test_a_request_not_yet_due_owes_nothing_and_says_when_the_first_notice_falls_due(
        store: HubStore, rules: DeskRules, accounts: None, today: D) -> None:
    desk = officer_desk(store, rules)
    # MOC-DBD-004 is 5 working days: submitted Tue 24 Nov → due Tue 1 Dec; notice 1 on 2 Dec
    desk.create(desk_form(request_no="ทบ.2569/10002", process_code="DBD-REG-04", manual_id="MOC-DBD-004",
                          submitted_on="24/11/2569"))
    swept = desk.issue("ทบ.2569/10002").sweep
    assert (swept.due_on, swept.queued, swept.next_notice_on) == (D(2026, 12, 1), (), D(2026, 12, 2))
    assert outbox(store, "ทบ.2569/10002") == [] and "desk.notice.issued" not in actions(store)


def test_waiting_for_the_applicant_pauses_the_clock_and_completion_owes_the_result_notice(
        store: HubStore, rules: DeskRules, accounts: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELAYHUB_TODAY", "2026-11-03")
    desk = officer_desk(store, rules)
    desk.create(desk_form(submitted_on="2/11/2569"))
    view = desk.view("ทบ.2569/10001")
    desk.change_status("ทบ.2569/10001", "waiting_applicant", "3/11/2569", "", view.row.checksum)
    view = desk.view("ทบ.2569/10001")
    assert view.row.status == "waiting_applicant" and view.row.due_on is None  # no due date while waiting
    with pytest.raises(Invalid) as caught:  # the form was opened before that change
        desk.change_status("ทบ.2569/10001", "in_progress", "3/11/2569", "", "stale-checksum")
    assert [(p.field, p.code) for p in caught.value.problems] == [("form", "changed")]

    monkeypatch.setenv("DELAYHUB_TODAY", "2026-11-10")
    desk.change_status("ทบ.2569/10001", "in_progress", "10/11/2569", "", view.row.checksum)
    view = desk.view("ทบ.2569/10001")
    # paused Tue 3 – Mon 9 Nov: 5 working days added back to Thu 5 Nov → Thu 12 Nov
    assert view.row.pauses == [{"from": "2026-11-03", "to": "2026-11-09", "reason": "waiting_applicant"}]
    assert view.row.due_on == D(2026, 11, 12) and view.next_notice_on == D(2026, 11, 13)

    desk.change_status("ทบ.2569/10001", "completed", "10/11/2569", "ทะเบียนเลขที่ 0105569001234",
                       view.row.checksum)
    assert desk.issue("ทบ.2569/10001").sweep.queued == (("result", 1),)
    # the result notice, and (the applicant consented) one invitation to the satisfaction survey
    assert {k for k, *_ in outbox(store, "ทบ.2569/10001")} == {"result", "survey"}
    view = desk.view("ทบ.2569/10001")
    assert view.closed and view.row.result == "ทะเบียนเลขที่ 0105569001234"
    with pytest.raises(Invalid):
        desk.change_status("ทบ.2569/10001", "in_progress", "10/11/2569", "", view.row.checksum)
    assert actions(store).count("desk.status.changed") == 3


def back_office_record(**changes: Any) -> dict[str, Any]:
    """A record as the DBD back office sends it (mappings/moc-dbd-registration.yaml), without a reason."""
    record = {"app_id": "A000123", "app_no": "ทบ.2569/00123", "unit_code": "REG", "svc_code": "DBD-REG-02",
              "manual_ref": "MOC-DBD-002", "recv_date": "02/11/2569", "state": "อยู่ระหว่างพิจารณา",
              "late_reason": None, "applicant": {"full_name": "นายสมชาย ใจดี", "mobile": "081-234-5678",
                                                 "addr": "1 ถนนพระราม 6 กรุงเทพมหานคร 10400"},
              "last_update": "2569-11-20 09:00:00"}
    record.update(changes)
    return record


def test_a_reason_given_at_the_desk_survives_the_next_ingest_of_a_back_office_request(
        store: HubStore, registry: Registry, accounts: None, today: D) -> None:
    mapping = {m.id: m for m in load_all()[0]}["moc-dbd-registration"]
    mapping = dataclasses.replace(mapping, delay_reasons={})  # this agency set no default reason
    rules = DeskRules.load(registry)
    rules.mappings = {mapping.id: mapping}

    def ingest(record: dict[str, Any]) -> None:
        outcome = normalise(record, mapping, registry, dt.datetime(2026, 11, 25, 2, tzinfo=dt.UTC))
        assert outcome.request is not None, outcome.problems
        store.upsert_requests([outcome.request])

    ingest(back_office_record())
    desk = officer_desk(store, rules)
    held = desk.issue("ทบ.2569/00123").sweep
    assert held.held and held.queued == ()  # never sent blank
    view = desk.view("ทบ.2569/00123")
    assert view.reason is None and not view.from_desk
    with pytest.raises(NotFound):  # the back office's fields stay read-only here
        desk.change_status("ทบ.2569/00123", "completed", "25/11/2569", "", view.row.checksum)
    with pytest.raises(NotFound):
        desk.update("ทบ.2569/00123", desk_form(request_no="ทบ.2569/00123"), view.row.checksum)

    desk.set_reason("ทบ.2569/00123", "อยู่ระหว่างขอความเห็นจากกรมสรรพากร")
    ingest(back_office_record(last_update="2569-11-25 08:00:00", applicant={
        "full_name": "นายสมชาย ใจดี", "mobile": "081-234-5678", "addr": "9 ถนนพหลโยธิน กรุงเทพมหานคร 10400"}))
    view = desk.view("ทบ.2569/00123")
    assert view.row.applicant_address.startswith("9 ถนนพหลโยธิน")  # the ingest did land
    assert view.row.delay_reason is None and view.reason == "อยู่ระหว่างขอความเห็นจากกรมสรรพากร"

    issued = desk.issue("ทบ.2569/00123").sweep
    assert issued.queued == (("delay", 3),) and not issued.held
    with store.session() as s:
        letter = s.scalar(select(Outbox).where(Outbox.channel == "letter"))  # no email: a letter to post
    assert letter.payload["reason"] == "อยู่ระหว่างขอความเห็นจากกรมสรรพากร"
    # the daily sweep reads the desk's reason too: next week's notice carries it
    sweep(store, registry, rules.calendar, rules.mappings, rules.dispatch, D(2026, 11, 27))
    with store.session() as s:
        [next_letter] = s.scalars(select(Outbox).where(Outbox.channel == "letter", Outbox.sequence == 4))
    assert next_letter.payload["reason"] == "อยู่ระหว่างขอความเห็นจากกรมสรรพากร"
    [reason_row] = rows(store, DeskReason)
    assert reason_row.updated_by == "officer.moc-dbd-reg"
    [audited] = rows(store, AuditLog, AuditLog.action == "desk.reason.set")
    assert audited.before == {"delay_reason": None}
    assert audited.after == {"delay_reason": "อยู่ระหว่างขอความเห็นจากกรมสรรพากร"}
    # once the back office gives its own reason, that one is used, and the desk's field is closed
    ingest(back_office_record(late_reason="รอผลตรวจสอบจากระบบงาน", last_update="2569-11-26 08:00:00"))
    assert desk.view("ทบ.2569/00123").reason == "รอผลตรวจสอบจากระบบงาน"
    with pytest.raises(Invalid):
        desk.set_reason("ทบ.2569/00123", "อีกเหตุหนึ่ง")


def test_another_agencys_request_is_not_found_like_a_missing_one(
        store: HubStore, rules: DeskRules, accounts: None, today: D) -> None:
    officer_desk(store, rules).create(desk_form())
    for username in ("officer.moc-dbd-fbl", "officer.moph-fda-food"):
        other = officer_desk(store, rules, username)
        for call in (lambda d: d.view("ทบ.2569/10001"), lambda d: d.issue("ทบ.2569/10001"),
                     lambda d: d.letter("ทบ.2569/10001", "delay", 3),
                     lambda d: d.set_reason("ทบ.2569/10001", "เหตุ")):
            with pytest.raises(NotFound):
                call(other)
        assert other.page().rows == [] and other.search("ทบ") == []
    assert officer_desk(store, rules, "admin.moc-dbd").view("ทบ.2569/10001").row.division == REG  # their department


def test_the_print_queue_lists_letters_to_post_until_their_posting_is_recorded(
        store: HubStore, rules: DeskRules, accounts: None, today: D) -> None:
    desk = officer_desk(store, rules)
    desk.create(desk_form(applicant_email="", applicant_phone="", consent=False))  # post only
    desk.issue("ทบ.2569/10001")
    [item] = desk.print_queue()
    assert (item.request_no, item.kind, item.sequence) == ("ทบ.2569/10001", "delay", 3)
    assert item.applicant == "นางสาวกนกพร ศ***" and "นนทบุรี" not in item.address  # masked in the list
    name, pdf = desk.letter("ทบ.2569/10001", "delay", 3)
    assert pdf.startswith(b"%PDF") and desk.letter_of_posting(item.item_id) == (name, pdf)  # the same bytes
    with pytest.raises(Invalid) as caught:
        desk.record_posting(item.item_id, "26/11/2569", "RR123456784TH")
    assert [(p.field, p.code) for p in caught.value.problems] == [("posted_on", "future"),
                                                                   ("registered_no", "invalid")]
    done = desk.record_posting(item.item_id, "25/11/2569", "rr 123456785 th", "post-1")
    assert desk.record_posting(item.item_id, "25/11/2569", "RR123456785TH", "post-1").replayed
    assert done.subject == "request:MOC-DBD/ทบ.2569/10001" and desk.print_queue() == []
    [posting] = rows(store, PrintLetter)
    assert (posting.posted_on, posting.registered_no, posting.recorded_by) == (
        TODAY, "RR123456785TH", "officer.moc-dbd-reg")
    assert desk.view("ทบ.2569/10001").notices[0].posted == (TODAY, "RR123456785TH")
    assert actions(store)[-1] == "desk.letter.posted"


def test_the_list_masks_names_filters_and_pages_by_keyset(
        store: HubStore, rules: DeskRules, accounts: None, today: D) -> None:
    desk = officer_desk(store, rules)
    for i in range(30):  # ten of them not yet due
        desk.create(desk_form(request_no=f"ทบ.2569/2{i:04d}", submitted_on="24/11/2569" if i % 3 == 0 else "2/11/2569"))
    first = desk.page()
    assert len(first.rows) == 25 and first.prev_before is None and first.next_after is not None
    assert first.rows[0].request_no == "ทบ.2569/20029"  # newest first
    assert {r.applicant for r in first.rows} == {"นางสาวกนกพร ศ***"}
    second = desk.page(after=first.next_after)
    assert len(second.rows) == 5 and second.next_after is None and second.prev_before is not None
    back = desk.page(before=second.prev_before)
    assert [r.request_no for r in back.rows] == [r.request_no for r in first.rows]
    overdue = desk.page(overdue=True, size=100)
    assert len(overdue.rows) == 20 and all(r.days_overdue == 20 for r in overdue.rows)
    # a number search lists by number, paged on the number
    found = desk.page(q="ทบ.2569/2001", size=6)
    assert [r.request_no for r in found.rows] == [f"ทบ.2569/2{i:04d}" for i in range(10, 16)]
    assert found.next_after == "ทบ.2569/20015"
    rest = desk.page(q="ทบ.2569/2001", size=6, after=found.next_after)
    assert [r.request_no for r in rest.rows] == [f"ทบ.2569/2{i:04d}" for i in range(16, 20)]
    assert desk.page(q="ทบ.2569/2001", size=6, before=rest.prev_before).rows == found.rows
    assert desk.page(after="not-a-cursor").rows == first.rows  # a made-up cursor: the first page
    assert desk.search("ทบ.2569/2000")[0].request_no == "ทบ.2569/20000"
    assert desk.page(status="completed").rows == []


def test_registered_mail_numbers_carry_the_upu_check_digit() -> None:
    assert registered_no_valid("RR123456785TH") and registered_no_valid("AA473124829GB")  # UPU S10's own example
    assert not registered_no_valid("RR123456784TH") and not registered_no_valid("RR12345678TH")


# --- the pages, over HTTP -------------------------------------------------------------------------

@pytest.fixture
def web(store: HubStore, store_url: str, registry: Registry, accounts: None, today: D,
        serve: Callable[[Any], str]) -> str:
    return serve(create_app(store_url, registry=registry, secret=SECRET))


def sign_in(base: str, username: str, password: str = OFFICER) -> requests.Session:
    """A demo officer signed in, on the desk."""
    return test_web_accounts.sign_in(base, username, password, then="/desk")


def new_form(http: requests.Session, base: str) -> dict[str, str]:
    page = http.get(f"{base}/desk/new", timeout=30).text
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    form = dataclasses.asdict(desk_form())
    form["consent"] = "1"
    return {**form, "csrf_token": form_token(page), "form_token": token}


def errors_of(html: str) -> dict[str, str]:
    """The error summary's links: field id → message."""
    return dict(re.findall(r'<li><a href="#([^"]+)">([^<]+)</a></li>', html))


def test_the_form_says_what_is_wrong_beside_each_field_in_thai_and_saves_nothing(web: str, store: HubStore) -> None:
    http = sign_in(web, "officer.moc-dbd-reg")
    form = new_form(http, web)
    page = http.get(f"{web}/desk/new", timeout=30).text
    assert "ขั้นที่ 1 : กรอกข้อมูลคำขอที่ล่าช้า หรือ เลือกคำขอในระบบ" in page
    for label in ("เลขที่คำขอ", "กระทรวง", "กรม", "กอง", "กระบวนการ", "วันที่ประชาชนยื่นคำขอ", "คู่มือ",
                  "ระยะเวลาดำเนินการรวมตามคู่มือ", "วันที่ครบกำหนดการดำเนินการ", "-- เลือกกระบวนการ --"):
        assert label in page
    bad = http.post(f"{web}/desk/new", timeout=30, data={
        **form, "division": "MOC-DBD-FBL", "submitted_on": "2/13/2569", "applicant_email": "ไม่ใช่อีเมล",
        "applicant_phone": "02-123", "consent": ""})
    assert bad.status_code == 400 and "<title>ข้อผิดพลาด: " in bad.text
    assert errors_of(bad.text) == {
        "division": "กรุณาเลือกกองในกรมที่เลือก",  # FBL is not the officer's: not even an option
        "submitted_on": "กรุณาระบุวันที่เป็น วัน/เดือน/ปี พ.ศ. เช่น 24/11/2569",
        "applicant_email": "กรุณาระบุอีเมลให้ถูกต้อง เช่น somchai@example.com",
        "applicant_phone": "กรุณาระบุหมายเลขโทรศัพท์มือถือ 10 หลัก เช่น 0812345678",
        "consent": "กรุณายืนยันว่าผู้ยื่นคำขอยินยอมให้ติดต่อทางอีเมลและ SMS หรือลบอีเมลและโทรศัพท์มือถือออก"}
    # each message sits beside its field, which points to it; what was typed stays
    assert re.search(r'<p class="field-error" id="applicant_email-error">.*กรุณาระบุอีเมลให้ถูกต้อง', bad.text)
    assert re.search(r'id="applicant_email"[^>]*aria-describedby="applicant_email-error" aria-invalid="true"',
                     bad.text)
    assert 'value="ไม่ใช่อีเมล"' in bad.text and 'value="2/13/2569"' in bad.text
    assert rows(store, Request) == [] and actions(store) == []


def test_a_draft_manual_shows_no_data_and_the_request_cannot_be_saved(web: str, store: HubStore) -> None:
    """The registry file's draft (MOC-DBD-006, processing_days left empty), as the officer sees it."""
    http = sign_in(web, "officer.moc-dbd-fbl")
    form_page = http.get(f"{web}/desk/new", timeout=30).text
    assert f'value="{DRAFT}"' in form_page  # the draft is among the manuals to choose
    preview = http.get(f"{web}/desk/preview", params={"manual_id": DRAFT, "submitted_on": "2/11/2569"},
                       timeout=30).text
    assert re.search(r'id="processing-time">ไม่พบข้อมูล<', preview)
    assert re.search(r'id="due-on">แสดงผลอัตโนมัติ<', preview)
    assert re.search(r'id="manual-incomplete">คู่มือนี้ยังไม่ระบุระยะเวลาดำเนินการ กรุณาสั่งร่างคู่มือประชาชน', preview)
    ready = http.get(f"{web}/desk/preview", params={"manual_id": "MOC-DBD-005", "submitted_on": "2/11/2569"},
                     timeout=30).text  # the division's complete manual: 60 calendar days
    assert re.search(r'id="processing-time">60 วัน<', ready) and "manual-incomplete" not in ready
    assert not re.search(r'id="due-on">(แสดงผลอัตโนมัติ|ไม่พบข้อมูล)<', ready)
    form = new_form(http, web)
    refused = http.post(f"{web}/desk/new", timeout=30, data={
        **form, "division": FBL, "process_code": DRAFT_PROCESS, "manual_id": DRAFT})
    assert refused.status_code == 400 and "<title>ข้อผิดพลาด: " in refused.text
    assert errors_of(refused.text) == {"manual_id": "คู่มือนี้ยังไม่ระบุระยะเวลาดำเนินการ จึงยังบันทึกคำขอไม่ได้ "
                                                    "กรุณาสั่งร่างคู่มือประชาชนให้ครบถ้วนก่อน"}
    assert rows(store, Request) == [] and actions(store) == []


def test_a_double_click_saves_the_request_once(web: str, store: HubStore) -> None:
    http = sign_in(web, "officer.moc-dbd-reg")
    form = new_form(http, web)
    start, answers = threading.Barrier(2), []

    def post() -> None:
        start.wait()
        answers.append(http.post(f"{web}/desk/new", data=form, timeout=60))

    clicks = [threading.Thread(target=post) for _ in range(2)]
    for c in clicks:
        c.start()
    for c in clicks:
        c.join()
    assert [a.status_code for a in answers] == [200, 200]
    assert {a.url for a in answers} == {f"{web}/desk/requests/%E0%B8%97%E0%B8%9A.2569/10001"}
    resent = http.post(f"{web}/desk/new", data=form, timeout=30)  # the browser resends the form later
    assert "แบบฟอร์มนี้บันทึกไปแล้ว จึงไม่บันทึกซ้ำ" in resent.text
    assert len(rows(store, Request)) == 1 and actions(store) == ["desk.request.created"]


def test_another_agencys_request_answers_the_same_404_as_a_missing_one(web: str, store: HubStore) -> None:
    mine = sign_in(web, "officer.moc-dbd-reg")
    assert mine.post(f"{web}/desk/new", data=new_form(mine, web), timeout=30).status_code == 200
    page = mine.get(f"{web}/desk/requests/ทบ.2569/10001", timeout=30)
    assert page.status_code == 200 and "นางสาวกนกพร ศรีสุข" in page.text  # in full, to its own officer
    for username in ("officer.moc-dbd-fbl", "officer.moph-fda-food"):
        other = sign_in(web, username)
        missing = other.get(f"{web}/desk/requests/ทบ.2569/99999", timeout=30)
        theirs = other.get(f"{web}/desk/requests/ทบ.2569/10001", timeout=30)
        assert missing.status_code == theirs.status_code == 404
        assert theirs.text == missing.text and "ไม่พบหน้าที่ต้องการ" in theirs.text
        token = form_token(other.get(f"{web}/desk", timeout=30).text)
        for path in ("/desk/edit/ทบ.2569/10001", "/desk/letter/delay/3/ทบ.2569/10001"):
            assert other.get(f"{web}{path}", timeout=30).status_code == 404
        for path in ("/desk/issue/ทบ.2569/10001", "/desk/reason/ทบ.2569/10001", "/desk/status/ทบ.2569/10001"):
            answer = other.post(f"{web}{path}", data={"csrf_token": token, "delay_reason": "x"}, timeout=30)
            assert answer.status_code == 404 and answer.text == missing.text
        listed = other.get(f"{web}/desk", timeout=30).text + other.get(f"{web}/desk/search", params={"q": "ทบ"},
                                                                        timeout=30).text
        assert "10001" not in listed and "กนกพร" not in listed
    assert outbox(store, "ทบ.2569/10001") == [] and actions(store) == ["desk.request.created"]
    opdc = sign_in_opdc(web)
    assert opdc.get(f"{web}/desk", timeout=30).status_code == 403  # the OPDC reads the lateness view


def sign_in_opdc(base: str) -> requests.Session:
    return test_web_accounts.sign_in(base, "opdc", DEMO_PASSWORDS[Role.OPDC])


def test_issuing_from_the_page_queues_once_and_the_letter_downloads_the_same(web: str, store: HubStore) -> None:
    http = sign_in(web, "officer.moc-dbd-reg")
    page = http.post(f"{web}/desk/new", data=new_form(http, web), timeout=30)
    assert "บันทึกคำขอแล้ว" in page.text and "5 พฤศจิกายน 2569" in page.text
    token = form_token(page.text)
    issued = http.post(f"{web}/desk/issue/ทบ.2569/10001", data={"csrf_token": token, "form_token": "i-1"},
                       timeout=30)
    assert "ออกหนังสือแจ้งเหตุแห่งความล่าช้า ครั้งที่ 3 เรียบร้อยแล้ว พร้อมสำเนาถึงสำนักงาน ก.พ.ร." in issued.text
    assert "สำเนา สำนักงาน ก.พ.ร.: รอส่ง" in issued.text
    again = http.post(f"{web}/desk/issue/ทบ.2569/10001", data={"csrf_token": token, "form_token": "i-2"},
                      timeout=30)
    assert "ฉบับถัดไปครบกำหนดวันที่ 27 พฤศจิกายน 2569" in again.text
    assert len(outbox(store, "ทบ.2569/10001")) == 3
    [link] = re.findall(r'href="(/desk/letter/delay/3/[^"]+)"', again.text)
    first, second = http.get(f"{web}{link}", timeout=60), http.get(f"{web}{link}", timeout=60)
    assert first.headers["content-type"] == "application/pdf" and first.content.startswith(b"%PDF")
    assert first.content == second.content
    assert actions(store) == ["desk.request.created", "desk.notice.issued"]


def test_a_back_office_request_takes_only_a_reason_at_the_desk(
        web: str, store: HubStore, registry: Registry) -> None:
    mapping = {m.id: m for m in load_all()[0]}["moc-dbd-registration"]
    outcome = normalise(back_office_record(), mapping, registry, dt.datetime(2026, 11, 25, 2, tzinfo=dt.UTC))
    store.upsert_requests([outcome.request])
    http = sign_in(web, "officer.moc-dbd-reg")
    page = http.get(f"{web}/desk/requests/ทบ.2569/00123", timeout=30).text
    assert "ระบบงานของหน่วยงาน" in page and "เหตุเริ่มต้นของกระบวนการ" in page  # the mapping's default for now
    assert 'action="/desk/status/' not in page and "แก้ไขข้อมูลคำขอ" not in page
    assert http.get(f"{web}/desk/edit/ทบ.2569/00123", timeout=30).status_code == 404
    empty = http.post(f"{web}/desk/reason/ทบ.2569/00123", data={"csrf_token": form_token(page)}, timeout=30)
    assert empty.status_code == 400 and errors_of(empty.text) == {"delay_reason": "กรุณาระบุเหตุแห่งความล่าช้า"}
    saved = http.post(f"{web}/desk/reason/ทบ.2569/00123", timeout=30, data={
        "csrf_token": form_token(page), "delay_reason": "อยู่ระหว่างตรวจสอบข้อมูลกับกรมสรรพากร", "form_token": "r-1"})
    assert "บันทึกเหตุแห่งความล่าช้าแล้ว" in saved.text
    assert re.search(r'id="current-reason">อยู่ระหว่างตรวจสอบข้อมูลกับกรมสรรพากร', saved.text)
    assert "บันทึกโดย officer.moc-dbd-reg" in saved.text
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(DeskReason)) == 1


def test_the_list_shows_the_scope_masked_and_the_print_queue_takes_a_posting(web: str, store: HubStore) -> None:
    http = sign_in(web, "officer.moc-dbd-reg")
    form = {**new_form(http, web), "applicant_email": "", "applicant_phone": "", "consent": ""}
    page = http.post(f"{web}/desk/new", data=form, timeout=30)
    http.post(f"{web}/desk/issue/ทบ.2569/10001", data={"csrf_token": form_token(page.text)}, timeout=30)
    listed = http.get(f"{web}/desk", params={"overdue": "1"}, timeout=30).text
    assert "ทบ.2569/10001" in listed and "นางสาวกนกพร ศ***" in listed and "ศรีสุข" not in listed
    assert "ถนนนนทบุรี" not in listed
    queue = http.get(f"{web}/desk/print", timeout=30).text
    item_id = re.search(r'action="/desk/print/(\d+)"', queue).group(1)
    wrong = http.post(f"{web}/desk/print/{item_id}", timeout=30, data={
        "csrf_token": form_token(queue), "posted_on": "25/11/2569", "registered_no": "RR123456789TH"})
    assert wrong.status_code == 400
    assert errors_of(wrong.text) == {f"registered_no-{item_id}": "เลขที่ไปรษณีย์ลงทะเบียนไม่ถูกต้อง ต้องเป็นตัวอักษร "
                                     "2 ตัว ตัวเลข 9 หลัก และ TH เช่น RR123456785TH"}
    done = http.post(f"{web}/desk/print/{item_id}", timeout=30, data={
        "csrf_token": form_token(queue), "posted_on": "25/11/2569", "registered_no": "RR123456785TH",
        "form_token": "p-1"})
    assert "บันทึกการส่งหนังสือของคำขอเลขที่ ทบ.2569/10001 แล้ว" in done.text
    assert "ไม่มีหนังสือรอพิมพ์และจัดส่ง" in done.text
    request_page = http.get(f"{web}/desk/requests/ทบ.2569/10001", timeout=30).text
    assert "ส่งเมื่อ 25 พฤศจิกายน 2569 เลขที่ RR123456785TH" in request_page


def test_letters_queued_before_the_desk_existed_wait_in_its_print_queue(
        store_url: str, old_store: Callable[[str], int]) -> None:
    from sqlalchemy import create_engine, text

    request_id = old_store("0007")
    engine = create_engine(store_url)
    with engine.begin() as conn:
        for channel in ("letter", "opdc"):
            conn.execute(text(
                "INSERT INTO outbox (request_id, kind, sequence, channel, idempotency_key, owed_on, late_days,"
                " recipient, subject, body, status, attempts, next_attempt_at, created_at) VALUES (:rid, 'delay', 1,"
                " :ch, :key, '2026-11-06', 0, 'x', 's', 'b', 'sent', 1, '2026-11-06 01:00:00',"
                " '2026-11-06 01:00:00')"), {"rid": request_id, "ch": channel, "key": f"old-{channel}"})
    engine.dispose()
    hub = HubStore.open(store_url)  # to the newest schema
    try:
        [waiting] = rows(hub, PrintLetter)
        assert (waiting.request_id, waiting.kind, waiting.sequence, waiting.owed_on, waiting.posted_on) == (
            request_id, "delay", 1, D(2026, 11, 6), None)
    finally:
        hub.close()


def test_editing_and_moving_a_desk_request_on_from_its_pages(web: str, store: HubStore) -> None:
    http = sign_in(web, "officer.moc-dbd-reg")
    http.post(f"{web}/desk/new", data=new_form(http, web), timeout=30)
    edit = http.get(f"{web}/desk/edit/ทบ.2569/10001", timeout=30).text
    assert 'value="2/11/2569"' in edit  # stored ISO dates shown as typed: วัน/เดือน/ปี พ.ศ.
    form = {k: v for k, v in re.findall(r'<input id="[^"]*" name="([^"]+)" type="(?:text|email|tel)" value="([^"]*)"',
                                         edit)}
    checksum = re.search(r'name="checksum" value="([^"]+)"', edit).group(1)
    base = {**dataclasses.asdict(desk_form()), **form, "consent": "1", "csrf_token": form_token(edit),
            "checksum": checksum}
    saved = http.post(f"{web}/desk/edit/ทบ.2569/10001", data={**base, "applicant_phone": "0812345678",
                                                               "form_token": "e-1"}, timeout=30)
    assert "บันทึกการแก้ไขแล้ว" in saved.text and "0812345678" in saved.text
    stale = http.post(f"{web}/desk/edit/ทบ.2569/10001", data={**base, "form_token": "e-2"}, timeout=30)
    assert stale.status_code == 400
    assert errors_of(stale.text) == {"desk-form": "มีผู้บันทึกคำขอนี้หลังจากที่ท่านเปิดหน้านี้ "
                                                  "กรุณาตรวจสอบข้อมูลล่าสุดแล้วบันทึกอีกครั้ง"}
    page = http.get(f"{web}/desk/requests/ทบ.2569/10001", timeout=30).text
    checksum = re.search(r'name="checksum" value="([^"]+)"', page).group(1)
    waiting = http.post(f"{web}/desk/status/ทบ.2569/10001", timeout=30, data={
        "csrf_token": form_token(page), "checksum": checksum, "status": "waiting_applicant", "status_on": "30/11/2569"})
    assert errors_of(waiting.text) == {"status_on": "วันที่ต้องไม่เกินวันนี้"}
    waiting = http.post(f"{web}/desk/status/ทบ.2569/10001", timeout=30, data={
        "csrf_token": form_token(page), "checksum": checksum, "status": "waiting_applicant", "status_on": "20/11/2569",
        "form_token": "s-1"})
    assert "บันทึกสถานะใหม่แล้ว" in waiting.text
    assert re.search(r'id="request-status">รอเอกสารหรือข้อมูลจากผู้ยื่นคำขอ<', waiting.text)
    assert "ตั้งแต่ 20 พฤศจิกายน 2569 (ยังรออยู่)" in waiting.text
    assert actions(store) == ["desk.request.created", "desk.request.updated", "desk.status.changed"]
