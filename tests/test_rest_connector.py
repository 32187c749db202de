"""The REST connector against the real demo back offices (a local HTTP server, no mocks).

Connectors are built from the real mapping files' ``source`` blocks, as the DAGs build them;
only ``backoff`` (and, where a test says so, ``max_retries``) is overridden so retries do not sleep.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import connectors
from connectors import Page, Secrets
from delayhub.errors import ConfigError, SourceAuthError, SourceUnavailable
from delayhub.mapping import load_mapping
from demo.backoffice import DBD_KEY, FDA_PASSWORD, FDA_USER, BackOffice

ROOT = Path(__file__).resolve().parents[1]
TODAY = dt.date(2026, 11, 24)
DBD_PATH = "/dbd/api/v1/applications"
FDA_PATH = "/fda/e-submission/records"


def _source(mapping_id: str, **overrides: Any) -> dict[str, Any]:
    """The mapping file's source block, with overrides, as a fresh dict."""
    source = dict(load_mapping(ROOT / "mappings" / f"{mapping_id}.yaml").source)
    source.update({"backoff": 0, **overrides})
    return source


def dbd(office: BackOffice, key: str = DBD_KEY, **overrides: Any) -> connectors.Connector:
    return connectors.build(_source("moc-dbd-registration", **overrides), Secrets(base_url=office.url, password=key))


def fda(office: BackOffice, password: str = FDA_PASSWORD, **overrides: Any) -> connectors.Connector:
    return connectors.build(_source("moph-fda-esubmission", **overrides),
                            Secrets(base_url=office.url, login=FDA_USER, password=password))


def read_all(connector: connectors.Connector, cursor: str | None = None) -> list[Page]:
    return list(connector.read(cursor))


def records(pages: list[Page]) -> list[dict[str, Any]]:
    return [r for p in pages for r in p.records]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def _running_office() -> Iterator[BackOffice]:
    server = BackOffice(TODAY).start()
    yield server
    server.stop()


@pytest.fixture
def office(_running_office: BackOffice) -> BackOffice:
    """The shared demo server with no pending faults and its request count at zero."""
    _running_office.faults = []
    _running_office.requests_seen = 0
    _running_office.revoke_tokens()
    _running_office.tokens_issued = 0
    return _running_office


# --- full reads -----------------------------------------------------------------------------------

def test_api_key_reads_all_200_dbd_records_over_four_pages(office: BackOffice) -> None:
    pages = read_all(dbd(office))

    assert [len(p.records) for p in pages] == [50, 50, 50, 50]
    got = [r["app_id"] for r in records(pages)]
    assert len(got) == 200
    assert sorted(got) == [f"A{i:06d}" for i in range(1, 201)]
    assert got == [r["app_id"] for r in office.dbd]  # in the back office's order, no page read twice
    assert office.requests_seen == 4  # total_pages_path stops the paging: no fifth, empty request
    assert all(r["applicant"]["pid"] for r in records(pages))  # nested records come through whole


def test_basic_auth_reads_all_60_fda_records_over_next_link_pages(office: BackOffice) -> None:
    pages = read_all(fda(office))

    assert [len(p.records) for p in pages] == [25, 25, 10]
    got = [r["id"] for r in records(pages)]
    assert sorted(got) == list(range(90001, 90061))
    assert office.requests_seen == 3


# --- configuration and credentials -----------------------------------------------------------------

@pytest.mark.parametrize(
    ("build", "connection_id"),
    [
        pytest.param(lambda o: dbd(o, key="wrong-key"), "moc_dbd_backoffice", id="dbd-wrong-api-key"),
        pytest.param(lambda o: fda(o, password="wrong-password"), "moph_fda_esubmission", id="fda-wrong-password"),
    ],
)
def test_refused_credentials_raise_auth_error_naming_the_connection(office: BackOffice, build: Any,
                                                                    connection_id: str) -> None:
    with pytest.raises(SourceAuthError) as err:
        read_all(build(office))

    message = str(err.value)
    assert f"'{connection_id}'" in message
    assert "HTTP 401" in message
    assert office.requests_seen == 1  # 401 is not retried


@pytest.mark.parametrize("base_url", ["", None], ids=["empty-host", "no-host"])
def test_missing_host_is_a_config_error_naming_the_connection(base_url: str | None) -> None:
    secrets = Secrets(password=DBD_KEY) if base_url is None else Secrets(base_url=base_url, password=DBD_KEY)
    with pytest.raises(ConfigError) as err:
        connectors.build(_source("moc-dbd-registration"), secrets)

    assert err.value.path == "host"
    assert "moc_dbd_backoffice" in str(err.value)


def test_api_key_connection_without_a_key_is_a_config_error(office: BackOffice) -> None:
    with pytest.raises(ConfigError) as err:
        connectors.build(_source("moc-dbd-registration"), Secrets(base_url=office.url))

    assert err.value.path == "password"
    assert "moc_dbd_backoffice" in str(err.value)


def test_unknown_connector_type_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'ftp' is not a connector type"):
        connectors.build({**_source("moc-dbd-registration"), "type": "ftp"}, Secrets(base_url="http://127.0.0.1"))


# --- incremental cursor -----------------------------------------------------------------------------

def test_full_read_ends_with_the_newest_last_update_as_cursor(office: BackOffice) -> None:
    pages = read_all(dbd(office))

    newest = max(r["last_update"] for r in office.dbd)
    assert pages[-1].cursor == newest
    # Each page carries the running maximum so far (the office sorts by last_update).
    assert [p.cursor for p in pages] == [p.records[-1]["last_update"] for p in pages]


@pytest.mark.parametrize(("mapping", "field"), [("dbd", "last_update"), ("fda", "modifiedAt")])
def test_reading_again_from_the_saved_cursor_finds_nothing(office: BackOffice, mapping: str, field: str) -> None:
    connector = dbd(office) if mapping == "dbd" else fda(office)
    saved = read_all(connector)[-1].cursor

    again = read_all(connector, saved)

    assert records(again) == []
    assert again[-1].cursor == saved  # an empty read keeps the cursor where it was
    assert saved == max(r[field] for r in (office.dbd if mapping == "dbd" else office.fda))


@pytest.mark.parametrize("position", [0, 60, 120, 198], ids=lambda p: f"after-record-{p}")
def test_dbd_read_from_an_earlier_cursor_yields_exactly_the_later_updates(office: BackOffice, position: int) -> None:
    cursor = office.dbd[position]["last_update"]
    expected = [r["app_id"] for r in office.dbd if r["last_update"] > cursor]

    pages = read_all(dbd(office), cursor)

    assert [r["app_id"] for r in records(pages)] == expected
    assert len(expected) == 199 - position  # every last_update in the demo data is distinct
    assert pages[-1].cursor == office.dbd[-1]["last_update"]
    assert all(r["last_update"] > cursor for r in records(pages))


@pytest.mark.parametrize("position", [0, 29, 58], ids=lambda p: f"after-record-{p}")
def test_fda_read_from_an_earlier_cursor_yields_exactly_the_later_updates(office: BackOffice, position: int) -> None:
    cursor = office.fda[position]["modifiedAt"]  # contains '+07:00': must survive URL encoding on every page
    expected = [r["id"] for r in office.fda if r["modifiedAt"] > cursor]

    pages = read_all(fda(office), cursor)

    assert [r["id"] for r in records(pages)] == expected
    assert len(expected) == 59 - position
    assert pages[-1].cursor == office.fda[-1]["modifiedAt"]


# --- retries --------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [503, 429, 500, 502, 504])
def test_transient_errors_are_retried_and_the_read_succeeds(office: BackOffice, status: int) -> None:
    office.faults = [status, status]

    pages = read_all(dbd(office))

    assert len(records(pages)) == 200
    assert office.faults == []
    assert office.requests_seen == 2 + 4  # two failed tries of page 1, then the four pages


def test_faults_on_a_next_link_page_are_retried_too(office: BackOffice) -> None:
    connector = fda(office)
    pages = connector.read(None)
    first = next(pages)
    office.faults = [503, 502]  # strike while the reader is between pages

    rest = list(pages)

    assert len(first.records) + len(records(rest)) == 60
    assert office.requests_seen == 1 + 2 + 2


@pytest.mark.parametrize("status", [503, 500])
def test_faults_beyond_max_retries_raise_source_unavailable(office: BackOffice, status: int) -> None:
    office.faults = [status] * 3

    with pytest.raises(SourceUnavailable, match=f"still HTTP {status} after retries"):
        read_all(dbd(office, max_retries=2))

    assert office.requests_seen == 3  # the first try and two retries
    assert office.faults == []


def test_unreachable_back_office_is_source_unavailable() -> None:
    connector = connectors.build(_source("moc-dbd-registration", max_retries=1),
                                 Secrets(base_url=f"http://127.0.0.1:{closed_port()}", password=DBD_KEY))

    with pytest.raises(SourceUnavailable, match="cannot connect"):
        read_all(connector)


# --- check and discover -----------------------------------------------------------------------------

def test_check_reports_success_with_what_it_read(office: BackOffice) -> None:
    ok, message = dbd(office).check()

    assert ok is True
    assert message == f"reached {office.url}{DBD_PATH} and read 50 record(s) from the first page"
    ok, message = fda(office).check()
    assert (ok, message) == (True, f"reached {office.url}{FDA_PATH} and read 25 record(s) from the first page")


def test_check_reports_a_bad_key_without_raising(office: BackOffice) -> None:
    ok, message = dbd(office, key="not-the-key").check()

    assert ok is False
    assert "HTTP 401" in message
    assert "'moc_dbd_backoffice'" in message


def test_check_reports_an_unreachable_host_without_raising() -> None:
    connector = connectors.build(_source("moph-fda-esubmission", max_retries=0),
                                 Secrets(base_url=f"http://127.0.0.1:{closed_port()}", login=FDA_USER,
                                         password=FDA_PASSWORD))

    ok, message = connector.check()

    assert ok is False
    assert "cannot connect" in message


def test_discover_lists_dbd_field_paths_with_nested_ones_dotted(office: BackOffice) -> None:
    paths = dbd(office).discover()

    assert paths == sorted(paths)
    nested = {"applicant.pid", "applicant.mobile", "applicant.full_name", "applicant.email", "applicant.addr"}
    assert nested <= set(paths)
    assert {"app_id", "app_no", "last_update", "manual_ref", "recv_date", "state"} <= set(paths)
    assert "applicant" not in paths  # a nested object is listed by its leaves, not itself


def test_discover_lists_fda_field_paths(office: BackOffice) -> None:
    paths = fda(office).discover()

    assert {"contact.citizenId", "contact.phone", "contact.name", "contact.email", "id", "modifiedAt",
            "referenceNumber"} <= set(paths)
    assert "contact" not in paths


# --- OAuth2 client credentials and cursor-token pages ----------------------------------------------

def oauth(office: BackOffice, secret: str = "demo-oauth-secret") -> connectors.Connector:
    source = {**_source("moc-dbd-registration"), "path": "/dbd/api/v2/applications", "records_path": "results",
              "auth": {"type": "oauth2_client_credentials", "token_url": "/oauth/token"},
              "paginator": {"type": "cursor", "cursor_path": "meta.next_cursor", "cursor_param": "cursor"}}
    return connectors.build(source, Secrets(base_url=office.url, login="delayhub-hub", password=secret))


def test_oauth2_client_credentials_and_cursor_tokens_read_everything_once(office: BackOffice) -> None:
    pages = read_all(oauth(office))
    assert [len(p.records) for p in pages] == [40, 40, 40, 40, 40]
    assert len({r["app_id"] for r in records(pages)}) == 200
    assert office.tokens_issued == 1, "one token serves every page"


def test_an_expired_token_is_replaced_once_and_the_read_goes_on(office: BackOffice) -> None:
    connector = oauth(office)
    pages = connector.read(None)
    first = next(pages)
    office.revoke_tokens()
    rest = list(pages)
    assert len(first.records) + sum(len(p.records) for p in rest) == 200
    assert office.tokens_issued == 2


def test_wrong_client_secret_is_an_auth_error(office: BackOffice) -> None:
    with pytest.raises(SourceAuthError, match="refused our client credentials"):
        read_all(oauth(office, secret="wrong"))
