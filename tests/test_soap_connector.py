"""The SOAP connector against a real SOAP service (the spyne demo back office on loopback).

Connectors are built from the real mapping file's ``source`` block, as the DAGs build them. Hostile
XML comes from a small separate HTTP server that forwards to the real service and plants a DTD.
"""

from __future__ import annotations

import datetime as dt
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

import connectors
from connectors import Page, Secrets
from delayhub.connections import secrets_from_env
from delayhub.errors import ConfigError, SourceAuthError, SourceError, SourceUnavailable
from delayhub.ingest import ingest
from delayhub.mapping import load_mapping
from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.store.models import Quarantine, Request
from demo.soap_backoffice import DPT_PASSWORD, DPT_USER, PATH, SoapBackOffice

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "mappings" / "moi-dpt-permits.yaml"
TODAY = dt.date(2026, 11, 24)
CONN = "'moi_dpt_permits'"
THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")


def _source(**overrides: Any) -> dict[str, Any]:
    source = dict(load_mapping(MAPPING).source)
    source.update(overrides)
    return source


def dpt(office: SoapBackOffice, password: str = DPT_PASSWORD, base_url: str | None = None,
        **overrides: Any) -> connectors.Connector:
    secrets = Secrets(base_url=office.url if base_url is None else base_url, login=DPT_USER, password=password)
    return connectors.build(_source(**overrides), secrets)


def records(pages: list[Page]) -> list[dict[str, Any]]:
    return [r for p in pages for r in p.records]


def ids(pages: list[Page]) -> list[str]:
    return [r["applicationId"] for r in records(pages)]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def _running_office() -> Iterator[SoapBackOffice]:
    server = SoapBackOffice(TODAY).start()
    yield server
    server.stop()


@pytest.fixture
def office(_running_office: SoapBackOffice) -> SoapBackOffice:
    """The shared SOAP service with its counters at zero."""
    _running_office.calls = 0
    _running_office.auth_failures = 0
    return _running_office


@pytest.fixture(scope="module")
def wsdl_text(_running_office: SoapBackOffice) -> str:
    return requests.get(_running_office.wsdl_url, timeout=5).text


# --- full reads and paging --------------------------------------------------------------------------

def test_reads_all_80_permit_applications_over_four_pages(office: SoapBackOffice) -> None:
    pages = list(dpt(office).read(None))

    assert [len(p.records) for p in pages] == [25, 25, 25, 5]
    assert ids(pages) == [r["applicationId"] for r in office.records]  # office order, no page twice
    assert office.calls == 4  # totalPages stops the paging: no fifth, empty call
    first = records(pages)[0]
    # The record comes through whole, Thai text and nested objects included.
    assert first == {**office.records[0], "corrections": None if office.records[0]["corrections"] is None
                     else {"Correction": office.records[0]["corrections"]}}
    waiting = next(r for r in records(pages) if r["statusText"] == "รอผู้ขอแก้ไขแบบแปลน")
    assert waiting["corrections"]["Correction"][0]["returnedDate"] is None
    assert re.fullmatch(r"\d{3}-\d{3}-\d{4}", waiting["applicant"]["mobileNo"])


@pytest.mark.parametrize(
    ("paging", "calls", "sizes"),
    [
        pytest.param({"type": "has_more", "has_more_path": "hasMore"}, 4, [25, 25, 25, 5], id="has-more"),
        pytest.param({"type": "page_number"}, 5, [25, 25, 25, 5, 0], id="page-number-until-empty"),
        pytest.param({"type": "none"}, 1, [25], id="one-call"),
    ],
)
def test_other_paging_styles(office: SoapBackOffice, paging: dict[str, Any], calls: int, sizes: list[int]) -> None:
    pages = list(dpt(office, paging=paging).read(None))

    assert [len(p.records) for p in pages] == sizes
    assert office.calls == calls


def test_page_size_argument_reaches_the_service(office: SoapBackOffice) -> None:
    pages = list(dpt(office, arguments={"changedSince": "{cursor}", "pageNo": "{page}", "pageSize": 50}).read(None))

    assert [len(p.records) for p in pages] == [50, 30]


# --- incremental cursor ---------------------------------------------------------------------------

def test_cursor_is_the_newest_last_modified_and_a_second_read_finds_nothing(office: SoapBackOffice) -> None:
    connector = dpt(office)
    pages = list(connector.read(None))
    saved = pages[-1].cursor

    assert saved == max(r["lastModified"] for r in office.records) == office.records[-1]["lastModified"]
    assert [p.cursor for p in pages] == [p.records[-1]["lastModified"] for p in pages]  # running maximum
    office.calls = 0

    again = list(connector.read(saved))

    assert records(again) == []
    assert again[-1].cursor == saved  # an empty read keeps the cursor where it was
    assert office.calls == 1


@pytest.mark.parametrize("position", [0, 40, 78], ids=lambda p: f"after-record-{p}")
def test_read_from_an_earlier_cursor_yields_exactly_the_later_changes(office: SoapBackOffice, position: int) -> None:
    cursor = office.records[position]["lastModified"]
    expected = [r["applicationId"] for r in office.records if r["lastModified"] > cursor]

    pages = list(dpt(office).read(cursor))

    assert ids(pages) == expected
    assert len(expected) == 79 - position  # every lastModified in the demo data is distinct
    assert pages[-1].cursor == office.records[-1]["lastModified"]


def test_initial_value_is_the_first_reads_cursor(office: SoapBackOffice) -> None:
    start = office.records[69]["lastModified"]

    pages = list(dpt(office, incremental={"cursor_field": "lastModified", "initial_value": start}).read(None))

    assert ids(pages) == [r["applicationId"] for r in office.records[70:]]


# --- WS-Security ------------------------------------------------------------------------------------

def test_wrong_password_is_an_auth_error_naming_the_connection(office: SoapBackOffice) -> None:
    with pytest.raises(SourceAuthError) as err:
        list(dpt(office, password="not-the-password").read(None))

    message = str(err.value)
    assert "wsse:FailedAuthentication" in message
    assert CONN in message
    assert "not-the-password" not in message
    assert (office.auth_failures, office.calls) == (1, 0)


def test_calls_without_a_token_are_refused_by_the_service(office: SoapBackOffice) -> None:
    with pytest.raises(SourceAuthError, match="wsse:InvalidSecurity"):
        list(dpt(office, auth={"type": "none"}).read(None))


def test_password_digest_is_accepted(office: SoapBackOffice) -> None:
    pages = list(dpt(office, auth={"type": "username_token", "digest": True}).read(None))

    assert len(records(pages)) == 80
    assert office.auth_failures == 0


@pytest.mark.parametrize(("login", "password", "missing"),
                         [(None, DPT_PASSWORD, "login"), (DPT_USER, None, "password")])
def test_username_token_without_login_or_password_is_a_config_error(office: SoapBackOffice, login: str | None,
                                                                   password: str | None, missing: str) -> None:
    with pytest.raises(ConfigError) as err:
        connectors.build(_source(), Secrets(base_url=office.url, login=login, password=password))

    assert err.value.path == missing
    assert "moi_dpt_permits" in str(err.value)


# --- where the WSDL comes from ----------------------------------------------------------------------

def test_wsdl_from_a_full_url_needs_no_host_in_the_connection(office: SoapBackOffice) -> None:
    pages = list(dpt(office, base_url="", wsdl=office.wsdl_url).read(None))

    assert len(records(pages)) == 80


@pytest.mark.parametrize("form", ["absolute", "env-var", "relative-to-root"])
def test_wsdl_from_a_file_with_the_endpoint_from_the_connection(
        office: SoapBackOffice, wsdl_text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str) -> None:
    # The file an agency hands over names its production host; `endpoint` points the calls here.
    production = re.sub(r'location="[^"]+"', 'location="https://bpms.dpt.go.th/dpt/bcd/PermitService"', wsdl_text)
    assert "bpms.dpt.go.th" in production
    folder = tmp_path / "wsdl"
    folder.mkdir()
    (folder / "permit.wsdl").write_text(production, encoding="utf-8")
    monkeypatch.setenv("DPT_WSDL_DIR", str(folder))
    monkeypatch.setenv("DELAYHUB_ROOT", str(tmp_path))
    wsdl = {"absolute": str(folder / "permit.wsdl"), "env-var": "${DPT_WSDL_DIR}/permit.wsdl",
            "relative-to-root": "wsdl/permit.wsdl"}[form]

    connector = dpt(office, wsdl=wsdl, endpoint=PATH)
    pages = list(connector.read(None))

    assert len(records(pages)) == 80
    assert office.calls == 4
    assert connector.check() == (True, f"reached {office.url}{PATH} (GetPermitApplications) and read 25 record(s) "
                                       "from the first page")


def test_wsdl_file_without_endpoint_calls_the_address_it_names(office: SoapBackOffice, wsdl_text: str,
                                                              tmp_path: Path) -> None:
    path = tmp_path / "permit.wsdl"
    path.write_text(wsdl_text, encoding="utf-8")

    pages = list(dpt(office, base_url="", wsdl=str(path)).read(None))

    assert len(records(pages)) == 80


@pytest.mark.parametrize(
    ("wsdl", "base_url", "words"),
    [
        pytest.param("${DPT_NOT_SET}/permit.wsdl", None, "DPT_NOT_SET which is not set", id="unset-env-var"),
        pytest.param("/dpt/bcd/PermitService?wsdl", "", "has no host", id="url-path-without-host"),
        pytest.param("no/such/permit.wsdl", "", "is not a file", id="missing-file"),
    ],
)
def test_unusable_wsdl_settings_are_config_errors(office: SoapBackOffice, wsdl: str, base_url: str | None,
                                                 words: str) -> None:
    with pytest.raises(ConfigError) as err:
        dpt(office, base_url=base_url, wsdl=wsdl)

    assert err.value.path == "source.wsdl"
    assert words in str(err.value)


def test_a_wsdl_url_that_is_not_there_is_a_source_error(office: SoapBackOffice) -> None:
    with pytest.raises(SourceError) as err:
        list(dpt(office, wsdl="/dpt/bcd/NoSuchService?wsdl").read(None))

    assert type(err.value) is SourceError
    assert str(err.value) == f"WSDL {office.url}/dpt/bcd/NoSuchService?wsdl: HTTP 404"


def test_wsdl_as_a_file_url(office: SoapBackOffice, wsdl_text: str, tmp_path: Path) -> None:
    (tmp_path / "permit.wsdl").write_text(wsdl_text, encoding="utf-8")

    pages = list(dpt(office, base_url="", wsdl=(tmp_path / "permit.wsdl").as_uri()).read(None))

    assert len(records(pages)) == 80


def test_unknown_operation_names_the_ones_the_wsdl_has(office: SoapBackOffice) -> None:
    connector = connectors.build(_source(operation="GetPermits"), Secrets(office.url, DPT_USER, DPT_PASSWORD),
                                 connector_id="moi-dpt-permits")
    with pytest.raises(ConfigError) as err:
        list(connector.read(None))

    assert str(err.value).startswith("mappings/moi-dpt-permits.yaml: source.operation: 'GetPermits' is not an "
                                     f"operation of WSDL {office.wsdl_url}")
    assert "available: GetPermitApplications" in str(err.value)


@pytest.mark.parametrize(
    ("arguments", "path", "words"),
    [
        pytest.param({"since": "{cursor}"}, "source.arguments", "do not fit GetPermitApplications",
                     id="unknown-argument"),
        pytest.param({"changedSince": "{since}"}, "source.arguments.changedSince", "'{since}' is not a placeholder",
                     id="unknown-placeholder"),
    ],
)
def test_bad_arguments_are_config_errors(office: SoapBackOffice, arguments: dict[str, Any], path: str,
                                         words: str) -> None:
    with pytest.raises(ConfigError) as err:
        list(dpt(office, arguments=arguments).read(None))

    assert err.value.path == path
    assert words in str(err.value)


def test_records_path_at_the_array_wrapper_says_which_path_to_use(office: SoapBackOffice) -> None:
    with pytest.raises(SourceError, match=r"'records' is an object.*did you mean 'records\.PermitApplication'"):
        list(dpt(office, records_path="records").read(None))


def test_a_fault_that_is_not_about_credentials_is_a_plain_source_error(office: SoapBackOffice) -> None:
    with pytest.raises(SourceError) as err:
        list(dpt(office, paging={"type": "page_number", "start": 0, "total_pages_path": "totalPages"}).read(None))

    assert type(err.value) is SourceError
    assert "SOAP fault soap11env:Client.InvalidPageNo: pageNo ต้องเริ่มที่ 1" in str(err.value)


# --- unreachable and slow back offices ----------------------------------------------------------------

def test_unreachable_back_office_is_unavailable_and_check_says_so() -> None:
    secrets = Secrets(base_url=f"http://127.0.0.1:{closed_port()}", login=DPT_USER, password=DPT_PASSWORD)
    connector = connectors.build(_source(), secrets)

    with pytest.raises(SourceUnavailable, match="cannot connect"):
        list(connector.read(None))
    ok, message = connector.check()
    assert ok is False
    assert "cannot connect" in message


def test_a_back_office_that_never_answers_times_out() -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        secrets = Secrets(base_url=f"http://127.0.0.1:{silent.getsockname()[1]}", login=DPT_USER,
                          password=DPT_PASSWORD)
        connector = connectors.build(_source(timeout_seconds=0.3), secrets)

        with pytest.raises(SourceUnavailable, match="timed out"):
            list(connector.read(None))


# --- hostile XML --------------------------------------------------------------------------------------

LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lol">'
          '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
          '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>')
XXE = '<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


class Hostile:
    """A separate HTTP server in front of the real service: serves the WSDL and forwards calls,
    planting ``doctype`` (and a reference to its entity) in the WSDL or in the answers."""

    def __init__(self, office: SoapBackOffice, wsdl_text: str, where: str, doctype: str, entity: str) -> None:
        self.office, self.where, self.doctype, self.entity = office, where, doctype, entity
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.wsdl = re.sub(r'location="[^"]+"', f'location="{self.url}/evil"', wsdl_text).encode()
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def plant(self, xml: bytes) -> bytes:
        head, sep, rest = xml.partition(b"?>")
        xml = head + sep + self.doctype.encode() + rest
        # Refer to the entity where text is allowed, so the document stays well-formed.
        return re.sub(rb"(<[\w:]*(?:applicationNo|documentation|definitions)[^>]*>)",
                      lambda m: m.group(1) + f"&{self.entity};".encode(), xml, count=1)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._send(200, hostile.plant(hostile.wsdl) if hostile.where == "wsdl" else hostile.wsdl)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                real = requests.post(hostile.office.url + PATH, data=body, timeout=5,
                                     headers={"Content-Type": self.headers["Content-Type"],
                                              "SOAPAction": self.headers.get("SOAPAction", "")})
                answer = real.content if hostile.where != "answer" else hostile.plant(real.content)
                self._send(real.status_code, answer)

        return Handler

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hostile(office: SoapBackOffice, wsdl_text: str) -> Iterator[Any]:
    servers: list[Hostile] = []

    def make(where: str, doctype: str = LAUGHS, entity: str = "lol3") -> Hostile:
        servers.append(Hostile(office, wsdl_text, where, doctype, entity))
        return servers[-1]

    yield make
    for s in servers:
        s.stop()


def test_the_forwarding_server_itself_is_harmless(office: SoapBackOffice, hostile: Any) -> None:
    server = hostile("nowhere")

    pages = list(dpt(office, base_url=server.url, wsdl="/evil?wsdl").read(None))

    assert len(records(pages)) == 80  # so the refusals below are the DTD's doing


@pytest.mark.parametrize(
    ("where", "doctype", "entity"),
    [
        pytest.param("wsdl", LAUGHS, "lol3", id="entity-expansion-in-the-wsdl"),
        pytest.param("answer", LAUGHS, "lol3", id="entity-expansion-in-an-answer"),
        pytest.param("answer", XXE, "xxe", id="external-entity-in-an-answer"),
    ],
)
def test_xml_with_a_dtd_or_entities_is_refused(office: SoapBackOffice, hostile: Any, where: str, doctype: str,
                                               entity: str) -> None:
    server = hostile(where, doctype, entity)
    connector = dpt(office, base_url=server.url, wsdl="/evil?wsdl")

    with pytest.raises(SourceError) as err:
        list(connector.read(None))

    message = str(err.value)
    assert type(err.value) is SourceError
    assert "refused the XML because it contains a DTD" in message
    assert "entity expansion, XXE" in message
    assert "lollol" not in message and "root:" not in message  # nothing was expanded or read
    ok, checked = connector.check()
    assert (ok, checked) == (False, message)


def test_a_hostile_wsdl_file_is_refused_too(wsdl_text: str, tmp_path: Path) -> None:
    head, sep, rest = wsdl_text.partition("?>")
    path = tmp_path / "permit.wsdl"
    path.write_text(head + sep + LAUGHS + rest, encoding="utf-8")
    secrets = Secrets(login=DPT_USER, password=DPT_PASSWORD)

    with pytest.raises(SourceError, match="contains a DTD"):
        list(connectors.build(_source(wsdl=str(path)), secrets).read(None))


# --- check, discover, the demo runner's connection ------------------------------------------------------

def test_check_reports_success_with_what_it_read(office: SoapBackOffice) -> None:
    assert dpt(office).check() == (True, f"reached {office.url}{PATH} (GetPermitApplications) and read 25 "
                                         "record(s) from the first page")


def test_check_reports_refused_credentials_without_raising(office: SoapBackOffice) -> None:
    ok, message = dpt(office, password="nope").check()

    assert ok is False
    assert "wsse:FailedAuthentication" in message
    assert CONN in message


def test_discover_lists_field_paths_with_nested_ones_dotted(office: SoapBackOffice) -> None:
    paths = dpt(office).discover()

    assert paths == sorted(paths)
    assert {"applicant.citizenId", "applicant.fullName", "applicant.mobileNo", "applicationId", "applicationNo",
            "corrections.Correction", "lastModified", "receivedDate", "statusText"} <= set(paths)
    assert "applicant" not in paths


def test_connection_env_is_what_the_mapping_needs(office: SoapBackOffice, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in office.connection_env().items():
        monkeypatch.setenv(name, value)

    connector = connectors.build(_source(), secrets_from_env("moi_dpt_permits"))

    assert connector.check()[0] is True


# --- end to end: ingest into the hub store ---------------------------------------------------------------

def _gregorian(be: str) -> dt.date:
    """An independent reading of the office's dates: dd/mm/yyyy or yyyy-mm-dd, BE, maybe Thai digits."""
    parts = [int(p) for p in re.split(r"[/-]", be.translate(THAI_DIGITS))]
    day, month, year = parts if len(str(parts[0])) <= 2 else parts[::-1]
    return dt.date(year - 543, month, day)


def test_ingest_stores_good_permits_and_quarantines_the_broken_ones(office: SoapBackOffice, store: HubStore,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELAYHUB_TODAY", TODAY.isoformat())
    mapping = load_mapping(MAPPING)
    secrets = Secrets(base_url=office.url, login=DPT_USER, password=DPT_PASSWORD)
    registry = Registry.load()

    stats = ingest(mapping, connectors.build(mapping.source, secrets), store, registry)

    newest = office.records[-1]["lastModified"]
    assert (stats["read"], stats["stored"], stats["quarantined"], stats["cursor"]) == (80, 77, 3, newest)
    assert store.get_cursor("moi-dpt-permits") == newest
    with store.session() as s:
        quarantined = {(q.source_record_id, q.field): q.reason for q in s.scalars(select(Quarantine))}
        stored = {r.source_record_id: r for r in s.scalars(select(Request))}
    assert quarantined == {
        ("BCD256900010", "submitted_on"): "'31/04/2569' is not a real date (day is out of range for month)",
        ("BCD256900034", "status"): "status word 'ส่งเรื่องให้คณะกรรมการควบคุมอาคารพิจารณา' is not in the mapping's "
                                    "statuses (known: รับเรื่องแล้ว, อยู่ระหว่างตรวจพิจารณาแบบแปลน, รอผู้ขอแก้ไขแบบแปลน, "
                                    "ออกใบอนุญาต (อ.1) แล้ว, ไม่อนุญาต, ผู้ขอถอนคำขอ)",
        ("BCD256900058", "applicant.national_id"): "check digit is wrong",
    }
    assert len(stored) == 77
    raw = {r["applicationId"]: r for r in office.records}
    for record_id, row in stored.items():  # every BE date form became the same Gregorian day
        assert row.submitted_on == _gregorian(raw[record_id]["receivedDate"])
        assert row.request_no == raw[record_id]["applicationNo"]
        assert row.applicant_name == raw[record_id]["applicant"]["fullName"]
    assert any(re.search("[๐-๙]", raw[i]["receivedDate"]) for i in stored)  # Thai digits were among them
    assert any(re.match(r"\d{4}-", raw[i]["receivedDate"]) for i in stored)

    one = stored["BCD256900014"]
    assert (one.request_no, one.applicant_name, one.status) == ("ข.1-0014/2569", "นางสาวณัฐวุฒิ ทองคำ",
                                                                "waiting_applicant")
    assert (one.submitted_on, one.manual_id, one.process_code, one.division) == (
        dt.date(2026, 7, 11), "MOI-DPT-001", "DPT-BCD-01", "MOI-DPT-BCD")
    assert one.pauses == [{"from": "2026-07-22", "to": None, "reason": "เพิ่มรายการคำนวณโครงสร้างฐานราก"}]
    assert (one.applicant_phone, one.applicant_email) == ("0991069265", "owner014@example.co.th")

    again = ingest(mapping, connectors.build(mapping.source, secrets), store, registry)
    assert (again["read"], again["stored"], again["cursor"]) == (0, 0, newest)
