# ruff: noqa: N802, N803, N815  (spyne names the XML elements after the Python names: the office's camelCase)
"""กรมโยธาธิการและผังเมือง (DPT): the building-permit back office, a SOAP 1.1 service (spyne).

``POST /dpt/bcd/PermitService`` with the WSDL at ``/dpt/bcd/PermitService?wsdl``. One operation,
``GetPermitApplications(changedSince, pageNo, pageSize)``, answers a ``PermitPage`` (``totalPages``,
``hasMore`` and a ``records`` array of ``PermitApplication``) in ``lastModified`` order, with only the records
changed after ``changedSince`` when it is given. Field values are Thai, dates Buddhist-Era in mixed
forms (``24/11/2569``, ``2569-11-24``, Thai digits), ``lastModified`` a BE timestamp
(``2569-11-24T10:15:00``) that sorts as text. Plan corrections (the clock stops while the
applicant redraws the plans) are a nested array.

Every call must carry a WS-Security UsernameToken (PasswordText or PasswordDigest): a WSGI
middleware checks it before spyne sees the request and answers a SOAP fault
``wsse:FailedAuthentication`` (HTTP 500) otherwise. The WSDL itself is public.

The data comes from a fixed seed relative to ``today``; three records are broken on purpose.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import json
import random
import threading
import warnings
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from xml.sax.saxutils import escape

from lxml import etree

from .fakes import be_date, national_id, pick

with warnings.catch_warnings():
    # spyne 2.14's WSGI server imports the stdlib `cgi` module, deprecated on 3.11: harmless here.
    warnings.simplefilter("ignore", DeprecationWarning)
    from spyne import Application, Boolean, ComplexModel, Fault, Integer, ServiceBase, Unicode, rpc
    from spyne.model.complex import Array
    from spyne.protocol.soap import Soap11
    from spyne.server.wsgi import WsgiApplication

NS = "urn:th:go:dpt:bcd:permit:v1"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PATH = "/dpt/bcd/PermitService"
CONNECTION_ID = "moi_dpt_permits"
DPT_USER, DPT_PASSWORD = "delayhub", "demo-dpt-password"
RECORDS = 80
MAX_PAGE_SIZE = 100

FIRST = ["สมชาย", "สมหญิง", "วิไลวรรณ", "ประเสริฐ", "กนกพร", "ธนากร", "ศิริพร", "อนุชา", "พรทิพย์", "ณัฐวุฒิ",
         "จิราพร", "สุรเชษฐ์", "ปิยะนุช", "วรวุฒิ", "อรอุมา"]
LAST = ["ใจดี", "รักไทย", "ศรีสุข", "บุญมา", "แก้วประเสริฐ", "ทองคำ", "วงศ์สวัสดิ์", "มั่นคง", "สุขสันต์", "พึ่งบุญ"]
TITLES = ["นาย", "นาง", "นางสาว"]
PROVINCES = ["นนทบุรี", "ปทุมธานี", "สมุทรปราการ", "นครปฐม", "ชลบุรี", "พระนครศรีอยุธยา"]
BUILDINGS = ["อาคารพักอาศัย ค.ส.ล. 2 ชั้น", "อาคารพาณิชย์ ค.ส.ล. 4 ชั้น", "ทาวน์เฮาส์ 3 ชั้น จำนวน 12 คูหา",
             "โกดังเก็บสินค้าโครงสร้างเหล็ก ชั้นเดียว", "อาคารสำนักงาน ค.ส.ล. 5 ชั้น", "หอพัก ค.ส.ล. 4 ชั้น"]
# The office's own status words, weighted as they occur.
STATUSES = [("รับเรื่องแล้ว", 10), ("อยู่ระหว่างตรวจพิจารณาแบบแปลน", 40), ("รอผู้ขอแก้ไขแบบแปลน", 10),
            ("ออกใบอนุญาต (อ.1) แล้ว", 28), ("ไม่อนุญาต", 7), ("ผู้ขอถอนคำขอ", 5)]
DECIDED = ("ออกใบอนุญาต (อ.1) แล้ว", "ไม่อนุญาต", "ผู้ขอถอนคำขอ")
DELAY_REASONS = ["อยู่ระหว่างตรวจสอบรายการคำนวณโครงสร้างโดยวิศวกรโยธา",
                 "รอความเห็นเรื่องระยะร่นอาคารจากสำนักงานโยธาธิการและผังเมืองจังหวัด",
                 "ต้องตรวจสอบที่ตั้งอาคารกับผังเมืองรวมที่ประกาศใช้ใหม่"]
CORRECTIONS = ["แก้ไขแบบแปลนระบบบำบัดน้ำเสียให้เป็นไปตามกฎกระทรวง", "เพิ่มรายการคำนวณโครงสร้างฐานราก",
               "แก้ไขระยะร่นด้านติดถนนสาธารณะ"]


class Correction(ComplexModel):
    """A request to redraw the plans: the clock stops until the applicant returns them."""

    __namespace__ = NS
    requestedDate = Unicode
    returnedDate = Unicode
    note = Unicode


class Applicant(ComplexModel):
    __namespace__ = NS
    fullName = Unicode
    citizenId = Unicode
    mobileNo = Unicode
    email = Unicode
    address = Unicode


class PermitApplication(ComplexModel):
    __namespace__ = NS
    applicationId = Unicode
    applicationNo = Unicode
    formType = Unicode
    buildingKind = Unicode
    siteProvince = Unicode
    receivedDate = Unicode
    docsCompleteDate = Unicode
    statusText = Unicode
    decisionDate = Unicode
    delayReason = Unicode
    corrections = Array(Correction)
    applicant = Applicant
    lastModified = Unicode


class PermitPage(ComplexModel):
    __namespace__ = NS
    pageNo = Integer
    pageSize = Integer
    totalRecords = Integer
    totalPages = Integer
    hasMore = Boolean
    records = Array(PermitApplication)


class PermitService(ServiceBase):
    @rpc(Unicode, Integer, Integer, _returns=PermitPage)
    def GetPermitApplications(ctx, changedSince: str | None, pageNo: int | None,  # noqa: N805 - spyne passes ctx
                              pageSize: int | None) -> PermitPage:
        office: SoapBackOffice = ctx.transport.req_env["dpt.office"]
        if pageNo is not None and pageNo < 1:
            raise Fault("Client.InvalidPageNo", "pageNo ต้องเริ่มที่ 1 (pageNo must start at 1)")
        return office.page(changedSince, pageNo or 1, pageSize or 50)


def permit_records(today: dt.date, n: int = RECORDS) -> list[dict[str, Any]]:
    """The office's records as plain dicts, in its own field names and forms."""
    rng = random.Random(f"dpt-{today.isoformat()}")
    out = []
    for i in range(1, n + 1):
        submitted = today - dt.timedelta(days=rng.randint(1, 150))
        complete = submitted + dt.timedelta(days=rng.choice([0, 0, 0, 3, 7]))
        status = pick(rng, STATUSES)
        style = rng.choice([0, 0, 0, 1, 2])
        decided = min(today, complete + dt.timedelta(days=rng.randint(10, 70))) if status in DECIDED else None
        corrections = []
        if status == "รอผู้ขอแก้ไขแบบแปลน" or (status == "อยู่ระหว่างตรวจพิจารณาแบบแปลน" and i % 4 == 0):
            asked = min(today, complete + dt.timedelta(days=7 + i % 10))
            back = None if status == "รอผู้ขอแก้ไขแบบแปลน" else min(today, asked + dt.timedelta(days=5))
            corrections.append({"requestedDate": be_date(asked, style),
                                "returnedDate": be_date(back, style) if back else None,
                                "note": rng.choice(CORRECTIONS)})
        changed = decided or min(today, submitted + dt.timedelta(days=rng.randint(0, (today - submitted).days)))
        mobile = f"0{rng.choice([6, 8, 9])}{rng.randint(0, 9)}{rng.randint(1000000, 9999999)}"
        pid = national_id(rng)
        out.append({
            "applicationId": f"BCD{today.year + 543}{i:05d}",
            "applicationNo": f"ข.1-{i:04d}/{today.year + 543}",
            "formType": "ข.1",
            "buildingKind": rng.choice(BUILDINGS),
            "siteProvince": rng.choice(PROVINCES),
            "receivedDate": be_date(submitted, style),
            "docsCompleteDate": be_date(complete, style) if rng.random() < 0.75 else None,
            "statusText": status,
            "decisionDate": be_date(decided, style) if decided else None,
            "delayReason": (rng.choice(DELAY_REASONS)
                            if status == "อยู่ระหว่างตรวจพิจารณาแบบแปลน" and rng.random() < 0.5 else None),
            "corrections": corrections or None,
            "applicant": {
                "fullName": f"{rng.choice(TITLES)}{rng.choice(FIRST)} {rng.choice(LAST)}",
                # The office prints IDs with dashes, as on the card: 1-2345-67890-12-3.
                "citizenId": f"{pid[0]}-{pid[1:5]}-{pid[5:10]}-{pid[10:12]}-{pid[12]}" if i % 3 else pid,
                "mobileNo": f"{mobile[:3]}-{mobile[3:6]}-{mobile[6:]}",
                "email": f"owner{i:03d}@example.co.th" if rng.random() < 0.6 else None,
                "address": f"{rng.randint(1, 999)}/{rng.randint(1, 99)} หมู่ {rng.randint(1, 12)} "
                           f"จังหวัด{rng.choice(PROVINCES)} {rng.randint(10, 96)}{rng.randint(100, 999)}",
            },
            "lastModified": f"{changed.year + 543}-{changed.month:02d}-{changed.day:02d}"
                            f"T{8 + i % 9:02d}:{(i * 7) % 60:02d}:{i % 60:02d}",
        })
    # Deliberately broken records, as real back offices have them.
    out[9]["receivedDate"] = f"31/04/{today.year + 543}"  # April has 30 days
    out[33]["statusText"] = "ส่งเรื่องให้คณะกรรมการควบคุมอาคารพิจารณา"  # a status word the mapping does not know
    pid = out[57]["applicant"]["citizenId"].replace("-", "")
    out[57]["applicant"]["citizenId"] = pid[:12] + str((int(pid[12]) + 1) % 10)  # a mistyped check digit
    return out


def _to_model(record: dict[str, Any]) -> PermitApplication:
    fields = dict(record)
    fields["applicant"] = Applicant(**record["applicant"])
    fields["corrections"] = [Correction(**c) for c in record["corrections"] or []] or None
    return PermitApplication(**fields)


def _fault(code: str, text: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?>'
            f'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsse="{WSSE}">'
            f"<soap:Body><soap:Fault><faultcode>{code}</faultcode><faultstring>{escape(text)}</faultstring>"
            f"</soap:Fault></soap:Body></soap:Envelope>").encode()


def _token_ok(body: bytes, user: str, password: str) -> tuple[bool, str]:
    """Check the WS-Security UsernameToken; (ok, fault code) — the reason stays on the server."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError:
        return False, "soap:Client"
    token = root.find(f"{{http://schemas.xmlsoap.org/soap/envelope/}}Header/{{{WSSE}}}Security/"
                      f"{{{WSSE}}}UsernameToken")
    if token is None:
        return False, "wsse:InvalidSecurity"
    name = token.findtext(f"{{{WSSE}}}Username") or ""
    given = token.find(f"{{{WSSE}}}Password")
    if given is None or not hmac.compare_digest(name, user):
        return False, "wsse:FailedAuthentication"
    if (given.get("Type") or "").endswith("#PasswordDigest"):
        nonce = base64.b64decode(token.findtext(f"{{{WSSE}}}Nonce") or "")
        created = token.findtext(f"{{{WSU}}}Created") or ""
        expected = base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest()).decode()
        ok = hmac.compare_digest(given.text or "", expected)
    else:
        ok = hmac.compare_digest(given.text or "", password)
    return ok, "" if ok else "wsse:FailedAuthentication"


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:  # keep the demo's output readable
        pass


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class SoapBackOffice:
    """The running demo SOAP server. ``calls`` counts operation calls that reached spyne."""

    def __init__(self, today: dt.date, host: str = "127.0.0.1", port: int = 0,
                 user: str = DPT_USER, password: str = DPT_PASSWORD, records: int = RECORDS) -> None:
        self.today, self.host = today, host
        self.user, self.password = user, password
        self.records = sorted(permit_records(today, records), key=lambda r: (r["lastModified"], r["applicationId"]))
        self.calls = 0
        self.auth_failures = 0
        spyne_app = Application([PermitService], tns=NS, name="DptPermitService",
                                in_protocol=Soap11(validator="lxml"), out_protocol=Soap11())
        self._wsgi = WsgiApplication(spyne_app)
        self._server = make_server(host, port, self._app, server_class=_ThreadingWSGIServer, handler_class=_Quiet)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def wsdl_url(self) -> str:
        return f"{self.url}{PATH}?wsdl"

    def start(self) -> SoapBackOffice:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def connection_env(self) -> dict[str, str]:
        """The Airflow Connection the mapping ``moi-dpt-permits`` needs while this server runs."""
        conn = {"conn_type": "http", "host": self.host, "port": self.port, "login": self.user,
                "password": self.password}
        return {f"AIRFLOW_CONN_{CONNECTION_ID.upper()}": json.dumps(conn)}

    def page(self, changed_since: str | None, page_no: int, page_size: int) -> PermitPage:
        rows = [r for r in self.records if r["lastModified"] > (changed_since or "")]
        size = max(1, min(page_size, MAX_PAGE_SIZE))
        pages = max(1, -(-len(rows) // size))
        chunk = rows[(page_no - 1) * size: page_no * size]
        return PermitPage(pageNo=page_no, pageSize=size, totalRecords=len(rows), totalPages=pages,
                          hasMore=page_no < pages, records=[_to_model(r) for r in chunk])

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        environ["dpt.office"] = self
        if environ["REQUEST_METHOD"] == "POST":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            ok, code = _token_ok(body, self.user, self.password)
            if not ok:
                self.auth_failures += 1
                text = ("The security token could not be authenticated or authorized"
                        if code == "wsse:FailedAuthentication" else "A WS-Security UsernameToken is required")
                data = _fault(code, text)
                start_response("500 Internal Server Error", [("Content-Type", "text/xml; charset=utf-8"),
                                                             ("Content-Length", str(len(data)))])
                return [data]
            self.calls += 1
            environ["wsgi.input"] = io.BytesIO(body)
        return self._wsgi(environ, start_response)


def main() -> None:  # pragma: no cover - manual use: python -m demo.soap_backoffice
    import argparse
    import time

    parser = argparse.ArgumentParser(description="Run the demo DPT building-permit SOAP back office")
    parser.add_argument("--port", type=int, default=8710)
    args = parser.parse_args()
    office = SoapBackOffice(dt.date.today(), port=args.port).start()
    print(f"DPT permit SOAP service: {office.wsdl_url} (UsernameToken {DPT_USER!r})")
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
