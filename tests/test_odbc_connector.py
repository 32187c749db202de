"""The ODBC connector against real databases through Debian's ODBC drivers (no mocks).

The same กรมโรงงานอุตสาหกรรม table and rows (demo/odbc_backoffice.py) are loaded into a SQLite
file (SQLite3 driver), the PostgreSQL on 127.0.0.1:5432 (PostgreSQL Unicode) and the MariaDB on
127.0.0.1:3306 (MariaDB Unicode), each by its own client where there is one (sqlite3, psycopg),
and read back through OdbcConnector. PostgreSQL and MariaDB are skipped when they do not answer,
unless CI is set. Connectors are built from the real mapping file's source block.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyodbc
import pytest
from sqlalchemy import select

import connectors
from connectors import Page, Secrets
from connectors.odbc import OdbcConnector
from delayhub.connections import secrets_from_env
from delayhub.errors import ConfigError, SourceAuthError, SourceUnavailable
from delayhub.ingest import ingest
from delayhub.mapping import load_mapping
from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.store.models import Quarantine, Request
from demo.odbc_backoffice import (
    COLUMNS,
    RESULTS,
    TABLE,
    OdbcBackOffice,
    as_params,
    create_table_sql,
    insert_sql,
    rows,
    write_sqlite,
)

ROOT = Path(__file__).resolve().parents[1]
TODAY = dt.date(2026, 11, 24)
MAPPING = load_mapping(ROOT / "mappings" / "mind-diw-factories.yaml")
TEST_WORD = "ทดสอบ"  # stored as cp874 bytes in row 2's result_tis

ROWS = rows(TODAY)
ROWS[1]["result_tis"] = TEST_WORD.encode("cp874")
BY_ID = {r["req_id"]: r for r in ROWS}
BAD_BYTES_ID = 71  # demo row whose result_tis is not cp874: rejected whole by the connector
NEWEST = max(r["last_updated"] for r in ROWS)
# UTF-8 bytes of a column as the server holds them, to prove the text was not double-encoded.
HEX_OF = {"sqlite": "hex(owner_name)", "postgresql": "upper(encode(convert_to(owner_name, 'UTF8'), 'hex'))",
          "mariadb": "hex(owner_name)"}


@dataclass
class Backend:
    name: str
    secrets: Secrets

    def source(self, **overrides: Any) -> dict[str, Any]:
        return {**MAPPING.source, **overrides}

    def connector(self, **overrides: Any) -> OdbcConnector:
        return connectors.build(self.source(**overrides), self.secrets, connector_id=MAPPING.id)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def _require(port: int, what: str) -> None:
    if not _answers(port):
        if os.environ.get("CI"):
            pytest.fail(f"{what} on 127.0.0.1:{port} does not answer; CI must test against it")
        pytest.skip(f"{what} on 127.0.0.1:{port} does not answer")


def _sqlite(tmp: Path) -> Iterator[Backend]:
    path = tmp / "diw.sqlite"
    write_sqlite(path, ROWS)
    yield Backend("sqlite", Secrets(schema=str(path), extra={"driver": "SQLite3"}))


def _postgresql() -> Iterator[Backend]:
    _require(5432, "PostgreSQL")
    import psycopg

    name = f"delayhub_odbc_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(host="127.0.0.1", user="postgres", dbname=name) as conn:
            conn.execute(create_table_sql("postgresql"))
            conn.cursor().executemany(insert_sql("%s"), [as_params(r) for r in ROWS])
        yield Backend("postgresql", Secrets(host="127.0.0.1", port=5432, login="postgres", schema=name,
                                            extra={"driver": "PostgreSQL Unicode"}))
    finally:
        with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _mariadb() -> Iterator[Backend]:
    _require(3306, "MariaDB")
    name = f"delayhub_odbc_{uuid.uuid4().hex[:8]}"
    admin = pyodbc.connect("Driver={MariaDB Unicode};Server=127.0.0.1;Port=3306;Uid=root;Pwd=", autocommit=True)
    try:
        admin.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
        admin.execute(f"USE {name}")
        admin.execute(create_table_sql("mariadb"))
        admin.cursor().executemany(insert_sql("?"), [as_params(r) for r in ROWS])
        yield Backend("mariadb", Secrets(host="127.0.0.1", port=3306, login="root", password="", schema=name,
                                         extra={"driver": "MariaDB Unicode"}))
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "mariadb"])
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """The table loaded once per module into each database."""
    make = {"sqlite": lambda: _sqlite(tmp_path_factory.mktemp("odbc")), "postgresql": _postgresql,
            "mariadb": _mariadb}[request.param]
    yield from make()


def read_all(connector: OdbcConnector, cursor: str | None = None) -> list[Page]:
    return list(connector.read(cursor))


def records(pages: list[Page]) -> list[dict[str, Any]]:
    return [r for p in pages for r in p.records]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- reading --------------------------------------------------------------------------------------

def test_full_read_comes_in_batches_with_a_rising_cursor(db: Backend) -> None:
    pages = read_all(db.connector(batch_size=30))

    assert [len(p.records) + len(p.rejects) for p in pages] == [30, 30, 30, 10]
    got = [r["req_id"] for r in records(pages)]
    assert got == [i for i in range(1, 101) if i != BAD_BYTES_ID]  # ORDER BY last_updated, none twice
    assert [p.cursor for p in pages] == [
        max(r["last_updated"] for r in ROWS[: 30 * (k + 1)]).isoformat() for k in range(4)]
    assert pages[-1].cursor == NEWEST.isoformat() == "2026-11-23T08:11:33"


def test_incremental_read_returns_only_rows_after_the_watermark(db: Backend) -> None:
    cursor = ROWS[59]["last_updated"].isoformat()

    pages = read_all(db.connector(), cursor)

    assert [r["req_id"] for r in records(pages)] == [i for i in range(61, 101) if i != BAD_BYTES_ID]
    saved = pages[-1].cursor
    assert saved == NEWEST.isoformat()
    again = read_all(db.connector(), saved)
    assert [(p.records, p.rejects, p.cursor) for p in again] == [([], [], saved)]  # nothing new, cursor kept


def test_thai_text_survives_the_round_trip(db: Backend) -> None:
    got = {r["req_id"]: r for r in records(read_all(db.connector()))}

    for column in ("req_no", "owner_name", "owner_addr", "late_note"):
        assert {i: r[column] for i, r in got.items()} == {i: BY_ID[i][column] for i in got}
    assert got[1]["req_no"] == "รง.2569/000001"
    # the server holds real UTF-8, not text encoded twice on the way in and back
    hexed = db.connector(query=f"SELECT req_id, {HEX_OF[db.name]} AS name_hex, last_updated FROM {TABLE} "
                               "WHERE last_updated > ? ORDER BY last_updated", decode={})
    stored = {r["req_id"]: r["name_hex"] for r in records(read_all(hexed))}
    assert stored[1] == BY_ID[1]["owner_name"].encode("utf-8").hex().upper()


def test_cp874_byte_column_is_decoded_and_undecodable_bytes_are_rejected(db: Backend) -> None:
    pages = read_all(db.connector())
    got = {r["req_id"]: r for r in records(pages)}

    assert got[2]["result_tis"] == TEST_WORD
    finished = next(i for i, r in BY_ID.items() if r["stat_cd"] == "50" and i != 2)
    assert got[finished]["result_tis"] == RESULTS["50"]
    rejects = [x for p in pages for x in p.rejects]
    assert [(x.source_id, x.field) for x in rejects] == [(str(BAD_BYTES_ID), "result_tis")]
    assert "not valid cp874 (byte 0xff at offset 3)" in rejects[0].reason
    assert rejects[0].raw["result_tis"] == "cdb9d8fffc"  # kept as hex for the operator

    undeclared = {r["req_id"]: r for r in records(read_all(db.connector(decode={})))}
    assert undeclared[2]["result_tis"] == TEST_WORD.encode("cp874").hex() == "b7b4cacdba"


def test_dates_timestamps_and_decimals_become_plain_json_values(db: Backend) -> None:
    connector = db.connector(query=f"SELECT req_id, doc_ok_date, CAST(1250.50 AS DECIMAL(10,2)) AS fee, "
                                   f"last_updated FROM {TABLE} WHERE last_updated > ? ORDER BY last_updated",
                             decode={})
    first = records(read_all(connector))[0]

    assert first["doc_ok_date"] == BY_ID[1]["doc_ok_date"].isoformat() == "2026-11-03"
    assert first["last_updated"] == "2026-11-23T08:00:00"
    # SQLite has no DECIMAL: its driver gives a float, the others a Decimal we pass on as text
    assert first["fee"] == (1250.5 if db.name == "sqlite" else "1250.50")


def test_the_session_cannot_write_even_past_the_query_check(db: Backend) -> None:
    connector = db.connector()
    with connector.connect() as conn, pytest.raises(pyodbc.Error) as err:
        conn.execute(f"UPDATE {TABLE} SET stat_cd = '99' WHERE req_id = 1")

    assert "read-only" in str(err.value).lower() or "read only" in str(err.value).lower() \
        or "readonly" in str(err.value).lower()
    assert records(read_all(connector))[0]["stat_cd"] == BY_ID[1]["stat_cd"]


# --- check and discover -----------------------------------------------------------------------------

def test_check_reports_the_database_and_the_first_row(db: Backend) -> None:
    ok, message = db.connector().check()

    dbms = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mariadb": "MariaDB"}[db.name]
    assert ok is True
    assert message.startswith(f"connected to {dbms} ")
    assert f"through driver '{db.secrets.extra['driver']}', read-only" in message
    assert message.endswith("read the first row (16 columns)")


def test_discover_lists_the_query_columns_in_order(db: Backend) -> None:
    assert db.connector().discover() == ["req_id", "req_no", "svc_cd", "owner_name", "owner_pid", "owner_tel",
                                         "owner_email", "owner_addr", "recv_date_be", "doc_ok_date", "stat_cd",
                                         "wait_from_be", "close_date_be", "late_note", "result_tis", "last_updated"]
    assert db.connector(query=f"SELECT * FROM {TABLE} WHERE last_updated > ?").discover() == list(COLUMNS)


# --- end to end ---------------------------------------------------------------------------------------

def test_ingest_stores_good_rows_and_quarantines_broken_ones(db: Backend, store: HubStore,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELAYHUB_TODAY", TODAY.isoformat())
    registry = Registry.load()

    first = ingest(MAPPING, db.connector(), store, registry)

    assert (first["read"], first["stored"], first["quarantined"], first["rejected_whole"]) == (99, 97, 2, 1)
    assert first["cursor"] == NEWEST.isoformat()
    with store.session() as s:
        reasons = sorted((q.source_record_id, q.field, q.reason) for q in s.scalars(select(Quarantine)))
        req2 = s.scalars(select(Request).where(Request.request_no == "รง.2569/000002")).one()
    assert reasons == [
        ("13", "submitted_on", "'2569-02-29' is not a real date (day is out of range for month)"),
        ("37", "status", "status word '45' is not in the mapping's statuses "
                         "(known: 10, 20, 30, 35, 40, 50, 60, 90)"),
        ("71", "result_tis", "bytes are not valid cp874 (byte 0xff at offset 3); check `decode` for this column"),
    ]
    assert (req2.agency, req2.manual_id, req2.result) == ("MIND-DIW", {"RG4": "MIND-DIW-001",
                                                                       "RNW": "MIND-DIW-002"}[BY_ID[2]["svc_cd"]],
                                                          TEST_WORD)
    be = BY_ID[2]["recv_date_be"]
    assert req2.submitted_on == dt.date(int(be[:4]) - 543, int(be[5:7]), int(be[8:]))

    # The mapping's 15-minute look-back re-reads the last rows (all 100 were touched within 12 minutes):
    # the shifted cursor binds like any other, nothing is stored twice and the cursor stays put.
    second = ingest(MAPPING, db.connector(), store, registry)
    assert (second["read"], second["stored"], second["unchanged"]) == (99, 0, 97)
    assert second["cursor"] == NEWEST.isoformat()


# --- configuration and refused credentials -----------------------------------------------------------

@pytest.mark.parametrize(("query", "problem"), [
    ("DELETE FROM tbl_factory_request WHERE last_updated < ?", "not DELETE"),
    ("SELECT * FROM tbl_factory_request WHERE last_updated > ?; DROP TABLE tbl_factory_request",
     "more than one statement"),
    ("SELECT * INTO backup_copy FROM tbl_factory_request WHERE last_updated > ?", "contains INTO"),
    ("WITH gone AS (DELETE FROM tbl_factory_request RETURNING *) SELECT * FROM gone WHERE last_updated > ?",
     "contains DELETE"),
    ("SELECT * FROM tbl_factory_request WHERE last_updated > ? FOR UPDATE", "contains UPDATE"),
    ("SELECT * FROM tbl_factory_request", "exactly one '?'"),
    ("SELECT * FROM tbl_factory_request WHERE last_updated > ? AND req_id > ?", "found 2"),
    ("  ", "is empty"),
], ids=["delete", "two-statements", "select-into", "writing-cte", "for-update", "no-placeholder",
        "two-placeholders", "empty"])
def test_anything_but_one_select_is_refused_naming_the_field(query: str, problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        OdbcConnector({**MAPPING.source, "query": query}, Secrets(schema="/x.db", extra={"driver": "SQLite3"}),
                      connector_id=MAPPING.id)

    assert (err.value.source, err.value.path) == ("mappings/mind-diw-factories.yaml", "source.query")
    assert problem in err.value.problem


def test_keywords_and_marks_inside_quotes_and_comments_are_not_counted() -> None:
    query = ("SELECT req_id, 'delete; ? update' AS note, \"into\" FROM tbl_factory_request "
             "/* insert ? */ WHERE last_updated > ? -- drop ?\nORDER BY last_updated;")

    OdbcConnector({**MAPPING.source, "query": query}, Secrets(schema="/x.db", extra={"driver": "SQLite3"}))


@pytest.mark.parametrize(("field", "value", "path"), [
    ("watermark", {"column": "last_updated", "initial_value": "24/11/2569"}, "source.watermark.initial_value"),
    ("watermark", {"column": "last_updated", "type": "epoch"}, "source.watermark.type"),
    ("decode", {"result_tis": "latin-1"}, "source.decode.result_tis"),
    ("batch_size", 0, "source.batch_size"),
])
def test_bad_source_settings_are_config_errors_at_build(field: str, value: Any, path: str) -> None:
    with pytest.raises(ConfigError) as err:
        OdbcConnector({**MAPPING.source, field: value}, Secrets(schema="/x.db", extra={"driver": "SQLite3"}))

    assert err.value.path == path


def test_a_watermark_or_decode_column_missing_from_the_result_is_named(db: Backend) -> None:
    with pytest.raises(ConfigError) as err:
        read_all(db.connector(watermark={"column": "updated_at"}))
    assert err.value.path == "source.watermark.column"
    assert "'updated_at' is not a column of the query's result (columns: req_id, req_no," in err.value.problem

    with pytest.raises(ConfigError) as err:
        read_all(db.connector(decode={"remark_tis": "cp874"}))
    assert err.value.path == "source.decode.remark_tis"


def test_an_unknown_table_is_a_config_error_on_the_query(db: Backend) -> None:
    connector = db.connector(query="SELECT * FROM tbl_factory_requests WHERE last_updated > ?")

    with pytest.raises(ConfigError) as err:
        read_all(connector)

    assert err.value.path == "source.query"
    assert "tbl_factory_requests" in err.value.problem


def test_an_unknown_database_is_a_config_error_on_the_schema(db: Backend) -> None:
    missing = "/nonexistent/diw.sqlite" if db.name == "sqlite" else "no_such_diw_db"
    connector = connectors.build(db.source(), replace(db.secrets, schema=missing))

    with pytest.raises(ConfigError) as err:
        read_all(connector)

    assert (err.value.source, err.value.path) == ("connection 'mind_diw_factory_db'", "schema")
    assert missing in err.value.problem
    assert not Path(missing).exists()  # the SQLite driver did not create an empty file instead


@pytest.mark.parametrize("driver", ["Oracle 21 ODBC driver", "PostgreSQL Unicod"])
def test_a_driver_that_is_not_installed_is_a_config_error_saying_so(driver: str) -> None:
    connector = connectors.build(MAPPING.source, Secrets(host="127.0.0.1", schema="diw", extra={"driver": driver}))

    with pytest.raises(ConfigError) as err:
        read_all(connector)

    assert (err.value.source, err.value.path) == ("connection 'mind_diw_factory_db'", "extra.driver")
    assert f"ODBC driver '{driver}' is not installed on this machine" in err.value.problem
    assert "PostgreSQL Unicode" in err.value.problem and "SQLite3" in err.value.problem  # what is installed
    ok, message = connector.check()
    assert ok is False and "is not installed" in message


def test_an_undefined_dsn_and_a_connection_without_driver_are_config_errors() -> None:
    with pytest.raises(ConfigError) as err:
        read_all(connectors.build(MAPPING.source, Secrets(extra={"dsn": "DIW_FACTORY"})))
    assert err.value.path == "extra.dsn"
    assert "'DIW_FACTORY' is not defined" in err.value.problem

    with pytest.raises(ConfigError) as err:
        connectors.build(MAPPING.source, Secrets(host="127.0.0.1", schema="diw"))
    assert err.value.path == "extra.driver"


def test_mariadb_wrong_password_is_an_auth_error() -> None:
    _require(3306, "MariaDB")
    connector = connectors.build(MAPPING.source, Secrets(host="127.0.0.1", port=3306, login="root",
                                                         password="not-the-password", schema="test",
                                                         extra={"driver": "MariaDB Unicode"}))

    with pytest.raises(SourceAuthError) as err:
        read_all(connector)

    assert "'mind_diw_factory_db': the database refused the login (Access denied for user 'root'" in str(err.value)
    assert "not-the-password" not in str(err.value)
    ok, message = connector.check()
    assert ok is False and "refused the login" in message


@pytest.fixture(scope="module")
def pg_with_passwords() -> Iterator[int]:
    """A private PostgreSQL cluster that checks passwords (the shared one trusts 127.0.0.1)."""
    initdb = shutil.which("initdb") or "/usr/lib/postgresql/15/bin/initdb"
    if not Path(initdb).exists():
        pytest.skip("initdb is not installed")
    bindir = Path(initdb).parent
    root = Path(tempfile.mkdtemp(prefix="delayhub-pg-"))
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    port = closed_port()
    data = root / "data"
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8",
                    "--auth-host=scram-sha-256", "--auth-local=trust", "--no-instructions"],
                   check=True, capture_output=True)
    subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"), "-o",
                    f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                   check=True, capture_output=True)
    try:
        import psycopg

        with psycopg.connect(host=str(root), port=port, user="postgres", dbname="postgres", autocommit=True) as conn:
            conn.execute("CREATE ROLE diw_reader LOGIN PASSWORD 'right-password'")
        yield port
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_postgresql_wrong_password_is_an_auth_error(pg_with_passwords: int) -> None:
    def connector(password: str) -> OdbcConnector:
        return connectors.build({**MAPPING.source, "query": "SELECT now() AS last_updated WHERE now() > ?"},
                                Secrets(host="127.0.0.1", port=pg_with_passwords, login="diw_reader",
                                        password=password, schema="postgres",
                                        extra={"driver": "PostgreSQL Unicode"}))

    with pytest.raises(SourceAuthError) as err:
        read_all(connector("wrong-password"))

    assert 'password authentication failed for user "diw_reader"' in str(err.value)
    assert "wrong-password" not in str(err.value)
    assert connector("right-password").check()[0] is True  # the same Connection with the right password works


@pytest.mark.parametrize("driver", ["PostgreSQL Unicode", "MariaDB Unicode"])
def test_a_server_that_does_not_answer_is_source_unavailable(driver: str) -> None:
    connector = connectors.build({**MAPPING.source, "timeout_seconds": 2},
                                 Secrets(host="127.0.0.1", port=closed_port(), login="root", schema="test",
                                         extra={"driver": driver}))

    with pytest.raises(SourceUnavailable, match="cannot reach the database"):
        read_all(connector)


def test_connection_string_braces_values_and_lets_the_connection_add_attributes() -> None:
    connector = OdbcConnector(MAPPING.source, Secrets(host="db.diw.go.th", port=5432, login="hub",
                                                      password="p;w}d", schema="factory",
                                                      extra={"driver": "PostgreSQL Unicode", "SSLmode": "require",
                                                             "fetch": 200}))

    assert connector.connection_string() == (
        "Driver={PostgreSQL Unicode};Server=db.diw.go.th;Port=5432;Database=factory;Uid=hub;Pwd={p;w}}d};"
        "UseDeclareFetch=1;pqopt={connect_timeout=30};SSLmode=require;fetch=200")


# --- the demo peer ---------------------------------------------------------------------------------------

def test_demo_peer_gives_the_connection_the_mapping_needs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    office = OdbcBackOffice(TODAY)
    office.prepare(tmp_path)
    env = office.start().connection_env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    connector = connectors.build(MAPPING.source, secrets_from_env(MAPPING.source["connection_id"]))

    assert list(env) == ["AIRFLOW_CONN_MIND_DIW_FACTORY_DB"]
    assert connector.check()[0] is True
    pages = read_all(connector)
    assert [len(p.records) + len(p.rejects) for p in pages] == [25, 25, 25, 25]
    assert office.path == tmp_path / "demo" / "mind_diw_factory.sqlite"
    office.stop()
