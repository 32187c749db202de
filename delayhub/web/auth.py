"""Signing in and out (with a password, or with an OpenID Connect provider when one is configured:
web/oidc.py), and changing one's password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from . import accounts, oidc
from .accounts import LOCKOUT, MIN_PASSWORD_LENGTH, Role, WebUser
from .csrf import new_token, verify_csrf
from .deps import SESSION_TOKEN, CurrentUser, StoreDep, require
from .i18n import translator
from .templating import lang_of, render, url

router = APIRouter()
Csrf = Depends(verify_csrf)
AnyRole = Annotated[WebUser, Depends(require(*Role))]


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path inside this app, never another site."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def start_session(request: Request, token: str, next: str) -> Response:
    """Put a freshly opened session in the signed cookie and go on to ``next``: every way of
    signing in ends here."""
    request.session.clear()  # nothing from before signing in carries over
    request.session[SESSION_TOKEN] = token
    new_token(request)
    root = request.scope.get("root_path", "")
    return RedirectResponse(root + safe_next(next), status_code=303)


@router.get("/login", name="login")
def login_page(request: Request, next: str = "/", out: int = 0) -> Response:
    return render(request, "login.html", {"next": safe_next(next), "logged_out": bool(out), "username": "",
                                          "oidc": oidc.settings() is not None})


@router.post("/login", name="login_submit", dependencies=[Csrf])
def login_submit(request: Request, store: StoreDep, username: Annotated[str, Form()] = "",
                 password: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/") -> Response:
    t = translator(lang_of(request))
    errors = []
    if not username.strip():
        errors.append(("username", t("username_required")))
    if not password:
        errors.append(("password", t("password_required")))
    if not errors:
        outcome = accounts.login(store, username, password)
        if outcome.user is not None:
            return start_session(request, outcome.token, next)
        message = t("login_locked", minutes=int(LOCKOUT.total_seconds() // 60)) if outcome.locked \
            else t("login_failed")
        errors.append(("username", message))
    return render(request, "login.html", {"next": safe_next(next), "username": username.strip(), "errors": errors,
                                          "oidc": oidc.settings() is not None}, status_code=400)


def _oidc_settings() -> oidc.OidcSettings:
    conf = oidc.settings()
    if conf is None:  # not configured: these pages do not exist
        raise HTTPException(404)
    return conf


def _oidc_error(request: Request, status: int, what: str) -> Response:
    return render(request, "error.html", {"title_key": f"oidc_{what}_title", "body_key": f"oidc_{what}_body"},
                  status_code=status)


@router.get("/login/oidc", name="login_oidc")
async def login_oidc(request: Request, next: str = "/") -> Response:
    """Off to the OpenID Connect provider; it sends the browser back to ``login_oidc_callback``."""
    conf = _oidc_settings()
    try:
        return await oidc.begin(request, conf, str(request.url_for("login_oidc_callback")), safe_next(next))
    except oidc.OidcFailed:
        return _oidc_error(request, 503, "unavailable")


@router.get("/login/oidc/callback", name="login_oidc_callback")
async def login_oidc_callback(request: Request, store: StoreDep) -> Response:
    conf = _oidc_settings()
    try:
        outcome = await oidc.finish(request, store, conf)
    except oidc.OidcFailed:
        return _oidc_error(request, 503, "unavailable")
    except oidc.OAuthError as exc:  # a wrong or replayed state, the provider's refusal, a bad token
        oidc.forget_pending(request)
        await run_in_threadpool(oidc.record_failure, store, conf, exc)
        return _oidc_error(request, 400, "failed")
    if outcome.user is None:
        return _oidc_error(request, 403, "role" if outcome.reason == "role" else "no_account")
    return start_session(request, outcome.token, outcome.next_path)


@router.post("/logout", name="logout", dependencies=[Csrf])
def logout(request: Request, user: CurrentUser, store: StoreDep) -> Response:
    accounts.logout(store, user, request.session.get(SESSION_TOKEN, ""))
    request.session.clear()
    return RedirectResponse(url(request, "login", query={"out": 1}), status_code=303)


@router.get("/account/password", name="password")
def password_page(request: Request, user: AnyRole) -> Response:
    return render(request, "password.html", {"min_length": MIN_PASSWORD_LENGTH, "changed": False})


@router.post("/account/password", name="password_submit", dependencies=[Csrf])
def password_submit(request: Request, user: AnyRole, store: StoreDep,
                    current_password: Annotated[str, Form()] = "", new_password: Annotated[str, Form()] = "",
                    confirm_password: Annotated[str, Form()] = "") -> Response:
    t = translator(lang_of(request))
    errors = []
    if not current_password:
        errors.append(("current_password", t("current_password_required")))
    if len(new_password) < MIN_PASSWORD_LENGTH:
        errors.append(("new_password", t("new_password_short", n=MIN_PASSWORD_LENGTH)))
    elif accounts.normalise_username(new_password) == user.username:
        errors.append(("new_password", t("new_password_username")))
    if confirm_password != new_password:
        errors.append(("confirm_password", t("confirm_password_mismatch")))
    if not errors:
        token = request.session.get(SESSION_TOKEN, "")
        if not accounts.change_password(store, user, token, current_password, new_password):
            errors.append(("current_password", t("current_password_wrong")))
        else:  # this session stays open; every other one of the account ends
            return render(request, "password.html", {"min_length": MIN_PASSWORD_LENGTH, "changed": True})
    return render(request, "password.html", {"min_length": MIN_PASSWORD_LENGTH, "changed": False,
                                             "errors": errors}, status_code=400)
