"""The citizen feedback survey on the real hub store (SQLite and PostgreSQL): question files and their
versions, one invitation per event and none without consent (a queue visit served at the counter, a request
finished in the sweep), expiry, the walk-in ticket's and the result letter's derived links, exactly one
answer per token under a race of two threads, mistakes that keep the token, comments masked before they are
stored, the daily roll-up the reports read, an answer that cannot be joined back to the person, and the
public page's limit per client."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from queue_setup import DBD, KEY, Clock, at, nid
from queue_setup import phone as phone_of
from sqlalchemy import func, inspect, select

from delayhub.calendar import ThaiCalendar
from delayhub.config import DispatchConfig
from delayhub.errors import ConfigError
from delayhub.mapping import load_all as load_mappings
from delayhub.normalise import checksum
from delayhub.pdpa import MASKED_EMAIL, MASKED_NATIONAL_ID, MASKED_PHONE, mask_free_text
from delayhub.queueing.booking import Queue
from delayhub.queueing.counter import Counters
from delayhub.queueing.rules import identify, phone_proof
from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.store.models import (
    Outbox,
    QueueBooking,
    Request,
    SurveyAnswer,
    SurveyDaily,
    SurveyInvitation,
    SurveyQuestionSet,
)
from delayhub.survey import Invalid, Survey, invite, questions
from delayhub.survey.answer import ANSWERED, EXPIRED, NOT_YET, OPEN, STORED, UNKNOWN
from delayhub.sweep import sweep

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"https://survey\.example\.go\.th/survey/([A-Za-z0-9_.\-]+)")
GOOD = {"overall": "4", "speed": "3", "courtesy": "5", "clarity": "4", "comment": "เจ้าหน้าที่สุภาพมาก"}


@pytest.fixture(autouse=True)
def _public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELAYHUB_PUBLIC_URL", "https://survey.example.go.th")


@pytest.fixture
def survey(store: HubStore, registry: Registry, clock: Clock) -> Survey:
    return Survey(store, registry, now=clock)


def served_walk_in(queue: Queue, clock: Clock, n: int, *, consent: bool = True, phone: bool = True,
                   wait: dt.timedelta = dt.timedelta(minutes=7, seconds=20), lang: str = "th") -> Any:
    """A walk-in's ticket, called at counter 1 after ``wait`` and marked served there (the counter's own path)."""
    booker = identify(f"ผู้มาติดต่อ {n}", nid(n), phone_of(n) if phone else "")
    plan = queue.plan("walk_in", DBD, "REG", booker, lang=lang)
    booking = queue.book(dataclasses.replace(plan, survey_consent=consent))
    counters = Counters(queue)
    clock.now += wait
    called = counters.call_next(DBD, "1")
    assert called.id == booking.id
    clock.now += dt.timedelta(minutes=5)
    counters.served(DBD, "1", booking.id)
    return booking


def invitations(store: HubStore) -> list[SurveyInvitation]:
    with store.session() as s:
        return list(s.scalars(select(SurveyInvitation).order_by(SurveyInvitation.id)))


def survey_rows(store: HubStore) -> list[Outbox]:
    with store.session() as s:
        return list(s.scalars(select(Outbox).where(Outbox.kind == "survey").order_by(Outbox.id)))


def answers(store: HubStore) -> list[SurveyAnswer]:
    with store.session() as s:
        return list(s.scalars(select(SurveyAnswer).order_by(SurveyAnswer.id)))


def daily(store: HubStore) -> list[SurveyDaily]:
    with store.session() as s:
        return list(s.scalars(select(SurveyDaily)))


def token_of(row: Outbox) -> str:
    found = LINK.search(row.body)
    assert found, row.body
    return found.group(1)


def made(store: HubStore, clock: Clock, n: int = 1, *, days: int = 14, wait: int | None = 300,
         late: int | None = None) -> str:
    """An invitation made directly (as an event would), with its token."""
    token = invite.new_token()
    visit = invite.Visit("queue_served", f"test-{n}", DBD, "REG", "walk_in", "1", clock.now.date(), wait, late, "th")
    with store.transaction() as s:
        assert invite.create(s, visit, token, clock.now, clock.now + dt.timedelta(days=days)) is not None
    return token


# --- the question files -----------------------------------------------------------------------------------

def test_the_shipped_question_files_read_and_keep_the_standard_ids(registry: Registry) -> None:
    files = questions.load(registry=registry)
    assert [q.id for q in files.standard.questions] == ["overall", "speed", "courtesy", "clarity", "comment"]
    assert files.standard.get("overall").required and files.link_days == 14
    dbd = files.for_agency(DBD, registry)
    assert dbd is not None and [q.kind for q in dbd.questions] == ["yes_no", "scale", "short_text"]
    assert files.for_agency("MOC-DBD-REG", registry) is dbd, "a division asks its department's questions"
    assert files.for_agency("MOI-DOPA", registry) is None


def _standard() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "data" / "survey" / "standard.yaml").read_text(encoding="utf-8"))


def _agency() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "data" / "survey" / "agencies" / "MOC-DBD.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("change", "field", "words"), [
    (lambda d: d["questions"].pop(0), "questions", "exactly overall"),
    (lambda d: d["questions"][1].update(kind="yes_no"), "questions[1].kind", "must be one of"),
    (lambda d: d["questions"][0].update(required=False), "questions", "'overall' must be required"),
    (lambda d: d["questions"][2]["text"].pop("en"), "questions[2].text.en", "missing"),
    (lambda d: d["settings"].update(link_days=0), "settings.link_days", "from 1 to 90"),
    (lambda d: d.update(version="1"), "version", "whole number"),
    (lambda d: d.update(colour="blue"), "colour", "unknown setting"),
    (lambda d: d["questions"][4].update(max_length=5000), "questions[4].max_length", "from 1 to 2,000"),
])
def test_a_wrong_standard_file_names_its_field(change: Any, field: str, words: str) -> None:
    data = _standard()
    change(data)
    with pytest.raises(ConfigError) as err:
        questions.parse_standard(data, "standard.yaml")
    assert (err.value.source, err.value.path) == ("standard.yaml", field) and words in err.value.problem


@pytest.mark.parametrize(("change", "field", "words"), [
    (lambda d: d["questions"].append({"id": "fourth", "kind": "scale", "text": {"th": "ก", "en": "a"}}),
     "questions", "at most 3"),
    (lambda d: d["questions"][0].update(kind="choice"), "questions[0].kind", "scale, short_text, yes_no"),
    (lambda d: d["questions"][0].update(id="overall"), "questions[0].id", "standard questions"),
    (lambda d: d["questions"][1].update(id="documents_known"), "questions[1].id", "appears twice"),
    (lambda d: d["questions"][0].update(id="Docs Known"), "questions[0].id", "lower-case"),
    (lambda d: d["questions"][0].update(max_length=10), "questions[0].max_length", "only text questions"),
    (lambda d: d.update(agency="MOC-NOPE"), "agency", "not in data/registry"),
])
def test_a_wrong_agency_file_names_its_field(registry: Registry, change: Any, field: str, words: str) -> None:
    data = _agency()
    change(data)
    with pytest.raises(ConfigError) as err:
        questions.parse_agency(data, "MOC-DBD.yaml", registry, expected="MOC-DBD")
    assert err.value.path == field and words in err.value.problem


def test_a_file_must_carry_its_agencys_name(registry: Registry) -> None:
    with pytest.raises(ConfigError, match=r"must be named MOC-DBD\.yaml"):
        questions.parse_agency(_agency(), "MOC-DIP.yaml", registry, expected="MOC-DIP")


def test_versions_are_stored_once_and_a_changed_file_needs_a_new_one(store: HubStore, tmp_path: Path,
                                                                      registry: Registry) -> None:
    folder = tmp_path / "survey"
    shutil.copytree(ROOT / "data" / "survey", folder)
    with store.transaction() as s:
        first = questions.sync(s, questions.load(folder))
    with store.transaction() as s:
        again = questions.sync(s, questions.load(folder))  # the same files: no new rows
    assert first == again
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(SurveyQuestionSet)) == 2

    data = _standard()
    data["questions"][1]["text"]["th"] = "ความรวดเร็ว"
    (folder / "standard.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as err, store.transaction() as s:
        questions.sync(s, questions.load(folder))
    assert err.value.path == "version" and "new version (e.g. 2)" in err.value.problem

    data["version"] = 2
    (folder / "standard.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with store.transaction() as s:
        second = questions.sync(s, questions.load(folder))
    assert second["OPDC"].id != first["OPDC"].id and second["OPDC"].version == 2
    assert second[DBD] == first[DBD]
    with store.session() as s:
        kept = questions.stored(s, first["OPDC"].id)
    assert kept is not None and kept.questions[1].text["th"] == "ความรวดเร็วในการให้บริการ", "old wording is kept"


def test_each_answer_pins_the_versions_it_answered(store: HubStore, clock: Clock, registry: Registry,
                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "survey"
    shutil.copytree(ROOT / "data" / "survey", folder)
    monkeypatch.setenv("DELAYHUB_SURVEY", str(folder))
    survey = Survey(store, registry, now=clock)
    old_token, new_token = made(store, clock, 1), made(store, clock, 2)
    shown = survey.resolve(old_token)  # the page as it was shown before the OPDC's new version
    assert shown.state == OPEN and shown.standard.version == 1 and shown.agency_set.owner == DBD

    data = _standard()
    data["version"] = 2
    data["questions"][0]["text"]["th"] = "ความพึงพอใจโดยรวมต่อการบริการครั้งนี้"
    (folder / "standard.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    pinned = {"standard_set": shown.standard.id, "agency_set": shown.agency_set.id}
    assert survey.submit(old_token, GOOD, **pinned).state == STORED
    assert survey.submit(new_token, GOOD).state == STORED
    first, second = answers(store)
    with store.session() as s:
        versions = [s.get(SurveyQuestionSet, a.standard_set_id).version for a in (first, second)]
    assert versions == [1, 2]
    assert first.agency_set_id == second.agency_set_id == shown.agency_set.id


# --- invitations ------------------------------------------------------------------------------------------

def test_a_served_visit_invites_once_by_sms_and_only_with_consent(store: HubStore, queue: Queue, clock: Clock) -> None:
    asked = served_walk_in(queue, clock, 1)
    served_walk_in(queue, clock, 2, consent=False)  # served, but did not agree to be asked
    served_walk_in(queue, clock, 3, phone=False)  # agreed nothing, left no number: only the ticket's QR code
    rows, made_ = survey_rows(store), invitations(store)
    assert len(rows) == 1 and len(made_) == 1
    sms = rows[0]
    assert (sms.channel, sms.recipient, sms.queue_booking_id, sms.request_id) == ("sms", "0800000001", asked.id, None)
    assert sms.body.startswith("คิว A001 ขอบคุณที่ใช้บริการ โปรดประเมินความพึงพอใจ https://survey.example.go.th/survey/")
    inv = made_[0]
    assert (inv.event, inv.event_ref, inv.agency, inv.service, inv.channel, inv.counter) == (
        "queue_served", str(asked.id), DBD, "REG", "walk_in", "1")
    assert inv.wait_seconds == 420, "7 min 20 s waited, kept to the minute"
    assert inv.expires_at == inv.created_at + dt.timedelta(days=14)
    assert inv.token_hash == invite.token_hash(token_of(sms)) and token_of(sms) not in inv.token_hash
    with store.transaction() as s:  # the event again (a retried task, a second process): nothing more
        assert invite.queue_served(s, asked.id, now=clock.now) is None
    assert len(survey_rows(store)) == 1 and len(invitations(store)) == 1
    [day] = daily(store)
    assert (day.agency, day.service, day.channel, day.counter, day.day, day.invited, day.answers) == (
        DBD, "REG", "walk_in", "1", dt.date(2026, 11, 25), 1, 0)


def test_an_english_booker_is_invited_in_english(store: HubStore, queue: Queue, clock: Clock) -> None:
    served_walk_in(queue, clock, 1, lang="en")
    assert survey_rows(store)[0].body.startswith("Queue A001: thank you. How was our service? https://")
    assert invitations(store)[0].language == "en"


def test_consent_given_on_each_booking_form_is_kept(store: HubStore, queue: Queue, clock: Clock) -> None:
    ticket = queue.book(queue.plan("walk_in", DBD, "REG", identify("ผู้มาติดต่อ", nid(5))))
    queue.add_phone(ticket.token, "081 222 3333", survey_consent=True)  # the "leave a number" page
    day = dt.date(2026, 11, 26)
    first, later = [s for s, _ in queue.slots(DBD, "REG", "web", day)][:2]
    booker = identify("ผู้จอง", nid(6), "0800000006")
    proof = phone_proof(KEY, "0800000006", clock.now.timestamp())
    booked = queue.book(dataclasses.replace(queue.plan("web", DBD, "REG", booker, slot_id=first.id, proof=proof),
                                            survey_consent=True))
    moved = queue.change(booked.token, later.id)  # a changed booking keeps the booker's answer
    with store.session() as s:
        assert [s.get(QueueBooking, b.id).survey_consent for b in (ticket, booked, moved)] == [True, True, True]


def _request(no: str, *, status: str = "in_progress", consent: bool | None = True, phone: str | None = "0891234567",
             email: str | None = "kanokporn@example.co.th", **extra: Any) -> dict[str, Any]:
    rec = {"request_no": no, "agency": {"ministry": "MOC", "department": "MOC-DBD", "division": "MOC-DBD-REG"},
           "process_code": "DBD-REG-02", "manual_id": "MOC-DBD-002", "submitted_on": "2026-11-02", "status": status,
           "delay_reason": "รอผลตรวจสอบจากหน่วยงานอื่น",
           "applicant": {"name": "นางสาวกนกพร ศรีสุข", "email": email, "phone": phone, "consent": consent}, **extra}
    rec["applicant"] = {k: v for k, v in rec["applicant"].items() if v is not None}
    rec["source"] = {"connector": "moc-dbd-registration", "record_id": no, "checksum": checksum(rec),
                     "fetched_at": "2026-11-02T01:00:00+00:00"}
    return rec


def test_a_finished_request_invites_once_with_its_result_notice(store: HubStore, monkeypatch: pytest.MonkeyPatch,
                                                                 registry: Registry) -> None:
    calendar, mappings = ThaiCalendar.load(), {m.id: m for m in load_mappings()[0]}
    monkeypatch.setenv("DELAYHUB_TODAY", "2026-11-02")
    store.upsert_requests([_request("R-1"), _request("R-2"), _request("R-3", consent=None),
                           _request("R-4", phone=None), _request("R-5")])
    sweep(store, registry, calendar, mappings, DispatchConfig(), dt.date(2026, 11, 6))
    assert survey_rows(store) == [], "nobody is asked before the request is finished"
    monkeypatch.setenv("DELAYHUB_TODAY", "2026-11-20")
    store.upsert_requests([_request("R-1", status="completed", completed_on="2026-11-20"),
                           _request("R-2", status="rejected", completed_on="2026-11-19"),
                           _request("R-3", status="completed", completed_on="2026-11-20", consent=None),
                           _request("R-4", status="completed", completed_on="2026-11-20", phone=None)])
    stats = sweep(store, registry, calendar, mappings, DispatchConfig(), dt.date(2026, 11, 20))
    again = sweep(store, registry, calendar, mappings, DispatchConfig(), dt.date(2026, 11, 21))
    assert (stats["survey_invited"], again["survey_invited"]) == (3, 0)
    with store.session() as s:
        numbers = {str(i): no for i, no in s.execute(select(Request.id, Request.request_no))}
    made_ = invitations(store)
    assert sorted(numbers[i.event_ref] for i in made_) == ["R-1", "R-2", "R-4"], "R-3 did not consent; R-5 is open"
    assert {i.event for i in made_} == {"request_finished"}
    rows = survey_rows(store)
    assert sorted((numbers[str(r.request_id)], r.channel, r.sequence) for r in rows) == [
        ("R-1", "sms", 1), ("R-2", "sms", 1), ("R-4", "email", 1)], "SMS when there is a number, else email"
    late = {i.visit_on: i.days_late for i in made_}
    assert late[dt.date(2026, 11, 19)] == late[dt.date(2026, 11, 20)] - 1, "days past the due date, at completion"
    assert all(i.channel == "connector" and i.agency == "MOC-DBD-REG" and i.service == "DBD-REG-02" for i in made_)
    mail = next(r for r in rows if r.channel == "email")
    assert mail.subject == "แบบประเมินความพึงพอใจต่อการบริการ คำขอเลขที่ R-4" and "ไม่ระบุตัวตน" in mail.body
    # the request's other events (the result notice sent) name the same invitation: none more
    with store.transaction() as s:
        assert invite.request_finished(s, mail.request_id) is None
    assert len(invitations(store)) == 3


# --- answering --------------------------------------------------------------------------------------------

def test_an_answer_is_stored_once_with_the_roll_up(store: HubStore, survey: Survey, queue: Queue,
                                                   clock: Clock) -> None:
    served_walk_in(queue, clock, 1)
    token = token_of(survey_rows(store)[0])
    opened = survey.resolve(token)
    assert opened.state == OPEN and opened.invitation.visit_on == dt.date(2026, 11, 25)
    assert survey.submit(token, GOOD).state == STORED
    assert survey.submit(token, GOOD).state == ANSWERED, "a second submit stores nothing"
    assert survey.resolve(token).state == ANSWERED
    [answer] = answers(store)
    assert (answer.overall, answer.speed, answer.courtesy, answer.clarity) == (4, 3, 5, 4)
    assert (answer.agency, answer.channel, answer.counter, answer.wait_seconds) == (DBD, "walk_in", "1", 420)
    [day] = daily(store)
    assert (day.invited, day.answers, day.overall_4, day.overall_5, day.wait_seconds_sum, day.wait_count,
            day.days_late_count) == (1, 1, 1, 0, 420, 1, 0)


@pytest.mark.parametrize("rounds", [4])
def test_the_same_link_sent_twice_at_once_stores_one_answer(store: HubStore, survey: Survey, clock: Clock,
                                                            rounds: int) -> None:
    for n in range(rounds):
        token = made(store, clock, n)
        survey.resolve(token)  # the question sets synced before the race
        start = threading.Barrier(2)
        outcomes: list[str] = []

        def answer(form: dict[str, str], token: str = token, start: threading.Barrier = start,
                   outcomes: list[str] = outcomes) -> None:
            start.wait()
            outcomes.append(survey.submit(token, form).state)

        threads = [threading.Thread(target=answer, args=({**GOOD, "overall": str(v)},)) for v in (2, 5)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert sorted(outcomes) == [ANSWERED, STORED], outcomes
    assert len(answers(store)) == rounds
    [day] = daily(store)
    assert (day.invited, day.answers, day.overall_2 + day.overall_5) == (rounds, rounds, rounds)


def test_mistakes_store_nothing_and_keep_the_token(store: HubStore, survey: Survey, clock: Clock) -> None:
    token = made(store, clock)
    with pytest.raises(Invalid) as err:
        survey.submit(token, {**GOOD, "overall": "", "speed": "9", "comment": "ก" * 1001, "a_documents_known": "maybe"})
    assert err.value.errors == {"overall": "required", "speed": "invalid", "comment": "too_long",
                                "a_documents_known": "invalid"}
    assert answers(store) == [] and invitations(store)[0].answered_at is None
    assert survey.resolve(token).state == OPEN
    assert survey.submit(token, {"overall": "๓"}).state == STORED, "Thai digits; the rest may be left out"
    [answer] = answers(store)
    assert (answer.overall, answer.speed, answer.comment) == (3, None, None)
    assert answer.extra == {"documents_known": None, "online_ready": None, "improve_first": None}


def test_an_expired_or_unknown_link_opens_nothing(store: HubStore, survey: Survey, clock: Clock) -> None:
    token = made(store, clock, days=14)
    clock.now += dt.timedelta(days=14)
    assert survey.resolve(token).state == EXPIRED
    assert survey.submit(token, GOOD).state == EXPIRED
    assert survey.resolve("not-a-token").state == UNKNOWN
    assert survey.resolve(invite.new_token()).state == UNKNOWN
    assert survey.resolve("x" * 500).state == UNKNOWN
    assert answers(store) == [] and daily(store)[0].answers == 0


def test_comments_and_the_agencys_text_are_masked_before_they_are_stored(store: HubStore, survey: Survey,
                                                                         clock: Clock) -> None:
    token = made(store, clock)
    form = {**GOOD, "comment": "รอนานมาก ติดต่อกลับที่ 081-234-5678 หรือ somchai@example.co.th "
                               "บัตร 1-1012-00456-78-9",
            "a_documents_known": "yes", "a_online_ready": "5", "a_improve_first": "โทรมาที่ ๐๘๙ ๙๙๙ ๘๘๘๘ ได้"}
    assert survey.submit(token, form).state == STORED
    [answer] = answers(store)
    assert answer.comment == f"รอนานมาก ติดต่อกลับที่ {MASKED_PHONE} หรือ {MASKED_EMAIL} บัตร {MASKED_NATIONAL_ID}"
    assert answer.extra == {"documents_known": True, "online_ready": 5, "improve_first": f"โทรมาที่ {MASKED_PHONE} ได้"}


def test_an_answer_cannot_be_joined_back_to_the_person(store: HubStore, survey: Survey, queue: Queue,
                                                       clock: Clock) -> None:
    db = inspect(store.engine)  # the table as the migrations made it
    assert {c["name"] for c in db.get_columns("survey_answers")} == {
        "id", "agency", "service", "channel", "counter", "visit_on", "standard_set_id", "agency_set_id", "overall",
        "speed", "courtesy", "clarity", "extra", "comment", "wait_seconds", "days_late"}
    assert {fk["referred_table"] for fk in db.get_foreign_keys("survey_answers")} == {"survey_question_sets"}

    served_walk_in(queue, clock, 1)
    clock.now = at("15:10")
    assert survey.submit(token_of(survey_rows(store)[0]), GOOD).state == STORED
    [inv] = invitations(store)
    # the invitation keeps neither the measured time nor the moment it was answered: nothing to match by
    assert (inv.wait_seconds, inv.days_late) == (None, None)
    assert inv.answered_at == at("00:00")


# --- the ticket's and the letter's links ------------------------------------------------------------------

def test_the_ticket_link_waits_for_the_visit_then_shares_its_one_answer(store: HubStore, survey: Survey,
                                                                        queue: Queue, clock: Clock) -> None:
    booker = identify("ผู้มาติดต่อ", nid(7), "0800000007")
    booking = queue.book(dataclasses.replace(queue.plan("walk_in", DBD, "REG", booker), survey_consent=True))
    on_ticket = invite.ticket_token(booking.ref)
    assert survey.resolve(on_ticket).state == NOT_YET
    assert survey.submit(on_ticket, GOOD).state == NOT_YET and invitations(store) == []
    counters = Counters(queue)
    counters.call_next(DBD, "1")
    counters.served(DBD, "1", booking.id)
    sms_token = token_of(survey_rows(store)[0])
    assert survey.resolve(on_ticket).state == OPEN
    assert survey.submit(on_ticket, GOOD).state == STORED
    assert survey.submit(sms_token, GOOD).state == ANSWERED, "the SMS and the ticket are one visit, one answer"
    assert len(invitations(store)) == 1 and len(answers(store)) == 1
    forged = on_ticket[:-2] + ("AA" if not on_ticket.endswith("AA") else "BB")
    assert survey.resolve(forged).state == UNKNOWN


def test_a_ticket_without_consent_makes_its_invitation_when_opened(store: HubStore, survey: Survey,
                                                                   queue: Queue, clock: Clock) -> None:
    booking = served_walk_in(queue, clock, 1, consent=False, phone=False)
    on_ticket = invite.ticket_token(booking.ref)
    assert invitations(store) == []
    assert survey.resolve(on_ticket).state == OPEN
    assert survey.resolve(on_ticket).state == OPEN, "opened twice: still one invitation"
    [inv] = invitations(store)
    assert inv.token_hash == invite.token_hash(on_ticket) and daily(store)[0].invited == 1
    clock.now += dt.timedelta(days=15)
    assert survey.resolve(on_ticket).state == EXPIRED


def test_the_letters_link_opens_once_the_request_is_finished(store: HubStore, survey: Survey, clock: Clock,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELAYHUB_TODAY", "2026-11-02")
    store.upsert_requests([_request("R-9", consent=None)])
    with store.session() as s:
        request_id = s.scalar(select(Request.id).where(Request.request_no == "R-9"))
    link = invite.request_survey_link(request_id)
    token = link.rsplit("/", 1)[1]
    assert link.startswith("https://survey.example.go.th/survey/r.")
    assert survey.resolve(token).state == NOT_YET
    store.upsert_requests([_request("R-9", consent=None, status="completed", completed_on="2026-11-20")])
    clock.now = at("10:00", "2026-11-27")
    assert survey.submit(token, GOOD).state == STORED
    [inv] = invitations(store)
    assert (inv.event, inv.event_ref, inv.visit_on) == ("request_finished", str(request_id), dt.date(2026, 11, 20))
    assert inv.expires_at == at("00:00", "2026-12-12"), "completion + 7 days for the post + 14 days, to the day's end"


# --- masking ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("typed", "stored"), [
    ("โทร 081-234-5678 ครับ", f"โทร {MASKED_PHONE} ครับ"),
    ("เบอร์๐๘๑๒๓๔๕๖๗๘", f"เบอร์{MASKED_PHONE}"),
    ("โทร.0812345678", f"โทร.{MASKED_PHONE}"),
    ("08 1234 5678", MASKED_PHONE),
    ("081–234–5678", MASKED_PHONE),
    ("+66 81 234 5678 / +66812345678", f"{MASKED_PHONE} / {MASKED_PHONE}"),
    ("(02) 123 4567 ต่อ 12", f"{MASKED_PHONE} ต่อ 12"),
    ("053-123456", MASKED_PHONE),
    ("0812345678 0899999999", f"{MASKED_PHONE} {MASKED_PHONE}"),
    ("0812345678,0899999999", f"{MASKED_PHONE},{MASKED_PHONE}"),
    ("25/11/2569 0812345678", f"25/11/2569 {MASKED_PHONE}"),
    ("บัตร 1-2345-67890-12-3", f"บัตร {MASKED_NATIONAL_ID}"),
    ("1 2345 67890 12 3", MASKED_NATIONAL_ID),
    ("เลข 1234567890123 นะ", f"เลข {MASKED_NATIONAL_ID} นะ"),
    ("๑-๒๓๔๕-๖๗๘๙๐-๑๒-๓", MASKED_NATIONAL_ID),
    ("12345 67890 123", MASKED_NATIONAL_ID),
    ("ID3101200456789", f"ID{MASKED_NATIONAL_ID}"),
    ("mail: somchai.j@example.co.th ok", f"mail: {MASKED_EMAIL} ok"),
    ("SOMCHAI_J+x@Mail.Example.COM", MASKED_EMAIL),
    ("somchai @ gmail . com", MASKED_EMAIL),
    ("0812345678@gmail.com", MASKED_EMAIL),
    # what is not personal stays as it was
    ("ค่าธรรมเนียม 1,500 บาท วันที่ 25/11/2569 คำขอ ทบ.2569/00001", None),
    ("คิว A001 ช่อง 2 เวลา 09:30–10:00 รอ 45 นาที", None),
    ("1.500.000.000 บาท", None),
    ("", None),
])
def test_free_text_is_masked(typed: str, stored: str | None) -> None:
    assert mask_free_text(typed) == (typed if stored is None else stored)


def test_masking_leaves_no_digits_of_a_number_behind() -> None:
    text = "ติดต่อ 0812345678 หรือ 02-123-4567 บัตร 3101200456789 อีเมล a.b@c.go.th"
    masked = mask_free_text(text)
    for secret in ("0812345678", "5678", "4567", "3101200456789", "6789", "a.b@c.go.th"):
        assert secret not in masked


# --- the public page's limit ---------------------------------------------------------------------------------

def test_the_public_page_refuses_a_burst_from_one_client(sqlite_store: HubStore, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch, registry: Registry) -> None:
    from starlette.testclient import TestClient

    from delayhub.tracking import Limit
    from delayhub.web import survey as page
    from delayhub.web.app import create_app

    monkeypatch.setenv("DELAYHUB_WEB_SECRET", "survey-test-secret-" + "s" * 40)
    monkeypatch.setattr(page, "LIMITS", (Limit("survey-client", 3, 60),))
    app = create_app(f"sqlite:///{tmp_path / 'hub.db'}", registry=registry)
    with TestClient(app) as client:
        statuses = [client.get("/survey/nothing-here").status_code for _ in range(4)]
        refused = client.get("/survey/nothing-here")
    assert statuses == [404, 404, 404, 429]
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "เปิดแบบประเมินถี่เกินไป" in refused.text and "Traceback" not in refused.text


def test_the_page_speaks_the_invitations_language_and_refuses_a_form_from_elsewhere(
        sqlite_store: HubStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registry: Registry) -> None:
    from starlette.testclient import TestClient

    from delayhub.web.app import create_app
    from delayhub.web.logsafe import redact_target

    monkeypatch.setenv("DELAYHUB_WEB_SECRET", "survey-test-secret-" + "s" * 40)
    clock = Clock(dt.datetime.now(dt.UTC))
    token = invite.new_token()
    visit = invite.Visit("queue_served", "en-1", DBD, "CERT", "web", "4", clock.now.date(), 60, None, "en")
    with sqlite_store.transaction() as s:
        invite.create(s, visit, token, clock.now, clock.now + dt.timedelta(days=14))
    app = create_app(f"sqlite:///{tmp_path / 'hub.db'}", registry=registry)
    with TestClient(app) as client:
        page = client.get(f"/survey/{token}")  # no language chosen: the one the SMS was sent in
        assert str(page.url).endswith(f"/survey/{token}?lang=en")
        assert "<h1>How was our service?</h1>" in page.text and "Certificates and certified copies" in page.text
        forged = client.post(f"/survey/{token}", data={"overall": "5"})  # no CSRF token: another site's form
        assert forged.status_code == 403
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        sent = client.post(f"/survey/{token}", data={"overall": "5", "csrf_token": csrf,
                                                    "standard_set": re.search(r'name="standard_set" value="(\d+)"',
                                                                              page.text).group(1)})
        assert sent.status_code == 200 and "Thank you for your feedback" in sent.text
        again = client.post(f"/survey/{token}", data={"overall": "1", "csrf_token": csrf})
        assert again.status_code == 409 and "You have already answered this survey" in again.text
    assert [a.overall for a in answers(sqlite_store)] == [5]
    assert redact_target(f"/survey/{token}?lang=en") == "/survey/***?lang=***", "no token in an access log"
