"""Relational back offices over ODBC (pyodbc): one read-only SELECT with a watermark ``?``,
fetched in batches; driver errors told in plain words.

The Airflow Connection gives the driver (``extra.driver``, a name from /etc/odbcinst.ini) or a
DSN (``extra.dsn``), and host/port/schema/login/password become Server/Port/Database/Uid/Pwd.
For SQLite the Connection's ``schema`` is the database file's path. Other ``extra`` keys are
passed to the driver as connection-string attributes, as Airflow's OdbcHook does.

Every session is read-only where the database can enforce it (PostgreSQL and MariaDB: a
read-only transaction; SQLite: ``query_only``), runs with autocommit off and is rolled back at
the end, so a query that slips past the SELECT check still cannot change the back office.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pyodbc

from delayhub.errors import ConfigError, DelayhubError, SourceAuthError, SourceError, SourceUnavailable

from .base import Page, Reject, Secrets

# decode: value in the mapping → Python codec. TIS-620 proper has no 0x80–0x9F; cp874 (Windows)
# adds a few punctuation marks there, which old Windows clients do write.
CODECS = {"cp874": "cp874", "tis-620": "tis_620", "utf-8": "utf-8"}
WATERMARK_TYPES = ("timestamp", "date", "integer", "text")
# The lowest watermark when neither a saved cursor nor `initial_value` is given: read everything.
_FLOOR: dict[str, Any] = {"timestamp": dt.datetime(1900, 1, 1), "date": dt.date(1900, 1, 1),
                          "integer": -(2**63), "text": ""}
# Debian packages that provide each family's driver (scripts/setup.sh installs them).
_PACKAGES = {"postgresql": "odbc-postgresql", "mariadb": "odbc-mariadb", "sqlite": "libsqliteodbc"}

# Words that have no business in a read: data changes, DDL, locks, SELECT … INTO.
_WRITE_WORDS = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE|UPSERT|DROP|ALTER|CREATE|TRUNCATE|GRANT|REVOKE|CALL|"
                          r"EXEC|EXECUTE|INTO|LOCK)\b", re.IGNORECASE)
# Airflow OdbcHook's own extra keys: not connection-string attributes.
_NOT_ATTRIBUTES = {"driver", "dsn", "connect_kwargs", "sqlalchemy_scheme", "placeholder", "allow_driver_in_extra"}
_AUTH_STATES = {"28000", "28P01"}
_AUTH_WORDS = re.compile(r"password authentication failed|Access denied|role \".*\" does not exist|"
                         r"no pg_hba\.conf entry|Login failed|authentication failed", re.IGNORECASE)
_NO_DATABASE = re.compile(r"database \".*\" does not exist|Unknown database|Cannot open database", re.IGNORECASE)
_UNREACHABLE = re.compile(r"Connection refused|Can't connect|could not connect|could not translate host|"
                          r"timeout expired|timed out|Lost connection|server closed the connection|"
                          r"Unknown (MySQL|MariaDB) server host|No route to host|Name or service not known",
                          re.IGNORECASE)

# SQLite reports a wrong table or column as a general error (HY000), not as SQLSTATE 42xxx.
_QUERY_WRONG = re.compile(r"no such (table|column)|syntax error", re.IGNORECASE)


class _Undecodable(Exception):
    def __init__(self, column: str, codec: str, exc: UnicodeDecodeError) -> None:
        self.column = column
        super().__init__(f"bytes are not valid {codec} (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
                         f"check `decode` for this column")


def family(name: str) -> str:
    """'postgresql', 'mariadb', 'sqlite' or '' from a driver or DBMS name."""
    lowered = name.lower()
    if "postgres" in lowered:
        return "postgresql"
    if "maria" in lowered or "mysql" in lowered:
        return "mariadb"
    if "sqlite" in lowered:
        return "sqlite"
    return ""


def check_query(query: str) -> str | None:
    """Why ``query`` is not one read-only SELECT with exactly one ``?``; None when it is."""
    text = _mask(query).strip()
    if text.endswith(";"):
        text = text[:-1].rstrip()
    if not text:
        return "is empty"
    if ";" in text:
        return "holds more than one statement (';' inside): give a single SELECT"
    first = text.split(None, 1)[0].upper()
    if first not in ("SELECT", "WITH"):
        return f"must be a read-only SELECT (or WITH … SELECT), not {first}"
    if m := _WRITE_WORDS.search(text):
        return f"must only read, but contains {m.group(1).upper()}"
    marks = text.count("?")
    if marks != 1:
        return (f"must have exactly one '?' for the watermark (e.g. WHERE last_updated > ?), found {marks}")
    return None


def _mask(query: str) -> str:
    """The query with comments removed and quoted text/identifiers blanked, so keywords, ';' and
    '?' inside them are not counted."""
    out: list[str] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if query.startswith("--", i):
            j = query.find("\n", i)
            i = n if j < 0 else j
            continue
        if query.startswith("/*", i):
            j = query.find("*/", i + 2)
            i = n if j < 0 else j + 2
            out.append(" ")
            continue
        if c in "'\"`[":
            close = "]" if c == "[" else c
            j = i + 1
            while j < n:
                if query[j] == close:
                    if j + 1 < n and query[j + 1] == close and close != "]":  # '' or "" escapes
                        j += 2
                        continue
                    break
                j += 1
            out.append(c + " " * (min(j, n) - i - 1) + (close if j < n else ""))
            i = j + 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _quote(value: Any) -> str:
    """A connection-string value, braced when it holds ; { } = or spaces ('}' doubled)."""
    text = str(value)
    if re.search(r"[;{}=\s]", text):
        return "{" + text.replace("}", "}}") + "}"
    return text


def _plain(message: str) -> str:
    """A driver message without the '[unixODBC][Driver Manager]' tags and '(SQLDriverConnect)' tail."""
    text = re.sub(r"^(\s*\[[^\]]*\])+\s*", "", message)
    text = re.sub(r"(\s*\(-?\d+\))*\s*\(SQL\w+\)\s*$", "", text)
    text = re.sub(r"\s*\((\d+)\)\s*$", "", text)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r";? ?Error while executing the query$", "", text)
    return text[:300]


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date | dt.time) else value


def _plain_value(value: Any) -> Any:
    """Any column value as JSON can hold it (for a rejected row's raw copy)."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, Decimal):
        return str(value)
    return _iso(value)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


class OdbcConnector:
    def __init__(self, source: dict[str, Any], secrets: Secrets, state: Any = None, connector_id: str = "") -> None:
        self.source = source
        self.connection_id = source.get("connection_id", "")
        self.where = f"mappings/{connector_id}.yaml" if connector_id else "source"
        self.query = str(source.get("query", ""))
        if problem := check_query(self.query):
            raise ConfigError(self.where, "source.query", problem)
        watermark = source.get("watermark") or {}
        self.watermark = str(watermark.get("column") or "")
        if not self.watermark:
            raise ConfigError(self.where, "source.watermark.column",
                              "is missing: name the result column whose value the '?' is compared with")
        self.watermark_type = watermark.get("type", "timestamp")
        if self.watermark_type not in WATERMARK_TYPES:
            raise ConfigError(self.where, "source.watermark.type",
                              f"'{self.watermark_type}' is not one of {', '.join(WATERMARK_TYPES)}")
        self.initial = watermark.get("initial_value")
        self._param(self.initial, "source.watermark.initial_value")  # fail now, not at the first run
        self.batch_size = int(source.get("batch_size", 1000))
        if self.batch_size < 1:
            raise ConfigError(self.where, "source.batch_size", "must be at least 1")
        self.decode: dict[str, str] = {}  # column (lower case) → a key of CODECS
        for column, codec in (source.get("decode") or {}).items():
            if str(codec).lower() not in CODECS:
                raise ConfigError(self.where, f"source.decode.{column}",
                                  f"'{codec}' is not one of {', '.join(CODECS)}")
            self.decode[str(column).lower()] = str(codec).lower()
        self.timeout = float(source.get("timeout_seconds", 30))
        self.secrets = secrets
        extra = {str(k): v for k, v in (secrets.extra or {}).items()}
        self.driver = str(extra.get("driver") or "")
        self.dsn = str(extra.get("dsn") or "")
        self.attributes = {k: v for k, v in extra.items()
                           if k.lower() not in _NOT_ATTRIBUTES and isinstance(v, str | int | float | bool)}
        if not self.driver and not self.dsn:
            raise ConfigError(f"connection {self.connection_id!r}", "extra.driver",
                              "names no ODBC driver: set extra {\"driver\": \"PostgreSQL Unicode\"} (a name from "
                              f"/etc/odbcinst.ini; installed here: {', '.join(pyodbc.drivers()) or 'none'}) "
                              "or extra {\"dsn\": \"…\"}")
        self.family = family(self.driver)
        if self.family == "sqlite" and not secrets.schema:
            raise ConfigError(f"connection {self.connection_id!r}", "schema",
                              "must hold the SQLite database file's path (the Connection's schema field)")

    # --- protocol -----------------------------------------------------------------------------
    def check(self) -> tuple[bool, str]:
        """Connect, run the query from the initial watermark and fetch one row."""
        try:
            with self.connect() as conn:
                cur = self._execute(conn, self._param(self.initial))
                row = self._fetch(cur.fetchone)
                columns = len(cur.description)
                dbms = f"{conn.getinfo(pyodbc.SQL_DBMS_NAME)} {conn.getinfo(pyodbc.SQL_DBMS_VER)}"
        except DelayhubError as exc:
            return False, str(exc)
        got = "read the first row" if row is not None else "it returned no rows yet"
        via = f"driver '{self.driver}'" if self.driver else f"DSN '{self.dsn}'"
        return True, f"connected to {dbms} through {via}, read-only; ran the query: {got} ({columns} columns)"

    def discover(self) -> list[str]:
        """The query's result columns, in its order."""
        with self.connect() as conn:
            cur = self._execute(conn, self._param(self.initial))
            return [d[0] for d in cur.description]

    def read(self, cursor: str | None) -> Iterator[Page]:
        """Rows whose watermark is after ``cursor`` (or ``initial_value``); one page per batch."""
        if cursor is not None:
            running = self._param(cursor, "source.watermark.type")
        else:
            running = self._param(self.initial, "source.watermark.initial_value")
        # Until a row moves it, the cursor stays what it was (None stays None, as in the REST connector).
        shown = cursor if cursor is not None else (None if self.initial is None else str(self.initial))
        with self.connect() as conn:
            cur = self._execute(conn, running)
            convert, mark = self._converter(cur)
            pages = 0
            while batch := self._fetch(cur.fetchmany, self.batch_size):
                records: list[dict[str, Any]] = []
                rejects: list[Reject] = []
                for row in batch:
                    value = row[mark]
                    if value is not None:
                        try:
                            if value > running:
                                running, shown = value, _text(value)
                        except TypeError:
                            raise ConfigError(self.where, "source.watermark.type",
                                              f"column '{self.watermark}' gives {type(value).__name__} values, "
                                              f"not {self.watermark_type}") from None
                    try:
                        records.append(convert(row))
                    except _Undecodable as bad:
                        raw = {d[0]: _plain_value(v) for d, v in zip(cur.description, row, strict=True)}
                        # named by the first column: put the table's key first in the query
                        rejects.append(Reject(str(row[0]), bad.column, str(bad), raw))
                pages += 1
                yield Page(records, shown, rejects)
            if not pages:
                yield Page([], shown)

    # --- connection -----------------------------------------------------------------------------
    def connection_string(self) -> str:
        """What pyodbc is given; holds the password, so never log or show it."""
        s = self.secrets
        parts: dict[str, Any] = {"DSN": self.dsn} if self.dsn else {"Driver": self.driver}
        if self.family == "sqlite":
            # NoCreat: a wrong path is an error, not a new empty database; StepAPI: rows are stepped
            # through, not loaded all at once; Timeout: ms to wait while another process writes.
            parts.update(Database=s.schema, NoCreat=1, StepAPI=1, Timeout=int(self.timeout * 1000))
        else:
            for key, value in (("Server", s.host), ("Port", s.port), ("Database", s.schema), ("Uid", s.login),
                               ("Pwd", s.password)):
                if value not in (None, ""):
                    parts[key] = value
            if self.family == "postgresql":
                # A server-side cursor fetched batch by batch instead of the whole result in memory.
                parts.update(UseDeclareFetch=1, Fetch=self.batch_size,
                             pqopt=f"connect_timeout={max(1, int(self.timeout))}")
            elif self.family == "mariadb":
                parts.update(CONN_TIMEOUT=max(1, int(self.timeout)), READ_TIMEOUT=max(1, int(self.timeout)))
        lowered = {k.lower(): k for k in parts}
        for key, value in self.attributes.items():  # the Connection's own attributes win
            parts.pop(lowered.get(key.lower(), key), None)
            parts[key] = value
        return ";".join(f"{k}={_quote(v)}" for k, v in parts.items())

    @contextmanager
    def connect(self) -> Iterator[pyodbc.Connection]:
        """A read-only session: autocommit off, the database's own read-only switch, rollback at the end."""
        try:
            conn = pyodbc.connect(self.connection_string(), autocommit=False, timeout=max(1, int(self.timeout)))
        except pyodbc.Error as exc:
            raise self._explain(exc, "connect") from exc
        try:
            self._read_only(conn)
            yield conn
        finally:
            try:
                conn.rollback()
            except pyodbc.Error:
                pass  # the connection is already gone (the error that got us here says why)
            conn.close()

    def _read_only(self, conn: pyodbc.Connection) -> None:
        kind = family(str(conn.getinfo(pyodbc.SQL_DBMS_NAME)))
        cur = conn.cursor()
        try:
            if kind == "postgresql":
                cur.execute("SET TRANSACTION READ ONLY")  # the transaction our query runs in
                cur.execute(f"SET LOCAL statement_timeout = {max(1, int(self.timeout * 1000))}")
            elif kind == "mariadb":
                cur.execute("SET SESSION TRANSACTION READ ONLY")
            elif kind == "sqlite":
                cur.execute("PRAGMA query_only = ON")
            else:
                try:  # the ODBC way; some drivers enforce it, others only take note
                    conn.set_attr(pyodbc.SQL_ATTR_ACCESS_MODE, 1)  # SQL_MODE_READ_ONLY
                except pyodbc.Error:
                    pass
        except pyodbc.Error as exc:
            raise self._explain(exc, "make the session read-only") from exc
        finally:
            cur.close()

    def _execute(self, conn: pyodbc.Connection, watermark: Any) -> pyodbc.Cursor:
        cur = conn.cursor()
        try:
            cur.execute(self.query, watermark)
        except pyodbc.Error as exc:
            raise self._explain(exc, "query") from exc
        if cur.description is None:
            raise ConfigError(self.where, "source.query", "returned no result set")
        return cur

    def _fetch(self, fetch: Callable[..., Any], *args: Any) -> Any:
        try:
            return fetch(*args)
        except pyodbc.Error as exc:
            raise self._explain(exc, "fetch") from exc

    def _param(self, value: Any, field: str = "source.watermark.initial_value") -> Any:
        """The watermark as the type the '?' compares with."""
        if value is None or value == "":
            return _FLOOR[self.watermark_type]
        text = str(value).strip()
        try:
            if self.watermark_type == "timestamp":
                return dt.datetime.fromisoformat(text)
            if self.watermark_type == "date":
                return dt.date.fromisoformat(text[:10])
            if self.watermark_type == "integer":
                return int(text)
        except ValueError:
            raise ConfigError(self.where, field, f"'{text}' is not an ISO {self.watermark_type} "
                                                 f"(watermark type is {self.watermark_type})") from None
        return text

    def _converter(self, cur: pyodbc.Cursor) -> tuple[Callable[[Any], dict[str, Any]], int]:
        """Row → dict, and the watermark's index.

        Dates and times become ISO strings and decimals strings, so records are plain JSON; binary
        columns are decoded as ``decode`` says, or shown as hex.
        """
        names = [d[0] for d in cur.description]
        index = {n.lower(): i for i, n in enumerate(names)}
        mark = index.get(self.watermark.lower())
        if mark is None:
            raise ConfigError(self.where, "source.watermark.column",
                              f"'{self.watermark}' is not a column of the query's result (columns: {', '.join(names)})")
        for column in self.decode:
            if column not in index:
                raise ConfigError(self.where, f"source.decode.{column}",
                                  f"is not a column of the query's result (columns: {', '.join(names)})")
        fixes: list[tuple[int, str, Callable[[Any], Any]]] = []
        for i, d in enumerate(cur.description):
            kind, codec = d[1], self.decode.get(names[i].lower())
            if codec:
                fixes.append((i, names[i], _decoder(names[i], codec)))
            elif kind in (bytes, bytearray):
                fixes.append((i, names[i], lambda v: bytes(v).hex() if isinstance(v, bytes | bytearray) else v))
            elif kind is Decimal:
                fixes.append((i, names[i], lambda v: str(v) if isinstance(v, Decimal) else v))
            elif kind in (dt.datetime, dt.date, dt.time):
                fixes.append((i, names[i], _iso))

        def convert(row: Any) -> dict[str, Any]:
            record = dict(zip(names, row, strict=True))
            for i, name, fix in fixes:
                value = row[i]
                if value is not None:
                    record[name] = fix(value)
            return record

        return convert, mark

    def _explain(self, exc: pyodbc.Error, during: str) -> DelayhubError:
        """A driver error as the error the hub acts on, in plain words."""
        state = str(exc.args[0]) if exc.args else ""
        message = _plain(str(exc.args[1]) if len(exc.args) > 1 else str(exc))
        conn = f"connection {self.connection_id!r}"
        if state == "IM002" or "Can't open lib" in message or "Data source name not found" in message:
            if self.dsn:
                return ConfigError(conn, "extra.dsn", f"ODBC data source '{self.dsn}' is not defined on this "
                                                      "machine (`odbcinst -q -s` lists them)")
            package = _PACKAGES.get(self.family)
            hint = f"apt-get install {package}" if package else "install the database vendor's ODBC driver"
            return ConfigError(conn, "extra.driver",
                               f"ODBC driver '{self.driver}' is not installed on this machine (installed: "
                               f"{', '.join(pyodbc.drivers()) or 'none'}); {hint} (scripts/setup.sh does), "
                               "or correct the name")
        if state in _AUTH_STATES or _AUTH_WORDS.search(message):
            return SourceAuthError(f"{conn}: the database refused the login ({message}); check the user name and "
                                   "password in the Airflow Connection")
        if _NO_DATABASE.search(message):
            return ConfigError(conn, "schema", f"names a database the server does not have ({message})")
        if self.family == "sqlite" and during == "connect":
            return ConfigError(conn, "schema", f"SQLite file '{self.secrets.schema}' does not exist or cannot be "
                                               f"opened ({message})")
        if state.startswith("08") or state in ("HYT00", "HYT01", "57014") or _UNREACHABLE.search(message):
            return SourceUnavailable(f"{conn}: cannot reach the database or it stopped answering ({message}); "
                                     "it will be tried again on the next run")
        if during == "query" and (state[:2] in ("42", "37", "3F") or _QUERY_WRONG.search(message)):
            return ConfigError(self.where, "source.query", f"the database refused the query: {message}")
        return SourceError(f"{conn}: {during} failed ({state}: {message})")


def _decoder(column: str, name: str) -> Callable[[Any], Any]:
    codec = CODECS[name]

    def decode(value: Any) -> Any:
        if isinstance(value, str):  # the driver already gave text
            return value
        try:
            return bytes(value).decode(codec)
        except UnicodeDecodeError as exc:
            raise _Undecodable(column, name, exc) from None

    return decode
