"""The whole core path without Airflow: a real back office, real SMTP and SMS servers, the store."""

from __future__ import annotations

import datetime as dt
import email
import os
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import select, update

import connectors
from connectors.base import Secrets
from delayhub.calendar import default_calendar
from delayhub.config import DispatchConfig, SmsConfig, SmtpConfig
from delayhub.dispatch import dispatch
from delayhub.ingest import ingest
from delayhub.mapping import load_all
from delayhub.registry import Registry
from delayhub.sinks import SmsSink, SmtpSink
from delayhub.store import HubStore
from delayhub.store.models import Outbox, Quarantine, Request, RequestEvent
from delayhub.sweep import sweep
from demo.backoffice import DBD_KEY, FDA_PASSWORD, FDA_USER, BackOffice

TODAY = dt.date(2026, 11, 25)


@pytest.fixture
def world(tmp_path: Path, store: HubStore, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DELAYHUB_TODAY", TODAY.isoformat())
    office = BackOffice(TODAY).start()
    smtp = SmtpSink(tmp_path / "mail").start()
    sms = SmsSink(tmp_path / "sms.log").start()
    mappings, errors = load_all()
    assert errors == []
    mappings = [m for m in mappings if m.id in ("moc-dbd-registration", "moph-fda-esubmission")]
    secrets = {"moc-dbd-registration": Secrets(office.url, password=DBD_KEY),
               "moph-fda-esubmission": Secrets(office.url, FDA_USER, FDA_PASSWORD)}
    cfg = DispatchConfig(smtp=SmtpConfig(port=smtp.port), sms=SmsConfig(url=sms.url))
    registry = Registry.load()

    class World:
        def run(self, day: dt.date = TODAY) -> tuple[list[dict], dict, dict]:
            ingested = [ingest(m, connectors.build(m.source, secrets[m.id]), store, registry) for m in mappings]
            swept = sweep(store, registry, default_calendar(), {m.id: m for m in mappings}, cfg, day)
            return ingested, swept, dispatch(store, cfg)

    w = World()
    w.office, w.smtp, w.sms, w.store, w.cfg, w.registry, w.mappings = office, smtp, sms, store, cfg, registry, mappings
    yield w
    sms.stop()
    smtp.stop()
    office.stop()


def test_first_run_stores_quarantines_and_delivers_each_notice_once(world) -> None:
    ingested, swept, sent = world.run()
    assert [(i["read"], i["stored"], i["quarantined"]) for i in ingested] == [(200, 194, 6), (60, 58, 2)]
    with world.store.session() as s:
        assert s.query(Quarantine).count() == 8
        outbox = s.scalars(select(Outbox)).all()
        requests = {r.id: r for r in s.scalars(select(Request))}
    assert swept["outbox_added"] == len(outbox) == sent["sent"] > 0
    # every notice has its copy to the OPDC, and one row per channel the applicant has
    notices = {(o.request_id, o.kind, o.sequence) for o in outbox}
    for request_id, kind, seq in notices:
        channels = {o.channel for o in outbox if (o.request_id, o.kind, o.sequence) == (request_id, kind, seq)}
        r = requests[request_id]
        # the letter rides on the email; without an email it goes to the agency's print queue
        expected = {"opdc", "email" if r.applicant_email else "letter"} | ({"sms"} if r.applicant_phone else set())
        assert channels == expected
    # delay notices go only to unfinished requests past their due date; results only to finished ones
    for o in outbox:
        r = requests[o.request_id]
        if o.kind == "delay":
            assert r.status in ("received", "in_progress", "waiting_applicant") and r.due_on < TODAY
            assert o.owed_on == r.due_on + dt.timedelta(days=1 + 7 * (o.sequence - 1))
        else:
            assert r.status in ("completed", "rejected")
    emails = list((world.smtp.folder).glob("*.eml"))
    assert len(emails) == sent["sent_email"] + sent["sent_opdc"]
    printed = list(Path(os.environ["DELAYHUB_VAR"], "print").rglob("*.pdf"))
    assert len(printed) == sent["sent_letter"] > 0
    applicant_mail = next(email.message_from_bytes(p.read_bytes(), policy=default_policy) for p in emails
                          if "สำเนา" not in email.message_from_bytes(p.read_bytes(), policy=default_policy)["Subject"])
    (pdf,) = list(applicant_mail.iter_attachments())
    assert pdf.get_content_type() == "application/pdf" and pdf.get_content().startswith(b"%PDF")
    assert len(world.sms.received) == sent["sent_sms"]


def test_second_run_reads_nothing_new_and_sends_nothing_twice(world) -> None:
    world.run()
    before_mail = len(list(world.smtp.folder.glob("*.eml")))
    ingested, swept, sent = world.run()
    # the DBD mapping re-reads its 2-hour look-back window: those come back unchanged
    assert [(i["stored"], i["read"] == i["unchanged"]) for i in ingested] == [(0, True), (0, True)]
    assert swept["outbox_added"] == 0 and sent["sent"] == 0
    assert len(list(world.smtp.folder.glob("*.eml"))) == before_mail


def test_next_week_brings_the_next_notice_and_a_finished_request_gets_its_result(world) -> None:
    world.run()
    with world.store.session() as s:
        late = s.scalars(select(Request).where(Request.status == "in_progress", Request.due_on < TODAY,
                                               Request.source_connector == "moc-dbd-registration")).first()
    raw = next(r for r in world.office.dbd if r["app_no"] == late.request_no)
    raw["state"], raw["finish_date"], raw["last_update"] = "อนุมัติ", "28/11/2569", "2569-11-28 09:00:00"
    world.run(TODAY + dt.timedelta(days=7))
    with world.store.session() as s:
        kinds = {(o.kind, o.channel) for o in s.scalars(select(Outbox).where(Outbox.request_id == late.id))}
        events = [(e.from_value, e.to_value) for e in s.scalars(
            select(RequestEvent).where(RequestEvent.request_id == late.id, RequestEvent.kind == "status"))]
        others = s.scalars(select(Outbox).where(Outbox.kind == "delay", Outbox.owed_on > TODAY)).all()
    assert ("result", "opdc") in kinds
    assert events == [("in_progress", "completed")]
    assert others, "a week later the unfinished requests are owed their next delay notice"
    assert all(o.request_id != late.id for o in others)


def test_a_notice_survives_an_smtp_outage_and_is_sent_once_after(world) -> None:
    down = DispatchConfig(smtp=SmtpConfig(port=1), sms=world.cfg.sms)
    mappings = {m.id: m for m in world.mappings}
    for m in world.mappings:
        ingest(m, connectors.build(m.source, Secrets(world.office.url, FDA_USER if "fda" in m.id else None,
                                                     FDA_PASSWORD if "fda" in m.id else DBD_KEY)),
               world.store, world.registry)
    sweep(world.store, world.registry, default_calendar(), mappings, world.cfg, TODAY)
    outage = dispatch(world.store, down)
    assert outage["retry"] > 0 and outage.get("sent_email", 0) == 0
    with world.store.transaction() as s:  # the retry time has come
        s.execute(update(Outbox).where(Outbox.status == "queued").values(
            next_attempt_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))
    after = dispatch(world.store, world.cfg)
    assert after["sent"] == outage["retry"]
    with world.store.session() as s:
        assert {o.status for o in s.scalars(select(Outbox))} == {"sent"}
    ids = [email.message_from_bytes(p.read_bytes(), policy=default_policy)["Message-ID"]
           for p in world.smtp.folder.glob("*.eml")]
    assert len(ids) == len(set(ids))
