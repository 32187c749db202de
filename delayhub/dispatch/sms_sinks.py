"""Local stand-ins for SMS gateways, one per dialect of ``sms_providers``: real HTTP servers on
127.0.0.1 that record what they receive, can be told to fail the next requests, and can send a
delivery report to a callback URL as the real gateway would.

    sink = FormGatewaySink().start()
    sink.fail_next = [503]            # HTTP status for the next request(s)
    sink.fail_next_status = [202]     # gateway status codes (form dialect) for the next request(s)
    sink.report(callback_url, message_id, "DELIVRD")

They check the requests on their own terms (not with ``sms_providers``' code), so a test against
them is a test of the wire format.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import requests

from ..pdpa import mask_phone


@dataclass(frozen=True)
class Received:
    id: str  # the message id the sink answered with
    fields: dict[str, Any]  # the JSON body or the form fields, decoded
    headers: dict[str, str]
    raw: bytes  # the body as it came over the wire


class _GatewaySink:
    path = "/sms"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, log_path: Path | None = None) -> None:
        self.received: list[Received] = []
        self.fail_next: list[int] = []  # HTTP status codes to answer the next requests with
        self.log_path = log_path
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.split("?")[0] != sink.path:
                    status, content_type, body = 404, "text/plain", b"not found"
                else:
                    with sink._lock:  # one request at a time: ids and failures stay in order
                        status, content_type, body = sink._answer(dict(self.headers.items()), raw)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://{host}:{self.port}{self.path}"
        # A short poll interval: stop() waits for it (the default 0.5 s adds up over a test run).
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, headers: dict[str, str], raw: bytes) -> tuple[int, str, bytes]:
        raise NotImplementedError

    def _keep(self, msg_id: str, fields: dict[str, Any], headers: dict[str, str], raw: bytes, to: str) -> None:
        self.received.append(Received(msg_id, fields, headers, raw))
        if self.log_path is not None:  # like delayhub.sinks.SmsSink: the number masked
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            entry = {"id": msg_id, "to": mask_phone(to), "message": fields.get("message")}
            with self.log_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def find(self, msg_id: str) -> Received | None:
        return next((r for r in self.received if r.id == msg_id), None)


class JsonGatewaySink(_GatewaySink):
    """The generic JSON gateway: 202 ``{"id": "sms-000001", "status": "accepted"}``; 401 when a
    ``token`` is set and the request's bearer token differs; 400/422 for a bad body."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, token: str | None = None,
                 log_path: Path | None = None) -> None:
        super().__init__(host, port, log_path)
        self.token = token

    def _answer(self, headers: dict[str, str], raw: bytes) -> tuple[int, str, bytes]:
        if self.fail_next:
            return self.fail_next.pop(0), "application/json", b'{"error": "told to fail"}'
        if self.token is not None and headers.get("Authorization") != f"Bearer {self.token}":
            return 401, "application/json", b'{"error": "unauthorized"}'
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            return 400, "application/json", b'{"error": "not JSON"}'
        if not isinstance(body, dict) or not body.get("to") or not body.get("message"):
            return 422, "application/json", b'{"error": "to and message are required"}'
        msg_id = f"sms-{len(self.received) + 1:06d}"
        self._keep(msg_id, body, headers, raw, str(body["to"]))
        return 202, "application/json", json.dumps({"id": msg_id, "status": "accepted"}).encode()

    def report(self, callback_url: str, message_id: str, status: str = "delivered", error: str | None = None,
               token: str | None = None) -> requests.Response:
        """POST a JSON delivery report, with ``Authorization: Bearer <token>`` when given."""
        body: dict[str, Any] = {"id": message_id, "status": status}
        if error is not None:
            body["error"] = error
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return requests.post(callback_url, json=body, headers=headers, timeout=10)


_MSISDN = re.compile(r"66[689]\d{8}")


class FormGatewaySink(_GatewaySink):
    """The Thai bulk-SMS form-post dialect (see ``sms_providers``): answers 200 with
    ``<SMS><Status>…</Status>…</SMS>``; checks the login, the msisdn form, the blacklist, the
    sender name and that ``coding=0`` is used only for plain ASCII text."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, username: str = "delayhub",
                 password: str = "demo-password", senders: tuple[str, ...] = ("DELAYHUB",),
                 blacklist: tuple[str, ...] = (), log_path: Path | None = None) -> None:
        super().__init__(host, port, log_path)
        self.username, self.password = username, password
        self.senders, self.blacklist = senders, set(blacklist)
        self.fail_next_status: list[int] = []  # gateway status codes for the next requests

    @staticmethod
    def _xml(status: int, detail: str, transaction: str = "") -> tuple[int, str, bytes]:
        txn = f"<Transaction>{escape(transaction)}</Transaction>" if transaction else ""
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<SMS><Status>{status}</Status>'
                f"<Detail>{escape(detail)}</Detail>{txn}</SMS>")
        return 200, "text/xml; charset=utf-8", body.encode()

    def _answer(self, headers: dict[str, str], raw: bytes) -> tuple[int, str, bytes]:
        if self.fail_next:
            return self.fail_next.pop(0), "text/plain", b"told to fail"
        if not headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return 415, "text/plain", b"form posts only"
        try:  # a urlencoded body is ASCII; its values are percent-encoded UTF-8
            parsed = parse_qs(raw.decode("ascii"), keep_blank_values=True, encoding="utf-8", errors="strict")
        except UnicodeError:
            return self._xml(104, "message is not UTF-8")
        fields = {k: v[0] for k, v in parsed.items()}
        if self.fail_next_status:
            return self._xml(self.fail_next_status.pop(0), "told to fail")
        msisdn, text, coding = fields.get("msisdn", ""), fields.get("message", ""), fields.get("coding")
        if (fields.get("username"), fields.get("password")) != (self.username, self.password):
            return self._xml(201, "login refused")
        if not _MSISDN.fullmatch(msisdn):
            return self._xml(101, "invalid msisdn")
        if msisdn in self.blacklist:
            return self._xml(102, "number blacklisted")
        if fields.get("sender") not in self.senders:
            return self._xml(103, "sender not approved")
        if not text or coding not in ("0", "8") or (coding == "0" and not text.isascii()):
            return self._xml(104, "message empty or badly coded")
        msg_id = f"TXN{len(self.received) + 1:09d}"
        self._keep(msg_id, fields, headers, raw, "0" + msisdn[2:])
        return self._xml(0, "OK", msg_id)

    def report(self, callback_url: str, message_id: str, status: str = "DELIVRD",
               errcode: str = "000") -> requests.Response:
        """POST a form delivery report, as gateways do with the token in the callback URL; it
        carries the recipient's MSISDN, as real reports do, so tests can check it is not logged."""
        kept = self.find(message_id)
        data = {"MSGID": message_id, "STATUS": status, "ERRCODE": errcode,
                "MSISDN": kept.fields.get("msisdn", "") if kept else ""}
        return requests.post(callback_url, data=data, timeout=10)
