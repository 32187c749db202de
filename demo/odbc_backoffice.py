"""กรมโรงงานอุตสาหกรรม's factory-licence system as the relational database it is: one table,
``tbl_factory_request``, in the agency's own column names and habits.

* Thai text in UTF-8 (factory, owner, notes); the decision text ``result_tis`` is still written
  by an old Windows client as TIS-620 bytes (cp874) in a binary column.
* Dates the counter staff type are Buddhist-Era text (``recv_date_be`` = ``'2569-11-24'``); the
  date the documents were complete is a real DATE column; ``last_updated`` is a TIMESTAMP.
* Status is the system's own two-digit code (``stat_cd``), see ``STATUS_CODES``.

The embedded demo needs no database server: ``prepare(var_dir)`` writes a SQLite file that the
connector reads through the SQLite3 ODBC driver. The same table and rows load into PostgreSQL
and MariaDB (``create_table_sql`` / ``insert_sql`` / ``as_params``) for the tests and the benchmark.
Rows are generated from a fixed seed relative to ``today``: the same day gives the same rows, so
a second demo run finds nothing new. Three rows are broken on purpose (see ``BROKEN``).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .fakes import national_id

TABLE = "tbl_factory_request"
CONNECTION_ID = "mind_diw_factory_db"
DB_FILE = "mind_diw_factory.sqlite"

# The DIW system's status codes (its own lookup table, tbl_status_code, holds these words).
STATUS_CODES = {
    "10": "รับเรื่อง",
    "20": "ตรวจสอบเอกสาร",
    "30": "ตรวจสถานที่ตั้งโรงงาน",
    "35": "รอผู้ขอแก้ไขเอกสาร",
    "40": "เสนอผู้มีอำนาจลงนาม",
    "50": "อนุญาต",
    "60": "ไม่อนุญาต",
    "90": "ยกเลิกคำขอ",
}
_WEIGHTS = {"10": 8, "20": 20, "30": 15, "35": 8, "40": 12, "50": 27, "60": 6, "90": 4}
# svc_cd → (manual, what the counter calls it)
SERVICES = {"RG4": ("MIND-DIW-001", "ขออนุญาตประกอบกิจการโรงงาน (ร.ง.๔)"),
            "RNW": ("MIND-DIW-002", "ขอต่ออายุใบอนุญาตประกอบกิจการโรงงาน")}

MEN = ["สมชาย", "ประเสริฐ", "ธนากร", "อนุชา", "ณัฐวุฒิ"]
WOMEN = ["สมหญิง", "วิไลวรรณ", "กนกพร", "ศิริพร", "พรทิพย์"]
LAST = ["ใจดี", "รักไทย", "ศรีสุข", "บุญมา", "แก้วประเสริฐ", "ทองคำ", "วงศ์สวัสดิ์", "มั่นคง"]
COMPANIES = ["บริษัท สยามพลาสติก จำกัด", "ห้างหุ้นส่วนจำกัด ช.การช่างโลหะกิจ", "บริษัท ไทยอาหารแช่แข็ง จำกัด",
             "บริษัท บางปูเคมีภัณฑ์ จำกัด", "บริษัท อีสานแป้งมันสำปะหลัง จำกัด", "โรงสีข้าวเจริญผล",
             "บริษัท ลำพูนอิเล็กทรอนิกส์ จำกัด", "บริษัท ระยองบรรจุภัณฑ์ จำกัด (มหาชน)"]
FACTORY_TYPES = ["53(5)", "64(1)", "9(1)", "44", "88", "101", "3(1)"]
PROVINCES = ["สมุทรปราการ", "ชลบุรี", "ระยอง", "ปทุมธานี", "ขอนแก่น", "ลำพูน", "นครราชสีมา", "สงขลา"]
LATE_NOTES = ["รอผลการตรวจสอบสิ่งแวดล้อมจากสำนักงานอุตสาหกรรมจังหวัด",
              "อยู่ระหว่างนัดหมายเจ้าหน้าที่ตรวจสถานที่ตั้งโรงงาน",
              "รอความเห็นจากองค์กรปกครองส่วนท้องถิ่นเรื่องผังเมือง"]
RESULTS = {"50": "อนุญาตให้ประกอบกิจการโรงงาน ตามเงื่อนไขแนบท้ายใบอนุญาต",
           "60": "ไม่อนุญาต เนื่องจากที่ตั้งโรงงานไม่เป็นไปตามกฎหมายผังเมือง",
           "90": "ผู้ขอถอนคำขอเป็นหนังสือ"}

# Where the demo data is broken on purpose (0-based row index → what is wrong).
BROKEN = {
    12: "recv_date_be '2569-02-29' (2026 is not a leap year)",
    36: "stat_cd '45', a code the hub's mapping does not know",
    70: "result_tis holds bytes that are not TIS-620 (cp874)",
}

COLUMNS = ("req_id", "req_no", "svc_cd", "fac_name", "fac_type", "fac_prov", "owner_name", "owner_pid",
           "owner_tel", "owner_email", "owner_addr", "recv_date_be", "doc_ok_date", "stat_cd", "wait_from_be",
           "close_date_be", "late_note", "result_tis", "last_updated")

# Column types per database: the same table everywhere, in each one's own words.
_TYPES = {
    "sqlite": {"int": "INTEGER", "text": "TEXT", "date": "DATE", "ts": "TIMESTAMP", "bin": "BLOB"},
    "postgresql": {"int": "INTEGER", "text": "VARCHAR(500)", "date": "DATE", "ts": "TIMESTAMP", "bin": "BYTEA"},
    "mariadb": {"int": "INTEGER", "text": "VARCHAR(500)", "date": "DATE", "ts": "DATETIME", "bin": "BLOB"},
}
_KINDS = {"req_id": "int", "doc_ok_date": "date", "result_tis": "bin", "last_updated": "ts"}


def create_table_sql(dialect: str, table: str = TABLE) -> str:
    """``CREATE TABLE`` for ``sqlite``, ``postgresql`` or ``mariadb`` (utf8mb4)."""
    types = _TYPES[dialect]
    cols = ",\n  ".join(f"{c} {types[_KINDS.get(c, 'text')]}" + (" PRIMARY KEY" if c == "req_id" else "")
                        for c in COLUMNS)
    tail = " DEFAULT CHARSET=utf8mb4" if dialect == "mariadb" else ""
    return f"CREATE TABLE {table} (\n  {cols}\n){tail}"


def insert_sql(placeholder: str = "?", table: str = TABLE) -> str:
    return f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({', '.join([placeholder] * len(COLUMNS))})"


def as_params(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[c] for c in COLUMNS)


def _be(day: dt.date | None) -> str | None:
    return None if day is None else f"{day.year + 543}-{day.month:02d}-{day.day:02d}"


def iter_rows(today: dt.date, n: int = 100) -> Iterator[dict[str, Any]]:
    """The table's rows, deterministic for ``today``; the broken rows of ``BROKEN`` included."""
    rng = random.Random(f"diw-{today.isoformat()}")
    codes, weights = list(_WEIGHTS), list(_WEIGHTS.values())
    start = dt.datetime.combine(today - dt.timedelta(days=1), dt.time(8))
    for i in range(n):
        svc = "RG4" if rng.random() < 0.6 else "RNW"
        submitted = today - dt.timedelta(days=rng.randint(1, 90))
        docs_ok = (min(today, submitted + dt.timedelta(days=rng.choice([0, 0, 1, 3, 7])))
                   if rng.random() < 0.8 else None)
        code = rng.choices(codes, weights)[0]
        closed = (min(today, (docs_ok or submitted) + dt.timedelta(days=rng.randint(5, 60)))
                  if code in ("50", "60", "90") else None)
        waiting = min(today, (docs_ok or submitted) + dt.timedelta(days=2)) if code == "35" else None
        mobile = f"0{rng.choice([6, 8, 9])}{rng.randint(10_000_000, 99_999_999)}"
        row: dict[str, Any] = {
            "req_id": i + 1,
            "req_no": f"รง.{today.year + 543}/{i + 1:06d}",
            "svc_cd": svc,
            "fac_name": rng.choice(COMPANIES),
            "fac_type": rng.choice(FACTORY_TYPES),
            "fac_prov": rng.choice(PROVINCES),
            "owner_name": (f"นาย{rng.choice(MEN)}" if rng.random() < 0.5
                           else f"{rng.choice(['นาง', 'นางสาว'])}{rng.choice(WOMEN)}") + f" {rng.choice(LAST)}",
            "owner_pid": national_id(rng),
            "owner_tel": f"{mobile[:3]}-{mobile[3:6]}-{mobile[6:]}",
            "owner_email": f"factory{i + 1:06d}@example.co.th" if rng.random() < 0.7 else None,
            "owner_addr": f"{rng.randint(1, 999)}/{rng.randint(1, 99)} หมู่ {rng.randint(1, 12)} "
                          f"จังหวัด{rng.choice(PROVINCES)}",
            "recv_date_be": _be(submitted),
            "doc_ok_date": docs_ok,
            "stat_cd": code,
            "wait_from_be": _be(waiting),
            "close_date_be": _be(closed),
            "late_note": rng.choice(LATE_NOTES) if code in ("30", "40") and rng.random() < 0.5 else None,
            "result_tis": RESULTS[code].encode("cp874") if code in RESULTS else None,
            # distinct and increasing: one row touched a few seconds after the other
            "last_updated": start + dt.timedelta(seconds=7 * i),
        }
        if i == 12:
            row["recv_date_be"] = "2569-02-29"
        elif i == 36:
            row["stat_cd"] = "45"
        elif i == 70:
            row["result_tis"] = b"\xcd\xb9\xd8\xff\xfc"  # a legacy migration's damaged bytes
        yield row


def rows(today: dt.date, n: int = 100) -> list[dict[str, Any]]:
    return list(iter_rows(today, n))


def write_sqlite(path: Path, table_rows: list[dict[str, Any]]) -> None:
    """A fresh SQLite file with the table, as the stdlib writes it (dates as ISO text)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    try:
        con.execute(create_table_sql("sqlite"))
        con.executemany(insert_sql("?"), [tuple(_sqlite_value(v) for v in as_params(r)) for r in table_rows])
        con.commit()
    finally:
        con.close()


def _sqlite_value(value: Any) -> Any:
    # The SQLite ODBC driver reads TIMESTAMP text as 'YYYY-MM-DD HH:MM:SS' (space, not 'T').
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


class OdbcBackOffice:
    """The demo peer: a SQLite file the SQLite3 ODBC driver opens; no server to run."""

    def __init__(self, today: dt.date | None = None, path: Path | None = None) -> None:
        if today is None:
            from delayhub import config

            today = config.today()
        self.today = today
        self.path = path
        self.rows: list[dict[str, Any]] = []

    def prepare(self, var_dir: Path) -> Path:
        self.path = Path(var_dir) / "demo" / DB_FILE
        self.rows = rows(self.today)
        write_sqlite(self.path, self.rows)
        return self.path

    def start(self) -> OdbcBackOffice:
        if self.path is None or not self.path.exists():
            from delayhub import config

            self.prepare(config.var_dir())
        return self

    def stop(self) -> None:
        pass  # a file, not a server: kept so the operator can open it

    def connection_env(self) -> dict[str, str]:
        """The Airflow Connection the mapping names: the file's path is the Connection's schema."""
        assert self.path is not None, "call prepare(var_dir) or start() first"
        conn = {"conn_type": "odbc", "schema": str(self.path.resolve()), "extra": {"driver": "SQLite3"}}
        return {f"AIRFLOW_CONN_{CONNECTION_ID.upper()}": json.dumps(conn, ensure_ascii=False)}


def main() -> None:  # pragma: no cover - manual use: python -m demo.odbc_backoffice VAR_DIR
    import sys

    office = OdbcBackOffice(dt.date.today())
    path = office.prepare(Path(sys.argv[1] if len(sys.argv) > 1 else "var"))
    print(f"wrote {len(office.rows)} rows to {path}")
    for key, value in office.connection_env().items():
        print(f"export {key}='{value}'")


if __name__ == "__main__":
    main()
