"""The one web application for people: FastAPI, pages rendered on the server, Thai first.

``create_app()`` serves alone (``uvicorn --factory delayhub.web.app:create_app``) or mounted
under a prefix (the Airflow plugin mounts it at ``/delayhub``). Airflow gives mounted apps no
authentication: this app signs people in itself (signed session cookies, argon2 passwords).
Importing it, or creating the app, opens neither the hub store nor the registry: the first
request does.
"""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..registry import Registry
from . import auth, desk, lateness, logsafe, queue_api, queue_counter, queue_pages, queue_report, survey, tracking
from .accounts import SESSION_LIFETIME
from .csrf import CsrfRefused
from .deps import SESSION_TOKEN, Forbidden, Hub, LoginRequired
from .secret import web_secret
from .survey_report import router as survey_report_router
from .templating import app_path, render, url

STATIC = Path(__file__).resolve().parent / "static"
SESSION_COOKIE = "delayhub_session"  # not "session": Airflow's own pages share the host
GC_TUNING_ENV = "DELAYHUB_WEB_GC_TUNING"
SECURE_COOKIES_ENV = "DELAYHUB_WEB_SECURE_COOKIES"  # "1" behind HTTPS: cookies only over TLS


class Sessions(SessionMiddleware):
    """Signed session cookies whose key is read when the first request builds the middleware,
    so creating the app (say, when Airflow imports the plugin) touches no file."""

    def __init__(self, app: ASGIApp, secret: str | None = None, **options: Any) -> None:
        super().__init__(app, secret_key=secret or web_secret(), **options)


class SecurityHeaders:
    """No framing, no sniffing, scripts and styles from this site only, nothing cached but assets."""

    CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
           "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = "/static/" in scope["path"]

        async def send_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", self.CSP)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "same-origin")
                if not static:  # pages and downloads hold agency figures: keep them out of shared caches
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_headers)


def calm_the_collector() -> None:
    """Once the process has loaded its code: what exists now (modules, templates, the ORM's mappings) is
    never garbage, so the collector stops walking it, and it runs less often. Each full collection
    otherwise walks every object and stalls the requests in flight: the tail of the page latencies
    (bench/web_pages.py: p95 at 20 clients 109 → 64 ms on the desk list, 96 → 2 ms on /health).
    ``DELAYHUB_WEB_GC_TUNING=0`` leaves the collector alone (the tests, which make many apps in one process)."""
    if os.environ.get(GC_TUNING_ENV, "1") == "0":
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


def create_app(store_url: str | None = None, *, registry: Registry | None = None,
               secret: str | None = None) -> FastAPI:
    """The web application on the hub store at ``store_url`` (default: DELAYHUB_DATABASE_URL)."""
    logsafe.install()  # access logs without query values or link tokens; authlib without its PKCE verifier
    hub = Hub(store_url, registry)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        calm_the_collector()
        yield
        hub.close()

    app = FastAPI(title="delayhub", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.hub = hub
    app.add_middleware(Sessions, secret=secret, session_cookie=SESSION_COOKIE,
                       max_age=int(SESSION_LIFETIME.total_seconds()), same_site="lax",
                       https_only=os.environ.get(SECURE_COOKIES_ENV, "") == "1")
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount(queue_api.API_PREFIX, queue_api.create_api(hub))  # public: the queue's JSON API; first, it is hot
    app.include_router(auth.router)
    app.include_router(lateness.router)
    app.include_router(queue_report.router)  # the agency queue report
    app.include_router(survey_report_router)  # the survey's agency report and the OPDC ranking
    app.include_router(desk.router)
    app.include_router(tracking.router)  # public: the citizen's tracking page
    app.include_router(queue_pages.router)  # public: booking a queue, the kiosk and its ticket
    app.include_router(queue_counter.router)  # the counters (signed in) and the hall display (public)
    app.include_router(survey.router)  # public: the feedback survey, by its single-use link

    @app.get("/", name="home")
    def home(request: Request) -> Response:
        signed_in = isinstance(request.session.get(SESSION_TOKEN), str)
        return RedirectResponse(url(request, "lateness" if signed_in else "login"), status_code=303)

    @app.get("/health", name="health")
    def health() -> Response:
        return JSONResponse({"status": "ok"})

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, _exc: Exception) -> Response:
        return RedirectResponse(url(request, "login", query={"next": app_path(request)}), status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, _exc: Exception) -> Response:
        return _error(request, 403, "forbidden_title", "forbidden_body")

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, _exc: Exception) -> Response:
        return _error(request, 403, "csrf_title", "csrf_body")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: Any) -> Response:
        if exc.status_code == 404:
            return _error(request, 404, "not_found_title", "not_found_body")
        return Response(str(exc.detail), status_code=exc.status_code, headers=getattr(exc, "headers", None))

    return app


def _error(request: Request, status: int, title: str, body: str) -> Response:
    return render(request, "error.html", {"title_key": title, "body_key": body}, status_code=status)


def serve(host: str = "127.0.0.1", port: int = 8000, root_path: str = "") -> None:
    """Run the app with uvicorn until interrupted (``delayhub serve``). ``root_path`` is the
    prefix a reverse proxy serves it under, when the proxy strips it."""
    import uvicorn

    web_secret()  # a missing or weak DELAYHUB_WEB_SECRET stops the start, not the first visitor
    uvicorn.run(create_app(), host=host, port=port, root_path=root_path, proxy_headers=True,
                log_level="info")
