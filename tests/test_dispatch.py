"""Dispatch over the outbox, with a real SMTP server (aiosmtpd filing .eml files) and a real
HTTP SMS gateway on 127.0.0.1, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from delayhub import config
from delayhub.config import DispatchConfig, SmsConfig, SmtpConfig
from delayhub.dispatch import dispatch
from delayhub.schemas import iter_errors
from delayhub.sinks import SmsSink, SmtpSink
from delayhub.store import HubStore
from delayhub.store.models import DeliveryAttempt, Outbox, Request
from delayhub.sweep import idempotency_key

REQUEST_NO = "ทบ.2569/00001"
EMAIL = "somchai@example.co.th"
PHONE = "0812345678"
OPDC = "section10@opdc.go.th"
SUBJECT = f"แจ้งเหตุแห่งความล่าช้าในการพิจารณาคำขอ เลขที่ {REQUEST_NO} (ครั้งที่ ๑)"
BODY = ("เรียน นายสมชาย ใจดี\n\n"
        "บัดนี้ การพิจารณาคำขอของท่านยังไม่แล้วเสร็จ เนื่องจากอยู่ระหว่างตรวจสอบข้อเท็จจริงกับหน่วยงานที่เกี่ยวข้อง\n"
        "(เงื่อนไข: ค่าธรรมเนียม < 500 บาท & เอกสารครบ)\n\n"
        "กรมพัฒนาธุรกิจการค้า")
SMS_TEXT = f"กรมพัฒนาธุรกิจการค้า: คำขอ {REQUEST_NO} ล่าช้า แจ้งเหตุครั้งที่ 1 ดูที่ https://delayhub.go.th/track"


# --- fixtures and helpers ---------------------------------------------------------------------------

def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cfg(smtp_port: int, sms_url: str, max_attempts: int = 5) -> DispatchConfig:
    return DispatchConfig(smtp=SmtpConfig(port=smtp_port, timeout=5), sms=SmsConfig(url=sms_url, timeout=5),
                          max_attempts=max_attempts)


def standard_request(request_no: str = REQUEST_NO) -> dict[str, Any]:
    rec = {
        "request_no": request_no,
        "agency": {"ministry": "MOC", "department": "MOC-DBD", "division": "MOC-DBD-REG"},
        "process_code": "DBD-REG-01",
        "manual_id": "MOC-DBD-001",
        "submitted_on": "2026-09-01",
        "status": "in_progress",
        "delay_reason": "อยู่ระหว่างตรวจสอบข้อเท็จจริงกับหน่วยงานที่เกี่ยวข้อง",
        "applicant": {"name": "นายสมชาย ใจดี", "email": EMAIL, "phone": PHONE, "channels": ["email", "sms"]},
        "source": {"connector": "moc-dbd-registration", "record_id": "A000001",
                   "fetched_at": "2026-11-24T02:00:00+00:00", "checksum": "0123456789abcdef" * 4},
    }
    assert iter_errors("request", rec) == []  # a valid standard request, as ingest would store it
    return rec


def add_request(store: HubStore, request_no: str = REQUEST_NO) -> Request:
    store.upsert_requests([standard_request(request_no)])
    with store.session() as s:
        return s.scalars(select(Request).where(Request.request_no == request_no)).one()


def notice_rows(request: Request, channels: tuple[str, ...] = ("email", "sms", "opdc"), kind: str = "delay",
                sequence: int = 1) -> list[dict[str, Any]]:
    """Outbox rows for one notice on the given channels, shaped as the sweep queues them."""
    content = {
        "email": (EMAIL, SUBJECT, BODY),
        "sms": (PHONE, "", SMS_TEXT),
        "opdc": (OPDC, f"สำเนา: {SUBJECT}", f"สำเนาส่ง สำนักงาน ก.พ.ร. (มาตรา ๑๐)\n\n{BODY}"),
    }
    rows = []
    for channel in channels:
        recipient, subject, body = content[channel]
        rows.append(dict(request_id=request.id, kind=kind, sequence=sequence, channel=channel,
                         idempotency_key=idempotency_key(request, kind, sequence, channel),
                         owed_on=dt.date(2026, 11, 24), late_days=0, recipient=recipient, subject=subject,
                         body=body))
    return rows


def queue(store: HubStore, request: Request, channels: tuple[str, ...] = ("email", "sms", "opdc"),
          kind: str = "delay", sequence: int = 1) -> dict[str, str]:
    """Queue one notice on the given channels; returns {channel: idempotency key}."""
    rows = notice_rows(request, channels, kind, sequence)
    assert store.add_outbox(rows) == len(rows)
    return {r["channel"]: r["idempotency_key"] for r in rows}


def outbox(store: HubStore, key: str) -> Outbox:
    with store.session() as s:
        return s.scalars(select(Outbox).where(Outbox.idempotency_key == key)).one()


def attempts(store: HubStore, key: str, handed: bool = False) -> list[tuple[int, str, str | None]]:
    """The attempt log of one notice: the answers, and with ``handed`` the hand-over entries too."""
    with store.session() as s:
        row = s.scalars(select(Outbox).where(Outbox.idempotency_key == key)).one()
        return [(a.attempt, a.outcome, a.detail) for a in s.scalars(
            select(DeliveryAttempt).where(DeliveryAttempt.outbox_id == row.id).order_by(DeliveryAttempt.id))
            if handed or a.outcome != "handed"]


def make_due(store: HubStore, key: str) -> None:
    """Pretend the retry time has come: move the row's next attempt into the past."""
    with store.transaction() as s:
        s.execute(update(Outbox).where(Outbox.idempotency_key == key)
                  .values(next_attempt_at=config.now() - dt.timedelta(seconds=1)))


def read_eml(path: Path) -> EmailMessage:
    msg = message_from_bytes(path.read_bytes(), policy=default_policy)
    assert isinstance(msg, EmailMessage)
    return msg


def eml_names(sink: SmtpSink) -> list[str]:
    return [p.name for p in sink.messages()]


# --- delivery ---------------------------------------------------------------------------------------

def test_dispatch_sends_every_channel_once_and_counts_them(store: HubStore, smtp: SmtpSink, sms: SmsSink) -> None:
    keys = queue(store, add_request(store))

    stats = dispatch(store, cfg(smtp.port, sms.url))

    assert stats == {"sent": 3, "sent_email": 1, "sent_opdc": 1, "sent_sms": 1, "retry": 0, "failed": 0,
                     "dead": 0}
    assert eml_names(smtp) == sorted([f"{keys['email']}.eml", f"{keys['opdc']}.eml"])
    assert len(sms.received) == 1
    for channel, key in keys.items():
        row = outbox(store, key)
        assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)
        assert row.sent_at is not None
        assert attempts(store, key) == [(1, "sent", None)]
        if channel != "letter":  # handed to a server: logged before, with who handed it
            assert [(a, o) for a, o, _ in attempts(store, key, handed=True)] == [(1, "handed"), (1, "sent")]
        if channel == "sms":
            assert row.provider_ref == "sms-000001"  # the gateway's message id


def test_email_arrives_with_thai_subject_message_id_and_both_parts(store: HubStore, smtp: SmtpSink,
                                                                   sms: SmsSink) -> None:
    key = queue(store, add_request(store), channels=("email",))["email"]

    dispatch(store, cfg(smtp.port, sms.url))

    raw = (smtp.folder / f"{key}.eml").read_bytes()
    msg = read_eml(smtp.folder / f"{key}.eml")
    assert msg["Subject"] == SUBJECT
    assert msg["Message-ID"] == f"<{key}@delayhub.go.th>"
    assert msg["X-Delayhub-Notice"] == key
    assert msg["To"] == EMAIL
    assert msg["From"] == "delayhub <no-reply@delayhub.go.th>"
    headers = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
    assert headers.isascii()  # Thai only as RFC 2047 encoded words: readable by every mail client
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert [p.get_content_charset() for p in parts] == ["utf-8", "utf-8"]
    # MIME text is canonically CRLF on the wire; a mail client shows plain line breaks
    assert parts[0].get_content().replace("\r\n", "\n").rstrip("\n") == BODY
    html_part = parts[1].get_content().replace("\r\n", "\n")
    assert html_part.startswith('<!doctype html><html lang="th"><body><p>เรียน นายสมชาย ใจดี</p>')
    assert "(เงื่อนไข: ค่าธรรมเนียม &lt; 500 บาท &amp; เอกสารครบ)" in html_part  # escaped, not markup
    assert "เกี่ยวข้อง<br>(เงื่อนไข" in html_part  # a line break inside a paragraph stays a break
    assert html_part.count("<p>") == 3


def test_opdc_copy_goes_to_the_opdc_mailbox(store: HubStore, smtp: SmtpSink, sms: SmsSink) -> None:
    key = queue(store, add_request(store), channels=("opdc",))["opdc"]

    dispatch(store, cfg(smtp.port, sms.url))

    msg = read_eml(smtp.folder / f"{key}.eml")
    assert msg["To"] == OPDC
    assert msg["Subject"] == f"สำเนา: {SUBJECT}"
    assert msg["Message-ID"] == f"<{key}@delayhub.go.th>"


def test_sms_reaches_the_gateway_with_phone_and_thai_text_and_the_log_masks_the_phone(
        store: HubStore, smtp: SmtpSink, sms: SmsSink) -> None:
    key = queue(store, add_request(store), channels=("sms",))["sms"]

    dispatch(store, cfg(smtp.port, sms.url))

    assert sms.received == [{"to": PHONE, "message": SMS_TEXT, "sender": "DELAYHUB", "reference": key}]
    log_text = sms.log_path.read_text(encoding="utf-8")
    assert PHONE not in log_text
    assert [json.loads(line) for line in log_text.splitlines()] == [
        {"id": "sms-000001", "to": "08x-xxx-5678", "sender": "DELAYHUB", "reference": key, "message": SMS_TEXT}]
    assert eml_names(smtp) == []


def test_second_dispatch_sends_nothing_again(store: HubStore, smtp: SmtpSink, sms: SmsSink) -> None:
    queue(store, add_request(store))
    dispatch(store, cfg(smtp.port, sms.url))
    files, texts = eml_names(smtp), list(sms.received)

    stats = dispatch(store, cfg(smtp.port, sms.url))

    assert stats == {"sent": 0, "retry": 0, "failed": 0, "dead": 0}
    assert eml_names(smtp) == files
    assert len(files) == 2
    assert sms.received == texts
    assert len(sms.log_path.read_text(encoding="utf-8").splitlines()) == 1


def test_queueing_the_same_notice_again_does_not_send_it_twice(store: HubStore, smtp: SmtpSink,
                                                               sms: SmsSink) -> None:
    request = add_request(store)
    queue(store, request, channels=("sms",))
    dispatch(store, cfg(smtp.port, sms.url))

    assert store.add_outbox(notice_rows(request, ("sms",))) == 0  # already queued (and sent): skipped
    dispatch(store, cfg(smtp.port, sms.url))

    assert len(sms.received) == 1


# --- retries and failures -----------------------------------------------------------------------------

@pytest.mark.parametrize("status", [500, 503, 429])
def test_sms_gateway_error_is_retried_later_and_then_sent_exactly_once(store: HubStore, smtp: SmtpSink,
                                                                       sms: SmsSink, status: int) -> None:
    key = queue(store, add_request(store), channels=("sms",))["sms"]
    sms.fail_next = [status]
    before = config.now()

    stats = dispatch(store, cfg(smtp.port, sms.url))

    after = config.now()
    row = outbox(store, key)
    assert stats["retry"] == 1 and stats["sent"] == 0
    assert (row.status, row.attempts, row.last_error) == ("queued", 1, f"SMS gateway HTTP {status}")
    # first retry about a minute later (±50 % jitter, so an outage's retries spread out)
    assert before + dt.timedelta(seconds=30) <= row.next_attempt_at <= after + dt.timedelta(seconds=90)
    assert attempts(store, key) == [(1, "queued", f"SMS gateway HTTP {status}")]
    assert sms.received == []

    # Not due yet: an immediate second run leaves it alone.
    assert dispatch(store, cfg(smtp.port, sms.url))["sent"] == 0
    assert outbox(store, key).attempts == 1

    make_due(store, key)
    stats = dispatch(store, cfg(smtp.port, sms.url))
    dispatch(store, cfg(smtp.port, sms.url))  # and once more: nothing left to send

    assert stats["sent"] == 1
    assert len(sms.received) == 1
    assert sms.received[0]["reference"] == key
    row = outbox(store, key)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert [(a, outcome) for a, outcome, _ in attempts(store, key)] == [(1, "queued"), (2, "sent")]


@pytest.mark.parametrize("status", [400, 422])
def test_sms_gateway_refusal_is_a_permanent_failure_never_retried(store: HubStore, smtp: SmtpSink,
                                                                  sms: SmsSink, status: int) -> None:
    key = queue(store, add_request(store), channels=("sms",))["sms"]
    sms.fail_next = [status]

    stats = dispatch(store, cfg(smtp.port, sms.url))

    assert stats["failed"] == 1 and stats["retry"] == 0
    row = outbox(store, key)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error.startswith(f"SMS gateway refused the message: HTTP {status}")
    assert [(a, outcome) for a, outcome, _ in attempts(store, key)] == [(1, "failed")]

    make_due(store, key)  # even when its time comes round, a refused message stays refused
    assert dispatch(store, cfg(smtp.port, sms.url))["sent"] == 0
    assert sms.received == []
    assert outbox(store, key).status == "failed"


def test_sms_gateway_down_is_a_retry(store: HubStore, smtp: SmtpSink) -> None:
    key = queue(store, add_request(store), channels=("sms",))["sms"]

    dispatch(store, cfg(smtp.port, f"http://127.0.0.1:{closed_port()}/sms"))

    row = outbox(store, key)
    assert (row.status, row.attempts, row.last_error) == ("queued", 1, "SMS gateway unreachable (ConnectionError)")


def test_smtp_server_down_keeps_the_email_pending_until_it_is_back(store: HubStore, sms: SmsSink,
                                                                   tmp_path: Path) -> None:
    key = queue(store, add_request(store), channels=("email",))["email"]
    port = closed_port()

    stats = dispatch(store, cfg(port, sms.url))

    assert stats["retry"] == 1 and stats["sent"] == 0 and stats["failed"] == 0
    row = outbox(store, key)
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.next_attempt_at > config.now()
    assert row.last_error.startswith("SMTPConnectError: ")  # the operator sees why
    assert f"port {port}" in row.last_error
    assert [(a, outcome) for a, outcome, _ in attempts(store, key)] == [(1, "queued")]

    late = SmtpSink(tmp_path / "late-mail", port=port).start()  # the mail server comes back
    try:
        make_due(store, key)
        stats = dispatch(store, cfg(port, sms.url))
    finally:
        late.stop()

    assert stats["sent"] == 1
    assert eml_names(late) == [f"{key}.eml"]
    assert read_eml(late.folder / f"{key}.eml")["Subject"] == SUBJECT
    assert (outbox(store, key).status, outbox(store, key).attempts) == ("sent", 2)


@pytest.mark.parametrize("channel", ["sms", "email"], ids=["sms-gateway-500", "smtp-down"])
def test_after_max_attempts_the_row_is_dead(store: HubStore, smtp: SmtpSink, sms: SmsSink,
                                                           channel: str) -> None:
    key = queue(store, add_request(store), channels=(channel,))[channel]
    sms.fail_next = [500, 500, 500]
    smtp_port = closed_port() if channel == "email" else smtp.port
    settings = cfg(smtp_port, sms.url, max_attempts=2)

    first = dispatch(store, settings)
    make_due(store, key)
    second = dispatch(store, settings)
    make_due(store, key)
    third = dispatch(store, settings)

    assert (first["retry"], first["dead"]) == (1, 0)
    assert (second["retry"], second["dead"], second["failed"]) == (0, 1, 0)
    assert third["sent"] == third["retry"] == third["dead"] == 0
    row = outbox(store, key)
    assert (row.status, row.attempts) == ("dead", 2)
    assert [(a, outcome) for a, outcome, _ in attempts(store, key)] == [(1, "queued"), (2, "dead")]
    assert sms.received == [] and eml_names(smtp) == []


def test_one_failing_channel_does_not_hold_back_the_others(store: HubStore, smtp: SmtpSink, sms: SmsSink) -> None:
    keys = queue(store, add_request(store))
    sms.fail_next = [503]

    stats = dispatch(store, cfg(smtp.port, sms.url))

    assert (stats["sent"], stats["retry"]) == (2, 1)
    assert outbox(store, keys["email"]).status == "sent"
    assert outbox(store, keys["opdc"]).status == "sent"
    assert outbox(store, keys["sms"]).status == "queued"


def test_a_request_number_with_a_line_break_is_refused_before_it_is_stored() -> None:
    rec = {**standard_request(), "request_no": "ทบ.2569/\n00002"}
    assert [e.validator for e in iter_errors("request", rec)] == ["pattern"]


def test_one_unbuildable_email_does_not_stop_the_run(store: HubStore, smtp: SmtpSink, sms: SmsSink) -> None:
    """A line break that reaches an email subject makes the message unbuildable; the other
    notices of the run must still go out and that one must be recorded, not left 'sending'.
    (A request number with a line break is refused by the request schema before it is stored.)"""
    good = queue(store, add_request(store))
    broken = add_request(store, "ทบ.2569/00002")
    bad_row = dict(notice_rows(broken, ("email",))[0], subject="แจ้งเหตุแห่งความล่าช้า เลขที่ ทบ.2569/\n00002")
    assert store.add_outbox([bad_row]) == 1

    stats = dispatch(store, cfg(smtp.port, sms.url))  # actual: ValueError from email.policy escapes

    assert stats["sent"] - stats["sent_agency"] == 3  # and the agency is told about the refused one
    assert {outbox(store, k).status for k in good.values()} == {"sent"}
    assert outbox(store, bad_row["idempotency_key"]).status in ("failed", "dead")
    assert len(smtp.messages()) == 2 + stats["sent_agency"] and len(sms.received) == 1


# --- claiming -------------------------------------------------------------------------------------

def _queue_many(store: HubStore, notices: int) -> set[int]:
    request = add_request(store)
    for sequence in range(1, notices + 1):
        queue(store, request, sequence=sequence)
    with store.session() as s:
        return set(s.scalars(select(Outbox.id)))


@pytest.mark.parametrize("limit", [1, 4, 100], ids=lambda n: f"limit-{n}")
def test_concurrent_claims_never_hand_out_the_same_row_twice(store: HubStore, limit: int) -> None:
    all_ids = _queue_many(store, 10)  # 30 rows
    assert len(all_ids) == 30
    start = threading.Barrier(2)
    claimed: list[list[int]] = [[], []]
    errors: list[BaseException] = []

    def claimer(n: int) -> None:
        try:
            start.wait(timeout=10)
            while rows := store.claim_outbox(f"worker-{n}", limit):
                claimed[n].extend(r.id for r in rows)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert not any(t.is_alive() for t in threads)
    assert errors == []
    first, second = claimed
    assert len(first) == len(set(first)) and len(second) == len(set(second))
    assert set(first) & set(second) == set()
    assert set(first) | set(second) == all_ids
    with store.session() as s:
        assert {(r.status, r.attempts) for r in s.scalars(select(Outbox))} == {("sending", 1)}


def test_claim_takes_only_due_queued_rows(store: HubStore) -> None:
    keys = queue(store, add_request(store))
    with store.transaction() as s:
        s.execute(update(Outbox).where(Outbox.idempotency_key == keys["sms"])
                  .values(next_attempt_at=config.now() + dt.timedelta(hours=1)))

    rows = store.claim_outbox("worker-a")

    assert sorted(r.channel for r in rows) == ["email", "opdc"]
    assert all((r.status, r.attempts, r.leased_by) == ("sending", 1, "worker-a") for r in rows)
    assert store.claim_outbox("worker-b") == []  # leased rows are not handed out again


def test_an_expired_lease_frees_the_row_for_another_worker(store: HubStore) -> None:
    keys = queue(store, add_request(store), channels=("email", "sms"))
    assert len(store.claim_outbox("worker-a")) == 2
    with store.transaction() as s:  # worker a died; the email's lease has run out
        s.execute(update(Outbox).where(Outbox.idempotency_key == keys["email"])
                  .values(lease_until=config.now() - dt.timedelta(minutes=1)))

    taken = store.claim_outbox("worker-b")

    assert [r.idempotency_key for r in taken] == [keys["email"]]
    assert (outbox(store, keys["email"]).leased_by, outbox(store, keys["email"]).attempts) == ("worker-b", 2)
    assert outbox(store, keys["sms"]).leased_by == "worker-a"  # still within its lease
    # worker a wakes up and reports: its outcome for a row it no longer holds is ignored
    from delayhub.store.repo import Delivery
    assert store.record_deliveries("worker-a", [Delivery(taken[0].id, 1, "sent")]) == 0
    assert outbox(store, keys["email"]).status == "sending"


def test_dispatch_resends_an_abandoned_claim_with_the_same_message_id(store: HubStore, smtp: SmtpSink,
                                                                      sms: SmsSink) -> None:
    key = queue(store, add_request(store), channels=("email",))["email"]
    store.claim_outbox("worker-that-dies")  # a dispatcher leased it and died
    with store.transaction() as s:
        s.execute(update(Outbox).where(Outbox.idempotency_key == key)
                  .values(lease_until=config.now() - dt.timedelta(minutes=1)))

    stats = dispatch(store, cfg(smtp.port, sms.url))

    assert stats["sent"] == 1
    assert eml_names(smtp) == [f"{key}.eml"]
    assert read_eml(smtp.folder / f"{key}.eml")["Message-ID"] == f"<{key}@delayhub.go.th>"
    assert (outbox(store, key).status, outbox(store, key).attempts) == ("sent", 2)


def test_a_temporary_failure_past_the_deadline_is_dead_not_retried(store: HubStore, smtp: SmtpSink,
                                                                  sms: SmsSink) -> None:
    key = queue(store, add_request(store), channels=("sms",))["sms"]
    with store.transaction() as s:  # queued long ago: its delivery deadline is only seconds away
        s.execute(update(Outbox).where(Outbox.idempotency_key == key)
                  .values(deadline_at=config.now() + dt.timedelta(seconds=5)))
    sms.fail_next = [503]

    stats = dispatch(store, cfg(smtp.port, sms.url))

    assert (stats["dead"], stats["retry"]) == (1, 0)
    assert outbox(store, key).status == "dead"


@pytest.mark.parametrize(("report", "status"), [("delivered", "sent"), ("failed", "failed"), ("expired", "failed")])
def test_a_delivery_report_updates_the_sms_delivery(store: HubStore, smtp: SmtpSink, sms: SmsSink,
                                                    report: str, status: str) -> None:
    key = queue(store, add_request(store), channels=("sms",))["sms"]
    dispatch(store, cfg(smtp.port, sms.url))
    ref = outbox(store, key).provider_ref
    assert ref and store.record_sms_report(ref, report, "handset off") is True
    assert store.record_sms_report(ref, report, "handset off") is True  # gateways repeat reports
    row = outbox(store, key)
    assert (row.status, row.report_status) == (status, report)
    assert store.record_sms_report("no-such-id", "delivered", None) is False


def test_a_refused_number_is_reported_to_the_agency_once(store: HubStore, smtp: SmtpSink, sms: SmsSink) -> None:
    from delayhub.registry import Registry

    key = queue(store, add_request(store), channels=("sms",))["sms"]
    sms.fail_next = [400]

    first = dispatch(store, cfg(smtp.port, sms.url), registry=Registry.load())
    second = dispatch(store, cfg(smtp.port, sms.url), registry=Registry.load())

    assert outbox(store, key).status == "failed"
    assert (first["agency_alerts"], first["sent_agency"], second["sent"]) == (1, 1, 0)  # sent in the same run
    (alert,) = [read_eml(p) for p in smtp.messages()]
    assert alert["To"] == "saraban@dbd.go.th"
    assert alert["Subject"] == f"[delayhub] ส่งหนังสือแจ้งเหตุแห่งความล่าช้า คำขอเลขที่ {REQUEST_NO} ทางSMSไม่สำเร็จ"
    assert PHONE not in alert.get_body(("plain",)).get_content()


def test_a_letter_travels_as_a_pdf_attachment_with_the_thai_text_parts() -> None:
    from delayhub.dispatch.email import Attachment, Email, build_message

    pdf = b"%PDF-1.7\n" + "หนังสือ".encode() + b"\n%%EOF"
    msg = build_message(Email("n-abc", EMAIL, SUBJECT, BODY, (Attachment("หนังสือแจ้งเหตุล่าช้า.pdf", pdf),)),
                        "delayhub <no-reply@delayhub.go.th>")
    parsed = message_from_bytes(msg.as_bytes(), policy=default_policy)
    (attachment,) = list(parsed.iter_attachments())
    assert (attachment.get_content_type(), attachment.get_filename()) == ("application/pdf",
                                                                          "หนังสือแจ้งเหตุล่าช้า.pdf")
    assert attachment.get_content() == pdf
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n").strip() == BODY.strip()
    assert parsed["Subject"] == SUBJECT


def test_a_run_retries_only_what_was_due_when_it_began(store: HubStore) -> None:
    keys = queue(store, add_request(store))
    began = config.now()
    with store.transaction() as s:  # the email failed earlier in this run; its retry fell due since
        s.execute(update(Outbox).where(Outbox.idempotency_key == keys["email"])
                  .values(attempts=1, next_attempt_at=began + dt.timedelta(milliseconds=1)))
    time.sleep(0.01)
    rows = store.claim_outbox("worker-a", due_by=began)

    assert sorted(r.channel for r in rows) == ["opdc", "sms"]  # new rows go; the retry waits for the next run
    assert [r.channel for r in store.claim_outbox("worker-b")] == ["email"]
