"""SMS providers against real local gateways (the JSON one and the Thai form-post one), SMS length
arithmetic for Thai and English, and the delivery-report endpoint served by uvicorn."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st

from delayhub.config import SmsConfig
from delayhub.dispatch.sms_providers import (
    THAI_LEADING_VOWELS,
    THAI_MARKS,
    FormPostGateway,
    JsonGateway,
    SmsProvider,
    create_provider,
    fit,
    segments,
    thai_msisdn,
    ucs2_units,
)
from delayhub.dispatch.sms_reports import delivery_report_router
from delayhub.dispatch.sms_sinks import FormGatewaySink, JsonGatewaySink
from delayhub.errors import ConfigError, PermanentDeliveryError, TemporaryDeliveryError
from delayhub.intake import IntakeServer

PHONE = "0812345678"
MSISDN = "66812345678"
THAI = "กรมพัฒนาธุรกิจการค้า: คำขอ ทบ.2569/00001 ล่าช้า แจ้งเหตุครั้งที่ 1 ดูที่ https://delayhub.go.th/track"
ENGLISH = "DBD: request 2569/00001 is delayed, notice 1. See https://delayhub.go.th/track"
USER, PASSWORD = "delayhub", "demo-password"
REPORT_TOKENS = {"json": "json-report-token", "form": "form-report-token"}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def form_sink() -> Iterator[FormGatewaySink]:
    sink = FormGatewaySink(username=USER, password=PASSWORD, blacklist=("66899999999",)).start()
    yield sink
    sink.stop()


@pytest.fixture
def json_sink() -> Iterator[JsonGatewaySink]:
    sink = JsonGatewaySink(token="gateway-token").start()
    yield sink
    sink.stop()


def form_gateway(sink: FormGatewaySink, **kw: Any) -> FormPostGateway:
    return FormPostGateway(sink.url, kw.pop("username", USER), kw.pop("password", PASSWORD), timeout=5, **kw)


# --- length ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "units"), [("a", 1), ("กรม", 3), ("ที่", 3), ("น้ำ", 3), ("😀", 2), ("", 0)])
def test_ucs2_units_count_marks_and_surrogates(text: str, units: int) -> None:
    assert ucs2_units(text) == units


@pytest.mark.parametrize(("text", "parts"), [
    ("", 0),
    ("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3),
    ("{" * 80, 1), ("{" * 81, 2),  # GSM extension characters take two septets
    ("a" * 152 + "{" + "a" * 152, 3),  # 306 septets, but an escape pair never straddles two parts
    ("ก" * 70, 1), ("ก" * 71, 2), ("ก" * 134, 2), ("ก" * 135, 3),
    ("ที่" * 23, 1), ("ที่" * 24, 2),  # vowels and tone marks count: 69 and 72 units
    ("a" * 69 + "ก", 1), ("a" * 70 + "ก", 2), ("a" * 133 + "ก", 2), ("a" * 134 + "ก", 3),  # one Thai letter: UCS-2
    ("é" * 71, 2), ("`" * 71, 2),  # not in (the ASCII part of) GSM: counted as UCS-2
    ("😀" * 35, 1), ("😀" * 36, 2), ("ก" + "😀" * 66, 2), ("😀" * 67, 3),  # a surrogate pair stays in one part
    (THAI, 2), (ENGLISH, 1),
], ids=lambda v: f"{len(v)}ch" if isinstance(v, str) else str(v))
def test_segments(text: str, parts: int) -> None:
    assert segments(text) == parts


@pytest.mark.parametrize(("text", "max_parts", "expected"), [
    (THAI, 2, THAI),  # fits: unchanged
    ("ก" * 134, 2, "ก" * 134),
    ("ก" * 135, 2, "ก" * 133 + "…"),
    ("ก" * 100, 1, "ก" * 69 + "…"),
    ("ก" * 132 + "ที่" + "ก" * 50, 2, "ก" * 132 + "…"),  # ท without ี่ would be another word
    ("ก" * 131 + "น้ำ" + "ก" * 50, 2, "ก" * 131 + "…"),  # น้ำ: consonant, tone mark, sara am
    ("ก" * 132 + "คำ" + "ก" * 50, 2, "ก" * 132 + "…"),  # sara am stays with its consonant
    ("ก" * 132 + "เก" + "ก" * 50, 2, "ก" * 132 + "…"),  # a leading vowel is not left dangling
    ("ก" * 132 + "😀" + "ก" * 50, 2, "ก" * 132 + "…"),  # no room for both halves of the pair
    ("ก" * 132 + "\ud83d\ude00" + "ก" * 10, 2, "ก" * 132 + "…"),  # a pair held as two code points
    ("ข้อความ " * 30, 2, ("ข้อความ " * 16).rstrip() + "…"),  # cut at a space
    ("word " * 80, 2, ("word " * 60).rstrip() + "..."),  # GSM: "..." keeps it GSM (… would force UCS-2)
    ("a" * 400, 2, "a" * 303 + "..."),
    ("a" * 200 + "ก", 2, "a" * 200 + "..."),  # dropping the one Thai letter brings back GSM's room
], ids=lambda v: f"{len(v)}ch" if isinstance(v, str) else str(v))
def test_fit(text: str, max_parts: int, expected: str) -> None:
    assert fit(text, max_parts) == expected
    assert segments(fit(text, max_parts)) <= max_parts


def test_fit_on_a_real_notice_keeps_two_parts_and_ends_at_a_space_losing_the_link() -> None:
    long = THAI.replace("ล่าช้า", "ล่าช้า เนื่องจากอยู่ระหว่างตรวจสอบข้อเท็จจริงกับหน่วยงานที่เกี่ยวข้อง")
    assert segments(long) == 3

    short = fit(long)

    assert segments(short) == 2
    assert short == "กรมพัฒนาธุรกิจการค้า: คำขอ ทบ.2569/00001 ล่าช้า " \
                    "เนื่องจากอยู่ระหว่างตรวจสอบข้อเท็จจริงกับหน่วยงานที่เกี่ยวข้อง แจ้งเหตุครั้งที่ 1…"  # the tracking link is gone


THAI_CONSONANTS = "กขคงจฉชซญดตถทธนบปผพฟภมยรลวศษสหอฮ"
ALPHABET = st.sampled_from([*THAI_CONSONANTS, *sorted(THAI_MARKS), *sorted(THAI_LEADING_VOWELS), "ำ", "า",
                            " ", " ", "a", "Z", "7", "{", ".", "\n", "😀", "é"])


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=ALPHABET, max_size=420), max_parts=st.integers(min_value=1, max_value=3))
def test_fit_property(text: str, max_parts: int) -> None:
    out = fit(text, max_parts)
    assert segments(out) <= max_parts
    if segments(text) <= max_parts:
        assert out == text
        return
    kept = out.removesuffix("…") if out.endswith("…") else out.removesuffix("...")
    assert out != kept and text.startswith(kept)
    if kept:
        after = text[len(kept)]  # what follows the kept text: a space it was cut at, or a new cluster
        assert after not in THAI_MARKS and after != "ำ"
        assert kept[-1] not in THAI_LEADING_VOWELS


# --- msisdn ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("phone", "msisdn"), [
    ("0812345678", "66812345678"), ("081-234-5678", "66812345678"), ("+66 81 234 5678", "66812345678"),
    ("66812345678", "66812345678"), ("0612345678", "66612345678"), ("0991234567", "66991234567"),
])
def test_thai_msisdn(phone: str, msisdn: str) -> None:
    assert thai_msisdn(phone) == msisdn


@pytest.mark.parametrize("phone", ["021234567", "0712345678", "081234567", "08123456789", "12345", "",
                                   "+1 212 555 0100", "o812345678"])
def test_not_a_thai_mobile_number_is_refused_for_good_without_repeating_it(phone: str) -> None:
    with pytest.raises(PermanentDeliveryError) as err:
        thai_msisdn(phone)
    assert phone not in str(err.value) or not phone


# --- form-post gateway ----------------------------------------------------------------------------

def test_form_gateway_posts_thai_as_utf8_form_with_ucs2_coding(form_sink: FormGatewaySink) -> None:
    message_id = form_gateway(form_sink).send(PHONE, THAI, "key-1")

    assert message_id == "TXN000000001"
    [got] = form_sink.received
    assert got.fields == {"username": USER, "password": PASSWORD, "msisdn": MSISDN, "message": THAI,
                          "sender": "DELAYHUB", "coding": "8", "ref": "key-1"}
    assert got.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert got.raw.isascii()
    assert b"message=%E0%B8%81%E0%B8%A3%E0%B8%A1" in got.raw  # กรม, percent-encoded UTF-8


def test_form_gateway_sends_english_as_gsm(form_sink: FormGatewaySink) -> None:
    form_gateway(form_sink).send(PHONE, ENGLISH, "key-2")

    assert form_sink.received[0].fields["coding"] == "0"
    assert form_sink.received[0].fields["message"] == ENGLISH


@pytest.mark.parametrize(("status", "http", "error", "detail"), [
    (101, None, PermanentDeliveryError, "SMS gateway status 101: invalid mobile number"),
    (102, None, PermanentDeliveryError, "SMS gateway status 102: number blacklisted or opted out"),
    (103, None, PermanentDeliveryError, "SMS gateway status 103: sender name not approved"),
    (104, None, PermanentDeliveryError, "SMS gateway status 104: message empty or badly coded"),
    (201, None, TemporaryDeliveryError, "SMS gateway status 201: login refused: check the gateway username and "
                                        "password"),
    (202, None, TemporaryDeliveryError, "SMS gateway status 202: out of credit"),
    (203, None, TemporaryDeliveryError, "SMS gateway status 203: system busy"),
    (999, None, TemporaryDeliveryError, "SMS gateway status 999: unknown status"),
    (None, 500, TemporaryDeliveryError, "SMS gateway HTTP 500"),
    (None, 503, TemporaryDeliveryError, "SMS gateway HTTP 503"),
    (None, 429, TemporaryDeliveryError, "SMS gateway HTTP 429"),
    (None, 400, PermanentDeliveryError, "SMS gateway refused the message: HTTP 400"),
    (None, 403, PermanentDeliveryError, "SMS gateway refused the message: HTTP 403"),
    (None, 404, PermanentDeliveryError, "SMS gateway refused the message: HTTP 404"),
    (None, 302, PermanentDeliveryError, "SMS gateway refused the message: HTTP 302"),
])
def test_form_gateway_error_mapping(form_sink: FormGatewaySink, status: int | None, http: int | None,
                                    error: type[Exception], detail: str) -> None:
    if status is not None:
        form_sink.fail_next_status = [status]
    if http is not None:
        form_sink.fail_next = [http]
    gateway = form_gateway(form_sink)

    with pytest.raises(error) as raised:
        gateway.send(PHONE, THAI, "key-1")

    assert type(raised.value) is error
    assert str(raised.value) == detail
    assert form_sink.received == []
    assert gateway.send(PHONE, THAI, "key-1") == "TXN000000001"  # the next request goes through


@pytest.mark.parametrize(("gateway_kw", "phone", "error", "code"), [
    ({"password": "wrong"}, PHONE, TemporaryDeliveryError, 201),
    ({}, "0899999999", PermanentDeliveryError, 102),
    ({"sender": "NOT-APPROVED"}, PHONE, PermanentDeliveryError, 103),
], ids=["login-refused", "blacklisted", "sender-not-approved"])
def test_form_gateway_refusals_from_the_gateway_itself(form_sink: FormGatewaySink, gateway_kw: dict[str, str],
                                                       phone: str, error: type[Exception], code: int) -> None:
    with pytest.raises(error, match=f"status {code}:") as raised:
        form_gateway(form_sink, **gateway_kw).send(phone, THAI, "key-1")
    assert type(raised.value) is error
    assert phone not in str(raised.value) and "wrong" not in str(raised.value)


def test_form_gateway_refuses_a_landline_before_calling(form_sink: FormGatewaySink) -> None:
    with pytest.raises(PermanentDeliveryError, match="not a Thai mobile number"):
        form_gateway(form_sink).send("021234567", THAI, "key-1")
    assert form_sink.received == []


def test_form_gateway_down_is_temporary() -> None:
    gateway = FormPostGateway(f"http://127.0.0.1:{closed_port()}/sms", USER, PASSWORD, timeout=5)
    with pytest.raises(TemporaryDeliveryError, match=r"unreachable \(ConnectionError\)"):
        gateway.send(PHONE, THAI, "key-1")


class MaintenancePage(FormGatewaySink):
    """A gateway behind a proxy that answers 200 with an HTML page."""

    def _answer(self, headers: dict[str, str], raw: bytes) -> tuple[int, str, bytes]:
        return 200, "text/html", "<html><body>ปิดปรับปรุงระบบ</body></html>".encode()


def test_form_gateway_answer_without_status_is_temporary() -> None:
    sink = MaintenancePage().start()
    try:
        with pytest.raises(TemporaryDeliveryError, match="no <Status>"):
            FormPostGateway(sink.url, USER, PASSWORD, timeout=5).send(PHONE, THAI, "key-1")
    finally:
        sink.stop()


def test_form_gateway_repr_hides_the_password(form_sink: FormGatewaySink) -> None:
    assert PASSWORD not in repr(form_gateway(form_sink))


# --- JSON gateway ---------------------------------------------------------------------------------

def test_json_gateway_posts_thai_json_with_bearer_token(json_sink: JsonGatewaySink) -> None:
    message_id = JsonGateway(json_sink.url, token="gateway-token", timeout=5).send(PHONE, THAI, "key-1")

    assert message_id == "sms-000001"
    [got] = json_sink.received
    assert got.fields == {"to": PHONE, "message": THAI, "sender": "DELAYHUB", "reference": "key-1"}
    assert json.loads(got.raw.decode("utf-8"))["message"] == THAI
    assert got.headers["Authorization"] == "Bearer gateway-token"
    assert got.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(("http", "error", "detail"), [
    (500, TemporaryDeliveryError, "SMS gateway HTTP 500"),
    (503, TemporaryDeliveryError, "SMS gateway HTTP 503"),
    (429, TemporaryDeliveryError, "SMS gateway HTTP 429"),
    (400, PermanentDeliveryError, "SMS gateway refused the message: HTTP 400"),
    (401, PermanentDeliveryError, "SMS gateway refused the message: HTTP 401"),
    (422, PermanentDeliveryError, "SMS gateway refused the message: HTTP 422"),
])
def test_json_gateway_error_mapping(json_sink: JsonGatewaySink, http: int, error: type[Exception],
                                    detail: str) -> None:
    json_sink.fail_next = [http]
    gateway = JsonGateway(json_sink.url, token="gateway-token", timeout=5)

    with pytest.raises(error) as raised:
        gateway.send(PHONE, THAI, "key-1")

    assert type(raised.value) is error
    assert str(raised.value).startswith(detail)
    assert json_sink.received == []
    assert gateway.send(PHONE, THAI, "key-1") == "sms-000001"


def test_json_gateway_wrong_token_is_refused_for_good(json_sink: JsonGatewaySink) -> None:
    with pytest.raises(PermanentDeliveryError, match="HTTP 401"):
        JsonGateway(json_sink.url, token="stale", timeout=5).send(PHONE, THAI, "key-1")


def test_json_gateway_down_is_temporary() -> None:
    with pytest.raises(TemporaryDeliveryError, match=r"unreachable \(ConnectionError\)"):
        JsonGateway(f"http://127.0.0.1:{closed_port()}/sms", timeout=5).send(PHONE, THAI, "key-1")


# --- registry -------------------------------------------------------------------------------------

def test_registry_builds_both_providers_from_sms_config(form_sink: FormGatewaySink,
                                                        json_sink: JsonGatewaySink) -> None:
    session = requests.Session()
    form = create_provider("form", SmsConfig(url=form_sink.url, token=PASSWORD, timeout=5), session,
                           username=USER)
    plain = create_provider("json", SmsConfig(url=json_sink.url, token="gateway-token", timeout=5), session)

    assert isinstance(form, FormPostGateway) and isinstance(plain, JsonGateway)
    assert isinstance(form, SmsProvider) and isinstance(plain, SmsProvider)
    assert form.send(PHONE, THAI, "k") == "TXN000000001"
    assert plain.send(PHONE, THAI, "k") == "sms-000001"


@pytest.mark.parametrize(("name", "options", "problem"), [
    ("smpp", {}, "unknown SMS provider 'smpp'; known: form, json"),
    ("form", {}, "needs a username and a password"),
    ("json", {"username": "x"}, "unknown options ['username']"),
])
def test_registry_refuses_bad_settings(name: str, options: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        create_provider(name, SmsConfig(token="t"), **options)


# --- delivery reports -----------------------------------------------------------------------------

@dataclass
class Book:
    """What the hub would do with a report: update the delivery of a message id it knows."""

    known: set[str] = field(default_factory=set)
    states: dict[str, str] = field(default_factory=dict)
    calls: list[tuple[str, str, str | None]] = field(default_factory=list)
    broken: bool = False

    def on_report(self, message_id: str, status: str, detail: str | None) -> bool:
        if self.broken:
            raise RuntimeError(f"database down while updating {PHONE}")
        self.calls.append((message_id, status, detail))
        if message_id not in self.known:
            return False
        self.states[message_id] = status
        return True


@dataclass
class Reports:
    url: str
    book: Book

    def at(self, provider: str, token: str | None = None) -> str:
        return f"{self.url}/sms/reports/{provider}" + (f"?token={token}" if token else "")


@pytest.fixture(scope="module")
def report_server() -> Iterator[tuple[IntakeServer, Book]]:
    book = Book()
    app = FastAPI()
    app.include_router(delivery_report_router(lambda *a: book.on_report(*a), REPORT_TOKENS.get))
    server = IntakeServer(app).start()
    yield server, book
    server.stop()


@pytest.fixture
def reports(report_server: tuple[IntakeServer, Book]) -> Reports:
    server, book = report_server
    book.known.clear(), book.states.clear(), book.calls.clear()
    book.broken = False
    return Reports(server.url, book)


@pytest.mark.parametrize(("state", "errcode", "status", "detail"), [
    ("DELIVRD", "000", "delivered", None),
    ("UNDELIV", "001", "failed", "UNDELIV err 001"),
    ("REJECTD", "005", "failed", "REJECTD err 005"),
    ("EXPIRED", "000", "expired", "EXPIRED err 000"),
])
def test_form_gateway_report_updates_the_delivery(form_sink: FormGatewaySink, reports: Reports, state: str,
                                                  errcode: str, status: str, detail: str | None,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    message_id = form_gateway(form_sink).send(PHONE, THAI, "key-1")
    reports.book.known.add(message_id)

    answer = form_sink.report(reports.at("form", REPORT_TOKENS["form"]), message_id, state, errcode)

    assert (answer.status_code, answer.json()) == (200, {"result": "recorded"})
    assert reports.book.calls == [(message_id, status, detail)]
    assert reports.book.states == {message_id: status}
    hub_logs = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("urllib3"))
    assert message_id in hub_logs
    for secret in ("812345678", REPORT_TOKENS["form"]):  # no number (either form), no token in the logs
        assert secret not in hub_logs


def test_json_gateway_report_with_bearer_token(json_sink: JsonGatewaySink, reports: Reports,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    message_id = JsonGateway(json_sink.url, token="gateway-token", timeout=5).send(PHONE, THAI, "key-1")
    reports.book.known.add(message_id)

    answer = json_sink.report(reports.at("json"), message_id, "failed", error=f"handset {PHONE} unreachable",
                              token=REPORT_TOKENS["json"])

    assert (answer.status_code, answer.json()) == (200, {"result": "recorded"})
    assert reports.book.calls == [(message_id, "failed", f"handset {PHONE} unreachable")]
    assert PHONE not in caplog.text and "unreachable" not in caplog.text


def test_a_report_that_is_not_final_is_acknowledged_and_ignored(form_sink: FormGatewaySink,
                                                                reports: Reports) -> None:
    message_id = form_gateway(form_sink).send(PHONE, THAI, "key-1")
    reports.book.known.add(message_id)

    answer = form_sink.report(reports.at("form", REPORT_TOKENS["form"]), message_id, "ENROUTE")

    assert (answer.status_code, answer.json()) == (200, {"result": "ignored"})
    assert reports.book.calls == []


def _post(url: str, provider: str, headers: dict[str, str] | None = None) -> requests.Response:
    if provider == "json":
        return requests.post(url, json={"id": "TXN000000001", "status": "delivered"}, headers=headers, timeout=10)
    return requests.post(url, data={"MSGID": "TXN000000001", "STATUS": "DELIVRD"}, headers=headers, timeout=10)


@pytest.mark.parametrize(("provider", "token", "header"), [
    ("form", None, None),
    ("form", "wrong", None),
    ("form", REPORT_TOKENS["json"], None),  # the other provider's token
    ("json", None, "Bearer wrong"),
    ("json", None, f"Basic {REPORT_TOKENS['json']}"),
    ("json", None, "Bearer "),
    ("smpp", "anything", None),  # no such provider: the same 401
], ids=["no-token", "wrong-query-token", "other-providers-token", "wrong-bearer", "not-bearer", "empty-bearer",
        "unknown-provider"])
def test_unauthenticated_report_is_401_and_changes_nothing(reports: Reports, provider: str, token: str | None,
                                                           header: str | None) -> None:
    reports.book.known.add("TXN000000001")

    answer = _post(reports.at(provider, token), provider, {"Authorization": header} if header else None)

    assert (answer.status_code, answer.json()) == (401, {"result": "unauthorized"})
    assert reports.book.calls == []


@pytest.mark.parametrize("provider", ["json", "form"])
def test_report_for_an_unknown_message_id_is_404(reports: Reports, provider: str) -> None:
    answer = _post(reports.at(provider, REPORT_TOKENS[provider]), provider)

    assert (answer.status_code, answer.json()) == (404, {"result": "unknown_message"})
    assert reports.book.calls == [("TXN000000001", "delivered", None)]
    assert reports.book.states == {}


@pytest.mark.parametrize(("provider", "send"), [
    ("json", lambda url: requests.post(url, json={"id": "x", "status": "read"}, timeout=10)),
    ("json", lambda url: requests.post(url, json={"status": "delivered"}, timeout=10)),
    ("json", lambda url: requests.post(url, data=b"{not json", timeout=10)),
    ("json", lambda url: requests.post(url, json=["x", "delivered"], timeout=10)),
    ("form", lambda url: requests.post(url, data={"STATUS": "DELIVRD"}, timeout=10)),
    ("form", lambda url: requests.post(url, data={"MSGID": "x", "STATUS": "SEEN"}, timeout=10)),
], ids=["json-bad-status", "json-no-id", "json-not-json", "json-not-object", "form-no-msgid", "form-bad-status"])
def test_malformed_report_is_422(reports: Reports, provider: str,
                                 send: Callable[[str], requests.Response]) -> None:
    answer = send(reports.at(provider, REPORT_TOKENS[provider]))

    assert answer.status_code == 422
    assert answer.json()["result"] == "malformed"
    assert reports.book.calls == []


def test_report_not_recorded_is_503_so_the_gateway_retries(reports: Reports,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    reports.book.broken = True

    answer = _post(reports.at("form", REPORT_TOKENS["form"]), "form")

    assert answer.status_code == 503
    assert "RuntimeError" in caplog.text and PHONE not in caplog.text


def test_oversized_report_is_413(reports: Reports) -> None:
    answer = requests.post(reports.at("form", REPORT_TOKENS["form"]), data={"MSGID": "x" * 70_000}, timeout=10)
    assert answer.status_code == 413
