"""The push intake: an agency's back office POSTs batches of its own records to the hub.

    POST /v1/<connector id>/batches     {"records": [ ...the agency's own records... ]}
    GET  /v1/health

Each agency authenticates itself (mounted in Airflow the app gets no Airflow auth), with the
password of the Airflow Connection its mapping names, either as ``Authorization: Bearer <key>``
or as an HMAC signature ``X-Delayhub-Signature: sha256=<hex>`` over ``<timestamp>.<raw body>``
with ``X-Delayhub-Timestamp`` (unix seconds, at most 300 s off). A key opens only its own
connector; an unknown connector gets the very same 401 as a wrong key, so ids cannot be probed.

Every record is checked with ``normalise`` straight away and the answer lists each problem by
index, so the agency fixes and re-sends; rejected records are not kept. Accepted records are
stored with the answer under the batch's ``Idempotency-Key`` before the answer is sent: a
retried batch gets the first answer back (``Idempotent-Replayed: true``) and stores nothing.
The connector's ingest DAG (connectors.push) then reads the inbox like any other source.

This module imports no Airflow: ``plugins/delayhub_plugin.py`` mounts it in the Airflow API
server with secrets from Connections; ``python -m delayhub.intake`` runs it alone with secrets
from ``AIRFLOW_CONN_<ID>`` environment variables.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import os
import secrets
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from . import config
from .connections import secrets_from_env
from .errors import ConfigError
from .mapping import Mapping, load_all, mapping_files
from .normalise import normalise
from .registry import Registry
from .store import HubStore

log = logging.getLogger(__name__)

MAX_BYTES = 5 * 1024 * 1024
MAX_RECORDS = 5000
MAX_SKEW_SECONDS = 300
MAX_KEY_LENGTH = 200  # push_batches.idempotency_key is VARCHAR(200)
SIGNATURE_HEADER = "X-Delayhub-Signature"
TIMESTAMP_HEADER = "X-Delayhub-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"


def sign(secret: str, timestamp: str | int, body: bytes) -> str:
    """The ``X-Delayhub-Signature`` value for a body sent at ``timestamp`` (unix seconds)."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def fingerprint(records: list[Any]) -> str:
    """What makes two batches "the same": their records, whatever the JSON spacing."""
    canonical = json.dumps(records, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def problem(status: int, code: str, th: str, en: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error for the agency's developers: a stable code, Thai first, then English."""
    return JSONResponse({"error": code, "message_th": th, "message_en": en}, status_code=status, headers=headers)


def _unauthorised() -> JSONResponse:
    # One body for an unknown connector, a wrong key, a bad signature and another agency's key.
    return problem(401, "unauthorized",
                   "ไม่ได้รับอนุญาต: ตรวจสอบรหัสตัวเชื่อมต่อ กุญแจ หรือลายมือชื่อ HMAC ของหน่วยงาน",
                   "Not authorised: check the connector id and the agency's key or HMAC signature",
                   {"WWW-Authenticate": 'Bearer realm="delayhub intake"'})


def _too_large(max_bytes: int, max_records: int) -> JSONResponse:
    return problem(413, "batch_too_large",
                   f"ชุดข้อมูลใหญ่เกินไป: ส่งได้ไม่เกิน {max_records:,} รายการ และไม่เกิน {max_bytes:,} ไบต์ต่อครั้ง "
                   "กรุณาแบ่งส่งหลายชุด",
                   f"Batch too large: at most {max_records:,} records and {max_bytes:,} bytes per request; "
                   "split it into several batches")


class _Mappings:
    """Push connectors by id: the given ones, or mappings/ re-read whenever a file there changes
    (a new agency needs no restart of the API server)."""

    def __init__(self, fixed: dict[str, Mapping] | None) -> None:
        self._fixed = None if fixed is None else {k: m for k, m in fixed.items() if _is_push(m)}
        self._stamp: tuple[Any, ...] | None = None
        self._table: dict[str, Mapping] = {}
        self._lock = threading.Lock()

    def get(self, connector_id: str) -> Mapping | None:
        if self._fixed is not None:
            return self._fixed.get(connector_id)
        stamp = _stamp()
        with self._lock:
            if stamp != self._stamp:
                good, bad = load_all()
                for error in bad:
                    log.error("push intake: mapping skipped: %s", error)
                self._table = {m.id: m for m in good if _is_push(m)}
                self._stamp = stamp
            return self._table.get(connector_id)


def _is_push(mapping: Mapping) -> bool:
    return mapping.source.get("type") == "push"


def _stamp() -> tuple[Any, ...]:
    out = []
    for path in mapping_files():
        try:
            st = path.stat()
        except OSError:  # removed while listing: the next call sees the folder as it is
            continue
        out.append((path.name, st.st_mtime_ns, st.st_size))
    return tuple(out)


class _Once:
    """A value made on first use (store, registry), so creating the app does no I/O."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make, self._value, self._lock = make, None, threading.Lock()

    def __call__(self) -> Any:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._make()
        return self._value

    @property
    def made(self) -> Any:
        return self._value


def create_app(store_factory: Callable[[], HubStore], secret_for: Callable[[str], str | None],
               mappings: dict[str, Mapping] | None = None, registry: Registry | None = None, *,
               max_bytes: int = MAX_BYTES, max_records: int = MAX_RECORDS,
               max_skew_seconds: int = MAX_SKEW_SECONDS) -> FastAPI:
    """The intake app. ``secret_for(connection_id)`` gives an agency's key (None when the
    Connection is missing); ``mappings`` None means the push mappings in mappings/. The store
    and the registry are opened on first use and the store is closed when the app stops."""
    store = _Once(store_factory)
    get_registry = _Once(lambda: registry or Registry.load())
    table = _Mappings(mappings)
    decoy = secrets.token_hex(32)  # compared against when there is no real key, so timing tells nothing

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if store.made is not None:
            store.made.close()

    app = FastAPI(title="delayhub intake", version="1",
                  description="Agencies push their own records; each is checked against the agency's mapping.",
                  lifespan=lifespan)

    def authenticate(mapping: Mapping | None, request: Request, body: bytes) -> JSONResponse | None:
        secret = None
        if mapping is not None:
            conn_id = mapping.source["connection_id"]
            try:
                secret = secret_for(conn_id) or None
            except Exception as exc:
                log.error("push intake: cannot read connection %r (%s)", conn_id, type(exc).__name__)
                return problem(503, "credentials_unavailable",
                               "ขณะนี้ศูนย์ตรวจสอบสิทธิ์ไม่ได้ กรุณาส่งใหม่ภายหลังด้วย Idempotency-Key เดิม",
                               "The hub cannot check credentials right now; retry later with the same "
                               "Idempotency-Key", {"Retry-After": "30"})
            if secret is None:
                log.warning("push intake: connector %r refused every push: connection %r has no key",
                            mapping.id, conn_id)
        known = secret is not None
        secret = secret or decoy
        signature = request.headers.get(SIGNATURE_HEADER)
        if signature is not None:
            stamp = request.headers.get(TIMESTAMP_HEADER, "").strip()
            good = hmac.compare_digest(signature.strip().lower().encode(), sign(secret, stamp, body).encode())
            if not (good and known):
                return _unauthorised()
            # Only a caller who holds the key learns that its clock is off.
            if not (stamp.isascii() and stamp.isdigit()) or abs(time.time() - int(stamp)) > max_skew_seconds:
                return problem(401, "stale_timestamp",
                               f"หัว {TIMESTAMP_HEADER} ไม่มี ไม่ใช่เวลาแบบ unix (วินาที) หรือต่างจากเวลาของศูนย์เกิน "
                               f"{max_skew_seconds} วินาที ตรวจสอบนาฬิกาของระบบแล้วลงลายมือชื่อใหม่",
                               f"{TIMESTAMP_HEADER} is missing, not unix seconds, or more than {max_skew_seconds} s "
                               "away from the hub's clock; check the system clock and sign again")
            return None
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        good = scheme.lower() == "bearer" and hmac.compare_digest(key.strip().encode(), secret.encode())
        return None if good and known else _unauthorised()

    def accept(mapping: Mapping, idempotency_key: str, records: list[Any]) -> tuple[dict[str, Any], bool]:
        now, reg = config.now(), get_registry()
        accepted: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        rejected = 0
        for index, raw in enumerate(records):
            if not isinstance(raw, dict):
                errors.append({"index": index, "record_id": None, "field": "(record)",
                               "reason": "is not a JSON object"})
                rejected += 1
                continue
            outcome = normalise(raw, mapping, reg, now)
            if outcome.problems:
                errors.extend({"index": index, "record_id": outcome.record_id, "field": p.field, "reason": p.reason}
                              for p in outcome.problems)
                rejected += 1
            else:
                accepted.append(raw)
        answer = {"batch": uuid.uuid4().hex, "accepted": len(accepted), "rejected": rejected, "errors": errors}
        kept = {**answer, "fingerprint": fingerprint(records)}
        return store().accept_push(mapping.id, idempotency_key, accepted, kept)

    @app.post("/v1/{connector_id}/batches")
    async def push_batch(connector_id: str, request: Request) -> Response:
        declared = request.headers.get("Content-Length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
            return _too_large(max_bytes, max_records)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                return _too_large(max_bytes, max_records)
            chunks.append(chunk)
        body = b"".join(chunks)

        mapping = await run_in_threadpool(table.get, connector_id)
        refused = await run_in_threadpool(authenticate, mapping, request, body)
        if refused is not None:
            return refused
        assert mapping is not None

        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if not key:
            return problem(400, "idempotency_key_required",
                           f"ต้องส่งหัว {IDEMPOTENCY_HEADER} ที่ไม่ซ้ำกันต่อชุดข้อมูล (เช่น UUID) "
                           "และใช้ค่าเดิมเมื่อส่งชุดเดิมซ้ำ",
                           f"The {IDEMPOTENCY_HEADER} header is required: one unique value (a UUID, say) per batch, "
                           "the same value when re-sending that batch")
        if len(key) > MAX_KEY_LENGTH:
            return problem(400, "idempotency_key_too_long",
                           f"{IDEMPOTENCY_HEADER} ยาวได้ไม่เกิน {MAX_KEY_LENGTH} ตัวอักษร",
                           f"{IDEMPOTENCY_HEADER} may be at most {MAX_KEY_LENGTH} characters")
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than any record is
            payload = None
        records = payload.get("records") if isinstance(payload, dict) else None
        if not isinstance(records, list):
            return problem(400, "records_required",
                           'เนื้อหาต้องเป็น JSON รูปแบบ {"records": [ ... ]} (UTF-8)',
                           'The body must be JSON of the form {"records": [ ... ]} (UTF-8)')
        if len(records) > max_records:
            return _too_large(max_bytes, max_records)

        try:
            answer, replayed = await run_in_threadpool(accept, mapping, key, records)
        except Exception as exc:
            # The exception text may carry the records' values (SQL parameters): log only its kind.
            log.error("push intake: %s: batch not stored (%s)", mapping.id, type(exc).__name__)
            return problem(503, "store_unavailable",
                           "ศูนย์ยังบันทึกชุดข้อมูลนี้ไม่ได้ ไม่มีรายการใดถูกบันทึก "
                           "กรุณาส่งใหม่ภายหลังด้วย Idempotency-Key เดิม",
                           "The hub could not store this batch and kept none of it; retry later with the same "
                           "Idempotency-Key", {"Retry-After": "30"})
        answer = dict(answer)
        if answer.pop("fingerprint", None) != fingerprint(records):
            # accept_push stores nothing when the key is taken, so a different batch is lost unless we say so.
            return problem(409, "idempotency_key_reused",
                           f"{IDEMPOTENCY_HEADER} นี้ใช้กับชุดข้อมูลอื่นไปแล้ว ชุดนี้ไม่ถูกบันทึก "
                           "กรุณาใช้ค่าใหม่สำหรับชุดข้อมูลใหม่",
                           f"This {IDEMPOTENCY_HEADER} was already used for a different batch; this one was not "
                           "stored. Use a new key for a new batch")
        log.info("push intake: %s batch %s: accepted %d, rejected %d%s", mapping.id, answer["batch"],
                 answer["accepted"], answer["rejected"], " (replayed)" if replayed else "")
        return JSONResponse(answer, headers={REPLAYED_HEADER: "true" if replayed else "false"})

    @app.get("/v1/health")
    async def health() -> Response:
        def ping() -> None:
            with store().engine.connect() as conn:
                conn.execute(text("SELECT 1"))

        try:
            await run_in_threadpool(ping)
        except Exception as exc:
            log.error("push intake: hub store unavailable (%s)", type(exc).__name__)
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    return app


def secret_from_env(conn_id: str) -> str | None:
    """An agency's key from ``AIRFLOW_CONN_<ID>`` (its password); None when it is not set."""
    try:
        return secrets_from_env(conn_id).password
    except ConfigError:
        return None


class IntakeServer:
    """The app served by uvicorn in a background thread (the demo peer and the tests)."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app, self.host, self.port = app, host, port
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> IntakeServer:
        import uvicorn

        # Bind first, so the port is known (and free) before the thread starts serving.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self._socket, self.port = sock, sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", access_log=False,
                                                     lifespan="on"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True,
                                        name=f"intake-{self.port}")
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the intake server on {self.url} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - manual use
    import uvicorn

    parser = argparse.ArgumentParser(description="Run the delayhub push intake on its own "
                                                 "(agency keys from AIRFLOW_CONN_<ID> environment variables)")
    parser.add_argument("--host", default=os.environ.get("DELAYHUB_INTAKE_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(HubStore.open, secret_from_env), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
