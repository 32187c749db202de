"""Access logs keep the path for operators but never a tracking link's request number and code, nor a
link's token: the app under a real uvicorn process (as ``delayhub serve`` and deployments run it), and
mounted in Airflow's API server behind Airflow's own access-log middleware. The OpenID Connect side
(authlib's PKCE verifier) is in test_oidc.py."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
import requests
from test_tracking import SOMCHAI, standard_request

from delayhub.store import HubStore
from delayhub.tracking import display_code
from delayhub.web.logsafe import redact_target

ROOT = Path(__file__).resolve().parents[1]
SECRET = "logsafe-test-secret-" + "q" * 40


@pytest.mark.parametrize(("target", "logged"), [
    ("/track?no=%E0%B8%97%E0%B8%9A.2569/00001&code=ABCD-EFGH", "/track?no=***&code=***"),
    ("/delayhub/track?no=1&code=2&lang=en", "/delayhub/track?no=***&code=***&lang=***"),
    ("/track/view/eyJubyI6MX0.Zk3Q?lang=en", "/track/view/***?lang=***"),
    ("/track/letters/abc.def/x", "/track/letters/***/x"),
    ("/queue/b/Tok3n_-x/cancel", "/queue/b/***/cancel"),
    ("/queue/ticket/Tok3n.pdf", "/queue/ticket/***"),
    ("/queue/kiosk/MOC-DBD/ticket/Tok3n", "/queue/kiosk/MOC-DBD/ticket/***"),
    ("/login/oidc/callback?code=abc&state=xyz", "/login/oidc/callback?code=***&state=***"),
    ("/desk?status=in_progress&flag", "/desk?status=***&flag"),
    ("/desk/requests/%E0%B8%97%E0%B8%9A.2569/00001", "/desk/requests/%E0%B8%97%E0%B8%9A.2569/00001"),
    ("/health", "/health"),
], ids=["qr-link", "mounted", "view-token", "letter-token", "booking", "ticket", "kiosk-ticket", "oidc-callback",
        "desk-filter", "officer-path", "plain"])
def test_what_an_access_log_line_keeps(target: str, logged: str) -> None:
    assert redact_target(target) == logged


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_uvicorns_access_log_keeps_the_path_but_not_the_number_its_code_or_the_token(
        store: HubStore, store_url: str, tmp_path: Path) -> None:
    store.upsert_requests([standard_request(SOMCHAI)])
    port, log = free_port(), tmp_path / "uvicorn.log"
    env = {**os.environ, "DELAYHUB_DATABASE_URL": store_url, "DELAYHUB_WEB_SECRET": SECRET,
           "DELAYHUB_ROOT": str(ROOT), "DELAYHUB_VAR": str(tmp_path / "var")}
    with log.open("wb") as out:  # uvicorn as deployed: its own logging set-up, the access log on
        server = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "delayhub.web.app:create_app",
                                   "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=ROOT, stdout=out,
                                  stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(400):
            try:
                if requests.get(f"{base}/health", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.05)
        # the QR code on a letter: the look-up matches and leads to the request's page under a signed token
        page = requests.get(f"{base}/track", params={"no": SOMCHAI.request_no, "code": display_code(SOMCHAI.code)},
                            timeout=30)
        assert page.status_code == 200 and "/track/view/" in page.url and SOMCHAI.request_no in page.text
        token = page.url.split("/track/view/", 1)[1].split("?", 1)[0]
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    text = log.read_text(encoding="utf-8")
    assert re.search(r'"GET /track\?no=\*\*\*&code=\*\*\* HTTP/1\.1" 303', text), text
    assert re.search(r'"GET /track/view/\*\*\*(\?lang=\*\*\*)? HTTP/1\.1" 200', text), text
    assert '"GET /health HTTP/1.1" 200' in text  # the rest of the log is as before
    for secret in (SOMCHAI.request_no, quote(SOMCHAI.request_no), quote(SOMCHAI.request_no, safe=""),
                   "00001", SOMCHAI.code, display_code(SOMCHAI.code), token):
        assert secret not in text, secret


@pytest.mark.airflow
def test_airflows_access_log_of_the_mounted_app_has_no_number_or_code(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The Airflow API server logs each request itself (structlog, from the ASGI scope, after the app
    answered); the plugin's app takes the secrets out of the scope first."""
    structlog = pytest.importorskip("structlog")
    from airflow.api_fastapi.common.http_access_log import HttpAccessLogMiddleware
    from fastapi import FastAPI
    from starlette.testclient import TestClient

    monkeypatch.setenv("DELAYHUB_WEB_SECRET", SECRET)
    monkeypatch.syspath_prepend(str(ROOT / "plugins"))
    import delayhub_plugin

    server = FastAPI()  # as airflow.api_fastapi.app.create_app builds it: plugins mounted, access log outermost
    server.mount("/delayhub", delayhub_plugin.web_app)
    server.add_middleware(HttpAccessLogMiddleware)
    code = display_code(SOMCHAI.code)
    with structlog.testing.capture_logs() as events, TestClient(server) as client:
        page = client.get("/delayhub/track", params={"no": SOMCHAI.request_no, "code": code})
        booking = client.get("/delayhub/queue/b/SomeBookingToken123")  # a booking's own link
    assert page.status_code == 404 and "ไม่พบ" in page.text  # not in this store: answered, and logged
    assert booking.status_code < 500
    # Airflow encodes the query again: ``***`` shows as %2A%2A%2A
    lines = [(e["path"], unquote(e["query"]), e["status_code"]) for e in events if e.get("event") == "request finished"]
    assert lines[0] == ("/delayhub/track", "no=***&code=***", 404)
    assert lines[1][:2] == ("/delayhub/queue/b/***", "")
    for secret in (SOMCHAI.request_no, code, "SomeBookingToken123"):
        assert secret not in str(events), secret
