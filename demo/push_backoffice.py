"""กรมการปกครอง's district registration offices pushing ID-card applications to the hub.

The offices' system (form บ.ป.1, manual MOI-DOPA-001 การขอมีบัตรประจำตัวประชาชน, one working
day) sends its own records: Thai field values, Buddhist-Era dates (``03/11/2569``, sometimes in
Thai digits), its own status words. ``PushBackOffice.start()`` serves the hub's intake app on
127.0.0.1 against the demo's hub store and POSTs two HMAC-signed batches, then re-sends the
first with the same Idempotency-Key to show a retry is harmless. Two records are broken on
purpose; the intake refuses them with a reason and keeps the rest.

The records come from a fixed seed relative to ``today`` and the Idempotency-Keys are the day's,
so a second demo run the same day gets the first answers back and stores nothing new.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Callable
from typing import Any

import requests

from delayhub import config
from delayhub.intake import (
    IDEMPOTENCY_HEADER,
    REPLAYED_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    IntakeServer,
    create_app,
    sign,
)
from delayhub.store import HubStore

from .backoffice import FIRST, LAST, PROVINCES, THAI, TITLES
from .fakes import national_id

CONNECTOR_ID = "moi-dopa-registration"
CONNECTION_ID = "moi_dopa_intake"
DOPA_KEY = "demo-dopa-intake-key"
BATCH_SIZE = 20
BROKEN = {12: "receive_date", 27: "applicant.pid"}  # index in district_records → what is wrong

OFFICES = [("1001", "สำนักทะเบียนเขตพระนคร"), ("1002", "สำนักทะเบียนเขตดุสิต"),
           ("5001", "สำนักทะเบียนอำเภอเมืองเชียงใหม่"), ("4001", "สำนักทะเบียนอำเภอเมืองขอนแก่น"),
           ("9011", "สำนักทะเบียนอำเภอหาดใหญ่")]
CASES = ["ขอมีบัตรครั้งแรก (อายุครบ 7 ปี)", "บัตรเดิมหมดอายุ", "บัตรหาย", "บัตรชำรุด",
         "เปลี่ยนชื่อตัวหรือชื่อสกุล", "เปลี่ยนที่อยู่ในบัตร"]
STATUSES = [("รับคำขอ", 10), ("อยู่ระหว่างตรวจสอบหลักฐาน", 25), ("รอผู้ยื่นคำขอนำหลักฐานมาเพิ่มเติม", 10),
            ("ออกบัตรแล้ว", 45), ("ไม่สามารถออกบัตรได้", 5), ("ยกเลิกคำขอ", 5)]
LATE_REASONS = ["รอผลตรวจสอบลายพิมพ์นิ้วมือจากสำนักบริหารการทะเบียน",
                "ระบบออกบัตรของสำนักทะเบียนขัดข้อง รอการแก้ไขจากส่วนกลาง",
                "รอยืนยันรายการบุคคลจากสำนักทะเบียนต้นทาง"]


def _be(day: dt.date, thai_digits: bool = False) -> str:
    text = f"{day.day:02d}/{day.month:02d}/{day.year + 543}"
    return text.translate(THAI) if thai_digits else text


def district_records(today: dt.date, n: int = 40) -> list[dict[str, Any]]:
    """The district offices' own records for ``today``; those at BROKEN's indexes are broken."""
    rng = random.Random(f"dopa-{today.isoformat()}")
    out = []
    for i in range(n):
        code, office = rng.choice(OFFICES)
        received = today - dt.timedelta(days=rng.randint(0, 14))
        status = rng.choices([s for s, _ in STATUSES], weights=[w for _, w in STATUSES])[0]
        thai_digits = i % 7 == 3  # one office types dates in Thai digits
        evidence = received + dt.timedelta(days=rng.choice([0, 0, 0, 1]))
        done = min(today, evidence + dt.timedelta(days=rng.choice([0, 0, 1, 3])))
        mobile = f"0{rng.choice([6, 8, 9])}{rng.randint(0, 9)}{rng.randint(1000000, 9999999)}"
        out.append({
            "rec_id": f"{code}-{today.year + 543}-{i + 1:06d}",
            "req_no": f"บ.ป.1/{code}/{today.year + 543}/{i + 1:05d}",
            "office": {"code": code, "name": office},
            "case_type": rng.choice(CASES),
            "receive_date": _be(received, thai_digits),
            "evidence_complete_date": _be(min(today, evidence), thai_digits) if rng.random() < 0.8 else None,
            "status": status,
            "issue_date": _be(done, thai_digits) if status in ("ออกบัตรแล้ว", "ไม่สามารถออกบัตรได้") else None,
            "result_note": {"ออกบัตรแล้ว": "ออกบัตรและจ่ายบัตรให้ผู้ยื่นคำขอแล้ว",
                            "ไม่สามารถออกบัตรได้": "หลักฐานไม่เพียงพอสำหรับพิสูจน์ตัวบุคคล"}.get(status),
            "late_reason": (rng.choice(LATE_REASONS) if status == "อยู่ระหว่างตรวจสอบหลักฐาน" and rng.random() < 0.6
                            else None),
            "wait_evidence_since": (_be(min(today, evidence), thai_digits)
                                    if status == "รอผู้ยื่นคำขอนำหลักฐานมาเพิ่มเติม" else None),
            "applicant": {
                "name": f"{rng.choice(TITLES)}{rng.choice(FIRST)} {rng.choice(LAST)}",
                "pid": national_id(rng),
                "phone": f"{mobile[:3]}-{mobile[3:6]}-{mobile[6:]}",
                "email": f"citizen{i + 1:03d}@example.co.th" if rng.random() < 0.6 else None,
                "house_address": f"{rng.randint(1, 999)}/{rng.randint(1, 99)} หมู่ {rng.randint(1, 12)} "
                                 f"จังหวัด{rng.choice(PROVINCES)}",
            },
            "notify_consent": rng.choice(["ยินยอม", "ยินยอม", "ไม่ยินยอม"]),
            "updated_at": f"{today.year + 543}-{today.month:02d}-{today.day:02d} {8 + i % 9:02d}:{i % 60:02d}:00",
        })
    # Deliberately broken, as district systems send them: 31 April, and a mistyped ID number.
    out[12]["receive_date"] = f"31/04/{today.year + 543}"
    pid = out[27]["applicant"]["pid"]
    out[27]["applicant"]["pid"] = pid[:12] + str((int(pid[12]) + 1) % 10)
    return out


class PushBackOffice:
    """The district offices' system: serves the hub's intake and pushes the day's records to it."""

    def __init__(self, store: str | Callable[[], HubStore] | None = None, secret: str = DOPA_KEY,
                 today: dt.date | None = None, n: int = 40) -> None:
        if isinstance(store, str):
            url = store
            self.store_factory: Callable[[], HubStore] = lambda: HubStore.open(url)
        else:
            self.store_factory = store or HubStore.open
        self.secret, self.today = secret, today or config.today()
        self.records = district_records(self.today, n)
        self.answers: list[dict[str, Any]] = []
        self.server: IntakeServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None, "start() first"
        return f"{self.server.url}/v1/{CONNECTOR_ID}/batches"

    def start(self) -> PushBackOffice:
        app = create_app(self.store_factory, lambda conn_id: self.secret if conn_id == CONNECTION_ID else None)
        self.server = IntakeServer(app).start()
        batches = [(f"dopa-{self.today.isoformat()}-{n + 1}", self.records[i:i + BATCH_SIZE])
                   for n, i in enumerate(range(0, len(self.records), BATCH_SIZE))]
        with requests.Session() as session:
            for key, records in batches:
                self.answers.append(self.push(session, key, records))
            if batches:  # the network dropped the first answer: the office sends the same batch again
                self.answers.append(self.push(session, *batches[0]))
        return self

    def push(self, session: requests.Session, key: str, records: list[dict[str, Any]]) -> dict[str, Any]:
        """POST one batch, signed; returns what the office saw."""
        body = json.dumps({"records": records}, ensure_ascii=False).encode()
        stamp = str(int(time.time()))
        response = session.post(self.url, data=body, timeout=60, headers={
            "Content-Type": "application/json; charset=utf-8", IDEMPOTENCY_HEADER: key,
            TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(self.secret, stamp, body)})
        return {"key": key, "status": response.status_code, "replayed": response.headers.get(REPLAYED_HEADER) == "true",
                "answer": response.json()}

    def summary(self) -> list[str]:
        """One line per POST, for the demo's output (reasons carry no personal data)."""
        lines = []
        for sent in self.answers:
            a = sent["answer"]
            if sent["status"] != 200:
                lines.append(f"{sent['key']}: HTTP {sent['status']} {a.get('error')}")
                continue
            line = f"{sent['key']}: accepted {a['accepted']}, rejected {a['rejected']}"
            lines.append(line + (" — re-sent: first answer replayed, nothing stored twice" if sent["replayed"] else ""))
            lines.extend(f"    record {e['record_id']} — {e['field']}: {e['reason']}"
                         for e in a["errors"] if not sent["replayed"])
        return lines

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def connection_env(self) -> dict[str, str]:
        """The Connection the ingest DAG's task asks for (its password is the agency's key)."""
        return {f"AIRFLOW_CONN_{CONNECTION_ID.upper()}": json.dumps({"conn_type": "http", "password": self.secret})}


def main() -> None:  # pragma: no cover - manual use: python -m demo.push_backoffice
    office = PushBackOffice().start()
    try:
        print("\n".join(office.summary()))
    finally:
        office.stop()


if __name__ == "__main__":
    main()
