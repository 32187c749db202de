"""The file-drop connector on real files in a temporary folder, with the hub store as its ledger
(SQLite and the real PostgreSQL): encodings, workbooks, the read-once ledger, archive on ack,
quarantine of whole files, and the demo drop of กรมทรัพย์สินทางปัญญา end to end through ingest."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
import time
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select

import connectors
from connectors import Page, Secrets
from delayhub import config
from delayhub.errors import ConfigError, SourceError
from delayhub.ingest import ingest
from delayhub.mapping import load_mapping
from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.store.models import FileLedger, Quarantine, Request
from demo import files_backoffice as dip

ROOT = Path(__file__).resolve().parents[1]
TODAY = dt.date(2026, 11, 24)
HEADERS = ["เลขที่คำขอ", "วันที่ยื่น", "สถานะ", "ชื่อผู้ยื่น", "เลขประจำตัวประชาชน", "โทรศัพท์", "อีเมล"]
ROWS = [
    ["0012345", "24/11/2569", "อยู่ระหว่างตรวจสอบ", "นางสาวกนกพร ศรีสุข", "1101700203451", "0812345678",
     "kanokporn@example.co.th"],
    ["0012346", "๒/๑/๒๕๖๙", "มีคำสั่งให้แก้ไข", "นายณัฐวุฒิ พึ่งบุญ", "3100600123457", "0923456789", ""],
]
CONNECTOR_ID = "moc-dip-trademarks"


# --- helpers ----------------------------------------------------------------------------------------

def csv_bytes(rows: list[list[str]], encoding: str, headers: list[str] = HEADERS) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([headers, *rows])
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]], headers: list[str] = HEADERS, sheet: str = "Sheet1") -> bytes:
    book = openpyxl.Workbook()
    book.active.title = "สรุป"
    book.active.append(["รายงานประจำคืน"])  # a cover sheet: `sheet` picks the data
    ws = book.create_sheet(sheet) if sheet != "สรุป" else book.active
    ws.append(headers)
    for row in rows:
        ws.append(row)
    if sheet == "Sheet1":
        book.move_sheet(ws, offset=-1)  # the data sheet first, as the default reads
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def drop(folder: Path, name: str, data: bytes, age: float = 3600) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    os.utime(path, (time.time() - age, time.time() - age))
    return path


def connector(folder: Path, store: HubStore | None, **options: Any) -> connectors.Connector:
    source = {"type": "files", "folder": str(folder), "min_age_seconds": 0,
              "required_columns": ["เลขที่คำขอ", "วันที่ยื่น", "สถานะ"], "id_column": "เลขที่คำขอ", **options}
    return connectors.build(source, Secrets(), store, CONNECTOR_ID)


def records(pages: list[Page]) -> list[dict[str, Any]]:
    return [r for p in pages for r in p.records]


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def ack_all(pages: list[Page]) -> None:
    for page in pages:
        if page.ack:
            page.ack()


# --- reading: encodings, workbooks, text kept as text -----------------------------------------------

def test_utf8_bom_cp874_plain_utf8_and_xlsx_all_read_with_thai_text_and_leading_zeros(
        tmp_path: Path, store: HubStore) -> None:
    folder = tmp_path / "drop"
    drop(folder, "a_bom.csv", csv_bytes(ROWS, "utf-8-sig"))
    drop(folder, "b_windows_thai.csv", csv_bytes(ROWS, "cp874"))
    drop(folder, "c_plain.csv", csv_bytes(ROWS, "utf-8"))
    drop(folder, "d_book.xlsx", xlsx_bytes(ROWS))

    pages = list(connector(folder, store).read(None))

    assert [len(p.records) for p in pages] == [2, 2, 2, 2]
    got = records(pages)
    assert [r["_file"] for r in got] == ["a_bom.csv"] * 2 + ["b_windows_thai.csv"] * 2 + ["c_plain.csv"] * 2 + \
        ["d_book.xlsx"] * 2
    for r in got:  # the byte-order mark is not glued to the first header; every column is there
        assert list(r) == [*HEADERS, "_file", "_row", "_id"]
    expected = [{**dict(zip(HEADERS, row, strict=True)), "อีเมล": row[6] or None} for row in ROWS]
    for i in range(0, 8, 2):
        assert [{h: r[h] for h in HEADERS} for r in got[i:i + 2]] == expected
    assert got[0]["ชื่อผู้ยื่น"] == "นางสาวกนกพร ศรีสุข"
    assert got[1]["วันที่ยื่น"] == "๒/๑/๒๕๖๙"  # Thai digits untouched: the mapping's date transform reads them
    assert {r["เลขที่คำขอ"] for r in got} == {"0012345", "0012346"}  # not 12345
    assert {r["โทรศัพท์"] for r in got} == {"0812345678", "0923456789"}  # not 812345678
    assert [(r["_row"], r["_id"]) for r in got[:2]] == [(2, "0012345"), (3, "0012346")]


def test_xlsx_sheet_by_name_and_numeric_cells_come_as_text(tmp_path: Path, store: HubStore) -> None:
    folder = tmp_path / "drop"
    row = ["0012345", "24/11/2569", "ยื่นคำขอ", "นายอนุชา ใจดี", 1101700203451, 812345678, None]
    drop(folder, "book.xlsx", xlsx_bytes([row], sheet="คำขอ"))

    [page] = list(connector(folder, store, sheet="คำขอ").read(None))

    [record] = page.records
    assert record["เลขประจำตัวประชาชน"] == "1101700203451"  # a number cell, still exact as text
    assert record["โทรศัพท์"] == "812345678"  # Excel itself dropped the zero; the phone transform will refuse it
    assert record["อีเมล"] is None


def test_explicit_encoding_refuses_a_file_in_another(tmp_path: Path, store: HubStore) -> None:
    folder = tmp_path / "drop"
    drop(folder, "windows.csv", csv_bytes(ROWS, "cp874"))

    [page] = list(connector(folder, store, encoding="utf-8").read(None))

    assert page.records == []
    assert page.rejects[0].reason.startswith("windows.csv: cannot decode as utf-8 (utf-8 fails at byte ")


def test_row_numbers_match_the_spreadsheet_despite_blank_lines_and_multiline_cells(tmp_path: Path,
                                                                                   store: HubStore) -> None:
    folder = tmp_path / "drop"
    text = ("เลขที่คำขอ,วันที่ยื่น,สถานะ,ที่อยู่\r\n"
            "001,24/11/2569,ยื่นคำขอ,\"99/1 หมู่ 2\r\nจังหวัดนนทบุรี\"\r\n"
            ",,,\r\n"
            "\r\n"
            "002,24/11/2569,ยื่นคำขอ,บ้าน, เลขที่ 5\r\n"
            ",25/11/2569,ยื่นคำขอ,\r\n")
    drop(folder, "x.csv", text.encode("utf-8"))

    [page] = list(connector(folder, store).read(None))

    assert [(r["_row"], r["_id"]) for r in page.records] == [(2, "001"), (6, "x.csv:row 6")]
    assert page.records[0]["ที่อยู่"] == "99/1 หมู่ 2\r\nจังหวัดนนทบุรี"
    [bad] = page.rejects
    assert (bad.source_id, bad.field) == ("x.csv:row 5", "row")
    assert bad.reason == ("x.csv: row 5 has 5 values but the header has 4 columns "
                          "(an unquoted ',' inside a value?)")


# --- the ledger, archive and quarantine ------------------------------------------------------------

def test_file_moves_to_archive_only_when_its_page_is_acknowledged(tmp_path: Path, store: HubStore) -> None:
    folder = tmp_path / "drop"
    data = csv_bytes(ROWS, "utf-8-sig")
    drop(folder, "TM_1.csv", data)
    conn = connector(folder, store)

    [page] = list(conn.read(None))
    assert names(folder) == ["TM_1.csv"]  # read but not yet stored: still waiting in the drop
    assert not store.ledger_has(CONNECTOR_ID, hashlib.sha256(data).hexdigest())
    assert [len(p.records) for p in conn.read(None)] == [2]  # an unacknowledged file is read again

    page.ack()

    assert names(folder) == []
    assert names(folder / "archive") == ["TM_1.csv"]
    with store.session() as s:
        [entry] = s.scalars(select(FileLedger)).all()
    assert (entry.connector_id, entry.file_name, entry.rows, entry.status) == (CONNECTOR_ID, "TM_1.csv", 2,
                                                                               "processed")
    assert entry.sha256 == hashlib.sha256(data).hexdigest()
    assert list(conn.read(None)) == []


def test_same_content_dropped_again_under_any_name_is_not_read_and_is_archived(tmp_path: Path,
                                                                               store: HubStore) -> None:
    folder = tmp_path / "drop"
    data = csv_bytes(ROWS, "cp874")
    drop(folder, "TM_20691124.csv", data)
    ack_all(list(connector(folder, store).read(None)))

    drop(folder, "TM_20691124_resent.csv", data)
    drop(folder, "TM_20691124.csv", data)  # and once more under its first name
    assert list(connector(folder, store).read(None)) == []

    assert names(folder) == []
    assert names(folder / "archive") == ["TM_20691124-2.csv", "TM_20691124.csv", "TM_20691124_resent.csv"]
    assert (folder / "archive" / "TM_20691124-2.csv").read_bytes() == data  # nothing overwritten or lost


def test_malformed_files_are_quarantined_whole_while_the_others_are_read(tmp_path: Path,
                                                                         store: HubStore) -> None:
    folder = tmp_path / "drop"
    good = drop(folder, "b_good.csv", csv_bytes(ROWS, "utf-8-sig"))
    truncated = xlsx_bytes(ROWS)[:500]
    drop(folder, "a_cut.xlsx", truncated)
    drop(folder, "c_wrong_export.csv", csv_bytes([["x", "y"]], "utf-8", headers=["เลขที่คำขอ", "หมายเหตุ"]))
    drop(folder, "d_binary.csv", b"\xe0\xb8garbage\xdb")
    drop(folder, "e_empty.csv", b"")
    drop(folder, "f_old_format.xls", b"\xd0\xcf\x11\xe0", age=3600)
    drop(folder, "notes.txt", b"not matched by the patterns")

    pages = list(connector(folder, store, patterns=["*.csv", "*.xlsx", "*.xls"]).read(None))

    assert [len(p.records) for p in pages] == [0, 2, 0, 0, 0, 0]
    reasons = [(p.rejects[0].source_id, p.rejects[0].field, p.rejects[0].reason) for p in pages if p.rejects]
    assert reasons == [
        ("a_cut.xlsx", "file", "a_cut.xlsx: not a readable XLSX workbook (BadZipFile: File is not a zip file)"),
        ("c_wrong_export.csv", "file", "c_wrong_export.csv: missing columns: วันที่ยื่น, สถานะ "
                                       "(its first row has 2 column(s); is it this agency's export?)"),
        ("d_binary.csv", "file", "d_binary.csv: cannot decode as utf-8-sig or cp874 "
                                 "(utf-8-sig fails at byte 0, cp874 fails at byte 9)"),
        ("e_empty.csv", "file", "e_empty.csv: the file is empty"),
        ("f_old_format.xls", "file", "f_old_format.xls: the old .xls format is not read; export as .xlsx or CSV"),
    ]
    assert pages[0].rejects[0].raw == {"file": "a_cut.xlsx", "sha256": hashlib.sha256(truncated).hexdigest(),
                                       "size": 500}
    assert names(folder) == ["a_cut.xlsx", "b_good.csv", "c_wrong_export.csv", "d_binary.csv", "e_empty.csv",
                             "f_old_format.xls", "notes.txt"]  # nothing moves before the pages are stored

    ack_all(pages)

    assert names(folder) == ["notes.txt"]
    assert names(folder / "archive") == [good.name]
    assert names(folder / "quarantine") == ["a_cut.xlsx", "c_wrong_export.csv", "d_binary.csv", "e_empty.csv",
                                            "f_old_format.xls"]
    with store.session() as s:
        ledger = {e.file_name: e.status for e in s.scalars(select(FileLedger))}
    assert ledger == {"a_cut.xlsx": "quarantined", "b_good.csv": "processed", "c_wrong_export.csv": "quarantined",
                      "d_binary.csv": "quarantined", "e_empty.csv": "quarantined",
                      "f_old_format.xls": "quarantined"}


def test_a_big_export_comes_in_pages_and_moves_only_after_the_last(tmp_path: Path, store: HubStore) -> None:
    folder = tmp_path / "drop"
    rows = [[f"{i:07d}", "24/11/2569", "ยื่นคำขอ", "นายอนุชา ใจดี", "", f"08{i:08d}", ""] for i in range(2500)]
    drop(folder, "big.csv", csv_bytes(rows, "utf-8"))

    pages = list(connector(folder, store).read(None))

    assert [len(p.records) for p in pages] == [1000, 1000, 500]
    assert [p.ack is not None for p in pages] == [False, False, True]
    assert [r["_row"] for r in records(pages)] == list(range(2, 2502))
    assert records(pages)[-1]["เลขที่คำขอ"] == "0002499"
    ack_all(pages)
    assert names(folder / "archive") == ["big.csv"]


def test_an_archive_that_cannot_be_written_fails_check_and_the_ack_but_not_the_ledger(
        tmp_path: Path, store: HubStore) -> None:
    folder = tmp_path / "drop"
    drop(folder, "TM_1.csv", csv_bytes(ROWS, "utf-8"))
    (tmp_path / "a_file").write_text("not a folder")
    conn = connector(folder, store, archive_folder=str(tmp_path / "a_file" / "archive"))

    ok, message = conn.check()
    assert not ok
    assert message == f"{tmp_path / 'a_file' / 'archive'}: cannot write the archive folder here " \
                      "(files could not be moved away)"
    [page] = list(conn.read(None))
    with pytest.raises(SourceError, match=r"cannot move TM_1.csv to .*a_file/archive \(.*\); its content is "
                                          r"recorded as read, so it will not be read twice"):
        page.ack()
    assert list(conn.read(None)) == []  # stored once: the ledger keeps it from being read again
    assert names(folder) == ["TM_1.csv"]


def test_a_file_still_being_written_is_left_for_the_next_run(tmp_path: Path, store: HubStore) -> None:
    folder = tmp_path / "drop"
    drop(folder, "old.csv", csv_bytes(ROWS[:1], "utf-8"))
    drop(folder, "new.csv", csv_bytes(ROWS[1:], "utf-8"), age=0)
    conn = connector(folder, store, min_age_seconds=60)

    pages = list(conn.read(None))

    assert [r["_file"] for r in records(pages)] == ["old.csv"]
    ok, message = conn.check()
    assert ok
    assert message.endswith("1 file(s) ready to read, 1 still being written (newer than 60 s)")


# --- configuration, check, discover -------------------------------------------------------------------

def test_folder_expands_variables_and_relative_paths_start_at_the_project_root(
        tmp_path: Path, store: HubStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELAYHUB_ROOT", str(tmp_path / "root"))
    drop(config.var_dir() / "drop", "v.csv", csv_bytes(ROWS, "utf-8"))
    drop(tmp_path / "root" / "incoming", "r.csv", csv_bytes(ROWS, "utf-8"))

    by_var = connector(Path("${DELAYHUB_VAR}/drop"), store, archive_folder="$DELAYHUB_VAR/done")
    relative = connector(Path("incoming"), store)

    assert [r["_file"] for r in records(list(by_var.read(None)))] == ["v.csv", "v.csv"]
    assert [r["_file"] for r in records(list(relative.read(None)))] == ["r.csv", "r.csv"]
    ack_all(list(by_var.read(None)))
    assert names(config.var_dir() / "done") == ["v.csv"]
    with pytest.raises(ConfigError, match=r"source.folder: uses \$\{NO_SUCH_FOLDER_VAR\}, which is not set"):
        connector(Path("${NO_SUCH_FOLDER_VAR}/drop"), store)


def test_without_the_hub_store_the_connector_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs the hub store to remember which files it has read"):
        connector(tmp_path, None)


def test_check_and_discover(tmp_path: Path, store: HubStore) -> None:
    missing = connector(tmp_path / "nowhere", store)
    ok, message = missing.check()
    assert not ok
    assert message == f"{tmp_path / 'nowhere'}: the drop folder does not exist (or is not a folder)"
    with pytest.raises(SourceError, match="the drop folder does not exist"):
        list(missing.read(None))

    folder = tmp_path / "drop"
    drop(folder, "a_broken.xlsx", b"PK\x03\x04 cut")
    drop(folder, "b.csv", csv_bytes(ROWS, "cp874"))
    conn = connector(folder, store)

    assert conn.check() == (True, f"{folder}: readable, archive and quarantine writable; 2 file(s) ready to read")
    assert conn.discover() == [*HEADERS, "_file", "_row", "_id"]
    assert names(folder) == ["a_broken.xlsx", "b.csv"]  # discovering moves nothing


def test_the_schema_refuses_an_unknown_option_naming_it(tmp_path: Path) -> None:
    text = (ROOT / "mappings" / "moc-dip-trademarks.yaml").read_text(encoding="utf-8")
    path = tmp_path / "moc-dip-trademarks.yaml"
    path.write_text(text.replace("  encoding: auto\n", "  encoding: auto\n  recursive: true\n"), encoding="utf-8")

    with pytest.raises(ConfigError) as err:
        load_mapping(path)

    assert err.value.path.startswith("source")
    assert "recursive" in str(err.value)


# --- end to end: the demo drop of กรมทรัพย์สินทางปัญญา through ingest ---------------------------------

def test_demo_drop_ingests_good_rows_and_quarantines_broken_rows_and_the_cut_workbook(
        store: HubStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELAYHUB_TODAY", TODAY.isoformat())
    written = dip.prepare(config.var_dir(), TODAY)
    folder = dip.drop_folder(config.var_dir())
    assert [p.name for p in written] == [f"TM_EXPORT_25691124_{x}" for x in ("A.csv", "B.csv", "C.xlsx", "D.xlsx")]
    mapping = load_mapping(ROOT / "mappings" / "moc-dip-trademarks.yaml")
    registry = Registry.load()

    def run() -> dict[str, Any]:
        return ingest(mapping, connectors.build(mapping.source, Secrets(), store, mapping.id), store, registry)

    figures = run()

    assert {k: figures[k] for k in ("read", "stored", "inserted", "quarantined", "rejected_whole")} == {
        "read": 59, "stored": 55, "inserted": 55, "quarantined": 4, "rejected_whole": 2}
    with store.session() as s:
        quarantined = sorted((q.source_record_id, q.field, q.reason)
                             for q in s.scalars(select(Quarantine).where(Quarantine.connector_id == mapping.id)))
        requests = {r.request_no: r for r in s.scalars(select(Request))}
    rows = dip.export_rows(TODAY)
    assert quarantined == sorted([
        ("TM_EXPORT_25691124_A.csv:row 6", "request_no", "is required but missing"),
        ("TM_EXPORT_25691124_A.csv:row 11", "row", "TM_EXPORT_25691124_A.csv: row 11 has 19 values but the header "
                                                   "has 18 columns (an unquoted ',' inside a value?)"),
        (rows[30]["เลขที่คำขอ"], "submitted_on", "'๓๑/๐๒/๒๕๖๙' is not a real date (day is out of range for month)"),
        (rows[47]["เลขที่คำขอ"], "status", "status word 'โอนสิทธิ์ระหว่างพิจารณา' is not in the mapping's statuses "
                                          "(known: ยื่นคำขอ, อยู่ระหว่างตรวจสอบ, ประกาศโฆษณา, มีคำสั่งให้แก้ไข, "
                                          "รับจดทะเบียน, ไม่รับจดทะเบียน, ละทิ้งคำขอ)"),
        (rows[53]["เลขที่คำขอ"], "applicant.national_id", "check digit is wrong"),
        ("TM_EXPORT_25691124_D.xlsx", "file", "TM_EXPORT_25691124_D.xlsx: not a readable XLSX workbook "
                                              "(BadZipFile: File is not a zip file)"),
    ])
    assert not any(r["เลขประจำตัวประชาชน"] in reason for r in rows for _, _, reason in quarantined)

    from_cp874 = requests[rows[24]["เลขที่คำขอ"]]  # the first row of the Windows-Thai file, Thai digits and all
    assert from_cp874.applicant_name == rows[24]["ชื่อผู้ยื่น"]
    day, month, be_year = (int(x) for x in rows[24]["วันที่ยื่น"].split("/"))
    assert be_year > 2560  # the export's Buddhist-Era year (written in Thai digits in this file) …
    assert from_cp874.submitted_on == dt.date(be_year - 543, month, day)  # … stored as a Gregorian date
    assert from_cp874.applicant_phone == rows[24]["โทรศัพท์"]
    assert (from_cp874.department, from_cp874.division, from_cp874.manual_id, from_cp874.process_code) == (
        "MOC-DIP", "MOC-DIP-TM", "MOC-DIP-001", "DIP-TM-01")
    waiting = [r for r in requests.values() if r.status == "waiting_applicant"]
    assert waiting and all(r.pauses and r.pauses[0]["to"] is None for r in waiting)
    assert names(folder) == []
    assert names(folder / "archive") == [f"TM_EXPORT_25691124_{x}" for x in ("A.csv", "B.csv", "C.xlsx")]
    assert names(folder / "quarantine") == ["TM_EXPORT_25691124_D.xlsx"]

    assert dip.prepare(config.var_dir(), TODAY) == []  # the demo's second run: nothing re-created
    assert {k: run()[k] for k in ("read", "stored", "quarantined")} == {"read": 0, "stored": 0, "quarantined": 0}


def test_a_failed_ingest_leaves_the_file_in_the_drop_for_the_next_run(
        tmp_path: Path, store: HubStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELAYHUB_TODAY", TODAY.isoformat())
    dip.prepare(config.var_dir(), TODAY)
    folder = dip.drop_folder(config.var_dir())
    mapping = load_mapping(ROOT / "mappings" / "moc-dip-trademarks.yaml")
    registry = Registry.load()
    real_upsert = store.upsert_requests

    def database_goes_away(requests: Any) -> Any:
        raise RuntimeError("connection to the hub store lost")

    monkeypatch.setattr(store, "upsert_requests", database_goes_away)
    with pytest.raises(RuntimeError, match="hub store lost"):
        ingest(mapping, connectors.build(mapping.source, Secrets(), store, mapping.id), store, registry)

    assert names(folder) == [f"TM_EXPORT_25691124_{x}" for x in ("A.csv", "B.csv", "C.xlsx", "D.xlsx")]
    with store.session() as s:
        assert s.scalars(select(FileLedger)).all() == []

    monkeypatch.setattr(store, "upsert_requests", real_upsert)
    figures = ingest(mapping, connectors.build(mapping.source, Secrets(), store, mapping.id), store, registry)
    assert (figures["read"], figures["stored"]) == (59, 55)
    assert names(folder) == []
