"""Delivery reports from SMS gateways: ``POST /sms/reports/{provider}``.

``json``  body ``{"id": "<message id>", "status": "delivered" | "failed" | "expired", "error": "..."?}``
``form``  urlencoded ``MSGID=<Transaction>&STATUS=<SMPP receipt state>&ERRCODE=<network code>``
          (other fields, e.g. MSISDN, are ignored). States: DELIVRD → delivered, EXPIRED → expired,
          UNDELIV / REJECTD / DELETED → failed; ACCEPTD / ENROUTE / UNKNOWN are not final: 200, ignored.

The gateway proves itself with the shared token ``secret_for(provider)``, sent as
``Authorization: Bearer <token>`` or, for gateways that can only be given a URL, ``?token=<token>``.
Answers: 200 recorded/ignored; 401 bad or missing token, or a provider with no token or no
dialect here (the same answer, so names cannot be probed); 404 ``on_report`` does not know the
message id; 413 too large; 422 malformed; 503 ``secret_for`` or ``on_report`` failed (gateways
retry). Logs carry the provider, message id and status only: never the number or the error text.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

log = logging.getLogger(__name__)

STATUSES = ("delivered", "failed", "expired")
MAX_REPORT_BYTES = 64 * 1024
MAX_ID_LENGTH = 200  # outbox.provider_ref is VARCHAR(200)
FORM_STATES = {"DELIVRD": "delivered", "EXPIRED": "expired", "UNDELIV": "failed", "REJECTD": "failed",
               "DELETED": "failed"}
FORM_PENDING = frozenset({"ACCEPTD", "ENROUTE", "UNKNOWN"})


class Report(NamedTuple):
    message_id: str
    status: str | None  # None: not final yet
    detail: str | None


def _message_id(value: object) -> str:
    if not isinstance(value, str | int) or not str(value).strip():
        raise ValueError("the message id is missing")
    if len(str(value)) > MAX_ID_LENGTH:
        raise ValueError("the message id is too long")
    return str(value).strip()


def parse_json_report(body: bytes) -> Report:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ValueError("the body is not JSON") from exc
    if not isinstance(data, dict):
        raise ValueError("the body is not a JSON object")
    status = data.get("status")
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    error = data.get("error")
    return Report(_message_id(data.get("id")), status, str(error)[:200] if error not in (None, "") else None)


def parse_form_report(body: bytes) -> Report:
    try:
        fields = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True,
                                                 encoding="utf-8", errors="strict").items()}
    except UnicodeError as exc:
        raise ValueError("the body is not urlencoded UTF-8") from exc
    state = fields.get("STATUS", "").strip().upper()
    message_id = _message_id(fields.get("MSGID"))
    if state in FORM_PENDING:
        return Report(message_id, None, None)
    if state not in FORM_STATES:
        raise ValueError(f"STATUS must be one of {', '.join([*FORM_STATES, *sorted(FORM_PENDING)])}")
    err = fields.get("ERRCODE", "").strip()[:20]
    status = FORM_STATES[state]
    detail = None if status == "delivered" else f"{state} err {err}" if err else state
    return Report(message_id, status, detail)


PARSERS: dict[str, Callable[[bytes], Report]] = {"json": parse_json_report, "form": parse_form_report}


def _answer(status: int, result: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"result": result}, status_code=status, headers=headers)


def delivery_report_router(on_report: Callable[[str, str, str | None], bool],
                           secret_for: Callable[[str], str | None]) -> APIRouter:
    """``on_report(message_id, "delivered" | "failed" | "expired", detail)`` records a final state
    and returns False for an id it does not know; it may be called again for the same report
    (gateways retry), so it must be idempotent. Both callables may block: they run in a thread."""
    router = APIRouter()
    decoy = secrets.token_hex(32)  # compared against when there is no real token, so timing tells nothing

    @router.post("/sms/reports/{provider}")
    async def delivery_report(provider: str, request: Request) -> Response:
        declared = request.headers.get("Content-Length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > MAX_REPORT_BYTES:
            return _answer(413, "too_large")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_REPORT_BYTES:
                return _answer(413, "too_large")
            chunks.append(chunk)
        body = b"".join(chunks)

        secret = None
        if provider in PARSERS:
            try:
                secret = await run_in_threadpool(secret_for, provider) or None
            except Exception as exc:
                log.error("sms report: cannot read the %s token (%s)", provider, type(exc).__name__)
                return _answer(503, "credentials_unavailable", {"Retry-After": "30"})
        scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
        given = bearer.strip() if scheme.lower() == "bearer" else request.query_params.get("token", "")
        good = hmac.compare_digest(given.encode(), (secret or decoy).encode())
        if not (good and secret):
            log.warning("sms report: refused an unauthenticated report for %r", provider[:40])
            return _answer(401, "unauthorized", {"WWW-Authenticate": 'Bearer realm="delayhub sms reports"'})

        try:
            report = PARSERS[provider](body)
        except ValueError as exc:
            return JSONResponse({"result": "malformed", "problem": str(exc)}, status_code=422)
        if report.status is None:
            return _answer(200, "ignored")
        try:
            known = await run_in_threadpool(on_report, report.message_id, report.status, report.detail)
        except Exception as exc:
            log.error("sms report: %s %r not recorded (%s)", provider, report.message_id, type(exc).__name__)
            return _answer(503, "not_recorded", {"Retry-After": "30"})
        if not known:
            log.warning("sms report: %s %r: unknown message id", provider, report.message_id)
            return _answer(404, "unknown_message")
        log.info("sms report: %s %r: %s", provider, report.message_id, report.status)
        return _answer(200, "recorded")

    return router
