"""กรมทรัพย์สินทางปัญญา (DIP): the trademark system's nightly export into a shared folder.

``prepare(var_dir)`` drops one night's export into ``var_dir/demo/drop/moc-dip/`` as the office's
machines really write it, each with the system's own Thai column headers:

* ``TM_EXPORT_<BE date>_A.csv`` — UTF-8 with a byte-order mark (the head office's export);
* ``TM_EXPORT_<BE date>_B.csv`` — cp874, Windows Thai, with Thai digits in dates and phones
  (a regional office that saves "CSV" from Excel on Thai Windows);
* ``TM_EXPORT_<BE date>_C.xlsx`` — a workbook, every cell text;
* ``TM_EXPORT_<BE date>_D.xlsx`` — an upload cut short: not a readable workbook, quarantined whole.

Sixty applications in all, a few broken on purpose (no application number, an unquoted comma in
a name, 31 February, a status word the mapping does not know, a wrong national-ID check digit).
The data is generated from a fixed seed relative to ``today``. A file already in the archive or
quarantine folder is not written again, so a second demo run finds nothing new to read.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import random
import time
from pathlib import Path

import openpyxl

from delayhub import config

from .backoffice import THAI, _person

HEADERS = ["เลขที่คำขอ", "แบบคำขอ", "เครื่องหมาย", "จำพวกสินค้า", "วันที่ยื่น", "วันที่เอกสารครบ", "สถานะ",
           "วันที่แจ้งให้แก้ไข", "วันที่ได้รับคำชี้แจง", "วันที่สิ้นสุด", "ผลการพิจารณา", "เหตุที่ล่าช้า",
           "ชื่อผู้ยื่น", "เลขประจำตัวประชาชน", "โทรศัพท์", "อีเมล", "ที่อยู่", "วันที่แก้ไขล่าสุด"]
STATES = [("ยื่นคำขอ", 10), ("อยู่ระหว่างตรวจสอบ", 40), ("ประกาศโฆษณา", 10), ("มีคำสั่งให้แก้ไข", 12),
          ("รับจดทะเบียน", 18), ("ไม่รับจดทะเบียน", 6), ("ละทิ้งคำขอ", 4)]
FINISHED = ("รับจดทะเบียน", "ไม่รับจดทะเบียน", "ละทิ้งคำขอ")
MARKS = ["ช้างทอง", "บัวหลวงคราฟต์", "นาคราช", "ข้าวหอมทุ่งทอง", "SIAMCRAFT", "แม่บ้านยิ้ม", "ดาวล้านนา",
         "ส้มตำนัว", "ใบตองเขียว", "KHAO HOM", "ปลาทูแม่กลอง", "ทองม้วนป้าศรี"]
REASONS = ["อยู่ระหว่างตรวจค้นเครื่องหมายที่เหมือนหรือคล้ายกันในสารบบ",
           "รอผลการพิจารณาคำคัดค้านของบุคคลภายนอก",
           "นายทะเบียนอยู่ระหว่างพิจารณาลักษณะบ่งเฉพาะของเครื่องหมาย"]
SPLIT = (24, 18, 18)  # rows in files A, B, C


def drop_folder(var_dir: Path) -> Path:
    return var_dir / "demo" / "drop" / "moc-dip"


def _be(day: dt.date | None, thai_digits: bool = False) -> str:
    if day is None:
        return ""
    text = f"{day.day:02d}/{day.month:02d}/{day.year + 543}"
    return text.translate(THAI) if thai_digits else text


def export_rows(today: dt.date, n: int = sum(SPLIT)) -> list[dict[str, str]]:
    """One night's export: every value a string as the system writes it ('' when empty)."""
    rng = random.Random(f"dip-tm-{today.isoformat()}")
    rows = []
    for i in range(1, n + 1):
        submitted = today - dt.timedelta(days=rng.randint(1, 300))
        complete = submitted + dt.timedelta(days=rng.choice([0, 0, 0, 3, 10]))
        state = rng.choices([s for s, _ in STATES], weights=[w for _, w in STATES])[0]
        finished = min(today, complete + dt.timedelta(days=rng.randint(30, 250))) if state in FINISHED else None
        asked = answered = None
        if state == "มีคำสั่งให้แก้ไข":
            asked = min(today, complete + dt.timedelta(days=rng.randint(20, 90)))
        elif state == "อยู่ระหว่างตรวจสอบ" and i % 3 == 0:
            asked = min(today, complete + dt.timedelta(days=rng.randint(20, 60)))
            answered = min(today, asked + dt.timedelta(days=rng.randint(5, 55)))
        person = _person(rng, 700 + i)
        updated = finished or answered or asked or complete
        rows.append({
            "เลขที่คำขอ": f"{(submitted.year + 543) % 100:02d}01{i:05d}",
            "แบบคำขอ": "ก.01",
            "เครื่องหมาย": rng.choice(MARKS),
            "จำพวกสินค้า": str(rng.randint(1, 45)),
            "วันที่ยื่น": _be(submitted),
            "วันที่เอกสารครบ": _be(complete) if complete != submitted else "",
            "สถานะ": state,
            "วันที่แจ้งให้แก้ไข": _be(asked),
            "วันที่ได้รับคำชี้แจง": _be(answered),
            "วันที่สิ้นสุด": _be(finished),
            "ผลการพิจารณา": {"รับจดทะเบียน": f"รับจดทะเบียน ทะเบียนเลขที่ ค{600000 + i}",
                             "ไม่รับจดทะเบียน": "ไม่รับจดทะเบียน เนื่องจากเหมือนกับเครื่องหมายที่จดทะเบียนไว้แล้ว",
                             "ละทิ้งคำขอ": "ผู้ขอไม่ชำระค่าธรรมเนียมภายในกำหนด"}.get(state, ""),
            "เหตุที่ล่าช้า": rng.choice(REASONS) if state == "อยู่ระหว่างตรวจสอบ" and rng.random() < 0.5 else "",
            "ชื่อผู้ยื่น": person["name"],
            "เลขประจำตัวประชาชน": person["pid"],
            "โทรศัพท์": person["mobile"],
            "อีเมล": person["email"] or "",
            "ที่อยู่": person["address"],
            "วันที่แก้ไขล่าสุด": f"{_be(updated)} {8 + i % 10:02d}:{i % 60:02d}",
        })
    # Deliberately broken rows, as real exports have them.
    rows[4]["เลขที่คำขอ"] = ""  # file A: the application number was never keyed in
    rows[30]["วันที่ยื่น"] = f"31/02/{today.year + 543}"  # file B: no such day
    rows[47]["สถานะ"] = "โอนสิทธิ์ระหว่างพิจารณา"  # file C: a status the mapping does not know
    pid = rows[53]["เลขประจำตัวประชาชน"]
    rows[53]["เลขประจำตัวประชาชน"] = pid[:12] + str((int(pid[12]) + 1) % 10)  # file C: a typo in the ID
    return rows


def _csv(rows: list[dict[str, str]], thai_digits: bool = False, unquoted_comma_at: int | None = None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for n, row in enumerate(rows):
        values = [row[h] for h in HEADERS]
        if thai_digits:  # Thai digits in dates and phone numbers, as the regional office's template has them
            values = [v.translate(THAI) if h.startswith("วันที่") or h == "โทรศัพท์" else v
                      for h, v in zip(HEADERS, values, strict=True)]
        if n == unquoted_comma_at:  # a hand-built line: the comma inside the name is not quoted
            values[HEADERS.index("ชื่อผู้ยื่น")] = "บริษัท ช้างทองเทรดดิ้ง จำกัด, สาขาเชียงใหม่"
            out.write(",".join(values) + "\r\n")
            continue
        writer.writerow(values)
    return out.getvalue()


def _xlsx(rows: list[dict[str, str]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "คำขอจดทะเบียน"
    sheet.append(HEADERS)
    for row in rows:
        sheet.append([row[h] or None for h in HEADERS])
    for col in sheet.iter_cols():  # text format, so Excel itself keeps the leading zeros
        for cell in col:
            cell.number_format = "@"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_files(today: dt.date) -> dict[str, bytes]:
    """File name → bytes for one night's drop."""
    rows = export_rows(today)
    a, b = SPLIT[0], SPLIT[0] + SPLIT[1]
    stamp = f"{today.year + 543}{today.month:02d}{today.day:02d}"
    workbook = _xlsx(rows[b:])
    return {
        f"TM_EXPORT_{stamp}_A.csv": _csv(rows[:a], unquoted_comma_at=9).encode("utf-8-sig"),
        f"TM_EXPORT_{stamp}_B.csv": _csv(rows[a:b], thai_digits=True).encode("cp874"),
        f"TM_EXPORT_{stamp}_C.xlsx": workbook,
        f"TM_EXPORT_{stamp}_D.xlsx": _xlsx(rows[:5])[:700],  # the copy stopped part-way
    }


def prepare(var_dir: Path, today: dt.date | None = None) -> list[Path]:
    """Write tonight's export files that are not already in the drop, archive or quarantine folder.

    The files are dated an hour back, as a nightly export is, so the connector's minimum-age guard
    (a file still being written is left alone) does not hold them back. Returns the files written.
    """
    folder = drop_folder(var_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    an_hour_ago = time.time() - 3600
    for name, data in export_files(today or config.today()).items():
        if any((where / name).exists() for where in (folder, folder / "archive", folder / "quarantine")):
            continue
        path = folder / name
        path.write_bytes(data)
        os.utime(path, (an_hour_ago, an_hour_ago))
        written.append(path)
    return written


class FileDropBackOffice:
    """The demo runner's handle: a local folder needs no server and no secrets."""

    def __init__(self, today: dt.date | None = None) -> None:
        self.today = today

    def prepare(self, var_dir: Path) -> list[Path]:
        return prepare(var_dir, self.today)

    def start(self) -> FileDropBackOffice:
        return self

    def stop(self) -> None:
        pass

    def connection_env(self) -> dict[str, str]:
        return {}
