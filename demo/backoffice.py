"""Two agencies' back offices on one small HTTP server, each speaking its own dialect.

* กรมพัฒนาธุรกิจการค้า (DBD): ``GET /dbd/api/v1/applications`` — Thai field values, Buddhist-Era
  dates in mixed forms (``24/11/2569``, ``2569-11-24``, Thai digits), Thai status words,
  page-number pagination, an ``X-API-Key`` header, ``updated_since`` for increments.
* อย. (FDA): ``GET /fda/e-submission/records`` — camelCase English keys, HTTP basic auth,
  next-link pagination, ``modifiedAfter`` for increments.

The data is generated from a fixed seed relative to ``today``, so the same day gives the same
records and a second run finds nothing new. A few records are broken on purpose.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from .fakes import THAI, be_date, national_id, pick

FIRST = ["สมชาย", "สมหญิง", "วิไลวรรณ", "ประยุทธ", "กนกพร", "ธนากร", "ศิริพร", "อนุชา", "พรทิพย์", "ณัฐวุฒิ",
         "จิราพร", "สุรเชษฐ์", "ปิยะนุช", "วรวุฒิ", "อรอุมา"]
LAST = ["ใจดี", "รักไทย", "ศรีสุข", "บุญมา", "แก้วประเสริฐ", "ทองคำ", "วงศ์สวัสดิ์", "มั่นคง", "สุขสันต์", "พึ่งบุญ"]
TITLES = ["นาย", "นาง", "นางสาว"]
PROVINCES = ["กรุงเทพมหานคร", "นนทบุรี", "ปทุมธานี", "เชียงใหม่", "ขอนแก่น", "สงขลา"]

DBD_MANUALS = [("MOC-DBD-001", "DBD-REG-01", "REG"), ("MOC-DBD-002", "DBD-REG-02", "REG"),
               ("MOC-DBD-003", "DBD-REG-03", "REG"), ("MOC-DBD-004", "DBD-REG-04", "REG"),
               ("MOC-DBD-005", "DBD-FBL-01", "FBL")]
DBD_STATES = [("รับคำขอ", 10), ("อยู่ระหว่างพิจารณา", 45), ("รอเอกสารเพิ่มเติมจากผู้ยื่นคำขอ", 8),
              ("อนุมัติ", 27), ("ไม่อนุมัติ", 7), ("ยกเลิกคำขอ", 3)]
DBD_REASONS = ["อยู่ระหว่างตรวจสอบข้อเท็จจริงกับหน่วยงานที่เกี่ยวข้อง",
               "เอกสารประกอบคำขอต้องได้รับการรับรองจากนายทะเบียนกลาง",
               "ระบบทะเบียนขัดข้องระหว่างการปรับปรุงฐานข้อมูล"]
FDA_MANUALS = [("MOPH-FDA-001", "FOOD"), ("MOPH-FDA-002", "FOOD"), ("MOPH-FDA-003", "DRUG")]
FDA_STATES = [("NEW", 10), ("REVIEW", 50), ("PENDING_APPLICANT", 10), ("APPROVED", 20), ("DENIED", 7),
              ("CANCELLED", 3)]

DBD_KEY = "demo-dbd-key"
OAUTH_CLIENT, OAUTH_SECRET = "delayhub-hub", "demo-oauth-secret"
FDA_USER, FDA_PASSWORD = "delayhub", "demo-fda-password"


def _person(rng: random.Random, i: int) -> dict[str, Any]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    mobile = f"0{rng.choice([6, 8, 9])}{rng.randint(0, 9)}{rng.randint(1000000, 9999999)}"
    return {
        "name": f"{rng.choice(TITLES)}{first} {last}",
        "pid": national_id(rng),
        "mobile": mobile,
        "email": f"applicant{i:03d}@example.co.th" if rng.random() < 0.8 else None,
        "address": f"{rng.randint(1, 999)}/{rng.randint(1, 99)} หมู่ {rng.randint(1, 12)} "
                   f"จังหวัด{rng.choice(PROVINCES)} {rng.randint(10, 96)}{rng.randint(100, 999)}",
    }


def dbd_records(today: dt.date, n: int = 200) -> list[dict[str, Any]]:
    rng = random.Random(f"dbd-{today.isoformat()}")
    out = []
    for i in range(1, n + 1):
        manual, process, unit = rng.choice(DBD_MANUALS)
        submitted = today - dt.timedelta(days=rng.randint(1, 120))
        complete = submitted + dt.timedelta(days=rng.choice([0, 0, 0, 1, 2, 5]))
        state = pick(rng, DBD_STATES)
        finished = None
        if state in ("อนุมัติ", "ไม่อนุมัติ", "ยกเลิกคำขอ"):
            finished = min(today, complete + dt.timedelta(days=rng.randint(0, 40)))
        updated = finished or min(today, submitted + dt.timedelta(days=rng.randint(0, (today - submitted).days)))
        person, style = _person(rng, i), rng.choice([0, 0, 0, 1, 2])
        mobile = person["mobile"]
        out.append({
            "app_id": f"A{i:06d}",
            "app_no": f"ทบ.{today.year + 543}/{i:05d}",
            "unit_code": unit,
            "svc_code": process,
            "manual_ref": manual,
            "recv_date": be_date(submitted, style),
            "docs_complete_date": be_date(complete, style) if rng.random() < 0.7 else None,
            "state": state,
            "finish_date": be_date(finished, style) if finished else None,
            "late_reason": rng.choice(DBD_REASONS) if state == "อยู่ระหว่างพิจารณา" and rng.random() < 0.6 else None,
            "waiting_since": (be_date(min(today, complete + dt.timedelta(days=i % 5)), style)
                              if state == "รอเอกสารเพิ่มเติมจากผู้ยื่นคำขอ" else None),
            "applicant": {
                "full_name": person["name"],
                "pid": person["pid"],
                "mobile": f"{mobile[:3]}-{mobile[3:6]}-{mobile[6:]}" if style != 2 else mobile.translate(THAI),
                "email": person["email"],
                "addr": person["address"],
            },
            "last_update": f"{updated.year + 543}-{updated.month:02d}-{updated.day:02d} "
                           f"{8 + i % 9:02d}:{i % 60:02d}:00",
        })
    # Deliberately broken records, as real exports have them.
    out[6]["app_no"] = None
    out[17]["recv_date"] = f"31/02/{today.year + 543}"
    out[29]["state"] = "ส่งเรื่องให้หน่วยงานอื่น"
    pid = out[41]["applicant"]["pid"]
    out[41]["applicant"]["pid"] = pid[:12] + str((int(pid[12]) + 1) % 10)
    out[53]["manual_ref"] = "MOC-DBD-999"
    out[65]["applicant"]["email"] = "somchai@@example"
    return out


def fda_records(today: dt.date, n: int = 60) -> list[dict[str, Any]]:
    rng = random.Random(f"fda-{today.isoformat()}")
    out = []
    for i in range(1, n + 1):
        manual, unit = rng.choice(FDA_MANUALS)
        submitted = today - dt.timedelta(days=rng.randint(10, 400))
        state = pick(rng, FDA_STATES)
        finished = (min(today, submitted + dt.timedelta(days=rng.randint(20, 300)))
                    if state in ("APPROVED", "DENIED", "CANCELLED") else None)
        person = _person(rng, 500 + i)
        modified = finished or today - dt.timedelta(days=rng.randint(0, 9))
        out.append({
            "id": 90000 + i,
            "referenceNumber": f"FDA-{today.year + 543}-{i:04d}",
            "unit": unit,
            "manualCode": manual,
            "submittedDate": f"{submitted.year + 543}-{submitted.month:02d}-{submitted.day:02d}",
            "status": state,
            "decisionDate": finished.isoformat() if finished else None,
            "delayNote": "รอผลการตรวจวิเคราะห์จากห้องปฏิบัติการ" if state == "REVIEW" and i % 3 else None,
            "holds": _fda_holds(state, submitted, today, i),
            "contact": {"name": person["name"], "citizenId": person["pid"], "phone": "+66" + person["mobile"][1:],
                        "email": person["email"]},
            "modifiedAt": f"{modified.isoformat()}T09:{i % 60:02d}:00+07:00",
        })
    out[11]["submittedDate"] = "ไม่ระบุ"
    out[23]["manualCode"] = "MOC-DBD-001"  # another department's manual
    return out


def _fda_holds(state: str, submitted: dt.date, today: dt.date, i: int) -> list[dict[str, Any]]:
    """Clock stops the FDA system records: an open one while waiting, a closed one on some reviews."""
    start = min(today, submitted + dt.timedelta(days=10 + i % 7))
    if state == "PENDING_APPLICANT":
        return [{"start": start.isoformat(), "end": None, "note": "รอผู้ยื่นคำขอส่งเอกสารเพิ่มเติม"}]
    if state == "REVIEW" and i % 4 == 0:
        return [{"start": start.isoformat(), "end": (start + dt.timedelta(days=4)).isoformat(),
                 "note": "รอผู้ยื่นคำขอชี้แจงสูตรส่วนประกอบ"}]
    return []


@dataclass
class BackOffice:
    """The running demo server; ``faults`` makes the next responses fail (for retry tests)."""

    today: dt.date
    host: str = "127.0.0.1"
    port: int = 0
    faults: list[int] = field(default_factory=list)
    requests_seen: int = 0
    tokens: set[str] = field(default_factory=set)
    tokens_issued: int = 0

    def revoke_tokens(self) -> None:
        """Make every issued token invalid, as a token server does when they expire."""
        self.tokens.clear()

    def __post_init__(self) -> None:
        self.dbd = sorted(dbd_records(self.today), key=lambda r: (r["last_update"], r["app_id"]))
        self.fda = sorted(fda_records(self.today), key=lambda r: (r["modifiedAt"], r["id"]))
        self._server = ThreadingHTTPServer((self.host, self.port), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> BackOffice:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def connection_env(self) -> dict[str, str]:
        """The Airflow Connections the two REST mappings name, pointing at this server."""
        dbd = {"conn_type": "http", "host": self.host, "port": self.port, "password": DBD_KEY}
        fda = {"conn_type": "http", "host": self.host, "port": self.port, "login": FDA_USER, "password": FDA_PASSWORD}
        return {"AIRFLOW_CONN_MOC_DBD_BACKOFFICE": json.dumps(dbd),
                "AIRFLOW_CONN_MOPH_FDA_ESUBMISSION": json.dumps(fda)}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        office = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep the demo's output readable
                pass

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                office.requests_seen += 1
                if office.faults:
                    status = office.faults.pop(0)
                    return self._send(status, {"error": "temporarily unavailable"}, {"Retry-After": "0"})
                url = urlparse(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                if url.path == "/health":
                    return self._send(200, {"status": "ok"})
                if url.path == "/dbd/api/v1/applications":
                    return self._dbd(query)
                if url.path == "/fda/e-submission/records":
                    return self._fda(query)
                if url.path == "/dbd/api/v2/applications":
                    return self._dbd_v2(query)
                return self._send(404, {"error": "not found"})

            def do_POST(self) -> None:  # the OAuth2 token endpoint (client credentials)
                office.requests_seen += 1
                body = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
                expected = base64.b64encode(f"{OAUTH_CLIENT}:{OAUTH_SECRET}".encode()).decode()
                if urlparse(self.path).path != "/oauth/token":
                    return self._send(404, {"error": "not found"})
                if body.get("grant_type") != ["client_credentials"]:
                    return self._send(400, {"error": "unsupported_grant_type"})
                if self.headers.get("Authorization") != f"Basic {expected}":
                    return self._send(401, {"error": "invalid_client"})
                office.tokens_issued += 1
                token = f"tok-{office.tokens_issued}"
                office.tokens.add(token)
                self._send(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})

            def _dbd_v2(self, query: dict[str, str]) -> None:
                """The same DBD data behind OAuth2, with opaque cursor tokens for pages."""
                auth = self.headers.get("Authorization", "")
                if not auth.startswith("Bearer ") or auth[7:] not in office.tokens:
                    return self._send(401, {"error": "invalid_token"})
                rows = [r for r in office.dbd if r["last_update"] > query.get("updated_since", "")]
                offset = int(base64.urlsafe_b64decode(query["cursor"]).decode()) if query.get("cursor") else 0
                size = 40
                more = offset + size < len(rows)
                nxt = base64.urlsafe_b64encode(str(offset + size).encode()).decode() if more else None
                self._send(200, {"results": rows[offset: offset + size], "meta": {"next_cursor": nxt}})

            def _dbd(self, query: dict[str, str]) -> None:
                if self.headers.get("X-API-Key") != DBD_KEY:
                    return self._send(401, {"error": "invalid API key"})
                rows = [r for r in office.dbd if r["last_update"] > query.get("updated_since", "")]
                page, size = int(query.get("page", 1)), min(int(query.get("per_page", 50)), 100)
                pages = max(1, -(-len(rows) // size))
                self._send(200, {"data": rows[(page - 1) * size: page * size],
                                 "meta": {"page": page, "per_page": size, "total": len(rows), "total_pages": pages}})

            def _fda(self, query: dict[str, str]) -> None:
                expected = base64.b64encode(f"{FDA_USER}:{FDA_PASSWORD}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {expected}":
                    return self._send(401, {"message": "Unauthorized"}, {"WWW-Authenticate": "Basic"})
                rows = [r for r in office.fda if r["modifiedAt"] > query.get("modifiedAfter", "")]
                offset, limit = int(query.get("offset", 0)), 25
                nxt = None
                if offset + limit < len(rows):
                    nxt = f"{office.url}/fda/e-submission/records?" + urlencode(
                        {**query, "offset": offset + limit})
                self._send(200, {"items": rows[offset: offset + limit], "links": {"next": nxt}})

        return Handler


def main() -> None:  # pragma: no cover - manual use: python -m demo.backoffice
    import argparse
    import time

    parser = argparse.ArgumentParser(description="Run the demo back offices")
    parser.add_argument("--port", type=int, default=8700)
    args = parser.parse_args()
    office = BackOffice(dt.date.today(), port=args.port).start()
    print(f"demo back offices on {office.url} (DBD key {DBD_KEY!r}; FDA login {FDA_USER!r})")
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
